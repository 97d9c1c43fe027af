/**
 * `POST /v1/responses`: OpenAI's Responses API, stateless, served by the chat
 * path. The request is translated to a chat request (`../responses/validate`),
 * the upstream answers as it answers a chat completion, and the answer is
 * translated back: one `response` object (`../responses/to-response`) or,
 * with `stream: true`, the Responses events (`../responses/stream-events`)
 * through the chat path's streaming (`./chat-streaming`). An upstream's
 * refusal of a field is told in the Responses request's own terms
 * (`../responses/params`). The record is a chat completion's: the request's
 * parameters as numbers, counts and enums, and the tokens used.
 */

import type { HttpResult } from '../../shared/http-event';
import type { HttpError } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import { recordTokens } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { modelRoute, type ModelCall } from '../pipeline/model-route';
import type { RequestState } from '../pipeline/request-state';
import { withinResponseLimit } from '../pipeline/response-limit';
import { inResponsesTerms } from '../responses/params';
import { eventSse, ResponsesEventStream, type ResponsesEvent } from '../responses/stream-events';
import { responseJson, type ResponsesMeta } from '../responses/to-response';
import { validateResponses, type ResponsesRequest } from '../responses/validate';
import { describeChat } from './chat-completions';
import { streamEvents, type StreamEncoder } from './chat-streaming';

/** The 422 behind the load balancer for an answer over its 1 MB limit. */
export const RESPONSE_TOO_LARGE =
  'The response exceeds the 1 MB response limit; lower max_output_tokens';

/** The id, creation time and model of this response and its items. */
export function responsesMeta(state: RequestState, modelId: string): ResponsesMeta {
  return {
    requestId: state.requestId,
    createdAt: Math.floor(state.now.getTime() / 1000),
    model: modelId,
  };
}

/**
 * OpenAI's `error.code` for a stream failing under way: rate limiting as
 * OpenAI names it, anything else a server error. The message is the
 * gateway's fixed one for the failure.
 */
export const failureCode = (error: HttpError): string =>
  error.status === 429 ? 'rate_limit_exceeded' : 'server_error';

/** The Responses events of one answer, as server-sent events. */
export function responsesEncoder(request: ResponsesRequest, meta: ResponsesMeta): StreamEncoder {
  const stream = new ResponsesEventStream(request, meta);
  const sse = (events: readonly ResponsesEvent[]) =>
    events.length === 0 ? undefined : events.map(eventSse).join('');
  return {
    event: (event) => sse(stream.push(event)),
    end: () => sse(stream.end()),
    failure: (error) => sse(stream.fail({ code: failureCode(error), message: error.message })),
  };
}

/** The whole response as one body. */
async function completeResponse(
  call: ModelCall<ResponsesRequest>,
  meta: ResponsesMeta,
): Promise<HttpResult> {
  const { svc, state, request, model } = call;
  const result = await svc.upstream.chat(request.chat, model, upstreamSignal(svc, state));
  recordTokens(state.record, model, result);
  return withinResponseLimit(
    state,
    jsonResult(200, responseJson(request, result, meta)),
    RESPONSE_TOO_LARGE,
  );
}

export const responses = modelRoute<ResponsesRequest>({
  validate: (body, config) => validateResponses(body, { remoteImageUrls: config.remoteImageUrls }),
  modelKind: 'chat',
  describe: (request) => describeChat(request.chat),
  answer: async (call) => {
    const meta = responsesMeta(call.state, call.model.id);
    const { request } = call;
    try {
      return await (request.chat.stream
        ? streamEvents(call, request.chat, responsesEncoder(request, meta), RESPONSE_TOO_LARGE)
        : completeResponse(call, meta));
    } catch (err) {
      // An upstream's refusal names the chat field; the client sent the Responses one.
      throw inResponsesTerms(err, request);
    }
  },
});
