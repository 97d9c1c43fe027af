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
 * One page at a time (the job store, `./job-store`, keeps the job and its
 * lease; the eraser, `./eraser`, reads and erases the records and images;
 * this module is the loop and the queue's handler):
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
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsErrorName } from '../../lib/core/keyed-hash';
import { MAX_QUEUE_DELAY_SECONDS } from '../../lib/core/request-deadlines';
import {
  createAllowlistLogger,
  ID_PATTERNS,
  type LineSink,
  type LogSchema,
} from '../shared/allowlist-logger';
import { isDeletionId, type DeletionBatch, type DeletionJob } from '../shared/deletion-job';
import type { JobQueue } from '../shared/deletion-queue';
import { receiptJson, RECEIPT_ALGORITHM, signReceipt } from '../shared/receipt';
import type { ReceiptQueue } from '../shared/receipt-queue';
import type { WorkerConfig } from './config';
import { createEraser, Throttled, type Eraser } from './eraser';
import { createJobStore, LeaseLost, type JobStore } from './job-store';

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

/** What working on one job came to. */
interface JobRun {
  readonly outcome: ErasureOutcome;
  readonly job?: DeletionJob;
  readonly pages: number;
}

/** The parts the loop drives. */
interface Parts {
  readonly deps: WorkerDeps;
  readonly jobs: JobStore;
  readonly eraser: Eraser;
  readonly now: () => Date;
}

export function createWorker(deps: WorkerDeps): WorkerHandler {
  const { config, ddb } = deps;
  const now = deps.now ?? (() => new Date());
  const parts: Parts = {
    deps,
    now,
    jobs: createJobStore({ ddb, tableName: config.deletionTableName, now }),
    eraser: createEraser({
      ddb,
      s3: deps.s3,
      usageTableName: config.usageTableName,
      imageBucketName: config.imageBucketName,
      pageSize: config.pageSize,
      writeConcurrency: config.writeConcurrency,
      sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
      random: deps.random ?? Math.random,
    }),
  };
  const logger = createAllowlistLogger('erasure', ERASURE_LOG_SCHEMA, deps.logSink);

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
          ({ outcome, job, pages } = await runJob(parts, deletionId, context));
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

/** Works on one job until it is done or the time is up. */
async function runJob(
  parts: Parts,
  deletionId: string,
  budget: TimeBudget | undefined,
): Promise<JobRun> {
  const { deps, jobs, now } = parts;
  const { config } = deps;
  const job = await jobs.read(deletionId);
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
  if (!(await jobs.claim(job, owner))) return { outcome: 'busy', job, pages: 0 };
  const progress = { job, pages: 0 };
  try {
    return await erasePages(parts, owner, progress, budget);
  } catch (err) {
    if (err instanceof LeaseLost) return { outcome: 'busy', ...progress };
    if (err instanceof Throttled) {
      // The open batch stays on the job; the next invocation finishes it after the delay.
      await handOn(parts, progress.job, owner, THROTTLED_DELAY_SECONDS);
      return { outcome: 'throttled', ...progress };
    }
    await jobs.release(progress.job, owner);
    throw err;
  }
}

/**
 * The claimed job's pages, one batch at a time, then its receipt; `progress`
 * follows the job as it moves (what the caller reports if this throws).
 */
async function erasePages(
  parts: Parts,
  owner: string,
  progress: { job: DeletionJob; pages: number },
  budget: TimeBudget | undefined,
): Promise<JobRun> {
  const { jobs, eraser } = parts;
  // A batch a killed invocation left: finish it before anything else.
  let more = true;
  if (progress.job.batch) {
    more = progress.job.batch.next !== undefined;
    progress.job = await finishBatch(parts, progress.job, owner, progress.job.batch);
  }
  while (more) {
    if (budget && budget.getRemainingTimeInMillis() < MIN_REMAINING_MS) {
      await handOn(parts, progress.job, owner);
      return { outcome: 'continued', ...progress };
    }
    const page = await eraser.page(progress.job);
    more = page.next !== undefined;
    if (page.size === 0) {
      // Nothing on this page, more after it: move on (nothing to commit).
      if (more) progress.job = { ...progress.job, cursor: page.next };
      continue;
    }
    const batch: DeletionBatch = {
      id: randomUUID(),
      requestIds: page.requestIds,
      records: page.requestIds.length,
      images: page.imageKeys.length,
      ...(page.next ? { next: page.next } : {}),
    };
    await jobs.beginBatch(progress.job, owner, batch);
    progress.job = await finishBatch(parts, progress.job, owner, batch, page.imageKeys);
    progress.pages++;
  }
  progress.job = await complete(parts, progress.job, owner);
  return { outcome: 'done', ...progress };
}

/** Erases what a batch names (images first, then records) and commits it. */
async function finishBatch(
  { jobs, eraser }: Parts,
  job: DeletionJob,
  owner: string,
  batch: DeletionBatch,
  imageKeys?: readonly string[],
): Promise<DeletionJob> {
  await eraser.erase(batch.requestIds, imageKeys);
  return jobs.commitBatch(job, owner, batch);
}

/** Closes the job with its signed receipt. */
async function complete({ deps, jobs, now }: Parts, job: DeletionJob, owner: string) {
  const { config } = deps;
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
  return jobs.close(job, owner, receiptJson(receipt), completedAt);
}

/** Hands the job on: queues the id again, then releases the lease. */
async function handOn(
  { deps, jobs }: Parts,
  job: DeletionJob,
  owner: string,
  delaySeconds = 0,
): Promise<void> {
  await deps.queue.send(job.deletionId, delaySeconds);
  await jobs.release(job, owner);
}
