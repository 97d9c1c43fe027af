/** The deletion worker's configuration, read once at cold start. */

import { decodeExclusions, type ReceiptExclusion } from '../../lib/core/receipt-scope';
import { EnvReader, KMS_KEY_PATTERN, NAME_PATTERN, type Env } from '../shared/env';

export interface WorkerConfig {
  readonly usageTableName: string;
  readonly deletionTableName: string;
  readonly imageBucketName: string;
  /** The KMS key that signs receipts (ECC_NIST_P256). */
  readonly signingKeyId: string;
  /** The deletion queue, for handing a long job on to the next invocation. */
  readonly deletionQueueUrl: string;
  /**
   * The receipt queue: the id of every job closed with a signed receipt is
   * sent there, for the receipt webhook. Absent: no webhook.
   */
  readonly receiptQueueUrl?: string;
  /** Stores the erasure does not reach and how long they keep data, named in every receipt. */
  readonly excludes: readonly ReceiptExclusion[];
  /** Records read and erased per page (1-1000). */
  readonly pageSize: number;
  /**
   * Seconds from an erasure request until its job may start: the longest
   * request plus a margin, so records of requests in flight are erased too.
   */
  readonly erasureWaitSeconds: number;
  /** BatchWriteItem calls in flight at once (1-32). */
  readonly writeConcurrency: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const QUEUE_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;

export function parseWorkerConfig(env: Env): WorkerConfig {
  const r = new EnvReader(env);
  const excludes = decodeExclusions(env.RECEIPT_EXCLUDES ?? '');
  if (!excludes) {
    r.problem('RECEIPT_EXCLUDES must be up to 10 comma-separated store:days pairs');
  }
  const config: WorkerConfig = {
    usageTableName: r.str('USAGE_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    deletionTableName: r.str('DELETION_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    imageBucketName: r.str('IMAGE_BUCKET_NAME', BUCKET, 'an S3 bucket name'),
    signingKeyId: r.str('SIGNING_KEY_ID', KMS_KEY_PATTERN, 'a KMS key id or ARN'),
    deletionQueueUrl: r.str('DELETION_QUEUE_URL', QUEUE_URL, 'an SQS queue URL'),
    excludes: excludes ?? [],
    pageSize: r.int('PAGE_SIZE', { min: 1, max: 1000 }, 1000),
    writeConcurrency: r.int('WRITE_CONCURRENCY', { min: 1, max: 32 }, 8),
    erasureWaitSeconds: r.int('ERASURE_WAIT_SECONDS', { min: 0, max: 3600 }, 0),
  };
  const receiptQueueUrl = r.optional('RECEIPT_QUEUE_URL', QUEUE_URL, 'an SQS queue URL');
  r.check('deletion worker');
  return receiptQueueUrl ? { ...config, receiptQueueUrl } : config;
}
