/** The admin handler's configuration, read once at cold start. */

import { EnvReader, KMS_KEY_PATTERN, NAME_PATTERN, type Env } from '../shared/env';

export interface AdminConfig {
  readonly keyTableName: string;
  readonly usageTableName: string;
  readonly deletionTableName: string;
  readonly deletionQueueUrl: string;
  readonly hmacKeyId: string;
  /** How long usage records (and log lines) are kept: the retention header's `metadata=`. */
  readonly metadataRetentionDays: number;
  /** Longest life of an API key, in days (the stack-wide maximum key age). */
  readonly maxKeyAgeDays: number;
  /**
   * How long a deletion job waits in the queue before a worker starts it:
   * longer than the gateway's longest request, so every record that started
   * before the request is written before it is looked for.
   */
  readonly deletionDelaySeconds: number;
  /**
   * The config bucket holding the outbound trust store; without it the trust
   * routes answer 404 (`trust_store_not_configured`).
   */
  readonly configBucketName?: string;
  /** Whether the trust mode `insecure_trust_all` may be set. @default false */
  readonly allowInsecureTrustAll: boolean;
}

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const QUEUE_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;

export function parseAdminConfig(env: Env): AdminConfig {
  const r = new EnvReader(env);
  const configBucketName = r.optional('CONFIG_BUCKET_NAME', BUCKET_PATTERN, 'an S3 bucket name');
  const config: AdminConfig = {
    keyTableName: r.str('KEY_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    usageTableName: r.str('USAGE_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    deletionTableName: r.str('DELETION_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
    deletionQueueUrl: r.str('DELETION_QUEUE_URL', QUEUE_URL, 'an SQS queue URL'),
    hmacKeyId: r.str('HMAC_KEY_ID', KMS_KEY_PATTERN, 'a KMS key id or ARN'),
    metadataRetentionDays: r.int('METADATA_RETENTION_DAYS', { min: 1, max: 3650 }),
    maxKeyAgeDays: r.int('MAX_KEY_AGE_DAYS', { min: 1, max: 365 }, 90),
    deletionDelaySeconds: r.int('DELETION_DELAY_SECONDS', { min: 0, max: 900 }, 0),
    ...(configBucketName !== undefined ? { configBucketName } : {}),
    allowInsecureTrustAll: r.bool('ALLOW_INSECURE_TRUST_ALL', false),
  };
  r.check('admin');
  return config;
}
