/**
 * Embeddings through Bedrock (Titan Text Embeddings V2): the bodies sent, the
 * answers read, the token sum, the calls kept to a few in flight, and
 * failures mapped by name with the rest of the calls cancelled.
 */

import { BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BEDROCK_EMBEDDING_LIMITS,
  fromTitanBody,
  mapBounded,
  toTitanBodies,
} from '../../../lambda/gateway/bedrock-embeddings';
import { BedrockUpstream } from '../../../lambda/gateway/bedrock-upstream';
import type { ModelConfig } from '../../../lambda/gateway/config';
import { HttpError } from '../../../lambda/shared/http-errors';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import {
  validateEmbeddings,
  type EmbeddingRequest,
} from '../../../lambda/gateway/validate-embeddings';

const request = (body: Record<string, unknown>): EmbeddingRequest => {
  const r = validateEmbeddings({ model: 'embed', ...body });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

const TITAN: ModelConfig = {
  id: 'embed',
  upstreamId: 'amazon.titan-embed-text-v2:0',
  kind: 'embedding',
  inputMicroUsdPer1kTokens: 20,
  outputMicroUsdPer1kTokens: 0,
  microUsdPerImage: 0,
};

/** A Titan answer: a vector whose first value tells which text it is for. */
const titanAnswer = (marker: number, dimensions: number, tokens: number) => ({
  body: Buffer.from(
    JSON.stringify({
      embedding: Array.from({ length: dimensions }, (_, i) => (i === 0 ? marker : 0.001 * i)),
      inputTextTokenCount: tokens,
    }),
  ),
});

const textOf = (input: unknown): string =>
  (JSON.parse(String((input as { body: string }).body)) as { inputText: string }).inputText;

const signal = () => new AbortController().signal;

const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const bedrockMock = mockClient(bedrock);
const upstream = new BedrockUpstream(bedrock);
beforeEach(() => bedrockMock.reset());
afterAll(() => bedrockMock.restore());

describe('toTitanBodies', () => {
  it('makes one body per input: the text, the dimensions (1024 by default), normalised', () => {
    expect(toTitanBodies(request({ input: ['a', 'b'] }))).toEqual([
      { inputText: 'a', dimensions: 1024, normalize: true },
      { inputText: 'b', dimensions: 1024, normalize: true },
    ]);
    expect(toTitanBodies(request({ input: 'a', dimensions: 256 }))).toEqual([
      { inputText: 'a', dimensions: 256, normalize: true },
    ]);
    expect(toTitanBodies(request({ input: 'a', dimensions: 512 }))[0].dimensions).toBe(512);
  });

  it.each([
    [
      { input: 'a', dimensions: 768 },
      'dimensions must be 256, 512 or 1024 with this upstream',
      'dimensions',
    ],
    [
      { input: Array(BEDROCK_EMBEDDING_LIMITS.maxInputs + 1).fill('x') },
      'input must have at most 128 items with this upstream',
      'input',
    ],
    [
      { input: ['ok', 'x'.repeat(50_001)] },
      'input[1] must be at most 50000 characters with this upstream',
      'input[1]',
    ],
    [
      { input: 'x'.repeat(50_001) },
      'input must be at most 50000 characters with this upstream',
      'input',
    ],
  ])('refuses %j with a 400 naming the field', (body, message, param) => {
    let thrown: unknown;
    try {
      toTitanBodies(request(body));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 400, message, param });
  });

  it('takes 128 inputs of 50,000 characters', () => {
    expect(toTitanBodies(request({ input: Array(128).fill('x'.repeat(50_000)) }))).toHaveLength(
      128,
    );
  });
});

describe('fromTitanBody', () => {
  it('reads the vector and the token count', () => {
    expect(fromTitanBody(titanAnswer(0.5, 3, 7).body, 3)).toEqual({
      vector: [0.5, 0.001, 0.002],
      inputTokens: 7,
    });
    // A missing or odd token count counts 0; the vector is what matters.
    const noCount = Buffer.from(JSON.stringify({ embedding: [0.1, 0.2] }));
    expect(fromTitanBody(noCount, 2).inputTokens).toBe(0);
  });

  it.each([
    ['not JSON', Buffer.from('nope')],
    ['no body', undefined],
    ['an array', Buffer.from('[]')],
    ['no embedding', Buffer.from(JSON.stringify({ inputTextTokenCount: 1 }))],
    ['a vector of another length', titanAnswer(0.5, 4, 1).body],
    ['a null in the vector', Buffer.from(JSON.stringify({ embedding: [0.1, null, 0.3] }))],
    ['text in the vector', Buffer.from(JSON.stringify({ embedding: [0.1, '0.2', 0.3] }))],
  ])('%s is a failed upstream', (_what, body) => {
    expect(() => fromTitanBody(body, 3)).toThrow(new UpstreamError('failed'));
  });
});

describe('mapBounded', () => {
  it('keeps the order of the items whatever order the calls finish in', async () => {
    const delays = [30, 5, 20, 1, 10];
    const out = await mapBounded(
      delays,
      2,
      (ms, i) => new Promise<number>((resolve) => setTimeout(() => resolve(i), ms)),
      signal(),
    );
    expect(out).toEqual([0, 1, 2, 3, 4]);
  });

  it('throws its signal’s reason when aborted between calls', async () => {
    const controller = new AbortController();
    const reason = new DOMException('Deadline', 'TimeoutError');
    const seen: number[] = [];
    await expect(
      mapBounded(
        [1, 2, 3, 4],
        1,
        async (n) => {
          seen.push(n);
          if (n === 2) controller.abort(reason);
          return n;
        },
        controller.signal,
      ),
    ).rejects.toBe(reason);
    expect(seen).toEqual([1, 2]);
  });
});

describe('BedrockUpstream.embeddings', () => {
  it('invokes the model once per input and returns the vectors in order with the tokens summed', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `text ${i}`);
    bedrockMock.on(InvokeModelCommand).callsFake(async (input) => {
      const i = texts.indexOf(textOf(input));
      // Later texts answer sooner: the order comes from the inputs, not the answers.
      await new Promise((resolve) => setTimeout(resolve, 20 - i));
      return titanAnswer(i, 256, i + 1);
    });
    const result = await upstream.embeddings(
      request({ input: texts, dimensions: 256 }),
      TITAN,
      signal(),
    );
    expect(result.vectors.map((v) => v[0])).toEqual(texts.map((_, i) => i));
    expect(result.vectors.every((v) => v.length === 256)).toBe(true);
    expect(result.inputTokens).toBe((20 * 21) / 2);
    const calls = bedrockMock.commandCalls(InvokeModelCommand);
    expect(calls).toHaveLength(20);
    for (const call of calls) {
      const { modelId, contentType, accept, body } = call.args[0].input;
      expect({ modelId, contentType, accept }).toEqual({
        modelId: 'amazon.titan-embed-text-v2:0',
        contentType: 'application/json',
        accept: 'application/json',
      });
      expect(JSON.parse(String(body))).toEqual({
        inputText: expect.stringMatching(/^text \d+$/),
        dimensions: 256,
        normalize: true,
      });
    }
    expect(calls.map((c) => textOf(c.args[0].input)).sort()).toEqual([...texts].sort());
  });

  it(`keeps at most ${BEDROCK_EMBEDDING_LIMITS.concurrency} calls in flight`, async () => {
    let inFlight = 0;
    let most = 0;
    bedrockMock.on(InvokeModelCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return titanAnswer(0, 1024, 1);
    });
    const result = await upstream.embeddings(
      request({ input: Array(50).fill('x') }),
      TITAN,
      signal(),
    );
    expect(result.vectors).toHaveLength(50);
    expect(result.inputTokens).toBe(50);
    expect(most).toBe(BEDROCK_EMBEDDING_LIMITS.concurrency);
  });

  it('refuses a request Bedrock cannot honour before any call', async () => {
    await expect(
      upstream.embeddings(request({ input: 'a', dimensions: 100 }), TITAN, signal()),
    ).rejects.toMatchObject({ status: 400, param: 'dimensions' });
    expect(bedrockMock.calls()).toHaveLength(0);
  });

  it.each([
    ['ThrottlingException', 'throttled'],
    ['ServiceQuotaExceededException', 'throttled'],
    ['ModelTimeoutException', 'timeout'],
    ['ValidationException', 'rejected'],
    ['InternalServerException', 'failed'],
    ['AccessDeniedException', 'failed'],
  ])(
    'a %s stops the request as %s, cancels the calls in flight and starts no more; its message is never read',
    async (name, failure) => {
      const secret = 'CNRY-bedrock-embed-error';
      let started = 0;
      bedrockMock.on(InvokeModelCommand).callsFake(async () => {
        const n = ++started;
        if (n === 3) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          throw Object.assign(new Error(`You said ${secret}`), { name, $fault: 'client' });
        }
        await new Promise((resolve) => setTimeout(resolve, 40));
        return titanAnswer(0, 1024, 1);
      });
      let thrown: unknown;
      try {
        await upstream.embeddings(request({ input: Array(40).fill('x') }), TITAN, signal());
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(UpstreamError);
      expect((thrown as UpstreamError).failure).toBe(failure);
      expect(String((thrown as Error).message)).not.toContain(secret);
      // The first eight started together; none after the failure.
      expect(started).toBe(BEDROCK_EMBEDDING_LIMITS.concurrency);
      const signals = bedrockMock
        .calls()
        .map(
          (c) =>
            ((c.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal,
        );
      expect(signals).toHaveLength(BEDROCK_EMBEDDING_LIMITS.concurrency);
      expect(signals.every((s) => s?.aborted === true)).toBe(true);
    },
  );

  it('a malformed answer to one input fails the request', async () => {
    bedrockMock
      .on(InvokeModelCommand)
      .resolvesOnce(titanAnswer(0, 1024, 1) as never)
      .resolves({ body: Buffer.from(JSON.stringify({ embedding: [1, 2] })) } as never);
    await expect(
      upstream.embeddings(request({ input: ['a', 'b'] }), TITAN, signal()),
    ).rejects.toEqual(new UpstreamError('failed'));
  });

  it('our deadline ends the calls as a timeout', async () => {
    const controller = new AbortController();
    bedrockMock.on(InvokeModelCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(new DOMException('Deadline', 'TimeoutError'));
      throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    });
    await expect(
      upstream.embeddings(request({ input: ['a', 'b', 'c'] }), TITAN, controller.signal),
    ).rejects.toEqual(new UpstreamError('timeout'));
  });
});
