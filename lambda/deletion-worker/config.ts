/** The deletion worker's configuration, read once at cold start. */

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
  /** Stores the erasure does not reach, named in every receipt (`load-balancer-access-logs`). */
  readonly excludes: readonly string[];
  /** Records read and erased per page (1-1000). */
  readonly pageSize: number;
  /** BatchWriteItem calls in flight at once (1-32). */
  readonly writeConcurrency: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const QUEUE_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;
const EXCLUDES = /^([a-z0-9-]{1,64}(,[a-z0-9-]{1,64}){0,9})?$/;

export function parseWorkerConfig(env: Env): WorkerConfig {
  const r = new EnvReader(env);
  const excludes = env.RECEIPT_EXCLUDES ?? '';
  if (!EXCLUDES.test(excludes))
    r.problem('RECEIPT_EXCLUDES must be a comma-separated list of names');
  const config: WorkerConfig = {
    usageTableName: r.str('USAGE_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    deletionTableName: r.str('DELETION_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    imageBucketName: r.str('IMAGE_BUCKET_NAME', BUCKET, 'an S3 bucket name'),
    signingKeyId: r.str('SIGNING_KEY_ID', KMS_KEY_PATTERN, 'a KMS key id or ARN'),
    deletionQueueUrl: r.str('DELETION_QUEUE_URL', QUEUE_URL, 'an SQS queue URL'),
    excludes: excludes === '' ? [] : excludes.split(','),
    pageSize: r.int('PAGE_SIZE', { min: 1, max: 1000 }, 1000),
    writeConcurrency: r.int('WRITE_CONCURRENCY', { min: 1, max: 32 }, 8),
  };
  const receiptQueueUrl = r.optional('RECEIPT_QUEUE_URL', QUEUE_URL, 'an SQS queue URL');
  r.check('deletion worker');
  return receiptQueueUrl ? { ...config, receiptQueueUrl } : config;
}
