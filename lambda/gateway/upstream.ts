/**
 * What the gateway needs from a model upstream, whichever it is.
 *
 * An upstream failure is an {@link UpstreamError} whose message is fixed: the
 * upstream's own error text or body is never read into it, since it may quote
 * the prompt (promise P1).
 */

import type { ChatStreamEvent } from './chat-stream';
import type { ModelConfig } from './config';
import type { ChatRequest, ToolCall } from './validate-chat';
import type { EmbeddingRequest } from './validate-embeddings';
import type { ImageRequest } from './validate-images';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** A likely token at one position (OpenAI's `top_logprobs` entry). */
export interface TopLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[] | null;
}

/** One output token's log probability (OpenAI's `logprobs.content` entry). */
export interface TokenLogprob extends TopLogprob {
  readonly top_logprobs: readonly TopLogprob[];
}

export interface ChatChoice {
  readonly text: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  /** The output tokens' log probabilities, when asked for (`logprobs: true`). */
  readonly logprobs?: readonly TokenLogprob[];
}

export interface ChatResult {
  readonly choices: readonly ChatChoice[];
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ImageResult {
  /** Image bytes (PNG, JPEG or WebP), one per generated image. */
  readonly images: readonly Buffer[];
}

export interface EmbeddingResult {
  /** One vector per input, in the order of the inputs; every number finite. */
  readonly vectors: readonly (readonly number[])[];
  /** Input tokens of all inputs together. */
  readonly inputTokens: number;
}

export interface Upstream {
  readonly kind: 'bedrock' | 'openai-compatible';
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
  /** The configured models this upstream offers now. */
  models(configured: readonly ModelConfig[], signal: AbortSignal): Promise<readonly ModelConfig[]>;
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
  constructor(readonly failure: UpstreamFailure) {
    super(FIXED_MESSAGES[failure]);
  }
}

/** Whether the call was cut off by our own deadline. */
export function isTimeout(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  const name =
    typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'TimeoutError';
}
