/**
 * The OpenAI API beyond chat, with the clients people use: the official
 * `openai` package and the Vercel AI SDK's default provider (which speaks
 * the Responses API) against local mode, in their own process. Responses
 * whole, streamed and with a tool round trip; embeddings in every encoding;
 * one model; errors with `code` and `param`. A canary in every input must
 * reach no line of local mode's output (its usage log and every other line)
 * and no error.
 */

import { startLocalProcess, type LocalProcess } from '../../local/child-process';
import { runClientChecks } from './support/client-process';

const CANARY = 'CANARY-breadth-7d3f';

describe('Responses, embeddings and models with real clients (end to end)', () => {
  let local: LocalProcess;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let seen: any;

  beforeAll(async () => {
    local = await startLocalProcess({ args: ['--in-memory'] });
    seen = await runClientChecks(local, 'breadth-checks.ts', { EPHEMERA_CANARY: CANARY });
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  const sentence = expect.stringMatching(/^[A-Z].{20,}\.$/);

  it('openai: responses.create answers a stateless response', () => {
    const w = seen.openai.whole;
    expect(w).toMatchObject({ object: 'response', status: 'completed', store: false });
    expect(w.text).toEqual(sentence);
    expect(w.usage.output_tokens).toBeGreaterThan(0);
    expect(w.usage.total_tokens).toBe(w.usage.input_tokens + w.usage.output_tokens);
  });

  it('openai: a streamed response is the Responses event sequence', () => {
    const s = seen.openai.streamed;
    expect(s.events[0]).toBe('response.created');
    expect(s.events.at(-1)).toBe('response.completed');
    expect(s.events).toEqual(
      expect.arrayContaining([
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.output_item.done',
      ]),
    );
    expect(
      s.events.filter((e: string) => e === 'response.output_text.delta').length,
    ).toBeGreaterThan(1);
    expect(s.deltas).toEqual(sentence);
    expect(s.completedText).toBe(s.deltas);
  });

  it('openai: a function call, and its output sent back as input items', () => {
    expect(seen.openai.tools.call).toEqual({
      name: 'get_weather',
      arguments: JSON.stringify({ city: 'demo' }),
    });
    expect(seen.openai.tools.followUp).toEqual(sentence);
  });

  it('openai: embeddings as floats, as base64, and in the SDK default encoding agree', () => {
    const e = seen.openai.embeddings;
    expect(e.count).toBe(2);
    expect(e.dims[0]).toBeGreaterThan(0);
    expect(e.dims[1]).toBe(e.dims[0]);
    expect(e.usage.prompt_tokens).toBeGreaterThan(0);
    expect(e.usage.total_tokens).toBe(e.usage.prompt_tokens);
    expect(e.base64Matches).toBe(true);
    expect(e.sdkDefaultMatches).toBe(true);
    expect(e.shorterDims).toBe(64);
  });

  it('openai: models.retrieve gives the model object', () => {
    expect(seen.openai.model).toMatchObject({ id: 'demo-chat', object: 'model' });
  });

  it('openai: errors surface err.code and err.param, and never echo the input', () => {
    const errors = seen.openai.errors;
    expect(errors).toMatchObject({
      unknownModel: { name: 'NotFoundError', status: 404, code: 'model_not_found', param: 'model' },
      unknownResponsesModel: {
        name: 'NotFoundError',
        status: 404,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      },
      badTemperature: { name: 'BadRequestError', status: 400, param: 'temperature' },
      stored: { name: 'BadRequestError', status: 400, param: 'store' },
      previous: { name: 'BadRequestError', status: 400, param: 'previous_response_id' },
      badEmbeddingInput: { name: 'BadRequestError', status: 400, param: 'input[1]' },
      chatModelForEmbeddings: { name: 'NotFoundError', status: 404, code: 'model_not_found' },
    });
    for (const e of Object.values(errors)) expect(e).toMatchObject({ threw: true, echoes: false });
  });

  it('AI SDK default provider: generateText, streamText and a tool call over the Responses API', () => {
    const a = seen.ai;
    expect(a.chat.text).toEqual(sentence);
    expect(a.chat.finish).toBe('stop');
    expect(a.chat.usage.outputTokens).toBeGreaterThan(0);
    expect(a.streamed.text).toBe(a.chat.text);
    expect(a.streamed.usage.outputTokens).toBe(a.chat.usage.outputTokens);
    expect(a.tools).toEqual({
      finish: 'tool-calls',
      calls: [{ name: 'get_weather', input: { city: 'demo' } }],
    });
  });

  it('AI SDK: embed', () => {
    expect(seen.ai.embed.dims).toBe(seen.openai.embeddings.dims[0]);
    expect(seen.ai.embed.tokens).toBeGreaterThan(0);
  });

  it('keeps every input out of its output, and records each route', () => {
    const output = local.output();
    expect(output).not.toContain(CANARY);
    expect(output).toContain('"route":"responses"');
    expect(output).toContain('"route":"embeddings"');
    expect(output).toContain('"route":"model"');
  });
});
