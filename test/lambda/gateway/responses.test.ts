import { chatCompletionJson } from '../../../lambda/gateway/chat-response';
import {
  albResult,
  fitsResponseLimit,
  jsonBody,
  MAX_RESPONSE_BYTES,
} from '../../../lambda/shared/http-results';
import { costMicroUsd } from '../../../lambda/gateway/pricing';
import { retentionHeader } from '../../../lambda/shared/retention-header';
import { ROUTE_TABLE } from '../../../lambda/gateway/routes';
import { requestedModelId } from '../../../lambda/gateway/routes/models';
import { chatCompletionSse } from '../../../lambda/gateway/sse';
import type { ChatResult } from '../../../lambda/gateway/upstream-results';
import { createRouter } from '../../../lambda/shared/router';
import { albEvent, sseData } from './support/fixtures';

const matchRoute = createRouter(ROUTE_TABLE);

const meta = { id: 'chatcmpl-r1', created: 1_700_000_000, model: 'pub' };
const result: ChatResult = {
  choices: [
    { text: 'hello', toolCalls: [], finishReason: 'stop' },
    {
      text: null,
      toolCalls: [{ id: 't', name: 'f', arguments: '{}' }],
      finishReason: 'tool_calls',
    },
  ],
  inputTokens: 3,
  outputTokens: 4,
};

describe('chat responses', () => {
  it('builds a chat.completion body', () => {
    expect(JSON.parse(chatCompletionJson(result, meta))).toEqual({
      id: 'chatcmpl-r1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'pub',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'hello', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
        {
          index: 1,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it('builds an event stream that reassembles to the same completion', () => {
    const data = sseData(chatCompletionSse(result, meta, true));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks)
      expect(c).toMatchObject({ id: 'chatcmpl-r1', object: 'chat.completion.chunk', model: 'pub' });
    const byChoice = (i: number) =>
      chunks.flatMap((c) => c.choices.filter((ch: { index: number }) => ch.index === i));
    expect(
      byChoice(0)
        .map((c) => c.delta.content ?? '')
        .join(''),
    ).toBe('hello');
    expect(byChoice(0)[0].delta.role).toBe('assistant');
    expect(byChoice(0).at(-1).finish_reason).toBe('stop');
    expect(byChoice(1).flatMap((c) => c.delta.tool_calls ?? [])).toEqual([
      { index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '{}' } },
    ]);
    expect(byChoice(1).at(-1).finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('leaves usage out of the stream unless asked', () => {
    const chunks = sseData(chatCompletionSse(result, meta, false))
      .slice(0, -1)
      .map((d) => JSON.parse(d));
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
  });
});

describe('routing, headers and limits', () => {
  it('matches routes exactly', () => {
    expect(matchRoute('POST', '/v1/chat/completions')).toEqual({
      kind: 'found',
      route: 'chat_completions',
    });
    expect(matchRoute('GET', '/v1/models')).toEqual({ kind: 'found', route: 'models' });
    expect(matchRoute('GET', '/healthz')).toEqual({ kind: 'found', route: 'healthz' });
    expect(matchRoute('DELETE', '/v1/images/generations')).toEqual({
      kind: 'method_not_allowed',
      route: 'image_generations',
      allow: 'POST',
    });
    expect(matchRoute('GET', '/v1/models/')).toEqual({ kind: 'not_found' });
    expect(matchRoute('GET', '/V1/MODELS')).toEqual({ kind: 'not_found' });
  });

  it('matches one model by the rest of the path, which may hold a slash', () => {
    expect(matchRoute('GET', '/v1/models/m')).toEqual({ kind: 'found', route: 'model' });
    expect(matchRoute('GET', '/v1/models/org/m')).toEqual({ kind: 'found', route: 'model' });
    expect(matchRoute('DELETE', '/v1/models/m')).toEqual({
      kind: 'method_not_allowed',
      route: 'model',
      allow: 'GET',
    });
    expect(matchRoute('GET', '/v1/modelsx')).toEqual({ kind: 'not_found' });
    expect(requestedModelId('/v1/models/org%2Fm%3A1')).toBe('org/m:1');
    expect(requestedModelId('/v1/models/org/m')).toBe('org/m');
    expect(requestedModelId('/v1/models/%E0%A4%A')).toBeUndefined();
  });

  it('states retention', () => {
    expect(retentionHeader({ metadataDays: 30 })).toBe('content=none; metadata=30d');
    expect(retentionHeader({ metadataDays: 7, imageTtlSeconds: 3600 })).toBe(
      'content=image; image-ttl=3600; metadata=7d',
    );
    expect(retentionHeader({})).toBe('content=none; metadata=none');
  });

  it('prices tokens and images in whole micro-dollars', () => {
    const model = {
      id: 'm',
      upstreamId: 'u',
      kind: 'chat' as const,
      inputMicroUsdPer1kTokens: 35,
      outputMicroUsdPer1kTokens: 140,
      microUsdPerImage: 40_000,
    };
    expect(costMicroUsd(model, { inputTokens: 1000, outputTokens: 1000 })).toBe(175);
    expect(costMicroUsd(model, { inputTokens: 10, outputTokens: 10 })).toBe(2); // 0.35 + 1.4 = 1.75
    expect(costMicroUsd(model, { images: 3 })).toBe(120_000);
    expect(costMicroUsd(model, {})).toBe(0);
  });

  it('decodes plain and base64 bodies and enforces 1 MiB on the decoded size', () => {
    expect(jsonBody(albEvent({ path: '/', body: { a: 1 } }))).toEqual({ a: 1 });
    expect(jsonBody(albEvent({ path: '/', body: { a: 'é' }, base64: true }))).toEqual({ a: 'é' });
    const exactly = `{"a":"${'x'.repeat(1024 * 1024 - 8)}"}`;
    expect(Buffer.byteLength(exactly)).toBe(1024 * 1024);
    expect(() => jsonBody(albEvent({ path: '/', rawBody: exactly }))).not.toThrow();
    expect(() => jsonBody(albEvent({ path: '/', rawBody: exactly, base64: true }))).not.toThrow();
    expect(() => jsonBody(albEvent({ path: '/', rawBody: `${exactly} ` }))).toThrow(
      'Request body exceeds the 1 MB limit',
    );
    expect(() => jsonBody(albEvent({ path: '/', rawBody: `${exactly} `, base64: true }))).toThrow(
      'Request body exceeds the 1 MB limit',
    );
    expect(() => jsonBody(albEvent({ path: '/', rawBody: '' }))).toThrow(
      'We could not parse the JSON body of your request: unexpected end of input at position 0.',
    );
    expect(() => jsonBody(albEvent({ path: '/', rawBody: 'null' }))).toThrow(
      'Request body must be a JSON object',
    );
  });

  it('measures the whole serialized result against the response limit', () => {
    const near = (n: number) => albResult(200, 'x'.repeat(n), 'application/json');
    expect(fitsResponseLimit(near(100))).toBe(true);
    expect(fitsResponseLimit(near(MAX_RESPONSE_BYTES - 500))).toBe(true);
    expect(fitsResponseLimit(near(MAX_RESPONSE_BYTES))).toBe(false);
    // Quotes are escaped in the serialized result, so 600 kB of them do not fit.
    expect(fitsResponseLimit(albResult(200, '"'.repeat(600_000), 'application/json'))).toBe(false);
  });
});
