/**
 * The official `openai` npm client and the Vercel AI SDK against local mode,
 * run in their own process as a user would run them (trusting the local CA
 * through NODE_EXTRA_CA_CERTS): a chat, a streamed chat whose first words
 * arrive well before its last (the demo model waits 25 ms between words),
 * a tool call, an image, embeddings (the openai client's default base64
 * decoded to the demo's vectors), and Ephemera's 4xx errors surfacing as each
 * client's usual error types.
 */

import { startLocalProcess, type LocalProcess } from '../../local/child-process';
import { runClientChecks } from './support/client-process';
import { demoEmbedding } from '../../local/demo-model';

interface Streamed {
  text: string;
  count: number;
  first: number;
  last: number;
}

describe('real clients against local mode (end to end)', () => {
  let local: LocalProcess;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let seen: any;

  beforeAll(async () => {
    local = await startLocalProcess({ args: ['--in-memory'] });
    seen = await runClientChecks(local, 'client-checks.ts');
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  const sentence = expect.stringMatching(/^[A-Z].{40,}\.$/);
  const streamedWell = (s: Streamed, words: number) => {
    expect(s.count).toBeGreaterThanOrEqual(words - 1);
    // 20 words, 25 ms apart: the first arrives long before the last.
    expect(s.last - s.first).toBeGreaterThan(250);
    expect(s.first).toBeLessThan((s.last - s.first) / 2);
  };

  it('openai: chat, streamed chat, tool call and image', () => {
    const o = seen.openai;
    expect(o.chat.text).toEqual(sentence);
    expect(o.chat.usage.completion_tokens).toBeGreaterThan(0);
    expect(o.streamed.text).toBe(o.chat.text);
    expect(o.streamed.usage).toEqual(o.chat.usage);
    streamedWell(o.streamed, o.chat.usage.completion_tokens);
    expect(o.tools).toEqual({
      finish: 'tool_calls',
      calls: [{ name: 'get_weather', arguments: JSON.stringify({ city: 'demo' }) }],
    });
    expect(o.image).toMatchObject({ url: 'https://' });
    expect(o.image.bytes).toBeGreaterThan(100);
  });

  it('openai: embeddings in base64 (its default) and float are the demo vectors', () => {
    const e = seen.openai.embeddings;
    const expected = ['glacier tide', 'amber orchard'].map((t) => demoEmbedding(t));
    expect(e.vectors).toEqual(expected.map((v) => v.map(Math.fround)));
    expect(e.floats).toEqual(expected);
    expect(e.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(e.model).toBe('demo-embedding');
    expect(e.short).toBe(64);
  });

  it('AI SDK: embedMany', () => {
    const e = seen.ai.embeddings;
    const expected = ['glacier tide', 'amber orchard'].map((t) => demoEmbedding(t));
    expect(e.vectors).toHaveLength(2);
    e.vectors.forEach((v: number[], i: number) =>
      v.forEach((x, j) => expect(x).toBeCloseTo(expected[i][j], 6)),
    );
    expect(e.tokens).toBe(4);
  });

  it('openai: 4xx errors are the usual error classes', () => {
    expect(seen.openai.errors).toMatchObject({
      badKey: { threw: true, name: 'AuthenticationError', status: 401, code: 'invalid_api_key' },
      unknownModel: { threw: true, name: 'NotFoundError', status: 404 },
      badInput: {
        threw: true,
        name: 'BadRequestError',
        status: 400,
        type: 'invalid_request_error',
      },
    });
  });

  it('AI SDK: chat, streamed chat, tool call and image', () => {
    const a = seen.ai;
    expect(a.chat.text).toEqual(sentence);
    expect(a.chat.usage.outputTokens).toBeGreaterThan(0);
    expect(a.streamed.text).toBe(a.chat.text);
    streamedWell(a.streamed, a.chat.usage.outputTokens);
    expect(a.tools).toEqual({
      finish: 'tool-calls',
      calls: [{ name: 'get_weather', input: { city: 'demo' } }],
    });
    expect(a.image).toMatchObject({ mediaType: 'image/png' });
    expect(a.image.bytes).toBeGreaterThan(100);
  });

  it('AI SDK: 4xx errors are APICallErrors with the status', () => {
    expect(seen.ai.errors).toEqual({
      badKey: { threw: true, name: 'APICallError', status: 401, isApiCallError: true },
      unknownModel: { threw: true, name: 'APICallError', status: 404, isApiCallError: true },
      badInput: { threw: true, name: 'APICallError', status: 400, isApiCallError: true },
    });
  });

  it('keeps the prompts out of its output', () => {
    expect(local.output()).toContain('"event":"usage"');
    expect(local.output()).not.toContain('weather in Paris');
    expect(local.output()).not.toContain('glacier tide');
  });
});
