/**
 * The deletion-receipt webhook's URL: one check for synth (configuration and
 * the ReceiptWebhook construct) and the webhook function's cold start.
 *
 * The base rule of every configured URL (lib/core/https-url.ts:
 * `https://host[:port][/path]`, no credentials, query or fragment) with no
 * extras; the URL is used as written. It is stored in the template and the
 * function's environment, so it must hold no secret; the receiver
 * authenticates each receipt by its KMS signature instead. Messages never
 * repeat the URL.
 */

import { checkHttpsUrl, HTTPS_URL_RULE } from './https-url';

/** What a valid value looks like, for messages. */
export const WEBHOOK_URL_RULE = HTTPS_URL_RULE;

/** Why `value` is not a usable webhook URL (completes "<setting> ..."), or undefined when it is. */
export function webhookUrlProblem(value: unknown): string | undefined {
  const checked = checkHttpsUrl(value);
  if (checked.ok) return undefined;
  if (checked.fault === 'credentials') {
    return `${checked.problem}: the receiver authenticates each receipt by its KMS signature`;
  }
  return `must be ${WEBHOOK_URL_RULE}`;
}
