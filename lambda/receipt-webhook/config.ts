/** The receipt webhook's configuration, read once at cold start. */

import { webhookUrlProblem } from '../../lib/core/webhook-url';
import { EnvReader, NAME_PATTERN, type Env } from '../shared/env';

export interface WebhookConfig {
  /** The deletion-job table, where each receipt is read back from. */
  readonly deletionTableName: string;
  /** Where receipts are POSTed (https, no credentials, query or fragment). */
  readonly webhookUrl: string;
  /**
   * The config bucket holding the outbound trust store. Absent: only the
   * public CA roots are trusted.
   */
  readonly configBucketName?: string;
  /**
   * Whether the deployment allows the trust store's `insecure_trust_all`
   * mode; when it does not, that mode is read as `uploaded_and_public`.
   */
  readonly allowInsecureTrustAll: boolean;
  /** How long one delivery may take, connection to response headers (1-30 s). */
  readonly timeoutMs: number;
}

/** A delivery that has no answer after this long is a failure, retried later. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseWebhookConfig(env: Env): WebhookConfig {
  const r = new EnvReader(env);
  const deletionTableName = r.str('DELETION_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name');
  const webhookUrl = env.RECEIPT_WEBHOOK_URL ?? '';
  if (webhookUrl === '') {
    r.problem('RECEIPT_WEBHOOK_URL is required');
  } else {
    // Content-free: the message never repeats the URL.
    const problem = webhookUrlProblem(webhookUrl);
    if (problem) r.problem(`RECEIPT_WEBHOOK_URL ${problem}`);
  }
  const configBucketName = r.optional('CONFIG_BUCKET_NAME', BUCKET, 'an S3 bucket name');
  const timeoutS = r.int(
    'DELIVERY_TIMEOUT_SECONDS',
    { min: 1, max: 30 },
    DEFAULT_DELIVERY_TIMEOUT_MS / 1000,
  );
  const allowInsecureTrustAll = r.bool('ALLOW_INSECURE_TRUST_ALL', false);
  r.check('receipt webhook');
  return {
    deletionTableName,
    webhookUrl,
    timeoutMs: timeoutS * 1000,
    ...(configBucketName ? { configBucketName } : {}),
    allowInsecureTrustAll,
  };
}
