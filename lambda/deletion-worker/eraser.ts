/**
 * The deletion worker's eraser: reads a customer's usage records a page at a
 * time (the usage table's `by_customer` index, oldest first, up to the job's
 * cut-off, including records whose TTL passed but which DynamoDB has not
 * removed yet) and erases what a page names: the images first
 * (DeleteObjects, 1,000 keys a call), then the records (BatchWriteItem, 25 a
 * call, several in flight, unprocessed items retried with exponential backoff
 * and full jitter). Both are idempotent, so a batch can be erased again after
 * a kill. When DynamoDB keeps throttling, it throws {@link Throttled}.
 */

import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import type { DeletionJob } from '../shared/deletion-job';
import { parseImageKey } from '../shared/image-key';
import { IMAGE_KEYS_ATTRIBUTE } from '../shared/usage-record';

/** BatchWriteItem takes at most 25 requests; DeleteObjects 1,000 keys; BatchGetItem 100 keys. */
export const WRITE_BATCH = 25;
export const DELETE_OBJECTS_BATCH = 1000;
const READ_BATCH = 100;
/** Attempts for a BatchWriteItem chunk before the job backs off through the queue. */
export const MAX_WRITE_ATTEMPTS = 8;

/** DynamoDB left items unprocessed after every attempt: it is throttling this customer's partition. */
export class Throttled extends Error {}

/** One page of a customer's records. */
export interface RecordPage {
  /** How many records the page holds. */
  readonly size: number;
  readonly requestIds: string[];
  /** The image keys the page's records name, each once. */
  readonly imageKeys: string[];
  /** Where the next page starts; undefined on the last page. */
  readonly next?: Record<string, AttributeValue>;
}

export interface Eraser {
  /** The page of the job's customer's records at the job's cursor (up to the job's cut-off). */
  page(job: DeletionJob): Promise<RecordPage>;
  /**
   * Erases the images, then the records. `imageKeys` defaults to the keys the
   * records that still exist name (finishing a batch after a kill).
   */
  erase(requestIds: readonly string[], imageKeys?: readonly string[]): Promise<void>;
}

export interface EraserOptions {
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  readonly usageTableName: string;
  readonly imageBucketName: string;
  /** Records per page. */
  readonly pageSize: number;
  /** BatchWriteItem calls in flight. */
  readonly writeConcurrency: number;
  /** Waits between retries. */
  readonly sleep: (ms: number) => Promise<void>;
  /** [0, 1), for jitter. */
  readonly random: () => number;
}

export function createEraser(options: EraserOptions): Eraser {
  const { ddb, usageTableName: table, sleep, random } = options;

  /** Exponential backoff with full jitter: up to 50 ms, 100 ms, ... capped at 5 s. */
  const backoff = (attempt: number) => Math.floor(random() * Math.min(5_000, 50 * 2 ** attempt));

  async function deleteImages(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_OBJECTS_BATCH) {
      const chunk = keys.slice(i, i + DELETE_OBJECTS_BATCH);
      const out = await options.s3.send(
        new DeleteObjectsCommand({
          Bucket: options.imageBucketName,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      // Deleting a key that is already gone succeeds; anything else is retried with the job.
      if ((out.Errors ?? []).length > 0) throw new Error('Erasure failed: images not deleted');
    }
  }

  /** One BatchWriteItem chunk, with its unprocessed items retried (exponential backoff, full jitter). */
  async function deleteChunk(ids: readonly string[]): Promise<void> {
    let pending: WriteRequest[] = ids.map((id) => ({
      DeleteRequest: { Key: { request_id: { S: id } } },
    }));
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      const unprocessed = out.UnprocessedItems?.[table] ?? [];
      if (unprocessed.length === 0) return;
      pending = unprocessed.flatMap((r) =>
        r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
      );
      if (attempt + 1 < MAX_WRITE_ATTEMPTS) await sleep(backoff(attempt));
    }
    throw new Throttled();
  }

  async function deleteRecords(ids: readonly string[]): Promise<void> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += WRITE_BATCH) chunks.push(ids.slice(i, i + WRITE_BATCH));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) await deleteChunk(chunks[next++]);
    };
    await Promise.all(
      Array.from({ length: Math.min(options.writeConcurrency, chunks.length) }, worker),
    );
  }

  /** Image keys of the records that still exist (for finishing a batch after a kill). */
  async function imageKeysOf(ids: readonly string[]): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      let request: Record<string, AttributeValue>[] = ids
        .slice(i, i + READ_BATCH)
        .map((id) => ({ request_id: { S: id } }));
      for (let attempt = 0; request.length > 0; attempt++) {
        if (attempt >= MAX_WRITE_ATTEMPTS) throw new Throttled();
        const out = await ddb.send(
          new BatchGetItemCommand({
            RequestItems: {
              [table]: {
                Keys: request,
                ConsistentRead: true,
                ProjectionExpression: `request_id, ${IMAGE_KEYS_ATTRIBUTE}`,
              },
            },
          }),
        );
        for (const item of out.Responses?.[table] ?? []) {
          keys.push(...imageKeysOfItem(item));
        }
        request = out.UnprocessedKeys?.[table]?.Keys ?? [];
        if (request.length > 0 && attempt + 1 < MAX_WRITE_ATTEMPTS) await sleep(backoff(attempt));
      }
    }
    return keys;
  }

  return {
    async page(job) {
      const out = await ddb.send(
        new QueryCommand({
          TableName: table,
          IndexName: USAGE_CUSTOMER_INDEX,
          KeyConditionExpression: 'customer_hash = :h AND #ts <= :cutoff',
          ExpressionAttributeNames: { '#ts': 'timestamp' },
          ExpressionAttributeValues: {
            ':h': { S: job.customerHash },
            ':cutoff': { S: job.requestedAt },
          },
          Limit: options.pageSize,
          ...(job.cursor ? { ExclusiveStartKey: job.cursor } : {}),
        }),
      );
      const items = out.Items ?? [];
      return {
        size: items.length,
        requestIds: items.flatMap((i) => (i.request_id?.S ? [i.request_id.S] : [])),
        imageKeys: [...new Set(items.flatMap(imageKeysOfItem))],
        ...(out.LastEvaluatedKey ? { next: out.LastEvaluatedKey } : {}),
      };
    },

    async erase(requestIds, imageKeys) {
      await deleteImages(imageKeys ?? (await imageKeysOf(requestIds)));
      await deleteRecords(requestIds);
    },
  };
}

function imageKeysOfItem(item: Record<string, AttributeValue>): string[] {
  return (item[IMAGE_KEYS_ATTRIBUTE]?.SS ?? []).filter((k) => parseImageKey(k) !== undefined);
}
