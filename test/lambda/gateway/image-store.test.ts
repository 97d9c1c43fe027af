import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseImageKey } from '../../../lambda/shared/image-key';
import { planImages } from '../../../lambda/gateway/image-plan';
import { uploadImages } from '../../../lambda/gateway/image-store';
import { pngBytes } from './support/fixtures';

const s3 = new S3Client({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
});
const s3Mock = mockClient(s3);
afterAll(() => s3Mock.restore());
beforeEach(() => {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

const now = new Date('2025-06-01T12:00:00.250Z');
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const noDeadline = () => new AbortController().signal;

describe('planImages and uploadImages', () => {
  it('puts each image under its planned expiry key with SSE-KMS and returns https URLs that expire with it', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const planned = planImages([pngBytes(), jpeg], now, 900);
    const result = await uploadImages(
      { s3, bucket: 'img-bucket', ttlSeconds: 900, kmsKeyArn: KMS },
      planned,
      now,
      noDeadline(),
    );
    expect(result.map((r) => r.key)).toEqual(planned.map((p) => p.key));

    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.ContentType).sort()).toEqual(['image/jpeg', 'image/png']);
    for (const put of puts) {
      expect(put).toMatchObject({
        Bucket: 'img-bucket',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KMS,
        BucketKeyEnabled: true,
        CacheControl: 'private, no-store',
      });
      expect(put).not.toHaveProperty('Metadata');
      expect(put).not.toHaveProperty('Tagging');
      // 12:00:00.250 + 900 s, rounded up to the second.
      expect(parseImageKey(put.Key as string)?.expiresAtEpochSeconds).toBe(
        Date.parse('2025-06-01T12:15:01Z') / 1000,
      );
    }
    for (const { key, url } of result) {
      const u = new URL(url);
      expect(u.protocol).toBe('https:');
      expect(u.hostname).toBe('img-bucket.s3.eu-west-1.amazonaws.com');
      expect(decodeURIComponent(u.pathname.slice(1))).toBe(key);
      expect(u.searchParams.get('X-Amz-Date')).toBe('20250601T120000Z');
      expect(u.searchParams.get('X-Amz-Expires')).toBe('900');
    }
  });

  it('leaves encryption to the bucket default when no key is configured', async () => {
    await uploadImages(
      { s3, bucket: 'img-bucket', ttlSeconds: 300 },
      planImages([pngBytes()], now, 300),
      now,
      noDeadline(),
    );
    const put = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).not.toHaveProperty('ServerSideEncryption');
    expect(put).not.toHaveProperty('SSEKMSKeyId');
  });

  it('refuses to plan bytes that are not a known image format', () => {
    expect(() => planImages([pngBytes(), Buffer.from('GIF89a')], now, 300)).toThrow(
      'Unrecognised image format',
    );
  });

  it('settles every upload before failing', async () => {
    // The first upload is slow and succeeds; the second fails at once. The
    // failure must not be reported while the first upload is still running.
    let slowDone = false;
    s3Mock
      .on(PutObjectCommand)
      .callsFakeOnce(async () => {
        await new Promise((r) => setTimeout(r, 50));
        slowDone = true;
        return {};
      })
      .rejects(new Error('slow down'));
    const planned = planImages([pngBytes('a'), pngBytes('b')], now, 300);
    await expect(
      uploadImages({ s3, bucket: 'b', ttlSeconds: 300 }, planned, now, noDeadline()),
    ).rejects.toThrow();
    expect(slowDone).toBe(true);
    expect(
      s3Mock
        .commandCalls(PutObjectCommand)
        .map((c) => c.args[0].input.Key)
        .sort(),
    ).toEqual(planned.map((p) => p.key).sort());
  });

  it('gives up on uploads when the deadline passes (a real client against a server that never answers)', async () => {
    const hanging = new Set<import('node:http').ServerResponse>();
    const server = createServer((_req, res) => hanging.add(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const slowS3 = new S3Client({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const started = Date.now();
      await expect(
        uploadImages(
          { s3: slowS3, bucket: 'b', ttlSeconds: 300 },
          planImages([pngBytes()], now, 300),
          now,
          AbortSignal.timeout(200),
        ),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      slowS3.destroy();
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
