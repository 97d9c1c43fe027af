/**
 * Real DynamoDB (dynalite) and S3 (s3rver) servers on 127.0.0.1 for the gateway
 * tests, each on a random port with its data in a temp dir removed on stop.
 * KMS GenerateMac is mocked with a local HMAC, so keyed hashes behave like KMS's.
 */

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

// Neither server ships types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

export const USAGE_TABLE = 'ephemera-usage';
export const KEY_TABLE = 'ephemera-keys';
export const IMAGE_BUCKET = 'ephemera-images';
export const HMAC_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/hmac-test';
const HMAC_TEST_KEY = Buffer.from('gateway-test-hmac-key');

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalAws {
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly kmsMock: AwsClientStub<KMSClient>;
  /** Every item of every table. */
  scanAll(): Promise<Record<string, AttributeValue>[]>;
  /** Every object in the image bucket: key, bytes and head metadata. */
  listObjects(): Promise<{ key: string; body: Buffer; head: Record<string, unknown> }[]>;
  stop(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  const dir = mkdtempSync(join(tmpdir(), 'ephemera-gateway-'));
  const ddbServer = dynalite({ createTableMs: 0, path: join(dir, 'dynamodb') });
  await new Promise<void>((resolve) => ddbServer.listen(0, '127.0.0.1', resolve));
  const ddbPort = (ddbServer.address() as AddressInfo).port;

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: IMAGE_BUCKET }],
  });
  const s3Address = await s3rver.run();

  const ddb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${ddbPort}`,
    region: 'us-east-1',
    credentials,
  });
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${s3Address.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  const kms = new KMSClient({ region: 'us-east-1', credentials });
  const kmsMock = mockClient(kms);
  kmsMock.on(GenerateMacCommand).callsFake((input: { Message?: Uint8Array }) => ({
    Mac: createHmac('sha256', HMAC_TEST_KEY)
      .update(Buffer.from(input.Message ?? new Uint8Array()))
      .digest(),
    MacAlgorithm: 'HMAC_SHA_256',
  }));

  await ddb.send(
    new CreateTableCommand({
      TableName: KEY_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'key_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key_id', KeyType: 'HASH' }],
    }),
  );
  await ddb.send(
    new CreateTableCommand({
      TableName: USAGE_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'request_id', AttributeType: 'S' },
        { AttributeName: 'customer_hash', AttributeType: 'S' },
        { AttributeName: 'timestamp', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'request_id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by_customer',
          KeySchema: [
            { AttributeName: 'customer_hash', KeyType: 'HASH' },
            { AttributeName: 'timestamp', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );

  return {
    ddb,
    s3,
    kms,
    kmsMock,
    async scanAll() {
      const items: Record<string, AttributeValue>[] = [];
      for (const table of [KEY_TABLE, USAGE_TABLE]) {
        let start: Record<string, AttributeValue> | undefined;
        do {
          const out = await ddb.send(
            new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
          );
          items.push(...(out.Items ?? []));
          start = out.LastEvaluatedKey;
        } while (start);
      }
      return items;
    },
    async listObjects() {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: IMAGE_BUCKET }));
      return Promise.all(
        (out.Contents ?? []).map(async ({ Key }) => {
          const key = Key as string;
          const got = await s3.send(new GetObjectCommand({ Bucket: IMAGE_BUCKET, Key: key }));
          const body = Buffer.from(
            await (
              got.Body as { transformToByteArray(): Promise<Uint8Array> }
            ).transformToByteArray(),
          );
          const head = await s3.send(new HeadObjectCommand({ Bucket: IMAGE_BUCKET, Key: key }));
          return { key, body, head: { ...head, $metadata: undefined } as Record<string, unknown> };
        }),
      );
    },
    async stop() {
      kmsMock.restore();
      ddb.destroy();
      s3.destroy();
      await s3rver.close();
      await new Promise<void>((resolve) => ddbServer.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
