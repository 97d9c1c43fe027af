/**
 * The receipt webhook's environment (lambda/receipt-webhook): written by the
 * ReceiptWebhook construct, read by the webhook at cold start.
 */

import { bool, custom, defineEnv, int, optionalText, text } from '../handler-env';
import { WEBHOOK_URL_RULE, webhookUrlProblem } from '../webhook-url';
import { BUCKET_NAME, TABLE_NAME } from './formats';

export const receiptWebhookEnv = defineEnv('receipt webhook', {
  /** The deletion-job table, where each receipt is read back from. */
  deletionTableName: text('DELETION_TABLE_NAME', TABLE_NAME),
  /** Where receipts are POSTed (https, no credentials, query or fragment). */
  webhookUrl: custom<string, 'required'>({
    name: 'RECEIPT_WEBHOOK_URL',
    presence: 'required',
    what: WEBHOOK_URL_RULE,
    read(raw, problems) {
      if (!raw) {
        problems.push('RECEIPT_WEBHOOK_URL is required');
        return undefined;
      }
      // Content-free: the message never repeats the URL.
      const problem = webhookUrlProblem(raw);
      if (problem === undefined) return raw;
      problems.push(`RECEIPT_WEBHOOK_URL ${problem}`);
      return undefined;
    },
    write: (url) => url,
  }),
  /** The config bucket holding the outbound trust store. Absent: only the public CA roots. */
  configBucketName: optionalText('CONFIG_BUCKET_NAME', BUCKET_NAME),
  /** How long one delivery may take, connection to response headers. */
  deliveryTimeoutSeconds: int('DELIVERY_TIMEOUT_SECONDS', { min: 1, max: 30 }, 10),
  /**
   * Whether the deployment allows the trust store's `insecure_trust_all`
   * mode; when it does not, that mode is read as `uploaded_and_public`.
   */
  allowInsecureTrustAll: bool('ALLOW_INSECURE_TRUST_ALL', false),
});
