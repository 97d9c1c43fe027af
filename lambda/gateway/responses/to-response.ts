/**
 * The Responses API's response object (`object: "response"`), in the shape of
 * OpenAI's reference, built from the gateway's chat result: the answer's text
 * as one `message` item, each tool call as one `function_call` item, the
 * finish reason as the status (`length` and `content_filter` make it
 * `incomplete`), and the request's settings echoed as OpenAI echoes them.
 *
 * The same shell, with its status and output so far, is what every streamed
 * lifecycle event carries (`./stream-events`). Nothing is stored: `store` is
 * always false and `previous_response_id` null. `metadata` is echoed as the
 * client sent it; `user` never is.
 */

import type { ChatChoice, ChatResult, FinishReason, TokenLogprob } from '../upstream-results';
import type { ResponsesRequest } from './validate';

export interface ResponsesMeta {
  /** The request id: the response is `resp_<id>`, its items `msg_<id>_<n>` and `fc_<id>_<n>`. */
  readonly requestId: string;
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Public model id. */
  readonly model: string;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export const responseId = (meta: ResponsesMeta): string => `resp_${meta.requestId}`;
export const messageId = (meta: ResponsesMeta, outputIndex: number): string =>
  `msg_${meta.requestId}_${outputIndex}`;
export const functionCallId = (meta: ResponsesMeta, outputIndex: number): string =>
  `fc_${meta.requestId}_${outputIndex}`;

/**
 * An `output_text` content part: no annotations, and the tokens' log
 * probabilities when they were asked for (chat's entries have Responses'
 * shape: `token`, `logprob`, `bytes`, `top_logprobs`).
 */
export const outputTextPart = (
  text: string,
  logprobs: readonly TokenLogprob[] = [],
): Record<string, unknown> => ({
  type: 'output_text',
  text,
  annotations: [],
  logprobs,
});

export function messageItem(
  id: string,
  status: ItemStatus,
  text: string | undefined,
  logprobs?: readonly TokenLogprob[],
): Record<string, unknown> {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: text === undefined ? [] : [outputTextPart(text, logprobs)],
  };
}

export function functionCallItem(
  id: string,
  status: ItemStatus,
  call: { readonly id: string; readonly name: string; readonly arguments: string },
): Record<string, unknown> {
  return {
    type: 'function_call',
    id,
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status,
  };
}

/** The status a finish reason gives the response, and why it is incomplete. */
export function finishStatus(finish: FinishReason | undefined): {
  readonly status: 'completed' | 'incomplete';
  readonly incompleteDetails: { readonly reason: string } | null;
} {
  if (finish === 'length') {
    return { status: 'incomplete', incompleteDetails: { reason: 'max_output_tokens' } };
  }
  if (finish === 'content_filter') {
    return { status: 'incomplete', incompleteDetails: { reason: 'content_filter' } };
  }
  return { status: 'completed', incompleteDetails: null };
}

export function usageObject(inputTokens: number, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}

/** What a response says about itself besides its request's settings. */
export interface ResponseState {
  readonly status: ResponseStatus;
  readonly output: readonly Record<string, unknown>[];
  readonly usage: Record<string, unknown> | null;
  readonly error?: { readonly code: string; readonly message: string } | null;
  readonly incompleteDetails?: { readonly reason: string } | null;
}

/** The response object: `state` in the shell of the request's echoed settings. */
export function responseObject(
  request: ResponsesRequest,
  meta: ResponsesMeta,
  state: ResponseState,
): Record<string, unknown> {
  const { chat } = request;
  const format = chat.responseFormat;
  const choice = chat.toolChoice;
  return {
    id: responseId(meta),
    object: 'response',
    created_at: meta.createdAt,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incompleteDetails ?? null,
    instructions: request.instructions,
    max_output_tokens: chat.maxTokens ?? null,
    model: meta.model,
    output: state.output,
    parallel_tool_calls: chat.parallelToolCalls ?? true,
    previous_response_id: null,
    reasoning: { effort: chat.reasoningEffort ?? null, summary: null },
    store: false,
    temperature: chat.temperature ?? null,
    text: {
      format:
        format === undefined
          ? { type: 'text' }
          : format.type === 'json_schema'
            ? { type: 'json_schema', ...format.jsonSchema }
            : { type: format.type },
    },
    tool_choice:
      choice === undefined
        ? 'auto'
        : typeof choice === 'string'
          ? choice
          : { type: 'function', name: choice.name },
    tools: chat.tools.map((t) => ({
      type: 'function',
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? null,
    })),
    top_logprobs: chat.topLogprobs ?? 0,
    top_p: chat.topP ?? null,
    truncation: 'disabled',
    usage: state.usage,
    user: null,
    metadata: request.metadata,
  };
}

/**
 * The request with its content left out (instructions, tool definitions,
 * the schema of a JSON format, metadata): what a failed response echoes, so
 * that the event ending a failed stream holds none of it.
 */
export function withoutContent(request: ResponsesRequest): ResponsesRequest {
  const format = request.chat.responseFormat;
  return {
    ...request,
    instructions: null,
    metadata: {},
    chat: {
      ...request.chat,
      tools: [],
      ...(format?.type === 'json_schema' ? { responseFormat: { ...format, jsonSchema: {} } } : {}),
    },
  };
}

/**
 * The output items of one choice: a message when there is text (or nothing
 * else), then one function call per tool call. In an incomplete response the
 * items it ended in the middle of are `incomplete`: the tool calls, or the
 * message when there are none (as the streamed events close them).
 */
export function outputItems(
  choice: ChatChoice,
  meta: ResponsesMeta,
  incomplete: boolean,
): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  const calls = choice.toolCalls;
  const ended = (open: boolean): ItemStatus => (incomplete && open ? 'incomplete' : 'completed');
  if (choice.text || calls.length === 0) {
    // Log probabilities belong to the text's tokens (as the streamed events carry them).
    const logprobs = choice.text ? choice.logprobs : undefined;
    items.push(
      messageItem(messageId(meta, 0), ended(calls.length === 0), choice.text ?? '', logprobs),
    );
  }
  for (const call of calls) {
    items.push(functionCallItem(functionCallId(meta, items.length), ended(true), call));
  }
  return items;
}

/** The whole response for a chat result (its one choice). */
export function completedResponse(
  request: ResponsesRequest,
  result: ChatResult,
  meta: ResponsesMeta,
): Record<string, unknown> {
  const choice: ChatChoice = result.choices[0] ?? { text: '', toolCalls: [], finishReason: 'stop' };
  const { status, incompleteDetails } = finishStatus(choice.finishReason);
  return responseObject(request, meta, {
    status,
    incompleteDetails,
    output: outputItems(choice, meta, status === 'incomplete'),
    usage: usageObject(result.inputTokens, result.outputTokens),
  });
}

/** The body of a non-streamed answer. */
export const responseJson = (
  request: ResponsesRequest,
  result: ChatResult,
  meta: ResponsesMeta,
): string => JSON.stringify(completedResponse(request, result, meta));
