/**
 * An OpenAI-compatible server (vLLM, TGI, ...) as the upstream, over HTTPS with
 * the global `fetch`.
 *
 * Only the validated fields are forwarded, never the client's headers; the only
 * header of ours is the upstream bearer token from Secrets Manager. The answer is
 * parsed and rebuilt field by field. A non-2xx answer's body is discarded unread
 * (it may quote the prompt).
 */

import { resultEvents } from './chat-stream';
import { type ChatStreamEvent, type ToolCallDelta } from './upstream-results';
import type { ModelConfig } from './config';
import { decodeBase64Image } from './image-format';
import { fromOpenAiEmbeddingsBody, toOpenAiEmbeddingsBody } from './openai-embeddings';
import { SseDecoder } from './sse-decoder';
import { isTimeout, retryAfterSeconds, UpstreamError, type Upstream } from './upstream-contract';
import {
  type ChatChoice,
  type ChatResult,
  type EmbeddingResult,
  type FinishReason,
  type ImageResult,
  type TokenLogprob,
  type TopLogprob,
} from './upstream-results';
import type { ChatMessage, ChatRequest, ToolCall } from './validate-chat';
import type { EmbeddingRequest } from './validate-embeddings';
import { isObject } from './validation';
import type { ImageRequest } from './validate-images';

/** Largest upstream answer read (bytes); an image answer holds up to 10 base64 images. */
export const MAX_UPSTREAM_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Largest single event of a streamed answer (bytes); a chunk is usually a few hundred. */
export const MAX_STREAM_EVENT_BYTES = 1024 * 1024;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface OpenAiUpstreamOptions {
  /** `https://host[:port][/path]` without a trailing slash. */
  readonly baseUrl: string;
  /** Resolves the bearer token (undefined: send none). Called per request; may cache. */
  readonly token: () => Promise<string | undefined>;
  readonly fetch?: FetchLike;
}

/** The body sent to `POST /v1/chat/completions`: validated fields only (`chatStream` adds the streaming fields). */
export function toOpenAiChatBody(
  request: ChatRequest,
  upstreamId: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: upstreamId,
    messages: request.messages.map(toOpenAiMessage),
    stream: false,
  };
  const set = (name: string, value: unknown) => {
    if (value !== undefined) body[name] = value;
  };
  set('temperature', request.temperature);
  set('top_p', request.topP);
  set(request.maxTokensField ?? 'max_tokens', request.maxTokens);
  set('parallel_tool_calls', request.parallelToolCalls);
  set('logprobs', request.logprobs);
  set('top_logprobs', request.topLogprobs);
  set('reasoning_effort', request.reasoningEffort);
  if (request.n !== 1) body.n = request.n;
  if (request.stop.length > 0) body.stop = [...request.stop];
  set('seed', request.seed);
  set('presence_penalty', request.presencePenalty);
  set('frequency_penalty', request.frequencyPenalty);
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
        ...(t.strict !== undefined ? { strict: t.strict } : {}),
      },
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    body.tool_choice =
      typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  }
  const format = request.responseFormat;
  if (format !== undefined) {
    body.response_format =
      format.type === 'json_schema'
        ? { type: 'json_schema', json_schema: format.jsonSchema }
        : { type: format.type };
  }
  return body;
}

function toOpenAiMessage(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.text };
    case 'user':
      return {
        role: 'user',
        content:
          m.parts.length === 1 && m.parts[0].type === 'text'
            ? m.parts[0].text
            : m.parts.map((p) =>
                p.type === 'text'
                  ? { type: 'text', text: p.text }
                  : {
                      type: 'image_url',
                      image_url: { url: p.url, ...(p.detail ? { detail: p.detail } : {}) },
                    },
              ),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.text,
        ...(m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.text };
  }
}

const FINISH_REASONS: ReadonlySet<string> = new Set([
  'stop',
  'length',
  'tool_calls',
  'content_filter',
]);

/** Parses a chat completion answer, keeping only the fields the gateway returns. */
export function fromOpenAiChatBody(parsed: unknown, expectedChoices: number): ChatResult {
  if (!isObject(parsed) || !Array.isArray(parsed.choices) || parsed.choices.length === 0) {
    throw new UpstreamError('failed');
  }
  if (parsed.choices.length > expectedChoices) throw new UpstreamError('failed');
  const choices = parsed.choices.map((c: unknown): ChatChoice => {
    if (!isObject(c) || !isObject(c.message)) throw new UpstreamError('failed');
    const content = c.message.content;
    if (content !== null && content !== undefined && typeof content !== 'string')
      throw new UpstreamError('failed');
    const rawCalls = c.message.tool_calls ?? [];
    if (!Array.isArray(rawCalls)) throw new UpstreamError('failed');
    const toolCalls = rawCalls.map((call: unknown): ToolCall => {
      if (
        !isObject(call) ||
        typeof call.id !== 'string' ||
        !isObject(call.function) ||
        typeof call.function.name !== 'string' ||
        typeof call.function.arguments !== 'string'
      ) {
        throw new UpstreamError('failed');
      }
      return { id: call.id, name: call.function.name, arguments: call.function.arguments };
    });
    const reason = c.finish_reason === 'function_call' ? 'tool_calls' : c.finish_reason;
    const finishReason: FinishReason =
      typeof reason === 'string' && FINISH_REASONS.has(reason) ? (reason as FinishReason) : 'stop';
    const logprobs = parseLogprobs(c.logprobs);
    const refusal = optionalString(c.message.refusal);
    return {
      text: typeof content === 'string' ? content : null,
      ...(refusal ? { refusal } : {}),
      toolCalls,
      finishReason,
      ...(logprobs ? { logprobs } : {}),
    };
  });
  const usage = isObject(parsed.usage) ? parsed.usage : {};
  return {
    choices,
    inputTokens: count(usage.prompt_tokens),
    outputTokens: count(usage.completion_tokens),
  };
}

/** Most token entries one choice's logprobs may hold (more is a broken answer). */
const MAX_LOGPROB_TOKENS = 1_000_000;

function topLogprob(v: unknown): TopLogprob {
  if (!isObject(v) || typeof v.token !== 'string' || typeof v.logprob !== 'number') {
    throw new UpstreamError('failed');
  }
  const bytes = v.bytes ?? null;
  if (
    bytes !== null &&
    !(Array.isArray(bytes) && bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
  ) {
    throw new UpstreamError('failed');
  }
  return { token: v.token, logprob: v.logprob, bytes: bytes as number[] | null };
}

/**
 * A choice's `logprobs.content`, rebuilt field by field (token, logprob,
 * bytes, top_logprobs); undefined when the upstream sent none.
 */
export function parseLogprobs(v: unknown): TokenLogprob[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new UpstreamError('failed');
  const content = v.content ?? [];
  if (!Array.isArray(content) || content.length > MAX_LOGPROB_TOKENS) {
    throw new UpstreamError('failed');
  }
  if (content.length === 0) return undefined;
  return content.map((entry: unknown): TokenLogprob => {
    const top = isObject(entry) ? (entry.top_logprobs ?? []) : undefined;
    if (!Array.isArray(top)) throw new UpstreamError('failed');
    return { ...topLogprob(entry), top_logprobs: top.map(topLogprob) };
  });
}

const count = (v: unknown): number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;

const optionalString = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new UpstreamError('failed');
  return v;
};

const index = (v: unknown, below: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= below)
    throw new UpstreamError('failed');
  return v;
};

/** Most tool calls one choice may stream (more is treated as a broken answer). */
const MAX_STREAMED_TOOL_CALLS = 128;

/**
 * Parses one `chat.completion.chunk` of a streamed answer into events, keeping
 * only the fields the gateway passes on. An `error` event, a choice index
 * beyond `n` or a malformed field is a failed upstream.
 */
export function fromOpenAiChunk(parsed: unknown, expectedChoices: number): ChatStreamEvent[] {
  if (!isObject(parsed) || parsed.error !== undefined) throw new UpstreamError('failed');
  const events: ChatStreamEvent[] = [];
  const choices = parsed.choices ?? [];
  if (!Array.isArray(choices)) throw new UpstreamError('failed');
  for (const c of choices) {
    if (!isObject(c)) throw new UpstreamError('failed');
    const delta = c.delta ?? {};
    if (!isObject(delta)) throw new UpstreamError('failed');
    const content = optionalString(delta.content);
    const refusal = optionalString(delta.refusal);
    const logprobs = parseLogprobs(c.logprobs);
    const rawCalls = delta.tool_calls ?? [];
    if (!Array.isArray(rawCalls)) throw new UpstreamError('failed');
    const toolCalls = rawCalls.map((call: unknown): ToolCallDelta => {
      if (!isObject(call)) throw new UpstreamError('failed');
      const fn = call.function ?? {};
      if (!isObject(fn)) throw new UpstreamError('failed');
      const id = optionalString(call.id);
      const name = optionalString(fn.name);
      const args = optionalString(fn.arguments);
      return {
        index: index(call.index, MAX_STREAMED_TOOL_CALLS),
        ...(id !== undefined ? { id } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(args !== undefined ? { arguments: args } : {}),
      };
    });
    const reason = c.finish_reason === 'function_call' ? 'tool_calls' : c.finish_reason;
    const finishReason =
      reason === undefined || reason === null
        ? undefined
        : typeof reason === 'string' && FINISH_REASONS.has(reason)
          ? (reason as FinishReason)
          : 'stop';
    events.push({
      type: 'choice',
      delta: {
        index: index(c.index ?? 0, expectedChoices),
        ...(delta.role === 'assistant' ? { role: 'assistant' as const } : {}),
        ...(content !== undefined ? { content } : {}),
        ...(refusal ? { refusal } : {}),
        ...(logprobs ? { logprobs } : {}),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
        ...(finishReason !== undefined ? { finishReason } : {}),
      },
    });
  }
  if (isObject(parsed.usage)) {
    events.push({
      type: 'usage',
      inputTokens: count(parsed.usage.prompt_tokens),
      outputTokens: count(parsed.usage.completion_tokens),
    });
  }
  return events;
}

/** The body sent to `POST /v1/images/generations`; images always come back as base64 to us. */
export function toOpenAiImageBody(
  request: ImageRequest,
  upstreamId: string,
): Record<string, unknown> {
  return {
    model: upstreamId,
    prompt: request.prompt,
    n: request.n,
    size: request.size,
    ...(request.quality !== undefined ? { quality: request.quality } : {}),
    ...(request.style !== undefined ? { style: request.style } : {}),
    response_format: 'b64_json',
  };
}

export function fromOpenAiImageBody(parsed: unknown, expected: number): ImageResult {
  if (
    !isObject(parsed) ||
    !Array.isArray(parsed.data) ||
    parsed.data.length === 0 ||
    parsed.data.length > expected
  ) {
    throw new UpstreamError('failed');
  }
  const images = parsed.data.map((d: unknown) => {
    const bytes = isObject(d) ? decodeBase64Image(d.b64_json) : undefined;
    if (!bytes) throw new UpstreamError('failed');
    return bytes;
  });
  return { images };
}

/**
 * Maps an upstream HTTP status to a failure kind; for a 400, `errorCode` is
 * the `error.code` of the upstream's error body, which tells an input over
 * the context length from other refusals.
 */
export function statusFailure(
  status: number,
  errorCode?: string,
  retryAfterHeader: string | null = null,
): UpstreamError {
  if (status === 429) return new UpstreamError('throttled', retryAfterSeconds(retryAfterHeader));
  if (status === 408 || status === 504) return new UpstreamError('timeout');
  if (status === 404) return new UpstreamError('no_model');
  if (status === 400 && errorCode === 'context_length_exceeded') {
    return new UpstreamError('too_long');
  }
  if (status === 400 || status === 413 || status === 422) return new UpstreamError('rejected');
  return new UpstreamError('failed');
}

/** Most bytes of an upstream 400's body read for its `error.code`. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The `error.code` of an upstream error body, if it is one short identifier.
 * Only that field is taken: the body's message may quote the prompt, and it
 * is dropped with the rest of the body.
 */
export async function upstreamErrorCode(res: Response): Promise<string | undefined> {
  try {
    const parsed: unknown = JSON.parse(
      (await readCapped(res, MAX_ERROR_BODY_BYTES)).toString('utf8'),
    );
    const code = isObject(parsed) && isObject(parsed.error) ? parsed.error.code : undefined;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Reads at most `max` bytes of a body; more is a failure. */
async function readCapped(res: Response, max: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await discard(res);
    throw new UpstreamError('failed');
  }
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new UpstreamError('failed');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The body is not needed; nothing to report.
  }
}

export class OpenAiUpstream implements Upstream {
  readonly kind = 'openai-compatible' as const;
  private readonly fetch: FetchLike;

  constructor(private readonly options: OpenAiUpstreamOptions) {
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  async chat(request: ChatRequest, model: ModelConfig, signal: AbortSignal): Promise<ChatResult> {
    const body = toOpenAiChatBody(request, model.upstreamId);
    return fromOpenAiChatBody(
      await this.call('POST', '/v1/chat/completions', body, signal),
      request.n,
    );
  }

  /**
   * Streams a chat completion: the upstream is asked for `stream: true` with
   * usage in the last chunk, and each of its events is parsed and passed on
   * as it arrives; nothing is kept after it is handed over. A server that
   * answers with a whole JSON completion instead is accepted too. A stream
   * that ends without `[DONE]` was cut off: a failed upstream.
   */
  async *chatStream(
    request: ChatRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): AsyncGenerator<ChatStreamEvent> {
    const body = {
      ...toOpenAiChatBody(request, model.upstreamId),
      stream: true,
      stream_options: { include_usage: true },
    };
    const res = await this.send('POST', '/v1/chat/completions', body, signal);
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      yield* resultEvents(fromOpenAiChatBody(await this.parse(res, signal), request.n));
      return;
    }
    const reader = res.body?.getReader();
    if (!reader) throw new UpstreamError('failed');
    const decoder = new SseDecoder(MAX_STREAM_EVENT_BYTES);
    try {
      for (;;) {
        let piece: Awaited<ReturnType<typeof reader.read>>;
        try {
          piece = await reader.read();
        } catch (err) {
          throw isTimeout(err, signal) ? new UpstreamError('timeout') : new UpstreamError('failed');
        }
        let events: string[];
        try {
          events = piece.done ? decoder.end() : decoder.push(piece.value);
        } catch {
          throw new UpstreamError('failed');
        }
        for (const data of events) {
          if (data === '[DONE]') return;
          let parsed: unknown;
          try {
            parsed = JSON.parse(data);
          } catch {
            throw new UpstreamError('failed');
          }
          yield* fromOpenAiChunk(parsed, request.n);
        }
        if (piece.done) throw new UpstreamError('failed');
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  async images(
    request: ImageRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): Promise<ImageResult> {
    const body = toOpenAiImageBody(request, model.upstreamId);
    return fromOpenAiImageBody(
      await this.call('POST', '/v1/images/generations', body, signal),
      request.n,
    );
  }

  /** `POST /v1/embeddings` (`./openai-embeddings`), with the same capped read as every answer. */
  async embeddings(
    request: EmbeddingRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): Promise<EmbeddingResult> {
    const body = toOpenAiEmbeddingsBody(request, model.upstreamId);
    return fromOpenAiEmbeddingsBody(
      await this.call('POST', '/v1/embeddings', body, signal),
      request,
    );
  }

  private async call(
    method: 'POST',
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<unknown> {
    return this.parse(await this.send(method, path, body, signal), signal);
  }

  /** Sends a request; a non-2xx answer is discarded unread and thrown as its failure kind. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    let token: string | undefined;
    try {
      token = await this.options.token();
    } catch {
      throw new UpstreamError('failed');
    }
    const headers: Record<string, string> = {
      accept: body?.stream === true ? 'text/event-stream, application/json' : 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}), // leak-ok: the upstream request
        signal,
        redirect: 'error',
      });
    } catch (err) {
      throw isTimeout(err, signal) ? new UpstreamError('timeout') : new UpstreamError('failed');
    }
    if (!res.ok) {
      if (res.status === 400) throw statusFailure(400, await upstreamErrorCode(res));
      await discard(res);
      throw statusFailure(res.status, undefined, res.headers.get('retry-after'));
    }
    return res;
  }

  /** Reads a JSON answer (capped). */
  private async parse(res: Response, signal: AbortSignal): Promise<unknown> {
    let text: string;
    try {
      text = (await readCapped(res, MAX_UPSTREAM_RESPONSE_BYTES)).toString('utf8');
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw isTimeout(err, signal) ? new UpstreamError('timeout') : new UpstreamError('failed');
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamError('failed');
    }
  }
}
