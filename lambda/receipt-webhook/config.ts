/**
 * The receipt webhook's configuration, read once at cold start through its
 * contract (lib/core/env/receipt-webhook.ts).
 */

import { receiptWebhookEnv } from '../../lib/core/env/receipt-webhook';
import type { Env, EnvValues } from '../../lib/core/handler-env';

/** The webhook's configuration: its contract's values, the delivery timeout in milliseconds. */
export interface WebhookConfig extends Omit<
  EnvValues<typeof receiptWebhookEnv.vars>,
  'deliveryTimeoutSeconds'
> {
  /** How long one delivery may take, connection to response headers (1-30 s). */
  readonly timeoutMs: number;
}

/** A delivery that has no answer after this long is a failure, retried later. */
export const DEFAULT_DELIVERY_TIMEOUT_MS =
  receiptWebhookEnv.vars.deliveryTimeoutSeconds.fallback * 1000;

export function parseWebhookConfig(env: Env): WebhookConfig {
  const { deliveryTimeoutSeconds, ...rest } = receiptWebhookEnv.read(env);
  return { ...rest, timeoutMs: deliveryTimeoutSeconds * 1000 };
}
