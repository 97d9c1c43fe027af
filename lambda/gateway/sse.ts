/**
 * `stream: true` behind an ALB, whose Lambda targets cannot stream: the whole
 * completion is returned at once as a valid `text/event-stream` body of
 * OpenAI-style `chat.completion.chunk` events ending in `data: [DONE]`, so
 * streaming clients work unchanged.
 *
 * Per choice: a chunk with the role, one with the content (if any), one with the
 * tool calls (if any), and one with the finish reason; with
 * `stream_options.include_usage`, a last chunk with empty `choices` carries the
 * usage (and every other chunk has `usage: null`), as OpenAI does.
 */

import { toolCallsJson, usageJson, type ResponseMeta } from './chat-response';
import type { ChatResult } from './upstream';

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

export function chatCompletionSse(
  result: ChatResult,
  meta: ResponseMeta,
  includeUsage: boolean,
): string {
  const events: string[] = [];
  const chunk = (choices: unknown[], usage?: unknown) => {
    const body: Record<string, unknown> = {
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      choices,
    };
    if (includeUsage) body.usage = usage ?? null;
    events.push(`data: ${JSON.stringify(body)}\n\n`);
  };
  result.choices.forEach((choice, index) => {
    const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
      index,
      delta: d,
      logprobs: null,
      finish_reason: finish,
    });
    chunk([delta({ role: 'assistant', content: '' })]);
    if (choice.text) chunk([delta({ content: choice.text })]);
    if (choice.toolCalls.length > 0) {
      chunk([
        delta({ tool_calls: toolCallsJson(choice).map((call, i) => ({ index: i, ...call })) }),
      ]);
    }
    chunk([delta({}, choice.finishReason)]);
  });
  if (includeUsage) chunk([], usageJson(result));
  events.push('data: [DONE]\n\n');
  return events.join('');
}
