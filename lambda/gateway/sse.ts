/**
 * `stream: true` answers as OpenAI-style `chat.completion.chunk` events
 * (`text/event-stream`), one per {@link ChatStreamEvent}, ending in
 * `data: [DONE]`.
 *
 * With `stream_options.include_usage`, a last chunk with empty `choices`
 * carries the usage and every other chunk has `usage: null`, as OpenAI does;
 * without it the usage event sends nothing. A failure after the stream has
 * started ends it with an `{"error":{...}}` event, which the OpenAI clients
 * raise as an API error, instead of a silent cut.
 */

import { logprobsJson, usageJson, type ResponseMeta } from './chat-response';
import { resultEvents } from './chat-stream';
import { type ChatStreamEvent } from './upstream-results';
import type { ChatResult } from './upstream-results';

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';
export const SSE_DONE = 'data: [DONE]\n\n';

/** One event as an SSE event, or undefined when it sends nothing. */
export function chunkSse(
  event: ChatStreamEvent,
  meta: ResponseMeta,
  includeUsage: boolean,
): string | undefined {
  let choices: unknown[];
  let usage: unknown = null;
  if (event.type === 'usage') {
    if (!includeUsage) return undefined;
    choices = [];
    usage = usageJson(event);
  } else {
    const d = event.delta;
    const delta: Record<string, unknown> = {};
    if (d.role !== undefined) {
      // The first chunk of a choice, as OpenAI sends it: role, content and refusal.
      delta.role = d.role;
      delta.content = d.content ?? '';
      delta.refusal = d.refusal ?? null;
    } else {
      if (d.content !== undefined) delta.content = d.content;
      if (d.refusal !== undefined) delta.refusal = d.refusal;
    }
    if (d.toolCalls !== undefined) {
      delta.tool_calls = d.toolCalls.map((c) => {
        const fn: Record<string, string> = {};
        if (c.name !== undefined) fn.name = c.name;
        if (c.arguments !== undefined) fn.arguments = c.arguments;
        return {
          index: c.index,
          ...(c.id !== undefined ? { id: c.id, type: 'function' } : {}),
          function: fn,
        };
      });
    }
    choices = [
      {
        index: d.index,
        delta,
        logprobs: logprobsJson(d.logprobs),
        finish_reason: d.finishReason ?? null,
      },
    ];
  }
  const body: Record<string, unknown> = {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices,
  };
  if (includeUsage) body.usage = usage;
  return `data: ${JSON.stringify(body)}\n\n`; // leak-ok: an event of the client's own stream
}

/** An error event that ends a stream already under way. */
export const errorSse = (errorJson: string): string => `data: ${errorJson}\n\n`;

/** A whole answer as one event-stream body (front doors that cannot stream). */
export function chatCompletionSse(
  result: ChatResult,
  meta: ResponseMeta,
  includeUsage: boolean,
): string {
  const events: string[] = [];
  for (const event of resultEvents(result)) {
    const text = chunkSse(event, meta, includeUsage);
    if (text !== undefined) events.push(text);
  }
  events.push(SSE_DONE);
  return events.join('');
}
