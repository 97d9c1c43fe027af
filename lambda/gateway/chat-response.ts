/** OpenAI chat completion response bodies, built from the gateway's chat result. */

import type { ChatChoice, ChatResult, TokenLogprob } from './upstream-results';

export interface ResponseMeta {
  /** `chatcmpl-<request id>`. */
  readonly id: string;
  /** Epoch seconds. */
  readonly created: number;
  /** Public model id. */
  readonly model: string;
}

export function toolCallsJson(choice: ChatChoice): Record<string, unknown>[] {
  return choice.toolCalls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** A choice's `logprobs`: `null`, or the tokens' log probabilities as OpenAI gives them. */
export function logprobsJson(
  logprobs: readonly TokenLogprob[] | undefined,
): Record<string, unknown> | null {
  return logprobs ? { content: logprobs, refusal: null } : null;
}

export function usageJson(
  result: Pick<ChatResult, 'inputTokens' | 'outputTokens'>,
): Record<string, number> {
  return {
    prompt_tokens: result.inputTokens,
    completion_tokens: result.outputTokens,
    total_tokens: result.inputTokens + result.outputTokens,
  };
}

/** `object: "chat.completion"`. */
export function chatCompletionJson(result: ChatResult, meta: ResponseMeta): string {
  return JSON.stringify({
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: result.choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        content: choice.text,
        refusal: choice.refusal ?? null,
        ...(choice.toolCalls.length > 0 ? { tool_calls: toolCallsJson(choice) } : {}),
      },
      logprobs: logprobsJson(choice.logprobs),
      finish_reason: choice.finishReason,
    })),
    usage: usageJson(result),
  });
}
