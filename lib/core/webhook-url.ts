/**
 * The deletion-receipt webhook's URL: one check for synth (configuration and
 * the ReceiptWebhook construct) and the webhook function's cold start.
 *
 * Rules: `https://host[:port][/path]`, no credentials, query or fragment. The
 * URL is written into the template and the function's environment, so it must
 * hold no secret; the receiver authenticates each receipt by its KMS signature
 * instead. Messages never repeat the URL.
 */

import { checkUpstreamBaseUrl, UPSTREAM_URL_CREDENTIALS_PROBLEM } from './upstream-url';

/** What a valid value looks like, for messages. */
export const WEBHOOK_URL_RULE = 'an https:// URL without credentials, query or fragment';

/** Why `value` is not a usable webhook URL (completes "<setting> ..."), or undefined when it is. */
export function webhookUrlProblem(value: unknown): string | undefined {
  const checked = checkUpstreamBaseUrl(value);
  if (checked.ok) return undefined;
  if (checked.problem === UPSTREAM_URL_CREDENTIALS_PROBLEM) {
    return 'must not carry credentials (they would be stored in plain text in the template and the function environment): the receiver authenticates each receipt by its KMS signature';
  }
  return `must be ${WEBHOOK_URL_RULE}`;
}
