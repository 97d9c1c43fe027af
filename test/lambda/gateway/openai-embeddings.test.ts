/**
 * Embeddings through an OpenAI-compatible server: the body sent (validated
 * fields only, `user` never), both encodings read back, and malformed answers
 * failing as an upstream failure; against the real loopback fake server.
 */

import { OpenAiUpstream } from '../../../lambda/gateway/openai-upstream';
import {
  fromOpenAiEmbeddingsBody,
  toOpenAiEmbeddingsBody,
} from '../../../lambda/gateway/openai-embeddings';
import type { ModelConfig } from '../../../lambda/gateway/config';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import {
  validateEmbeddings,
  type EmbeddingRequest,
} from '../../../lambda/gateway/validate-embeddings';
import {
  FAKE_TOKENS_PER_INPUT,
  fakeEmbedding,
  startFakeOpenAi,
  type FakeOpenAi,
} from './support/fake-openai';

const request = (body: Record<string, unknown>): EmbeddingRequest => {
  const r = validateEmbeddings({ model: 'embed', ...body });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

const MODEL: ModelConfig = {
  id: 'embed',
  upstreamId: 'org/embed-model',
  kind: 'embedding',
  inputMicroUsdPer1kTokens: 10,
  outputMicroUsdPer1kTokens: 0,
  microUsdPerImage: 0,
};

const base64Of = (v: readonly number[]) => {
  const bytes = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
};

describe('toOpenAiEmbeddingsBody', () => {
  it('sends the upstream model, the texts, and dimensions and base64 as asked; never user', () => {
    expect(
      toOpenAiEmbeddingsBody(
        request({ input: ['a', 'b'], dimensions: 64, encoding_format: 'base64', user: 'u-1' }),
        'org/embed-model',
      ),
    ).toEqual({
      model: 'org/embed-model',
      input: ['a', 'b'],
      encoding_format: 'base64',
      dimensions: 64,
    });
    // float is every server's default: not sent.
    expect(toOpenAiEmbeddingsBody(request({ input: 'a' }), 'm')).toEqual({
      model: 'm',
      input: ['a'],
    });
  });
});

describe('fromOpenAiEmbeddingsBody', () => {
  const answer = (data: unknown[], usage: unknown = { prompt_tokens: 5, total_tokens: 5 }) => ({
    object: 'list',
    data,
    model: 'x',
    usage,
  });

  it('reads floats or base64, places each vector by its index, and reads the tokens', () => {
    const v0 = [0.5, -0.25];
    const v1 = [0.125, 1];
    expect(
      fromOpenAiEmbeddingsBody(
        answer([
          { object: 'embedding', index: 1, embedding: base64Of(v1) },
          { object: 'embedding', index: 0, embedding: v0 },
        ]),
        { input: ['a', 'b'] },
      ),
    ).toEqual({ vectors: [v0, v1], inputTokens: 5 });
    // No index: the position; no usage: 0 tokens.
    expect(fromOpenAiEmbeddingsBody({ data: [{ embedding: v0 }] }, { input: ['a'] })).toEqual({
      vectors: [v0],
      inputTokens: 0,
    });
  });

  it.each([
    ['not an object', 'nope'],
    ['no data', { object: 'list' }],
    ['too few vectors', answer([{ index: 0, embedding: [1, 2] }])],
    [
      'too many vectors',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 1, embedding: [1, 2] },
        { index: 2, embedding: [1, 2] },
      ]),
    ],
    [
      'an index repeated',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 0, embedding: [1, 2] },
      ]),
    ],
    [
      'an index out of range',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 2, embedding: [1, 2] },
      ]),
    ],
    [
      'an index that is no whole number',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: '1', embedding: [1, 2] },
      ]),
    ],
    [
      'a null in a vector',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 1, embedding: [1, null] },
      ]),
    ],
    [
      'a non-finite base64 value',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 1, embedding: Buffer.from([0, 0, 0xc0, 0x7f, 0, 0, 0, 0]).toString('base64') },
      ]),
    ],
    [
      'vectors of different lengths',
      answer([
        { index: 0, embedding: [1, 2] },
        { index: 1, embedding: [1, 2, 3] },
      ]),
    ],
    [
      'an empty vector',
      answer([
        { index: 0, embedding: [] },
        { index: 1, embedding: [] },
      ]),
    ],
    ['an item that is not an object', answer([[1, 2], { index: 1, embedding: [1, 2] }])],
  ])('%s is a failed upstream', (_what, parsed) => {
    expect(() => fromOpenAiEmbeddingsBody(parsed, { input: ['a', 'b'] })).toThrow(
      new UpstreamError('failed'),
    );
  });

  it('a length other than the dimensions asked for is a failed upstream', () => {
    const body = answer([{ index: 0, embedding: [1, 2, 3] }]);
    expect(() => fromOpenAiEmbeddingsBody(body, { input: ['a'], dimensions: 2 })).toThrow(
      new UpstreamError('failed'),
    );
    expect(fromOpenAiEmbeddingsBody(body, { input: ['a'], dimensions: 3 }).vectors).toEqual([
      [1, 2, 3],
    ]);
  });
});

describe('OpenAiUpstream.embeddings against a server', () => {
  let fake: FakeOpenAi;
  let upstream: OpenAiUpstream;
  const signal = () => new AbortController().signal;
  beforeAll(async () => {
    fake = await startFakeOpenAi();
    upstream = new OpenAiUpstream({ baseUrl: fake.baseUrl, token: async () => 'upstream-token' });
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.behaviour = { kind: 'ok' };
  });

  it('posts the validated fields to /v1/embeddings with the token, and reads floats', async () => {
    const result = await upstream.embeddings(
      request({ input: ['one', 'two', 'three'], user: 'not-forwarded' }),
      MODEL,
      signal(),
    );
    expect(result).toEqual({
      vectors: [0, 1, 2].map((i) => fakeEmbedding(i)),
      inputTokens: 3 * FAKE_TOKENS_PER_INPUT,
    });
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0];
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/embeddings');
    expect(sent.headers.authorization).toBe('Bearer upstream-token');
    expect(JSON.parse(sent.body)).toEqual({
      model: 'org/embed-model',
      input: ['one', 'two', 'three'],
    });
    expect(sent.body).not.toContain('not-forwarded');
  });

  it('forwards dimensions and base64, and reads base64 back as the float32 values', async () => {
    const result = await upstream.embeddings(
      request({ input: ['one', 'two'], dimensions: 16, encoding_format: 'base64' }),
      MODEL,
      signal(),
    );
    expect(JSON.parse(fake.requests[0].body)).toEqual({
      model: 'org/embed-model',
      input: ['one', 'two'],
      encoding_format: 'base64',
      dimensions: 16,
    });
    expect(result.vectors).toEqual([0, 1].map((i) => fakeEmbedding(i, 16).map(Math.fround)));
  });

  it.each([
    [
      'a vector short of the dimensions asked for',
      ['a'],
      { data: [{ index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 1 } },
    ],
    ['one vector for two inputs', ['a', 'b'], { data: [{ index: 0, embedding: [0.1, 0.2, 0.3] }] }],
    [
      'a wrong index',
      ['a', 'b'],
      {
        data: [
          { index: 0, embedding: [0.1, 0.2, 0.3] },
          { index: 5, embedding: [0.1, 0.2, 0.3] },
        ],
      },
    ],
  ])('%s is a failed upstream', async (_what, input, body) => {
    fake.behaviour = { kind: 'raw', body: JSON.stringify(body) };
    await expect(
      upstream.embeddings(request({ input, dimensions: 3 }), MODEL, signal()),
    ).rejects.toEqual(new UpstreamError('failed'));
  });

  it('text that is not JSON is a failed upstream; an error status keeps its meaning', async () => {
    fake.behaviour = { kind: 'raw', body: 'not json' };
    await expect(upstream.embeddings(request({ input: 'a' }), MODEL, signal())).rejects.toEqual(
      new UpstreamError('failed'),
    );
    fake.behaviour = { kind: 'status', status: 429, body: '{}' };
    await expect(upstream.embeddings(request({ input: 'a' }), MODEL, signal())).rejects.toEqual(
      new UpstreamError('throttled'),
    );
  });
});
