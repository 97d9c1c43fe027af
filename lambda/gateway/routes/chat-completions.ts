/**
 * `POST /v1/chat/completions`: a chat model's completion, as one
 * `chat.completion` body or, with `stream: true`, as server-sent events
 * (`./chat-streaming`). The record keeps the request's parameters as numbers,
 * counts and enums, and the tokens used.
 */

import { MESSAGES } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import type { HttpResult } from '../../shared/http-event';
import type { UsageRecord } from '../../shared/usage-record';
import { chatCompletionJson, type ResponseMeta } from '../chat-response';
import { recordTokens } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { modelRoute, type ModelCall } from '../pipeline/model-route';
import { withinResponseLimit } from '../pipeline/response-limit';
import type { RequestState } from '../pipeline/request-state';
import { validateChat, type ChatRequest } from '../validate-chat';
import { streamChat } from './chat-streaming';

/** What the record keeps of a chat request (never a message, stop sequence or tool). */
export function describeChat(request: ChatRequest): UsageRecord {
  return {
    temperature: request.temperature,
    top_p: request.topP,
    max_tokens: request.maxTokens,
    n: request.n,
    seed: request.seed,
    presence_penalty: request.presencePenalty,
    frequency_penalty: request.frequencyPenalty,
    stop_count: request.stop.length,
    tool_count: request.tools.length,
    stream: request.stream,
    response_format: request.responseFormat?.type,
  };
}

/** The id, creation time and model every chunk or body of this answer carries. */
export function responseMeta(state: RequestState, modelId: string): ResponseMeta {
  return {
    id: `chatcmpl-${state.requestId}`,
    created: Math.floor(state.now.getTime() / 1000),
    model: modelId,
  };
}

/** The whole completion as one body. */
async function completeChat(call: ModelCall<ChatRequest>, meta: ResponseMeta): Promise<HttpResult> {
  const { svc, state, request, model } = call;
  const result = await svc.upstream.chat(request, model, upstreamSignal(svc, state));
  recordTokens(state.record, model, result);
  return withinResponseLimit(
    state,
    jsonResult(200, chatCompletionJson(result, meta)),
    MESSAGES.completionTooLarge,
  );
}

export const chatCompletions = modelRoute<ChatRequest>({
  validate: (body, config) => validateChat(body, { remoteImageUrls: config.remoteImageUrls }),
  modelKind: 'chat',
  describe: describeChat,
  answer: (call) => {
    const meta = responseMeta(call.state, call.model.id);
    return call.request.stream ? streamChat(call, meta) : completeChat(call, meta);
  },
});
