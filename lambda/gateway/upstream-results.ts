/**
 * What a model upstream answers, whichever it is: a chat completion (whole, or
 * as a stream of events), images, embedding vectors. Plain data, rebuilt field
 * by field from the upstream's own answer; the gateway formats it for the
 * client (`./chat-response`, `./sse`, `./responses`).
 */

import type { ToolCall } from './validate-chat';

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
  /** The model's refusal message, when the upstream gave one (OpenAI's `message.refusal`). */
  readonly refusal?: string;
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

/** A piece of one tool call: the id and name come first, the arguments in pieces. */
export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly name?: string;
  readonly arguments?: string;
}

/** What one chunk adds to one choice. */
export interface ChoiceDelta {
  readonly index: number;
  readonly role?: 'assistant';
  readonly content?: string;
  /** A piece of the model's refusal message (OpenAI's `delta.refusal`). */
  readonly refusal?: string;
  /** The log probabilities of the tokens of `content`, when asked for. */
  readonly logprobs?: readonly TokenLogprob[];
  readonly toolCalls?: readonly ToolCallDelta[];
  readonly finishReason?: FinishReason;
}

export type ChatStreamEvent =
  | { readonly type: 'choice'; readonly delta: ChoiceDelta }
  | { readonly type: 'usage'; readonly inputTokens: number; readonly outputTokens: number };
