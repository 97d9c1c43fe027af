/**
 * The admin API's environment (lambda/admin): written by the AdminApi
 * construct, read by the admin handler at cold start, built by local mode.
 */

import {
  bool,
  defineEnv,
  int,
  optionalText,
  settingDefault,
  settingRange,
  text,
} from '../handler-env';
import { MAX_QUEUE_DELAY_SECONDS } from '../request-deadlines';
import { BUCKET_NAME, KMS_KEY_ID, QUEUE_URL, TABLE_NAME } from './formats';

export const adminEnv = defineEnv('admin', {
  /**
   * The config bucket holding the outbound trust store; without it the trust
   * routes answer 404 (`trust_store_not_configured`).
   */
  configBucketName: optionalText('CONFIG_BUCKET_NAME', BUCKET_NAME),
  keyTableName: text('KEY_TABLE_NAME', TABLE_NAME),
  usageTableName: text('USAGE_TABLE_NAME', TABLE_NAME),
  deletionTableName: text('DELETION_TABLE_NAME', TABLE_NAME),
  deletionQueueUrl: text('DELETION_QUEUE_URL', QUEUE_URL),
  hmacKeyId: text('HMAC_KEY_ID', KMS_KEY_ID),
  /** How long usage records (and log lines) are kept: the retention header's `metadata=`. */
  metadataRetentionDays: int('METADATA_RETENTION_DAYS', settingRange('metadataRetentionDays')),
  /** Longest life of an API key, in days (the stack-wide maximum key age). */
  maxKeyAgeDays: int(
    'MAX_KEY_AGE_DAYS',
    settingRange('maxKeyAgeDays'),
    settingDefault('maxKeyAgeDays'),
  ),
  /**
   * How long a deletion job waits in the queue before a worker starts it:
   * longer than the gateway's longest request, so every record that started
   * before the request is written before it is looked for.
   */
  deletionDelaySeconds: int('DELETION_DELAY_SECONDS', { min: 0, max: MAX_QUEUE_DELAY_SECONDS }, 0),
  /** Whether the trust mode `insecure_trust_all` may be set. */
  allowInsecureTrustAll: bool('ALLOW_INSECURE_TRUST_ALL', false),
});
