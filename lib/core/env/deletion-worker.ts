/**
 * The deletion worker's environment (lambda/deletion-worker): written by the
 * CustomerErasure construct, read by the worker at cold start, built by
 * local mode.
 */

import { custom, defineEnv, int, optionalText, text } from '../handler-env';
import {
  decodeExclusions,
  encodeExclusions,
  MAX_EXCLUSIONS,
  type ReceiptExclusion,
} from '../receipt-scope';
import { BUCKET_NAME, KMS_KEY_ID, QUEUE_URL, TABLE_NAME } from './formats';

export const deletionWorkerEnv = defineEnv('deletion worker', {
  /** Stores the erasure does not reach and how long they keep data, named in every receipt. */
  excludes: custom<readonly ReceiptExclusion[], 'defaulted'>({
    name: 'RECEIPT_EXCLUDES',
    presence: 'defaulted',
    what: `up to ${MAX_EXCLUSIONS} comma-separated store:days pairs`,
    fallback: [],
    read(raw, problems) {
      const excludes = decodeExclusions(raw ?? '');
      if (excludes) return excludes;
      problems.push(
        `RECEIPT_EXCLUDES must be up to ${MAX_EXCLUSIONS} comma-separated store:days pairs`,
      );
      return undefined;
    },
    write: encodeExclusions,
  }),
  usageTableName: text('USAGE_TABLE_NAME', TABLE_NAME),
  deletionTableName: text('DELETION_TABLE_NAME', TABLE_NAME),
  imageBucketName: text('IMAGE_BUCKET_NAME', BUCKET_NAME),
  /** The KMS key that signs receipts (ECC_NIST_P256). */
  signingKeyId: text('SIGNING_KEY_ID', KMS_KEY_ID),
  /** The deletion queue, for handing a long job on to the next invocation. */
  deletionQueueUrl: text('DELETION_QUEUE_URL', QUEUE_URL),
  /** Records read and erased per page. */
  pageSize: int('PAGE_SIZE', { min: 1, max: 1000 }, 1000),
  /** BatchWriteItem calls in flight at once. */
  writeConcurrency: int('WRITE_CONCURRENCY', { min: 1, max: 32 }, 8),
  /**
   * Seconds from an erasure request until its job may start: the longest
   * request plus a margin, so records of requests in flight are erased too.
   */
  erasureWaitSeconds: int('ERASURE_WAIT_SECONDS', { min: 0, max: 3600 }, 0),
  /**
   * The receipt queue: the id of every job closed with a signed receipt is
   * sent there, for the receipt webhook. Absent: no webhook.
   */
  receiptQueueUrl: optionalText('RECEIPT_QUEUE_URL', QUEUE_URL),
});
