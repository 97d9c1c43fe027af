/**
 * `stream: true` chat completions, and the machinery every API served from
 * the chat path streams with (`./responses` too). The first event decides
 * the status: until it arrives, a failure is an ordinary error answer. Then
 * each event goes out as soon as it arrives (a front door that streams) or
 * is added to one body (one that cannot; the 1 MB limit applies), written by
 * the API's {@link StreamEncoder}. A failure after the stream has started
 * ends it with the encoder's error event; a client that hangs up ends the
 * upstream call. Either way the pipeline writes the record when the handler
 * returns.
 */

import type { HttpResult } from '../../shared/http-event';
import { errorBody, MESSAGES, type HttpError } from '../../shared/http-errors';
import { albResult } from '../../shared/http-results';
import type { ResponseStream } from '../../shared/response-stream';
import type { ResponseMeta } from '../chat-response';
import { resultEvents } from '../chat-stream';
import { type ChatStreamEvent } from '../upstream-results';
import type { ModelConfig } from '../config';
import { answerHeaders } from '../pipeline/answer-headers';
import { recordTokens } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { toHttpError } from '../pipeline/errors';
import type { ModelCall } from '../pipeline/model-route';
import { withinResponseLimit } from '../pipeline/response-limit';
import { chunkSse, errorSse, SSE_CONTENT_TYPE, SSE_DONE } from '../sse';
import type { Upstream } from '../upstream-contract';
import type { ChatRequest } from '../validate-chat';

/** How one API writes a stream of chat events as server-sent events. */
export interface StreamEncoder {
  /** The text for one event (undefined: nothing to send). */
  event(event: ChatStreamEvent): string | undefined;
  /** The text after the last event. */
  end(): string | undefined;
  /** The text that ends a stream failing under way (never the failure's own message). */
  failure(error: HttpError): string | undefined;
}

/** Chat completion chunks (`../sse`), ending in `[DONE]`; a failure is an `{"error":{...}}` event. */
export function chatEncoder(meta: ResponseMeta, includeUsage: boolean): StreamEncoder {
  return {
    event: (event) => chunkSse(event, meta, includeUsage),
    end: () => SSE_DONE,
    failure: (error) => errorSse(errorBody(error)),
  };
}

type Events = AsyncIterator<ChatStreamEvent>;
type Send = (text: string | undefined) => Promise<void>;

export function streamChat(call: ModelCall<ChatRequest>, meta: ResponseMeta): Promise<HttpResult> {
  return streamEvents(
    call,
    call.request,
    chatEncoder(meta, call.request.includeUsage),
    MESSAGES.completionTooLarge,
  );
}

/** The parts of a model call the stream needs (any request type: `chat` is what goes upstream). */
export type StreamCall = Pick<ModelCall<unknown>, 'svc' | 'state' | 'model'>;

/**
 * Streams the upstream's answer to `request`, written by `encoder`; behind a
 * front door that cannot stream, the same text in one body, refused with
 * `tooLarge` (422) over the 1 MB limit.
 */
export async function streamEvents(
  call: StreamCall,
  request: ChatRequest,
  encoder: StreamEncoder,
  tooLarge: string,
): Promise<HttpResult> {
  const { svc, state, model } = call;
  const signal = upstreamSignal(svc, state);
  const events = (svc.upstream.chatStream?.(request, model, signal) ??
    wholeAnswerEvents(svc.upstream, request, model, signal))[Symbol.asyncIterator]();
  const { out } = state;
  const buffered: string[] = [];
  const send = chunkSender(out, buffered);
  try {
    const first = await events.next();
    const headers = {
      'Content-Type': SSE_CONTENT_TYPE,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...(await answerHeaders(svc, state)),
    };
    out?.start(200, headers);
    await relay(call, encoder, events, first, send);
    if (out) return { statusCode: 200, headers, body: '', isBase64Encoded: false };
    return withinResponseLimit(
      state,
      albResult(200, buffered.join(''), SSE_CONTENT_TYPE),
      tooLarge,
    );
  } finally {
    buffered.length = 0;
    await events.return?.();
  }
}

/** Sends a chunk on the front door's stream, or adds it to `buffered` when there is none. */
function chunkSender(out: ResponseStream | undefined, buffered: string[]): Send {
  return async (text) => {
    if (text === undefined) return;
    if (out) await out.write(text);
    else buffered.push(text);
  };
}

/**
 * Sends `first` and every later event, then the encoder's end. A failure
 * under way ends a stream that has started with the encoder's error event
 * (or, for a client that hung up, nothing); without a stream it fails the
 * request.
 */
async function relay(
  call: StreamCall,
  encoder: StreamEncoder,
  events: Events,
  first: IteratorResult<ChatStreamEvent>,
  send: Send,
): Promise<void> {
  const { state, model } = call;
  const { out } = state;
  try {
    for (let next = first; !next.done; next = await events.next()) {
      const event = next.value;
      if (event.type === 'usage') recordTokens(state.record, model, event);
      await send(encoder.event(event));
    }
    await send(encoder.end());
  } catch (err) {
    if (!out) throw err;
    // Under way: the status is sent; the failure ends the stream.
    const failure = out.signal.aborted ? undefined : toHttpError(err);
    state.record.error_type = failure?.type ?? 'client_closed';
    if (failure) await send(encoder.failure(failure));
  }
}

/** A whole answer from an upstream that cannot stream, as stream events. */
async function* wholeAnswerEvents(
  upstream: Upstream,
  request: ChatRequest,
  model: ModelConfig,
  signal: AbortSignal,
): AsyncGenerator<ChatStreamEvent> {
  yield* resultEvents(await upstream.chat(request, model, signal));
}
