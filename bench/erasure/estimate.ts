/**
 * How long the deletion worker would take on AWS for one customer, worked out
 * from the services' published limits and the worker's own settings (no AWS
 * account needed). `bench/erasure/run.ts` prints it after the measurement.
 *
 * The binding limit is the usage table's `by_customer` index: every record of
 * one customer shares one partition-key value there, and deleting a record
 * also deletes its index entry, so the erasure of one customer writes to one
 * index partition. DynamoDB serves at most 1,000 write units a second per
 * partition (it may split a hot key by sort key, which would only make it
 * faster; the estimate does not count on it).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Published service limits the estimate uses. */
export const LIMITS = {
  /** DynamoDB: write capacity units per second one partition serves. */
  partitionWcuPerSecond: 1_000,
  /** DynamoDB: read capacity units per second one partition serves. */
  partitionRcuPerSecond: 3_000,
  /** DynamoDB: a delete costs 1 WCU per started KB of the item, on the table and on each index holding it. */
  wcuBytes: 1_024,
  /** DynamoDB: an eventually consistent read (index queries are) costs 0.5 RCU per started 4 KB. */
  rcuBytes: 4_096,
  /** DynamoDB: requests in one BatchWriteItem call. */
  batchWriteItems: 25,
  /** S3: DELETE requests per second per prefix. */
  s3DeletesPerSecondPerPrefix: 3_500,
  /** S3: keys in one DeleteObjects call. */
  deleteObjectsKeys: 1_000,
  /** Lambda: the longest an invocation may run, in seconds. */
  lambdaMaxSeconds: 900,
} as const;

export interface WorkerSettings {
  /** The worker function's timeout, seconds. */
  readonly timeoutSeconds: number;
  /** The worker stops starting pages with less than this left, seconds. */
  readonly reserveSeconds: number;
  /** Records read and erased per page. */
  readonly pageSize: number;
  /** BatchWriteItem calls in flight. */
  readonly writeConcurrency: number;
}

/**
 * Latencies assumed for the calls a page makes, in milliseconds: generous
 * figures for calls within one region (DynamoDB's are usually single-digit).
 */
export const ASSUMED_LATENCY_MS = {
  query: 50,
  updateItem: 15,
  batchWriteItem: 30,
  deleteObjects: 150,
} as const;

/** An item's size as DynamoDB counts it: attribute names plus values. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^-/, '').length / 2) + 1;
    else if (value.BOOL !== undefined) bytes += 1;
    else if (value.SS) bytes += value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  }
  return bytes;
}

export interface Estimate {
  readonly records: number;
  readonly itemBytes: number;
  /** Records a second each limit allows; the smallest one binds. */
  readonly ratePerSecond: {
    readonly indexPartitionWrites: number;
    readonly indexPartitionReads: number;
    readonly workerPipeline: number;
    readonly imageDeletes: number;
  };
  readonly bindingRate: number;
  readonly binding: string;
  readonly seconds: number;
  readonly invocations: number;
  /** The most records a job could erase within 24 hours at the binding rate. */
  readonly recordsIn24h: number;
}

/**
 * Worst case: every record names one image (images of a short TTL are mostly
 * gone already, which only makes the erasure faster).
 */
export function estimateErasure(records: number, item: number, s: WorkerSettings): Estimate {
  const wcuPerDelete = Math.ceil(item / LIMITS.wcuBytes);
  const rcuPerRecord = (0.5 * item) / LIMITS.rcuBytes;
  const calls = Math.ceil(s.pageSize / LIMITS.batchWriteItems);
  const pageMs =
    ASSUMED_LATENCY_MS.query +
    2 * ASSUMED_LATENCY_MS.updateItem +
    ASSUMED_LATENCY_MS.deleteObjects * Math.ceil(s.pageSize / LIMITS.deleteObjectsKeys) +
    ASSUMED_LATENCY_MS.batchWriteItem * Math.ceil(calls / s.writeConcurrency);
  const ratePerSecond = {
    indexPartitionWrites: LIMITS.partitionWcuPerSecond / wcuPerDelete,
    indexPartitionReads: LIMITS.partitionRcuPerSecond / rcuPerRecord,
    workerPipeline: (s.pageSize * 1000) / pageMs,
    // Image keys start with their expiry hour: one prefix at most per hour of traffic.
    imageDeletes: LIMITS.s3DeletesPerSecondPerPrefix,
  };
  const [binding, bindingRate] = Object.entries(ratePerSecond).sort((a, b) => a[1] - b[1])[0];
  const seconds = records / bindingRate;
  const usefulSeconds = s.timeoutSeconds - s.reserveSeconds;
  return {
    records,
    itemBytes: item,
    ratePerSecond,
    bindingRate,
    binding,
    seconds,
    invocations: Math.ceil(seconds / usefulSeconds),
    recordsIn24h: Math.floor(bindingRate * 86_400),
  };
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}
