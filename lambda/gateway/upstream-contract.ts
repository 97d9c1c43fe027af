/**
 * The contract every model upstream meets (`Upstream`: Bedrock, an
 * OpenAI-compatible server, or a test double), and how it fails. What it
 * answers is in `./upstream-results`; `./upstreams` builds the configured one.
 *
 * An upstream failure is an {@link UpstreamError} whose message is fixed: the
 * upstream's own error text or body is never read into it, since it may quote
 * the prompt (promise P1).
 */

import type { UpstreamKind } from '../../lib/core/upstream-kinds';
import type { ModelConfig } from './config';
import type { ChatResult, ChatStreamEvent, EmbeddingResult, ImageResult } from './upstream-results';
import type { ChatRequest } from './validate-chat';
import type { EmbeddingRequest } from './validate-embeddings';
import type { ImageRequest } from './validate-images';

export interface Upstream {
  readonly kind: UpstreamKind;
  /**
   * A chat completion. Throws an `HttpError` (400) for a request this upstream
   * cannot honour, before any network call, or an {@link UpstreamError}.
   */
  chat(request: ChatRequest, model: ModelConfig, signal: AbortSignal): Promise<ChatResult>;
  /**
   * A chat completion streamed as it is generated (`stream: true`). Failures
   * before the first event are thrown by the first `next()`, as for
   * {@link Upstream.chat}; later ones by the `next()` that meets them. Ending
   * the iteration early (`return()`) cancels the upstream call. Optional: the
   * gateway turns `chat`'s whole answer into the same events for an upstream
   * without it.
   */
  chatStream?(
    request: ChatRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): AsyncIterable<ChatStreamEvent>;
  /** Image generation; errors as for {@link Upstream.chat}. */
  images(request: ImageRequest, model: ModelConfig, signal: AbortSignal): Promise<ImageResult>;
  /** One embedding vector per input; errors as for {@link Upstream.chat}. */
  embeddings(
    request: EmbeddingRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): Promise<EmbeddingResult>;
}

/**
 * - `failed`: anything else (502)
 * - `timeout`: no answer in time (504, not to be retried)
 * - `throttled`: the upstream asks us to slow down (429)
 * - `rejected`: the upstream refused the request as invalid (400)
 * - `too_long`: the upstream says the input exceeds the model's context (400)
 * - `no_model`: the upstream does not know the configured model (502, not to be retried)
 */
export type UpstreamFailure =
  'failed' | 'timeout' | 'throttled' | 'rejected' | 'too_long' | 'no_model';

const FIXED_MESSAGES: Record<UpstreamFailure, string> = {
  failed: 'Upstream call failed',
  timeout: 'Upstream call timed out',
  throttled: 'Upstream call throttled',
  rejected: 'Upstream rejected the request',
  too_long: 'Upstream input too long',
  no_model: 'Upstream model not found',
};

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  /**
   * @param retryAfterSeconds for `throttled`: how long the upstream asked us
   * to wait (its `Retry-After`, bounded by {@link retryAfterSeconds}), passed
   * on to the client.
   */
  constructor(
    readonly failure: UpstreamFailure,
    readonly retryAfterSeconds?: number,
  ) {
    super(FIXED_MESSAGES[failure]);
  }
}

/** The bounds of a `Retry-After` passed on from an upstream (seconds). */
export const RETRY_AFTER_RANGE = { min: 1, max: 60 } as const;

/**
 * An upstream's `Retry-After` (delay-seconds, or an HTTP date) as whole
 * seconds within {@link RETRY_AFTER_RANGE}; undefined when absent or not
 * either form.
 */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  const value = header?.trim() ?? '';
  let seconds: number;
  if (/^\d{1,10}$/.test(value)) seconds = Number(value);
  else if (/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - now) / 1000);
  } else return undefined;
  return Math.min(RETRY_AFTER_RANGE.max, Math.max(RETRY_AFTER_RANGE.min, seconds));
}

/** Whether the call was cut off by our own deadline. */
export function isTimeout(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  const name =
    typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'TimeoutError';
}
