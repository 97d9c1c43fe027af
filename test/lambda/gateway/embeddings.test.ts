/**
 * `POST /v1/embeddings` through the whole handler: real dynalite and s3rver
 * on loopback, Bedrock mocked with aws-sdk-client-mock, the OpenAI-compatible
 * upstream a real loopback fake server. Float and base64 answers carry the
 * same vectors; the usage item holds tokens, cost and the request's
 * parameters; and a canary string in the inputs (and in upstream errors)
 * reaches no log line, stored item, error body, header or other output.
 */

import { InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { ALBResult } from 'aws-lambda';
import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import type { GatewayHandler } from '../../../lambda/gateway/gateway';
import { EMBEDDINGS_TOO_LARGE } from '../../../lambda/gateway/routes/embeddings';
import { CANARY_PREFIX as PREFIX, captureOutput, makeCanaries } from './support/canaries';
import {
  FAKE_TOKENS_PER_INPUT,
  fakeEmbedding,
  startFakeOpenAi,
  type FakeOpenAi,
} from './support/fake-openai';
import {
  albEvent,
  bearer,
  context,
  json,
  openAiTestConfig,
  testConfig,
  type EventInput,
} from './support/fixtures';
import { startLocalAws, type LocalAws } from './support/local-aws';
import { localGateway, mockedUpstreamClients } from './support/local-gateway';

const { made: canaries, canary } = makeCanaries();

const BEDROCK_MODELS = [
  { id: 'chat-small', upstreamId: 'amazon.nova-lite-v1:0', kind: 'chat' },
  {
    id: 'embed',
    upstreamId: 'amazon.titan-embed-text-v2:0',
    kind: 'embedding',
    inputMicroUsdPer1kTokens: 20,
  },
];
const OPENAI_MODELS = [
  { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat' },
  {
    id: 'embed-oai',
    upstreamId: 'org/embed-model',
    kind: 'embedding',
    inputMicroUsdPer1kTokens: 100,
  },
];

let aws: LocalAws;
let fake: FakeOpenAi;
let key: string;
const { bedrock, bedrockMock, secrets, secretsMock } = mockedUpstreamClients();

let bedrockHandler: GatewayHandler;
let openAiHandler: GatewayHandler;
const responses: ALBResult[] = [];
const logLines: string[] = [];
const otherOutput: string[] = [];
let restoreOutput: () => void;
let counter = 0;

/** An answer body: an embedding list, or an error. */
interface Answer {
  readonly data: { object: string; index: number; embedding: number[] | string }[];
  readonly error: Record<string, unknown>;
}

async function invoke(handler: GatewayHandler, input: EventInput) {
  const requestId = `emb-${++counter}`;
  const from = logLines.length;
  const response = await handler(albEvent(input), context(requestId));
  responses.push(response);
  const item = (await aws.scanAll()).find((i) => i.request_id?.S === requestId);
  return {
    response,
    body: json(response) as unknown as Answer,
    logs: logLines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>),
    record: item ? usageRecordFromItem(item).record : undefined,
  };
}

const post = (handler: GatewayHandler, body: unknown) =>
  invoke(handler, { path: '/v1/embeddings', headers: bearer(key), body });

/** A Titan answer for a body: a vector of the asked length that depends on nothing sent. */
const titanVector = (dimensions: number, seed: number) =>
  Array.from({ length: dimensions }, (_, i) => Math.sin(seed * 1000 + i) / 10);

function titanAnswers(tokensEach = 4): void {
  let n = 0;
  bedrockMock.on(InvokeModelCommand).callsFake((input: { body?: unknown }) => {
    const { inputText, dimensions } = JSON.parse(String(input.body)) as {
      inputText: string;
      dimensions: number;
    };
    // The vector is chosen by the text's position in this test (its trailing digit).
    const seed = Number(/(\d+)$/.exec(inputText)?.[1] ?? n++);
    return {
      body: Buffer.from(
        JSON.stringify({
          embedding: titanVector(dimensions, seed),
          inputTextTokenCount: tokensEach,
        }),
      ),
    };
  });
}

const decode = (b64: string): number[] => {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

beforeAll(async () => {
  aws = await startLocalAws();
  fake = await startFakeOpenAi();
  key = await aws.createKey('embeddings', ['inference']);
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'upstream-token' });
  restoreOutput = captureOutput(otherOutput);

  const logSink = (line: string) => logLines.push(line);
  bedrockHandler = localGateway(
    aws,
    testConfig({ MODELS: JSON.stringify(BEDROCK_MODELS) }),
    { bedrock },
    logSink,
  );
  const openAiConfig = openAiTestConfig(
    fake.baseUrl,
    { MODELS: JSON.stringify(OPENAI_MODELS) },
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
  );
  openAiHandler = localGateway(aws, openAiConfig, { secrets }, logSink);
});

afterAll(async () => {
  restoreOutput();
  bedrockMock.restore();
  secretsMock.restore();
  await fake.stop();
  await aws.stop();
});

beforeEach(() => {
  bedrockMock.reset();
  fake.behaviour = { kind: 'ok' };
});

describe('POST /v1/embeddings with Bedrock', () => {
  it('answers float and base64 with the same vectors, and records tokens and cost, never text', async () => {
    titanAnswers(7);
    const input = [0, 1, 2].map((i) => `${canary('text')} ${i}`);
    const float = await post(bedrockHandler, { model: 'embed', input, dimensions: 256 });
    expect(float.response.statusCode).toBe(200);
    expect(float.response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    expect(float.body).toEqual({
      object: 'list',
      data: [0, 1, 2].map((index) => ({
        object: 'embedding',
        index,
        embedding: titanVector(256, index),
      })),
      model: 'embed',
      usage: { prompt_tokens: 21, total_tokens: 21 },
    });

    const b64 = await post(bedrockHandler, {
      model: 'embed',
      input,
      dimensions: 256,
      encoding_format: 'base64',
      user: canary('user'),
    });
    expect(b64.response.statusCode).toBe(200);
    const vectors = (b64.body.data as { embedding: string }[]).map((d) => decode(d.embedding));
    expect(vectors).toEqual(
      (float.body.data as { embedding: number[] }[]).map((d) => d.embedding.map(Math.fround)),
    );

    // 21 tokens at 20 micro-USD per 1,000: 0.42, rounded to 0.
    expect(float.record).toEqual({
      request_id: expect.any(String),
      timestamp: expect.any(String),
      api_key_id: expect.any(String),
      route: 'embeddings',
      method: 'POST',
      model: 'embed',
      status: 200,
      latency_ms: expect.any(Number),
      input_tokens: 21,
      cost_micro_usd: 0,
      input_count: 3,
      dimensions: 256,
      encoding_format: 'float',
      opt_out: false,
      ttl: expect.any(Number),
    });
    expect(b64.record).toMatchObject({ encoding_format: 'base64', input_count: 3 });
    expect(float.logs).toEqual([
      expect.objectContaining({ event: 'usage', route: 'embeddings', input_tokens: 21 }),
    ]);
    // The texts went to Bedrock (the canaries were live); user did not.
    const sent = JSON.stringify(bedrockMock.calls().map((c) => c.args[0].input));
    for (const text of input) expect(sent).toContain(text);
    expect(sent).not.toContain(`${PREFIX}-user`);
  });

  it('costs input tokens times the price per 1,000', async () => {
    titanAnswers(5_000);
    const { record } = await post(bedrockHandler, { model: 'embed', input: ['a 1', 'b 2'] });
    // 10,000 tokens at 20 micro-USD per 1,000.
    expect(record).toMatchObject({ input_tokens: 10_000, cost_micro_usd: 200 });
    expect(record).not.toHaveProperty('output_tokens');
    expect(record).not.toHaveProperty('dimensions');
  });

  it('refuses dimensions Titan does not take, naming the field, before any call', async () => {
    const { response, body, record } = await post(bedrockHandler, {
      model: 'embed',
      input: canary('dims'),
      dimensions: 300,
    });
    expect(response.statusCode).toBe(400);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'dimensions',
      message: 'dimensions must be 256, 512 or 1024 with this upstream',
    });
    expect(record).toMatchObject({ status: 400, dimensions: 300, model: 'embed' });
    expect(bedrockMock.calls()).toHaveLength(0);
  });

  it('an answer over the 1 MB ALB limit is a 422 that says how to ask for less', async () => {
    titanAnswers(1);
    const input = Array.from({ length: 128 }, (_, i) => `${canary('big')} ${i}`);
    const float = await post(bedrockHandler, { model: 'embed', input });
    expect(float.response.statusCode).toBe(422);
    expect(float.body.error).toMatchObject({
      type: 'invalid_request_error',
      message: EMBEDDINGS_TOO_LARGE,
    });
    expect(float.record).toMatchObject({ status: 422, input_tokens: 128, input_count: 128 });
    // The same vectors as base64 fit.
    const b64 = await post(bedrockHandler, { model: 'embed', input, encoding_format: 'base64' });
    expect(b64.response.statusCode).toBe(200);
    expect(b64.body.data).toHaveLength(128);
  });

  it.each([
    ['ThrottlingException', 429],
    ['ValidationException', 400],
    ['InternalServerException', 502],
  ])('a %s from Bedrock is a %d that quotes nothing', async (name, status) => {
    const secret = canary('bedrock-error');
    bedrockMock
      .on(InvokeModelCommand)
      .rejects(Object.assign(new Error(`Bad input: ${secret}`), { name, $fault: 'client' }));
    const { response, record } = await post(bedrockHandler, {
      model: 'embed',
      input: [canary('x'), canary('y')],
    });
    expect(response.statusCode).toBe(status);
    expect(record).toMatchObject({ status, input_count: 2 });
  });

  it('a malformed Bedrock answer is a 502', async () => {
    bedrockMock.on(InvokeModelCommand).resolves({
      body: Buffer.from(JSON.stringify({ embedding: [canary('answer')], inputTextTokenCount: 1 })),
    } as never);
    const { response, body } = await post(bedrockHandler, { model: 'embed', input: 'x' });
    expect(response.statusCode).toBe(502);
    expect(body.error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
  });
});

describe('POST /v1/embeddings with an OpenAI-compatible upstream', () => {
  it('passes the request through and answers float and base64 with the same vectors', async () => {
    const input = [canary('oai-0'), canary('oai-1')];
    const float = await post(openAiHandler, { model: 'embed-oai', input, dimensions: 8 });
    expect(float.response.statusCode).toBe(200);
    expect(float.body).toEqual({
      object: 'list',
      data: [0, 1].map((index) => ({
        object: 'embedding',
        index,
        embedding: fakeEmbedding(index, 8),
      })),
      model: 'embed-oai',
      usage: {
        prompt_tokens: 2 * FAKE_TOKENS_PER_INPUT,
        total_tokens: 2 * FAKE_TOKENS_PER_INPUT,
      },
    });
    expect(JSON.parse(fake.requests.at(-1)!.body)).toEqual({
      model: 'org/embed-model',
      input,
      dimensions: 8,
    });

    const b64 = await post(openAiHandler, {
      model: 'embed-oai',
      input,
      dimensions: 8,
      encoding_format: 'base64',
    });
    expect(JSON.parse(fake.requests.at(-1)!.body)).toMatchObject({ encoding_format: 'base64' });
    const vectors = (b64.body.data as { embedding: string }[]).map((d) => decode(d.embedding));
    expect(vectors).toEqual([0, 1].map((i) => fakeEmbedding(i, 8).map(Math.fround)));
    // 6 tokens at 100 micro-USD per 1,000: 0.6, rounded to 1.
    expect(b64.record).toMatchObject({
      route: 'embeddings',
      model: 'embed-oai',
      input_tokens: 6,
      cost_micro_usd: 1,
      input_count: 2,
      dimensions: 8,
      encoding_format: 'base64',
    });
  });

  it('a float client gets floats from a server that answered base64 (one string input)', async () => {
    fake.behaviour = {
      kind: 'raw',
      body: JSON.stringify({
        data: [{ index: 0, embedding: Buffer.from([0, 0, 0x80, 0x3f]).toString('base64') }],
        usage: { prompt_tokens: 2 },
      }),
    };
    const { response, body } = await post(openAiHandler, {
      model: 'embed-oai',
      input: canary('one'),
    });
    expect(response.statusCode).toBe(200);
    expect(body.data).toEqual([{ object: 'embedding', index: 0, embedding: [1] }]);
  });

  it.each([
    ['an error status whose body quotes the input', { kind: 'status', status: 500 }, 502],
    ['a refusal', { kind: 'status', status: 422 }, 400],
    ['text that is not JSON', { kind: 'raw' }, 502],
    ['vectors for other inputs', { kind: 'raw', data: true }, 502],
  ] as const)('%s is a %d that quotes nothing', async (_what, how, status) => {
    const secret = canary('oai-error');
    if (how.kind === 'status') {
      fake.behaviour = {
        kind: 'status',
        status: how.status,
        body: JSON.stringify({ error: { message: `You sent ${secret}` } }),
      };
    } else {
      fake.behaviour = {
        kind: 'raw',
        body:
          'data' in how
            ? JSON.stringify({ data: [{ index: 3, embedding: [0.1] }], note: secret })
            : `not json ${secret}`,
      };
    }
    const { response } = await post(openAiHandler, { model: 'embed-oai', input: canary('in') });
    expect(response.statusCode).toBe(status);
  });
});

describe('POST /v1/embeddings refusals', () => {
  it.each([
    // Not shaped as a model id (`!`), so not named in the 404 (an id-shaped one would be).
    ['an unknown model', { model: `${canary('model')}!`, input: 'x' }],
    ['a chat model', { model: 'chat-small', input: 'x' }],
  ])('%s is a 404', async (_what, body) => {
    const { response, body: answer, record } = await post(bedrockHandler, body);
    expect(response.statusCode).toBe(404);
    expect(answer.error).toMatchObject({ code: 'model_not_found' });
    expect(record).not.toHaveProperty('model');
    expect(bedrockMock.calls()).toHaveLength(0);
  });

  it('an embedding model named on chat completions is a 404', async () => {
    const { response } = await invoke(bedrockHandler, {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'embed', messages: [{ role: 'user', content: canary('chat') }] },
    });
    expect(response.statusCode).toBe(404);
  });

  it.each([
    [
      { model: 'embed', input: [canary('a'), ''] },
      'input[1] must be a non-empty string',
      'input[1]',
    ],
    [
      { model: 'embed', input: [101, 202] },
      'input must be a string or an array of strings: token arrays are not supported',
      'input',
    ],
    [
      { model: 'embed', input: canary('fmt'), encoding_format: canary('format') },
      "encoding_format must be 'float' or 'base64'",
      'encoding_format',
    ],
  ])('%j is a 400 naming the field', async (request, message, param) => {
    const { response, body, record } = await post(bedrockHandler, request);
    expect(response.statusCode).toBe(400);
    expect(body.error).toEqual({ message, type: 'invalid_request_error', param, code: null });
    expect(record).toMatchObject({ status: 400, error_type: 'invalid_request_error' });
  });

  it('GET is a 405 with Allow: POST', async () => {
    const { response } = await invoke(bedrockHandler, {
      method: 'GET',
      path: '/v1/embeddings',
      headers: bearer(key),
    });
    expect(response.statusCode).toBe(405);
    expect(response.headers?.Allow).toBe('POST');
  });
});

describe('canaries', () => {
  it('no input text, user or upstream error text reached a log line, item, answer or output', async () => {
    expect(canaries.length).toBeGreaterThan(20);
    const items = JSON.stringify(await aws.scanAll());
    const objects = JSON.stringify(
      (await aws.listObjects()).map((o) => ({ key: o.key, head: o.head })),
    );
    const answers = JSON.stringify(
      responses.map((r) => ({ headers: r.headers, status: r.statusCode, body: r.body })),
    );
    const places = {
      logs: logLines.join('\n'),
      items,
      objects,
      answers,
      output: otherOutput.join('\n'),
    };
    for (const [where, text] of Object.entries(places)) {
      for (const c of canaries) {
        if (text.includes(c)) throw new Error(`a canary reached ${where}`);
      }
      expect(text).not.toContain(`${PREFIX}-`);
    }
  });
});
