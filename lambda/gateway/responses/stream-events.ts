/**
 * A chat completion's stream events (`../chat-stream`) as the Responses
 * API's streamed events (`stream: true`), each with its `type` and an
 * increasing `sequence_number`, sent as `event: <type>` / `data: <json>`
 * (no `[DONE]` line):
 *
 * - `response.created` and `response.in_progress` (the response with status
 *   `in_progress` and no output) before anything else;
 * - text: `response.output_item.added` (a message), `response.content_part.added`,
 *   one `response.output_text.delta` per piece, then `response.output_text.done`,
 *   `response.content_part.done` and `response.output_item.done`;
 * - each tool call: `response.output_item.added` (a function call, arguments
 *   `""`), one `response.function_call_arguments.delta` per piece, then
 *   `response.function_call_arguments.done` and `response.output_item.done`;
 * - last, `response.completed` (or `response.incomplete`) with the whole
 *   response and its usage; or, for a failure under way, `response.failed`
 *   with a fixed error and none of the content (neither the output so far
 *   nor the request's instructions, tools or metadata).
 *
 * A message item is done when a tool call starts (or at the finish); tool
 * calls are done at the finish, as their pieces may come interleaved. Log
 * probabilities, when asked for, come with each text delta. The text and
 * arguments are held in memory until the stream ends, for the last event's
 * whole response; nothing is kept after. A tool call that starts
 * without its id and name, or arguments for one already done, is a broken
 * answer: an upstream failure.
 */

import type { ChatStreamEvent, ToolCallDelta } from '../upstream-results';
import { UpstreamError } from '../upstream-contract';
import { type FinishReason, type TokenLogprob } from '../upstream-results';
import {
  finishStatus,
  functionCallId,
  functionCallItem,
  messageId,
  messageItem,
  outputTextPart,
  responseObject,
  usageObject,
  withoutContent,
  type ItemStatus,
  type ResponsesMeta,
  type ResponseState,
} from './to-response';
import type { ResponsesRequest } from './validate';

/** One streamed event: its type, its place in the stream, and its fields. */
export interface ResponsesEvent {
  readonly type: string;
  readonly sequence_number: number;
  readonly [field: string]: unknown;
}

/** One event as server-sent event text. */
export const eventSse = (event: ResponsesEvent): string =>
  `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`; // leak-ok: an event of the client's own stream

interface MessageState {
  readonly kind: 'message';
  readonly outputIndex: number;
  readonly id: string;
  text: string;
  readonly logprobs: TokenLogprob[];
  /** Undefined while open. */
  status?: ItemStatus;
}

interface CallState {
  readonly kind: 'function_call';
  readonly outputIndex: number;
  readonly id: string;
  readonly callId: string;
  readonly name: string;
  arguments: string;
  status?: ItemStatus;
}

type ItemState = MessageState | CallState;

/** The failure a `response.failed` event reports: OpenAI's code and a fixed message. */
export interface StreamFailure {
  readonly code: string;
  readonly message: string;
}

/**
 * Translates one response's chat events, in order: {@link push} for each,
 * then {@link end}, or {@link fail} for a failure under way. Each returns the
 * Responses events to send now.
 */
export class ResponsesEventStream {
  private sequence = 0;
  private started = false;
  private readonly items: ItemState[] = [];
  /** The message item taking text, if one is open. */
  private message: MessageState | undefined;
  /** Tool calls by their index in the chat events. */
  private readonly calls = new Map<number, CallState>();
  private finish: FinishReason | undefined;
  private usage = { inputTokens: 0, outputTokens: 0 };

  constructor(
    private readonly request: ResponsesRequest,
    private readonly meta: ResponsesMeta,
  ) {}

  /** The events one chat event makes (the first also makes `created` and `in_progress`). */
  push(event: ChatStreamEvent): ResponsesEvent[] {
    const out = this.begin();
    if (event.type === 'usage') {
      this.usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
      return out;
    }
    const delta = event.delta;
    // One choice (`n` is always 1).
    if (delta.index !== 0) return out;
    if (delta.content) this.text(delta.content, delta.logprobs ?? [], out);
    for (const call of delta.toolCalls ?? []) this.toolCall(call, out);
    if (delta.finishReason !== undefined) {
      this.finish = delta.finishReason;
      this.closeAll(out);
    }
    return out;
  }

  /** The events after the last chat event: open items done, then the whole response. */
  end(): ResponsesEvent[] {
    const out = this.begin();
    // Every response has an item: an answer with nothing in it is an empty message.
    if (this.items.length === 0) this.openMessage(out);
    this.closeAll(out);
    const { status, incompleteDetails } = finishStatus(this.finish);
    const response = this.response({
      status,
      incompleteDetails,
      output: this.items.map((item) => this.finalItem(item)),
      usage: usageObject(this.usage.inputTokens, this.usage.outputTokens),
    });
    out.push(
      this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', {
        response,
      }),
    );
    return out;
  }

  /**
   * The event that ends a stream failing under way: the failure, and none of
   * the content (no output, and the request's settings without their content).
   */
  fail(failure: StreamFailure): ResponsesEvent[] {
    const out = this.begin();
    out.push(
      this.event('response.failed', {
        response: responseObject(withoutContent(this.request), this.meta, {
          status: 'failed',
          error: { code: failure.code, message: failure.message },
          output: [],
          usage: null,
        }),
      }),
    );
    return out;
  }

  private event(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private response(state: ResponseState): Record<string, unknown> {
    return responseObject(this.request, this.meta, state);
  }

  /** `created` and `in_progress`, once, before anything else. */
  private begin(): ResponsesEvent[] {
    if (this.started) return [];
    this.started = true;
    const response = this.response({ status: 'in_progress', output: [], usage: null });
    return [
      this.event('response.created', { response }),
      this.event('response.in_progress', { response }),
    ];
  }

  private text(piece: string, logprobs: readonly TokenLogprob[], out: ResponsesEvent[]): void {
    const message = this.message ?? this.openMessage(out);
    message.text += piece;
    message.logprobs.push(...logprobs);
    out.push(
      this.event('response.output_text.delta', {
        item_id: message.id,
        output_index: message.outputIndex,
        content_index: 0,
        delta: piece,
        logprobs,
      }),
    );
  }

  private openMessage(out: ResponsesEvent[]): MessageState {
    const outputIndex = this.items.length;
    const message: MessageState = {
      kind: 'message',
      outputIndex,
      id: messageId(this.meta, outputIndex),
      text: '',
      logprobs: [],
    };
    this.items.push(message);
    this.message = message;
    out.push(
      this.event('response.output_item.added', {
        output_index: outputIndex,
        item: messageItem(message.id, 'in_progress', undefined),
      }),
      this.event('response.content_part.added', {
        item_id: message.id,
        output_index: outputIndex,
        content_index: 0,
        part: outputTextPart(''),
      }),
    );
    return message;
  }

  private toolCall(delta: ToolCallDelta, out: ResponsesEvent[]): void {
    let call = this.calls.get(delta.index);
    if (!call) {
      if (delta.id === undefined || delta.name === undefined) throw new UpstreamError('failed');
      // The text before a tool call is done; text after it is another message.
      if (this.message) this.close(this.message, 'completed', out);
      const outputIndex = this.items.length;
      call = {
        kind: 'function_call',
        outputIndex,
        id: functionCallId(this.meta, outputIndex),
        callId: delta.id,
        name: delta.name,
        arguments: '',
      };
      this.items.push(call);
      this.calls.set(delta.index, call);
      out.push(
        this.event('response.output_item.added', {
          output_index: outputIndex,
          item: functionCallItem(call.id, 'in_progress', {
            id: call.callId,
            name: call.name,
            arguments: '',
          }),
        }),
      );
    }
    if (!delta.arguments) return;
    if (call.status !== undefined) throw new UpstreamError('failed');
    call.arguments += delta.arguments;
    out.push(
      this.event('response.function_call_arguments.delta', {
        item_id: call.id,
        output_index: call.outputIndex,
        delta: delta.arguments,
      }),
    );
  }

  /** Closes every open item, in output order; those the response ends in are incomplete if it is. */
  private closeAll(out: ResponsesEvent[]): void {
    const status: ItemStatus =
      finishStatus(this.finish).status === 'incomplete' ? 'incomplete' : 'completed';
    for (const item of this.items) if (item.status === undefined) this.close(item, status, out);
  }

  private close(item: ItemState, status: ItemStatus, out: ResponsesEvent[]): void {
    item.status = status;
    const at = { item_id: item.id, output_index: item.outputIndex };
    if (item.kind === 'message') {
      if (this.message === item) this.message = undefined;
      out.push(
        this.event('response.output_text.done', {
          ...at,
          content_index: 0,
          text: item.text,
          logprobs: item.logprobs,
        }),
        this.event('response.content_part.done', {
          ...at,
          content_index: 0,
          part: outputTextPart(item.text, item.logprobs),
        }),
      );
    } else {
      out.push(
        this.event('response.function_call_arguments.done', {
          ...at,
          name: item.name,
          arguments: item.arguments,
        }),
      );
    }
    out.push(
      this.event('response.output_item.done', {
        output_index: item.outputIndex,
        item: this.finalItem(item),
      }),
    );
  }

  private finalItem(item: ItemState): Record<string, unknown> {
    const status = item.status ?? 'completed';
    return item.kind === 'message'
      ? messageItem(item.id, status, item.text, item.logprobs)
      : functionCallItem(item.id, status, {
          id: item.callId,
          name: item.name,
          arguments: item.arguments,
        });
  }
}
