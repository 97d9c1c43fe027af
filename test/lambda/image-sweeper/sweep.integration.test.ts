/**
 * The sweeper against a real S3 API (s3rver on loopback, data in a temp dir).
 *
 * s3rver 3.7 cannot paginate ListObjectsV2 on Node >= 17: it builds continuation
 * tokens with DES, which OpenSSL 3 refuses (jamhall/s3rver#818), and answers
 * 500 InternalError. So this test keeps one page (under 1000 keys, default
 * MaxKeys); pagination is covered by the unit tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { createAllowlistLogger } from '../../../lambda/shared/allowlist-logger';
import { imageKey, newImageId } from '../../../lambda/shared/image-key';
import { SWEEP_LOG_SCHEMA, createHandler } from '../../../lambda/image-sweeper/sweep';

/** The part of s3rver 3.x used here (the package ships no types). */
interface S3rverServer {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverServer;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as S3rverConstructor;

const BUCKET = 'bucket';
const NOW_MS = Date.UTC(2030, 0, 1);

let directory: string;
let server: S3rverServer | undefined;
let s3: S3Client;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'ephemera-sweeper-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await server.run();
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function put(key: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: 'not an image',
      ContentType: 'image/png',
    }),
  );
}

async function listAll(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

function keyAt(offsetSeconds: number): string {
  return imageKey(new Date(NOW_MS + offsetSeconds * 1000), newImageId(), 'png');
}

test('deletes due images, keeps future ones and leaves malformed keys alone', async () => {
  const due = [keyAt(-86_400), keyAt(-3600), keyAt(-3600), keyAt(-1), keyAt(0)];
  const future = [keyAt(1), keyAt(3600)];
  const malformed = ['images/-not-an-image-key', 'images/0000000001/bad id.png'];
  const outside = ['config/trust.pem'];
  for (const key of [...due, ...future, ...malformed, ...outside]) await put(key);

  const lines: string[] = [];
  const handler = createHandler({
    s3,
    bucketName: BUCKET,
    now: () => new Date(NOW_MS),
    logger: createAllowlistLogger('sweep', SWEEP_LOG_SCHEMA, (line) => lines.push(line)),
  });

  const summary = await handler({}, { getRemainingTimeInMillis: () => 300_000 });

  expect(await listAll()).toEqual([...future, ...malformed, ...outside].sort());
  expect(summary).toMatchObject({
    listed: due.length + malformed.length + 1,
    deleted: due.length,
    failed: 0,
    malformed: malformed.length,
    truncated: false,
  });
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ event: 'sweep', deleted: due.length, failed: 0 });

  // A second run finds nothing due.
  await expect(handler({}, { getRemainingTimeInMillis: () => 300_000 })).resolves.toMatchObject({
    deleted: 0,
    malformed: malformed.length,
  });
  expect(await listAll()).toEqual([...future, ...malformed, ...outside].sort());
});
