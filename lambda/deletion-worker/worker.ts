/**
 * The deletion worker (promise P7): erases everything tagged with a
 * customer's keyed hash, then signs a receipt.
 *
 * For each job id from the queue it holds a lease on the job, then works
 * through the customer's records in the usage table's `by_customer` index,
 * oldest first, up to the job's cut-off (the moment it was requested),
 * including records whose TTL passed but which DynamoDB has not removed yet.
 * A job starts only once the erasure wait has passed since it was asked for
 * (`ERASURE_WAIT_SECONDS`: the longest request plus a margin), so a request
 * that was in flight then has written its record, and that record is erased
 * too; a delivery that comes earlier is handed back to the queue.
 * One page at a time:
 *
 *   1. note the page in the job (its request ids and counts): the batch;
 *   2. delete the images those records name (DeleteObjects, 1,000 keys a call);
 *   3. delete the records (BatchWriteItem, 25 a call, several in flight,
 *      unprocessed items retried with exponential backoff and full jitter;
 *      when DynamoDB keeps throttling, the job waits a minute in the queue
 *      and the next invocation finishes the batch);
 *   4. add the batch's counts to the job and move its cursor, in one update
 *      that only succeeds while that batch is the job's batch.
 *
 * So the worker is safe to run twice and safe to kill anywhere: a successor
 * finds the batch, finishes it (images first, then records; both idempotent)
 * and commits its counts exactly once. A job that outlives the invocation is
 * handed on through the queue. When nothing is left it writes the signed
 * receipt and closes the job.
 *
 * Failures are reported per message (batch item failures), so one bad job
 * blocks no other; the queue's redrive policy moves a job that keeps failing
 * to the dead-letter queue. Log lines are metadata: the deletion id and
 * counts; the customer's hash stays in the deletion job, out of every log.
 *
 * With a receipt queue (the receipt webhook), the id of a job that is done
 * with a signed receipt is sent there after the job is closed. A send that
 * fails leaves the job done and its message on the deletion queue: the
 * redelivery finds the job done, erases nothing and only sends the id again.
 * So a receiver may get one receipt more than once (a duplicate delivery of
 * the deletion message sends it again too); each carries the job id in
 * `X-Ephemera-Deletion-Id` for the receiver to drop repeats.
 */

import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MAX_QUEUE_DELAY_SECONDS } from '../../lib/core/request-deadlines';
import { USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import {
  createAllowlistLogger,
  ID_PATTERNS,
  type LineSink,
  type LogSchema,
} from '../shared/allowlist-logger';
import {
  isDeletionId,
  jobFromItem,
  type DeletionBatch,
  type DeletionJob,
} from '../shared/deletion-job';
import { parseImageKey } from '../shared/image-key';
import { awsErrorName } from '../../lib/core/keyed-hash';
import type { JobQueue } from '../shared/job-queue';
import { receiptJson, RECEIPT_ALGORITHM, signReceipt } from '../shared/receipt';
import type { ReceiptQueue } from '../shared/receipt-queue';
import { IMAGE_KEYS_ATTRIBUTE } from '../shared/usage-record';
import type { WorkerConfig } from './config';

export const ERASURE_OUTCOMES = [
  'done',
  'waiting',
  'continued',
  'throttled',
  'busy',
  'unknown',
  'failed',
] as const;
export type ErasureOutcome = (typeof ERASURE_OUTCOMES)[number];

/** One line per job handled: the deletion id and counts, never the customer (not even its hash). */
export const ERASURE_LOG_SCHEMA = {
  deletion_id: ID_PATTERNS.token,
  outcome: { kind: 'enum', values: ERASURE_OUTCOMES },
  records_erased: { kind: 'int', min: 0 },
  images_erased: { kind: 'int', min: 0 },
  pages: { kind: 'int', min: 0 },
  duration_ms: { kind: 'int', min: 0 },
  /** The AWS error name (or `Error`) when the job failed; never a message. */
  error_name: { kind: 'id', pattern: /^[A-Za-z][A-Za-z0-9_.]{0,127}$/, maxLength: 128 },
  /** With a receipt queue, for a done job: whether its id reached the queue. */
  receipt_queued: { kind: 'bool' },
} as const satisfies LogSchema;

/** BatchWriteItem takes at most 25 requests; DeleteObjects 1,000 keys; BatchGetItem 100 keys. */
export const WRITE_BATCH = 25;
export const DELETE_OBJECTS_BATCH = 1000;
const READ_BATCH = 100;
/** Attempts for a BatchWriteItem chunk before the job backs off through the queue. */
export const MAX_WRITE_ATTEMPTS = 8;
/** How long a job that DynamoDB kept throttling waits in the queue before it goes on. */
export const THROTTLED_DELAY_SECONDS = 60;
/** Stop starting pages when less than this is left of the invocation. */
export const MIN_REMAINING_MS = 60_000;

export interface WorkerDeps {
  readonly config: WorkerConfig;
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
  /** Where a job that outlives the invocation is handed on. */
  readonly queue: JobQueue;
  /**
   * Where the id of a job closed with a signed receipt is sent (the receipt
   * webhook's queue). @default - none: no webhook
   */
  readonly receiptQueue?: ReceiptQueue;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default stdout */
  readonly logSink?: LineSink;
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** [0, 1), for jitter. @default Math.random */
  readonly random?: () => number;
}

export interface TimeBudget {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId?: string;
}

export type WorkerHandler = (event: SQSEvent, context?: TimeBudget) => Promise<SQSBatchResponse>;

/** Lease length: the longest an invocation can run (Lambda's 15 minutes). */
export const LEASE_MS = 15 * 60 * 1000;

class LeaseLost extends Error {}
/** DynamoDB left items unprocessed after every attempt: it is throttling this customer's partition. */
class Throttled extends Error {}

export function createWorker(deps: WorkerDeps): WorkerHandler {
  const { config, ddb } = deps;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const logger = createAllowlistLogger('erasure', ERASURE_LOG_SCHEMA, deps.logSink);
  const table = config.deletionTableName;
  const jobKey = (id: string) => ({ deletion_id: { S: id } });

  /** Exponential backoff with full jitter: up to 50 ms, 100 ms, ... capped at 5 s. */
  const backoff = (attempt: number) => Math.floor(random() * Math.min(5_000, 50 * 2 ** attempt));

  async function readJob(id: string): Promise<DeletionJob | undefined> {
    const out = await ddb.send(
      new GetItemCommand({ TableName: table, Key: jobKey(id), ConsistentRead: true }),
    );
    return jobFromItem(out.Item);
  }

  /** Takes the job for this invocation, unless another live invocation holds it. */
  async function claim(job: DeletionJob, owner: string): Promise<boolean> {
    const nowMs = now().getTime();
    try {
      await ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: jobKey(job.deletionId),
          UpdateExpression: 'SET #status = :running, lease_owner = :me, lease_until = :until',
          ConditionExpression:
            '#status <> :done AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': { S: 'running' },
            ':done': { S: 'done' },
            ':me': { S: owner },
            ':until': { N: String(nowMs + LEASE_MS) },
            ':now': { N: String(nowMs) },
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  }

  /** Notes the page about to be erased. */
  async function beginBatch(job: DeletionJob, owner: string, batch: DeletionBatch): Promise<void> {
    await guarded(
      new UpdateItemCommand({
        TableName: table,
        Key: jobKey(job.deletionId),
        UpdateExpression: 'SET #batch = :batch',
        ConditionExpression: 'lease_owner = :me AND attribute_not_exists(#batch)',
        ExpressionAttributeNames: { '#batch': 'batch' },
        ExpressionAttributeValues: {
          ':me': { S: owner },
          ':batch': {
            M: {
              id: { S: batch.id },
              request_ids: { L: batch.requestIds.map((id) => ({ S: id })) },
              records: { N: String(batch.records) },
              images: { N: String(batch.images) },
              ...(batch.next ? { next: { M: batch.next } } : {}),
            },
          },
        },
      }),
    );
  }

  /** Adds a finished batch's counts and moves the cursor: exactly once per batch. */
  async function commitBatch(
    job: DeletionJob,
    owner: string,
    batch: DeletionBatch,
  ): Promise<DeletionJob> {
    const cursor = batch.next;
    const out = await guarded(
      new UpdateItemCommand({
        TableName: table,
        Key: jobKey(job.deletionId),
        UpdateExpression:
          (cursor ? 'SET #cursor = :cursor ' : '') +
          'ADD records_erased :records, images_erased :images REMOVE #batch' +
          (cursor ? '' : ', #cursor'),
        ConditionExpression: 'lease_owner = :me AND #batch.id = :batch',
        ExpressionAttributeNames: { '#batch': 'batch', '#cursor': 'cursor' },
        ExpressionAttributeValues: {
          ':me': { S: owner },
          ':batch': { S: batch.id },
          ':records': { N: String(batch.records) },
          ':images': { N: String(batch.images) },
          ...(cursor ? { ':cursor': { M: cursor } } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const updated = jobFromItem(out.Attributes);
    if (!updated) throw new Error('Erasure failed: job unreadable after commit');
    return updated;
  }

  /** An update that only a lease holder may make; a lost lease ends the run. */
  async function guarded(command: UpdateItemCommand) {
    try {
      return await ddb.send(command);
    } catch (err) {
      if (isConditionalFailure(err)) throw new LeaseLost();
      throw err;
    }
  }

  async function deleteImages(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_OBJECTS_BATCH) {
      const chunk = keys.slice(i, i + DELETE_OBJECTS_BATCH);
      const out = await deps.s3.send(
        new DeleteObjectsCommand({
          Bucket: config.imageBucketName,
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
      const out = await ddb.send(
        new BatchWriteItemCommand({ RequestItems: { [config.usageTableName]: pending } }),
      );
      const unprocessed = out.UnprocessedItems?.[config.usageTableName] ?? [];
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
      Array.from({ length: Math.min(config.writeConcurrency, chunks.length) }, worker),
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
              [config.usageTableName]: {
                Keys: request,
                ConsistentRead: true,
                ProjectionExpression: `request_id, ${IMAGE_KEYS_ATTRIBUTE}`,
              },
            },
          }),
        );
        for (const item of out.Responses?.[config.usageTableName] ?? []) {
          keys.push(...imageKeysOfItem(item));
        }
        request = out.UnprocessedKeys?.[config.usageTableName]?.Keys ?? [];
        if (request.length > 0 && attempt + 1 < MAX_WRITE_ATTEMPTS) await sleep(backoff(attempt));
      }
    }
    return keys;
  }

  /** Erases what a batch names (images first, then records) and commits it. */
  async function finishBatch(
    job: DeletionJob,
    owner: string,
    batch: DeletionBatch,
    imageKeys?: readonly string[],
  ): Promise<DeletionJob> {
    await deleteImages(imageKeys ?? (await imageKeysOf(batch.requestIds)));
    await deleteRecords(batch.requestIds);
    return commitBatch(job, owner, batch);
  }

  /** Best effort: lets a retry start at once instead of waiting for the lease to run out. */
  async function release(job: DeletionJob, owner: string): Promise<void> {
    try {
      await guarded(
        new UpdateItemCommand({
          TableName: table,
          Key: jobKey(job.deletionId),
          UpdateExpression: 'SET lease_until = :zero',
          ConditionExpression: 'lease_owner = :me',
          ExpressionAttributeValues: { ':zero': { N: '0' }, ':me': { S: owner } },
        }),
      );
    } catch {
      // The lease runs out by itself.
    }
  }

  /** Closes the job with its signed receipt. */
  async function complete(job: DeletionJob, owner: string): Promise<DeletionJob> {
    const completedAt = now().toISOString();
    const receipt = await signReceipt(deps.kms, {
      deletion_id: job.deletionId,
      customer_hash: job.customerHash,
      requested_at: job.requestedAt,
      completed_at: completedAt,
      records_erased: job.recordsErased,
      images_erased: job.imagesErased,
      excludes: config.excludes.map((e) => ({
        store: e.store,
        retention_days: e.retentionDays,
      })),
      signing_key: config.signingKeyId,
      algorithm: RECEIPT_ALGORITHM,
    });
    const out = await guarded(
      new UpdateItemCommand({
        TableName: table,
        Key: jobKey(job.deletionId),
        UpdateExpression:
          'SET #status = :done, completed_at = :at, receipt = :receipt REMOVE #pending, lease_owner, lease_until, #cursor',
        ConditionExpression: 'lease_owner = :me AND attribute_not_exists(#batch)',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#pending': 'pending',
          '#cursor': 'cursor',
          '#batch': 'batch',
        },
        ExpressionAttributeValues: {
          ':done': { S: 'done' },
          ':at': { S: completedAt },
          ':receipt': { S: receiptJson(receipt) },
          ':me': { S: owner },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return jobFromItem(out.Attributes) ?? job;
  }

  /** Hands the job on: queues the id again, then releases the lease. */
  async function handOn(job: DeletionJob, owner: string, delaySeconds = 0): Promise<void> {
    await deps.queue.send(job.deletionId, delaySeconds);
    await release(job, owner);
  }

  /** Works on one job until it is done or the time is up. */
  async function run(
    deletionId: string,
    budget: TimeBudget | undefined,
  ): Promise<{ outcome: ErasureOutcome; job?: DeletionJob; pages: number }> {
    let job = await readJob(deletionId);
    if (!job) return { outcome: 'unknown', pages: 0 };
    if (job.status === 'done') return { outcome: 'done', job, pages: 0 };
    // Requests in flight when the erasure was asked for may still write
    // records: start only once the longest of them has ended.
    const waitMs = Date.parse(job.requestedAt) + config.erasureWaitSeconds * 1000 - now().getTime();
    if (config.erasureWaitSeconds > 0 && waitMs > 0) {
      await deps.queue.send(
        job.deletionId,
        Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(waitMs / 1000)),
      );
      return { outcome: 'waiting', job, pages: 0 };
    }
    const owner = `${budget?.awsRequestId ?? 'local'}:${randomUUID()}`;
    if (!(await claim(job, owner))) return { outcome: 'busy', job, pages: 0 };
    let pages = 0;
    try {
      // A batch a killed invocation left: finish it before anything else.
      let more = true;
      if (job.batch) {
        more = job.batch.next !== undefined;
        job = await finishBatch(job, owner, job.batch);
      }
      while (more) {
        if (budget && budget.getRemainingTimeInMillis() < MIN_REMAINING_MS) {
          await handOn(job, owner);
          return { outcome: 'continued', job, pages };
        }
        const page: QueryCommandOutput = await ddb.send(
          new QueryCommand({
            TableName: config.usageTableName,
            IndexName: USAGE_CUSTOMER_INDEX,
            KeyConditionExpression: 'customer_hash = :h AND #ts <= :cutoff',
            ExpressionAttributeNames: { '#ts': 'timestamp' },
            ExpressionAttributeValues: {
              ':h': { S: job.customerHash },
              ':cutoff': { S: job.requestedAt },
            },
            Limit: config.pageSize,
            ...(job.cursor ? { ExclusiveStartKey: job.cursor } : {}),
          }),
        );
        const items = page.Items ?? [];
        more = page.LastEvaluatedKey !== undefined;
        if (items.length === 0) {
          // Nothing on this page, more after it: move on (nothing to commit).
          if (more) job = { ...job, cursor: page.LastEvaluatedKey };
          continue;
        }
        const requestIds = items.flatMap((i) => (i.request_id?.S ? [i.request_id.S] : []));
        const imageKeys = [...new Set(items.flatMap(imageKeysOfItem))];
        const batch: DeletionBatch = {
          id: randomUUID(),
          requestIds,
          records: requestIds.length,
          images: imageKeys.length,
          ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}),
        };
        await beginBatch(job, owner, batch);
        job = await finishBatch(job, owner, batch, imageKeys);
        pages++;
      }
      job = await complete(job, owner);
      return { outcome: 'done', job, pages };
    } catch (err) {
      if (err instanceof LeaseLost) return { outcome: 'busy', job, pages };
      if (err instanceof Throttled) {
        // The open batch stays on the job; the next invocation finishes it after the delay.
        await handOn(job, owner, THROTTLED_DELAY_SECONDS);
        return { outcome: 'throttled', job, pages };
      }
      await release(job, owner);
      throw err;
    }
  }

  return async function handler(event, context) {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const message of event.Records ?? []) {
      const started = now().getTime();
      const deletionId = typeof message.body === 'string' ? message.body.trim() : '';
      let outcome: ErasureOutcome | 'failed';
      let job: DeletionJob | undefined;
      let pages = 0;
      let errorName: string | undefined;
      let receiptQueued: boolean | undefined;
      if (!isDeletionId(deletionId)) {
        // Not a job id: nothing can ever be done with it; do not retry it.
        outcome = 'unknown';
      } else {
        try {
          ({ outcome, job, pages } = await run(deletionId, context));
        } catch (err) {
          outcome = 'failed';
          errorName = awsErrorName(err) ?? 'Error';
        }
      }
      // Another invocation holds the job, or this one failed: let SQS deliver it again.
      if (outcome === 'busy' || outcome === 'failed') {
        batchItemFailures.push({ itemIdentifier: message.messageId });
      }
      if (deps.receiptQueue && outcome === 'done' && job?.status === 'done' && job.receipt) {
        // Just closed, or closed before and delivered again (after a send that
        // failed): either way only the id is sent; the erasure is not redone.
        try {
          await deps.receiptQueue.send(job.deletionId);
          receiptQueued = true;
        } catch (err) {
          // The job stays done. SQS delivers this message again, which finds
          // the job done and retries only this send.
          receiptQueued = false;
          errorName = awsErrorName(err) ?? 'Error';
          batchItemFailures.push({ itemIdentifier: message.messageId });
        }
      }
      try {
        logger.write({
          deletion_id: isDeletionId(deletionId) ? deletionId : undefined,
          outcome,
          records_erased: job?.recordsErased,
          images_erased: job?.imagesErased,
          pages,
          duration_ms: Math.max(0, now().getTime() - started),
          error_name: errorName,
          receipt_queued: receiptQueued,
        });
      } catch {
        // Logging must not change the outcome.
      }
    }
    return { batchItemFailures };
  };
}

function imageKeysOfItem(item: Record<string, AttributeValue>): string[] {
  return (item[IMAGE_KEYS_ATTRIBUTE]?.SS ?? []).filter((k) => parseImageKey(k) !== undefined);
}

function isConditionalFailure(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}
