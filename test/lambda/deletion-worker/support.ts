/** Seeding and reading the stores for erasure tests and the erasure benchmark. */

import { createHmac } from 'node:crypto';
import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { jobFromItem, newDeletionId, newJobItem } from '../../../lambda/shared/deletion-job';
import { imageKey, newImageId } from '../../../lambda/shared/image-key';
import { usageItem } from '../../../lambda/shared/usage-record';

export const customerHashOf = (id: string, hmacKey = 'gateway-test-hmac-key') =>
  createHmac('sha256', Buffer.from(hmacKey)).update(`customer:${id}`).digest('hex');

export interface SeedOptions {
  readonly table: string;
  readonly customerHash: string;
  readonly count: number;
  /** Request ids are `<prefix><n>`. */
  readonly prefix: string;
  /** The first record's time; each next one is a millisecond later. */
  readonly from: Date;
  /** Images per record, uploaded to `bucket`. @default 0 */
  readonly imagesPerRecord?: number;
  readonly bucket?: string;
  readonly s3?: S3Client;
  /** BatchWriteItem calls in flight. @default 8 */
  readonly concurrency?: number;
}

/** Writes `count` usage records for one customer (25 per BatchWriteItem call), with their images. */
export async function seedRecords(ddb: DynamoDBClient, o: SeedOptions): Promise<string[]> {
  const items: Record<string, AttributeValue>[] = [];
  const uploads: Array<{ key: string }> = [];
  for (let i = 0; i < o.count; i++) {
    const at = new Date(o.from.getTime() + i);
    const keys = Array.from({ length: o.imagesPerRecord ?? 0 }, () =>
      imageKey(new Date(at.getTime() + 3_600_000), newImageId(), 'png'),
    );
    uploads.push(...keys.map((key) => ({ key })));
    items.push(
      usageItem(
        {
          request_id: `${o.prefix}${i}`,
          timestamp: at.toISOString(),
          customer_hash: o.customerHash,
          route: keys.length > 0 ? 'image_generations' : 'chat_completions',
          method: 'POST',
          status: 200,
          ttl: Math.floor(at.getTime() / 1000) + 30 * 86_400,
        },
        keys,
      ),
    );
  }
  const chunks: Record<string, AttributeValue>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let requests = chunks[next++].map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await ddb.send(
          new BatchWriteItemCommand({ RequestItems: { [o.table]: requests } }),
        );
        requests = (out.UnprocessedItems?.[o.table] ?? []).flatMap((r) =>
          r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
        );
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  if (uploads.length > 0) {
    if (!o.s3 || !o.bucket) throw new Error('seedRecords: images need s3 and bucket');
    for (const { key } of uploads) {
      await o.s3.send(
        new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: Buffer.from(`img ${key}`) }),
      );
    }
  }
  return uploads.map((u) => u.key);
}

/** Every object key in a bucket (all pages). */
export async function allKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    keys.push(...(out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** A queued job for a customer, requested at `at`. */
export async function createJob(
  ddb: DynamoDBClient,
  table: string,
  customerHash: string,
  at: Date,
): Promise<string> {
  const id = newDeletionId();
  await ddb.send(new PutItemCommand({ TableName: table, Item: newJobItem(id, customerHash, at) }));
  return id;
}

/** Gives a job to `owner` until `until` (epoch ms), as the worker's claim does. */
export async function leaseJob(
  ddb: DynamoDBClient,
  table: string,
  id: string,
  owner: string,
  until: number,
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { deletion_id: { S: id } },
      UpdateExpression: 'SET #status = :running, lease_owner = :owner, lease_until = :until',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':running': { S: 'running' },
        ':owner': { S: owner },
        ':until': { N: String(until) },
      },
    }),
  );
}

export async function readJob(ddb: DynamoDBClient, table: string, id: string) {
  const out = await ddb.send(
    new GetItemCommand({ TableName: table, Key: { deletion_id: { S: id } }, ConsistentRead: true }),
  );
  return jobFromItem(out.Item);
}

/** The SQS event that delivers job ids to the worker. */
export function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `msg-${i}-${body.slice(-6)}`,
      receiptHandle: 'r',
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:deletions',
      awsRegion: 'us-east-1',
    })),
  };
}
