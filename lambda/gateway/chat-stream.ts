/**
 * A chat completion as a stream of events (`stream: true`).
 *
 * An upstream that streams yields these as its answer arrives; one that does
 * not has its whole answer turned into the same events by
 * {@link resultEvents}. The gateway formats each event as one
 * `chat.completion.chunk` (`./sse`) and sends it on at once where the front
 * door streams, or gathers the chunks into one body where it cannot. Events
 * carry only the pieces the gateway passes on, rebuilt field by field.
 */

import type { ChatResult, ChatStreamEvent } from './upstream-results';

/**
 * A whole answer as events: per choice, the role, the content (if any), the
 * refusal (if any), the tool calls (if any) and the finish reason; then the usage.
 */
export function* resultEvents(result: ChatResult): Generator<ChatStreamEvent> {
  for (const [index, choice] of result.choices.entries()) {
    yield { type: 'choice', delta: { index, role: 'assistant', content: '' } };
    if (choice.text) {
      const logprobs = choice.logprobs ? { logprobs: choice.logprobs } : {};
      yield { type: 'choice', delta: { index, content: choice.text, ...logprobs } };
    }
    if (choice.refusal) yield { type: 'choice', delta: { index, refusal: choice.refusal } };
    if (choice.toolCalls.length > 0) {
      yield {
        type: 'choice',
        delta: {
          index,
          toolCalls: choice.toolCalls.map((c, i) => ({
            index: i,
            id: c.id,
            name: c.name,
            arguments: c.arguments,
          })),
        },
      };
    }
    yield { type: 'choice', delta: { index, finishReason: choice.finishReason } };
  }
  yield { type: 'usage', inputTokens: result.inputTokens, outputTokens: result.outputTokens };
}
