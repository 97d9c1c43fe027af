/**
 * `stream: true` chat completions. The first event decides the status: until
 * it arrives, a failure is an ordinary error answer. Then each event goes out
 * as one chunk as soon as it arrives (a front door that streams) or is added
 * to one body (one that cannot; the 1 MB limit applies). A failure after the
 * stream has started ends it with an error event; a client that hangs up ends
 * the upstream call. Either way the pipeline writes the record when the
 * handler returns.
 */

import type { HttpResult } from '../../shared/http-event';
import { errorBody, MESSAGES } from '../../shared/http-errors';
import { albResult } from '../../shared/http-results';
import type { ResponseStream } from '../../shared/response-stream';
import type { ResponseMeta } from '../chat-response';
import { resultEvents, type ChatStreamEvent } from '../chat-stream';
import type { ModelConfig } from '../config';
import { answerHeaders } from '../pipeline/answer-headers';
import { recordTokens } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { toHttpError } from '../pipeline/errors';
import type { ModelCall } from '../pipeline/model-route';
import { withinResponseLimit } from '../pipeline/response-limit';
import { chunkSse, errorSse, SSE_CONTENT_TYPE, SSE_DONE } from '../sse';
import type { Upstream } from '../upstream';
import type { ChatRequest } from '../validate-chat';

type Events = AsyncIterator<ChatStreamEvent>;
type Send = (text: string | undefined) => Promise<void>;

export async function streamChat(
  call: ModelCall<ChatRequest>,
  meta: ResponseMeta,
): Promise<HttpResult> {
  const { svc, state, request, model } = call;
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
    await relay(call, meta, events, first, send);
    if (out) return { statusCode: 200, headers, body: '', isBase64Encoded: false };
    return withinResponseLimit(
      state,
      albResult(200, buffered.join(''), SSE_CONTENT_TYPE),
      MESSAGES.completionTooLarge,
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
 * Sends `first` and every later event as chunks, then `[DONE]`. A failure
 * under way ends a stream that has started with an error event (or, for a
 * client that hung up, nothing); without a stream it fails the request.
 */
async function relay(
  call: ModelCall<ChatRequest>,
  meta: ResponseMeta,
  events: Events,
  first: IteratorResult<ChatStreamEvent>,
  send: Send,
): Promise<void> {
  const { state, request, model } = call;
  const { out } = state;
  try {
    for (let next = first; !next.done; next = await events.next()) {
      const event = next.value;
      if (event.type === 'usage') recordTokens(state.record, model, event);
      await send(chunkSse(event, meta, request.includeUsage));
    }
    await send(SSE_DONE);
  } catch (err) {
    if (!out) throw err;
    // Under way: the status is sent; the failure ends the stream.
    const failure = out.signal.aborted ? undefined : toHttpError(err);
    state.record.error_type = failure?.type ?? 'client_closed';
    if (failure) await send(errorSse(errorBody(failure)));
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
