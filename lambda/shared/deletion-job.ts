/**
 * Deletion jobs (promise P7): one item per erasure request in the deletion
 * table, plus one marker per customer with a job in progress.
 *
 * A job names the customer only by its keyed hash, never the raw id. Its
 * cut-off is the moment it was requested: it erases every usage record (and
 * the images those records name) whose request started at or before that
 * moment; activity after the request is new data, for a new request. The
 * deletion queue delivers the job id only once every request that started
 * before the cut-off has finished writing its record (the delay exceeds the
 * gateway's longest request).
 *
 * | attribute       | type | meaning                                                             |
 * |-----------------|------|---------------------------------------------------------------------|
 * | deletion_id     | S    | `del_` + 22 url-safe characters; a marker is `active:<hash>`        |
 * | customer_hash   | S    | keyed hash (HMAC-SHA256, hex) of the customer id                    |
 * | status          | S    | queued, running, done, failed                                       |
 * | requested_at    | S    | ISO-8601 UTC; also the cut-off                                      |
 * | deadline        | S    | requested_at + 24 h                                                 |
 * | pending         | S    | `1` while queued or running (sparse index of open jobs)             |
 * | enqueued        | BOOL | the job id reached the queue                                        |
 * | records_erased  | N    | usage records erased so far (exactly once, see the worker)          |
 * | images_erased   | N    | stored images erased so far                                         |
 * | cursor          | M    | where the worker resumes in the customer's index                     |
 * | batch           | M    | the page being erased: id, request ids, counts, the next cursor     |
 * | lease_owner     | S    | the invocation working on it                                        |
 * | lease_until     | N    | epoch ms until which that invocation holds it                       |
 * | completed_at    | S    | ISO-8601 UTC, once done                                             |
 * | receipt         | M    | the signed receipt, once done                                       |
 * | ttl             | N    | requested_at + 400 days (audit), epoch s                            |
 *
 * A marker (`deletion_id = active:<customer_hash>`) holds `job_id`: the job
 * a new request for the same customer gets back while that job is queued or
 * running.
 */

import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type DeletionStatus = 'queued' | 'running' | 'done' | 'failed';
export const DELETION_STATUSES: readonly DeletionStatus[] = ['queued', 'running', 'done', 'failed'];

/** How long a job may take before its deadline (the promise: within 24 hours). */
export const DELETION_DEADLINE_MS = 24 * 3600 * 1000;
/** How long job items are kept for audit. */
export const DELETION_RETENTION_DAYS = 400;

const DELETION_ID = /^del_[A-Za-z0-9_-]{22}$/;
const HASH = /^[0-9a-f]{64}$/;

export function newDeletionId(): string {
  return `del_${randomBytes(16).toString('base64url')}`;
}

export function isDeletionId(s: unknown): s is string {
  return typeof s === 'string' && DELETION_ID.test(s);
}

/** The key of the marker item for a customer's open job. */
export function markerId(customerHash: string): string {
  return `active:${customerHash}`;
}

/** The page of records a worker is erasing, kept so that a killed worker's successor finishes it. */
export interface DeletionBatch {
  readonly id: string;
  readonly requestIds: readonly string[];
  readonly records: number;
  readonly images: number;
  /** Where the next page starts; absent when this page is the last. */
  readonly next?: Record<string, AttributeValue>;
}

export interface DeletionJob {
  readonly deletionId: string;
  readonly customerHash: string;
  readonly status: DeletionStatus;
  readonly requestedAt: string;
  readonly deadline: string;
  readonly enqueued: boolean;
  readonly recordsErased: number;
  readonly imagesErased: number;
  readonly cursor?: Record<string, AttributeValue>;
  readonly batch?: DeletionBatch;
  readonly leaseOwner?: string;
  readonly leaseUntil?: number;
  readonly completedAt?: string;
  readonly receipt?: Record<string, unknown>;
}

const n = (v: AttributeValue | undefined): number | undefined => {
  const x = v?.N === undefined ? Number.NaN : Number(v.N);
  return Number.isFinite(x) ? x : undefined;
};

/** The item of a new job. */
export function newJobItem(
  deletionId: string,
  customerHash: string,
  requestedAt: Date,
): Record<string, AttributeValue> {
  if (!isDeletionId(deletionId) || !HASH.test(customerHash)) {
    throw new Error('newJobItem: bad deletion id or customer hash');
  }
  return {
    deletion_id: { S: deletionId },
    customer_hash: { S: customerHash },
    status: { S: 'queued' },
    requested_at: { S: requestedAt.toISOString() },
    deadline: { S: new Date(requestedAt.getTime() + DELETION_DEADLINE_MS).toISOString() },
    pending: { S: '1' },
    enqueued: { BOOL: false },
    records_erased: { N: '0' },
    images_erased: { N: '0' },
    ttl: {
      N: String(Math.floor(requestedAt.getTime() / 1000) + DELETION_RETENTION_DAYS * 86_400),
    },
  };
}

/** Reads a job item; undefined for anything that is not a well-formed job. */
export function jobFromItem(
  item: Record<string, AttributeValue> | undefined,
): DeletionJob | undefined {
  if (!item) return undefined;
  const deletionId = item.deletion_id?.S;
  const customerHash = item.customer_hash?.S;
  const status = item.status?.S as DeletionStatus | undefined;
  const requestedAt = item.requested_at?.S;
  const deadline = item.deadline?.S;
  if (
    !isDeletionId(deletionId) ||
    !customerHash ||
    !HASH.test(customerHash) ||
    !status ||
    !DELETION_STATUSES.includes(status) ||
    !requestedAt ||
    !deadline
  ) {
    return undefined;
  }
  const batchMap = item.batch?.M;
  const batch: DeletionBatch | undefined =
    batchMap && batchMap.id?.S
      ? {
          id: batchMap.id.S,
          requestIds: (batchMap.request_ids?.L ?? []).flatMap((v) => (v.S ? [v.S] : [])),
          records: n(batchMap.records) ?? 0,
          images: n(batchMap.images) ?? 0,
          ...(batchMap.next?.M ? { next: batchMap.next.M } : {}),
        }
      : undefined;
  return {
    deletionId,
    customerHash,
    status,
    requestedAt,
    deadline,
    enqueued: item.enqueued?.BOOL === true,
    recordsErased: n(item.records_erased) ?? 0,
    imagesErased: n(item.images_erased) ?? 0,
    ...(item.cursor?.M ? { cursor: item.cursor.M } : {}),
    ...(batch ? { batch } : {}),
    ...(item.lease_owner?.S ? { leaseOwner: item.lease_owner.S } : {}),
    ...(n(item.lease_until) !== undefined ? { leaseUntil: n(item.lease_until) } : {}),
    ...(item.completed_at?.S ? { completedAt: item.completed_at.S } : {}),
    ...(item.receipt?.S ? { receipt: JSON.parse(item.receipt.S) as Record<string, unknown> } : {}),
  };
}

/** The job as the admin API shows it (`GET /v1/user_data/deletions/{id}`, the 202 of a request). */
export function jobView(job: DeletionJob): Record<string, unknown> {
  return {
    deletion_id: job.deletionId,
    status: job.status,
    requested_at: job.requestedAt,
    deadline: job.deadline,
    counts: { records_erased: job.recordsErased, images_erased: job.imagesErased },
    ...(job.completedAt ? { completed_at: job.completedAt } : {}),
    ...(job.receipt ? { receipt: job.receipt } : {}),
  };
}
