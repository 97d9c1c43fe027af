/** What an OpenAI-compatible upstream sends for `stream: true`, for fake upstreams. */

/** One `chat.completion.chunk` event, framed as the upstream sends it. */
export const openAiChunk = (choices: unknown[], usage?: unknown): string =>
  `data: ${JSON.stringify({ id: 'up', object: 'chat.completion.chunk', created: 1, model: 'org/chat-model', choices, ...(usage ? { usage } : {}) })}\n\n`;

/**
 * A streamed answer of `tokens`, one event each: the role first, then the
 * tokens, then the finish reason, the usage and `[DONE]` in one last piece.
 * Sent with a delay between pieces, it is a slow model.
 */
export function streamedAnswer(tokens: readonly string[]): string[] {
  return [
    openAiChunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
    ...tokens.map((t) => openAiChunk([{ index: 0, delta: { content: t }, finish_reason: null }])),
    openAiChunk([{ index: 0, delta: {}, finish_reason: 'stop' }]) +
      openAiChunk([], {
        prompt_tokens: 12,
        completion_tokens: tokens.length,
        total_tokens: 12 + tokens.length,
      }) +
      'data: [DONE]\n\n',
  ];
}
