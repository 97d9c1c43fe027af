/**
 * The gateway handler end to end: real dynalite and s3rver on loopback, KMS and
 * Bedrock mocked with aws-sdk-client-mock.
 */

import { createHmac } from 'node:crypto';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { GenerateMacCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createKmsHasher } from '../../../lib/core/keyed-hash';
import { KeyStore } from '../../../lib/core/key-store';
import { parseImageKey } from '../../../lambda/shared/image-key';
import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import { createHandler, type GatewayHandler } from '../../../lambda/gateway/gateway';
import { createUpstream } from '../../../lambda/gateway/upstreams';
import type { GatewayConfig } from '../../../lambda/gateway/config';
import { HMAC_KEY_ID, startLocalAws, type LocalAws } from './support/local-aws';
import {
  albEvent,
  bearer,
  context,
  json,
  MODELS,
  pngBytes,
  sseData,
  testConfig,
} from './support/fixtures';

let aws: LocalAws;
let inferenceKey: string;
let inferenceKeyId: string;
let adminKey: string;
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const bedrockMock = mockClient(bedrock);
let lines: string[] = [];
let requestCounter = 0;

function handlerWith(
  config: GatewayConfig = testConfig(),
  extra: Record<string, unknown> = {},
): GatewayHandler {
  return createHandler({
    config,
    ddb: aws.ddb,
    s3: aws.s3,
    kms: aws.kms,
    upstream: createUpstream(config, { bedrock }),
    logSink: (line) => lines.push(line),
    ...extra,
  });
}

/** Invokes with a fresh request id and returns the response, the log lines and the usage item. */
async function invoke(handler: GatewayHandler, input: Parameters<typeof albEvent>[0]) {
  const requestId = `req-${++requestCounter}`;
  lines = [];
  const response = await handler(albEvent(input), context(requestId));
  const items = (await aws.scanAll()).filter((i) => i.request_id?.S === requestId);
  return {
    response,
    logs: lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    item: items[0],
    itemCount: items.length,
    requestId,
  };
}

const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: 'chat-small',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello' },
  ],
  ...extra,
});

const converseOk = {
  output: { message: { role: 'assistant' as const, content: [{ text: 'hi there' }] } },
  stopReason: 'end_turn' as const,
  usage: { inputTokens: 1200, outputTokens: 500, totalTokens: 1700 },
  metrics: { latencyMs: 5 },
};

beforeAll(async () => {
  aws = await startLocalAws();
  const store = new KeyStore({
    ddb: aws.ddb,
    tableName: testConfig().keyTableName,
    hasher: createKmsHasher({ kms: aws.kms, keyId: HMAC_KEY_ID }),
  });
  const created = await store.create({ name: 'inference', scopes: ['inference'] });
  inferenceKey = created.key;
  inferenceKeyId = created.id;
  adminKey = (await store.create({ name: 'admin', scopes: ['admin'] })).key;
});

afterAll(async () => {
  bedrockMock.restore();
  await aws.stop();
});

beforeEach(() => {
  bedrockMock.reset();
});

describe('routing', () => {
  it('answers /healthz without auth, log line or record', async () => {
    const { response, logs, itemCount } = await invoke(handlerWith(), { path: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ status: 'ok' });
    expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=none');
    expect(logs).toEqual([]);
    expect(itemCount).toBe(0);
  });

  it('answers 404 for an unknown path, logs it and writes no record', async () => {
    const { response, logs, itemCount } = await invoke(handlerWith(), {
      path: '/v1/completions',
      headers: bearer(inferenceKey),
      body: {},
    });
    expect(response.statusCode).toBe(404);
    // OpenAI's answer: the method and the path (a plain one), no param, no code.
    expect(json(response)).toEqual({
      error: {
        type: 'invalid_request_error',
        message: 'Invalid URL (POST /v1/completions)',
        param: null,
        code: null,
      },
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      event: 'usage',
      route: 'unmatched',
      status: 404,
      method: 'POST',
    });
    expect(logs[0]).not.toHaveProperty('api_key_id');
    expect(itemCount).toBe(0);
    expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const { response, logs } = await invoke(handlerWith(), {
      method: 'GET',
      path: '/v1/chat/completions',
    });
    expect(response.statusCode).toBe(405);
    expect(response.headers?.Allow).toBe('POST');
    expect(json(response)).toMatchObject({ error: { type: 'invalid_request_error', code: null } });
    expect(logs[0]).toMatchObject({
      route: 'chat_completions',
      status: 405,
      error_type: 'invalid_request_error',
    });
  });

  it.each([
    ['/v1/files/file-abc.txt', 'GET', 'Invalid URL (GET /v1/files/file-abc.txt)'],
    ['/v1/x%3Cscript%3E', 'GET', 'Invalid URL (GET <path not shown>)'],
    ['/v1/caf\u00e9', 'POST', 'Invalid URL (POST <path not shown>)'],
    ['/v1/a b', 'POST', 'Invalid URL (POST <path not shown>)'],
    [`/v1/${'a'.repeat(200)}`, 'POST', 'Invalid URL (POST <path not shown>)'],
  ])('names the unknown route %s only when the path is plain', async (path, method, message) => {
    // Never the query string.
    const event = albEvent({ method, path, headers: bearer(inferenceKey) });
    const response = await handlerWith()(
      { ...event, queryStringParameters: { secret: 'CANARY-query' } },
      context('req-unknown-route'),
    );
    expect(response.statusCode).toBe(404);
    expect(json(response)).toEqual({
      error: { type: 'invalid_request_error', message, param: null, code: null },
    });
    expect(response.body).not.toContain('CANARY');
  });
});

describe('authentication', () => {
  it.each([
    ['missing', {}, 401, 'invalid_request_error'],
    ['malformed', { authorization: 'Basic abc' }, 401, 'invalid_request_error'],
    [
      'unknown',
      { authorization: `Bearer eph_${'a'.repeat(16)}_${'A'.repeat(43)}` },
      401,
      'invalid_request_error',
    ],
  ])(
    'refuses a %s key with no record and no upstream call',
    async (reason, headers, status, type) => {
      const { response, logs, itemCount } = await invoke(handlerWith(), {
        path: '/v1/chat/completions',
        headers,
        body: chatBody(),
      });
      expect(response.statusCode).toBe(status);
      expect(response.headers?.['WWW-Authenticate']).toBe('Bearer');
      expect(json(response)).toMatchObject({
        error: { type, code: 'invalid_api_key', param: null },
      });
      expect(logs[0]).toMatchObject({ status, auth_failure: reason });
      expect(itemCount).toBe(0);
      expect(bedrockMock.calls()).toHaveLength(0);
    },
  );

  it('refuses a key without the inference scope with 403', async () => {
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/models',
      headers: bearer(adminKey),
    });
    expect(response.statusCode).toBe(403);
    expect(json(response)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'insufficient_scope', param: null },
    });
    expect(logs[0]).toMatchObject({ auth_failure: 'scope' });
  });

  it('answers 503 when the key store is unavailable', async () => {
    const handler = handlerWith(testConfig(), {
      keys: { verify: () => Promise.reject(new Error('boom')) },
    });
    const { response } = await invoke(handler, {
      path: '/v1/models',
      headers: bearer(inferenceKey),
    });
    expect(response.statusCode).toBe(503);
    expect(json(response)).toMatchObject({
      error: { type: 'server_error', code: 'service_unavailable', param: null },
    });
  });
});

describe('chat completions (bedrock)', () => {
  it('translates, answers, and writes one record equal to the log line', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    const { response, logs, item, requestId } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: {
        ...bearer(inferenceKey),
        'x-ephemera-metadata': 'team=a; customer_id=cust-42',
        'x-ephemera-learning-opt-out': 'true',
      },
      body: chatBody({
        temperature: 0.5,
        top_p: 0.9,
        max_tokens: 100,
        stop: ['END', 'STOP'],
        seed: 7,
      }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Content-Type']).toBe('application/json');
    expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    expect(response.headers?.['X-Request-Id']).toBe(requestId);
    const body = json(response);
    expect(body).toMatchObject({
      id: `chatcmpl-${requestId}`,
      object: 'chat.completion',
      model: 'chat-small',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 1200, completion_tokens: 500, total_tokens: 1700 },
    });
    // OpenAI's message shape: `refusal` is always there, null unless the model refused.
    expect((body.choices as { message: unknown }[])[0].message).toEqual({
      role: 'assistant',
      content: 'hi there',
      refusal: null,
    });

    const input = bedrockMock.commandCalls(ConverseCommand)[0].args[0]
      .input as ConverseCommandInput;
    expect(input).toEqual({
      modelId: 'amazon.nova-lite-v1:0',
      system: [{ text: 'be brief' }],
      messages: [{ role: 'user', content: [{ text: 'hello' }] }],
      inferenceConfig: {
        maxTokens: 100,
        temperature: 0.5,
        topP: 0.9,
        stopSequences: ['END', 'STOP'],
      },
    });

    const expectedHash = createHmac('sha256', Buffer.from('gateway-test-hmac-key'))
      .update('customer:cust-42')
      .digest('hex');
    const expected = {
      request_id: requestId,
      api_key_id: inferenceKeyId,
      customer_hash: expectedHash,
      route: 'chat_completions',
      method: 'POST',
      model: 'chat-small',
      status: 200,
      input_tokens: 1200,
      output_tokens: 500,
      cost_micro_usd: 192, // 1.2 * 60 + 0.5 * 240
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 100,
      n: 1,
      seed: 7,
      stop_count: 2,
      tool_count: 0,
      stream: false,
      opt_out: true,
    };
    const logged: Partial<typeof expected> = { ...expected };
    delete logged.customer_hash;
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      event: 'usage',
      ...logged,
      customer_tagged: true,
      record_written: true,
    });
    // The customer's hash is in the (erasable) table item only, never in the log.
    expect(JSON.stringify(logs)).not.toContain(expectedHash);
    const stored = usageRecordFromItem(item);
    expect(stored.record).toMatchObject(expected);
    expect(stored.imageKeys).toEqual([]);
    // The item holds exactly the log line's fields (minus the logger's own),
    // with the hash in place of the line's `customer_tagged`.
    const logFields = Object.fromEntries(
      Object.entries(logs[0]).filter(
        ([name]) => !['event', 'record_written', 'customer_tagged'].includes(name),
      ),
    );
    expect(stored.record).toEqual({ ...logFields, customer_hash: expectedHash });
    expect(Object.keys(item).sort()).toEqual([...Object.keys(logFields), 'customer_hash'].sort());
    expect(Number(item.ttl.N)).toBe(
      Math.floor(Date.parse(item.timestamp.S as string) / 1000) + 30 * 86_400,
    );
  });

  it('answers stream: true with a complete event stream', async () => {
    bedrockMock.on(ConverseStreamCommand).resolves({
      stream: (async function* () {
        yield { messageStart: { role: 'assistant' as const } };
        yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'hi ' } } };
        yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'there' } } };
        yield { contentBlockStop: { contentBlockIndex: 0 } };
        yield { messageStop: { stopReason: 'end_turn' as const } };
        yield {
          metadata: {
            usage: { inputTokens: 1200, outputTokens: 500, totalTokens: 1700 },
            metrics: { latencyMs: 5 },
          },
        };
      })(),
    });
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['Content-Type']).toBe('text/event-stream; charset=utf-8');
    const data = sseData(response.body ?? '');
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('hi there');
    // The first chunk opens the choice as OpenAI's does.
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks[chunks.length - 1].usage).toEqual({
      prompt_tokens: 1200,
      completion_tokens: 500,
      total_tokens: 1700,
    });
    expect(logs[0]).toMatchObject({ stream: true, status: 200 });
  });

  it('maps tool calls both ways', async () => {
    bedrockMock.on(ConverseCommand).resolves({
      ...converseOk,
      output: {
        message: {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: 't1', name: 'lookup', input: { q: 1 } } }],
        },
      },
      stopReason: 'tool_use',
    });
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody({
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
        tool_choice: 'required',
      }),
    });
    expect(json(response)).toMatchObject({
      choices: [
        {
          message: {
            content: null,
            tool_calls: [
              { id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
    });
    const input = bedrockMock.commandCalls(ConverseCommand)[0].args[0]
      .input as ConverseCommandInput;
    expect(input.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object' } } } }],
      toolChoice: { any: {} },
    });
    expect(logs[0]).toMatchObject({ tool_count: 1 });
  });

  it.each([
    ['ThrottlingException', 429, 'requests', 'rate_limit_exceeded'],
    ['ServiceQuotaExceededException', 429, 'requests', 'rate_limit_exceeded'],
    ['ValidationException', 400, 'invalid_request_error', 'upstream_rejected'],
    ['ModelTimeoutException', 504, 'server_error', 'upstream_timeout'],
    ['InternalServerException', 502, 'server_error', 'upstream_error'],
    ['AccessDeniedException', 502, 'server_error', 'upstream_error'],
  ])('maps %s to %i %s, code %s', async (name, status, type, code) => {
    const err = Object.assign(new Error('upstream says something'), { name });
    bedrockMock.on(ConverseCommand).rejects(err);
    const { response, logs, item } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody(),
    });
    expect(response.statusCode).toBe(status);
    expect(json(response)).toMatchObject({ error: { type, code, param: null } });
    expect(response.body).not.toContain('upstream says');
    if (status === 429) expect(response.headers?.['Retry-After']).toBe('1');
    expect(logs[0]).toMatchObject({
      status,
      error_type: type,
      error_code: code,
      model: 'chat-small',
    });
    expect(usageRecordFromItem(item).record).toMatchObject({
      status,
      error_type: type,
      error_code: code,
    });
  });

  it('answers 502 with the fixed message for an upstream failure', async () => {
    bedrockMock
      .on(ConverseCommand)
      .rejects(Object.assign(new Error('x'), { name: 'InternalServerException' }));
    const { response } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody(),
    });
    expect(json(response)).toEqual({
      error: {
        type: 'server_error',
        message: 'The model upstream failed',
        param: null,
        code: 'upstream_error',
      },
    });
  });

  it('answers 504 when the upstream outlives the deadline', async () => {
    bedrockMock
      .on(ConverseCommand)
      .callsFake(
        () =>
          new Promise((_, reject) =>
            setTimeout(
              () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
              1_200,
            ),
          ),
      );
    const { response, logs } = await invoke(
      handlerWith(testConfig({ UPSTREAM_TIMEOUT_MS: '1000' })),
      {
        path: '/v1/chat/completions',
        headers: bearer(inferenceKey),
        body: chatBody(),
      },
    );
    expect(response.statusCode).toBe(504);
    expect(json(response)).toEqual({
      error: {
        type: 'server_error',
        message:
          'The model upstream did not answer within the deadline; retrying the same request would wait as long again',
        param: null,
        code: 'upstream_timeout',
      },
    });
    // A retry would wait as long again: OpenAI's SDKs obey this before their own rules.
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(logs[0]).toMatchObject({
      status: 504,
      error_type: 'server_error',
      error_code: 'upstream_timeout',
    });
  });

  it('answers 422 when the completion is over the response limit', async () => {
    bedrockMock.on(ConverseCommand).resolves({
      ...converseOk,
      output: { message: { role: 'assistant', content: [{ text: 'x'.repeat(1_100_000) }] } },
    });
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody(),
    });
    expect(response.statusCode).toBe(422);
    expect(json(response)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'response_too_large' },
    });
    expect(logs[0]).toMatchObject({
      status: 422,
      input_tokens: 1200,
      output_tokens: 500,
      cost_micro_usd: 192,
    });
  });
});

describe("every error status: OpenAI's type, code and param (docs/http-api.md)", () => {
  const upstreamFails = (name: string) => () => {
    bedrockMock.on(ConverseCommand).rejects(Object.assign(new Error('x'), { name }));
    return handlerWith();
  };
  const chat = (extra: Record<string, unknown> = {}) => ({
    path: '/v1/chat/completions',
    headers: bearer(inferenceKey),
    body: chatBody(extra),
  });
  const cases: [
    string,
    () => GatewayHandler,
    () => Parameters<typeof albEvent>[0],
    number,
    string,
    string | null,
    string | null,
  ][] = [
    [
      'a bad field',
      handlerWith,
      () => chat({ temperature: 3 }),
      400,
      'invalid_request_error',
      null,
      'temperature',
    ],
    [
      'an upstream refusal',
      upstreamFails('ValidationException'),
      () => chat(),
      400,
      'invalid_request_error',
      'upstream_rejected',
      null,
    ],
    [
      'no key',
      handlerWith,
      () => ({ path: '/v1/models' }),
      401,
      'invalid_request_error',
      'invalid_api_key',
      null,
    ],
    [
      'an admin key',
      handlerWith,
      () => ({ path: '/v1/models', headers: bearer(adminKey) }),
      403,
      'invalid_request_error',
      'insufficient_scope',
      null,
    ],
    [
      'an unknown route',
      handlerWith,
      () => ({ path: '/v1/nope', headers: bearer(inferenceKey) }),
      404,
      'invalid_request_error',
      null,
      null,
    ],
    [
      'an unknown model',
      handlerWith,
      () => chat({ model: 'nope' }),
      404,
      'invalid_request_error',
      'model_not_found',
      'model',
    ],
    [
      'a wrong method',
      handlerWith,
      () => ({ method: 'GET', path: '/v1/chat/completions' }),
      405,
      'invalid_request_error',
      null,
      null,
    ],
    [
      'a body over 1 MB',
      handlerWith,
      () => ({
        path: '/v1/chat/completions',
        headers: bearer(inferenceKey),
        rawBody: ' '.repeat(1024 * 1024 + 1),
      }),
      413,
      'invalid_request_error',
      'request_too_large',
      null,
    ],
    [
      'an answer over 1 MB',
      () => {
        bedrockMock.on(ConverseCommand).resolves({
          ...converseOk,
          output: { message: { role: 'assistant', content: [{ text: 'x'.repeat(1_100_000) }] } },
        });
        return handlerWith();
      },
      () => chat(),
      422,
      'invalid_request_error',
      'response_too_large',
      null,
    ],
    [
      'an upstream throttle',
      upstreamFails('ThrottlingException'),
      () => chat(),
      429,
      'requests',
      'rate_limit_exceeded',
      null,
    ],
    [
      'an upstream failure',
      upstreamFails('InternalServerException'),
      () => chat(),
      502,
      'server_error',
      'upstream_error',
      null,
    ],
    [
      'a key store failure',
      () =>
        handlerWith(testConfig(), { keys: { verify: () => Promise.reject(new Error('boom')) } }),
      () => ({ path: '/v1/models', headers: bearer(inferenceKey) }),
      503,
      'server_error',
      'service_unavailable',
      null,
    ],
    [
      'an upstream timeout',
      upstreamFails('ModelTimeoutException'),
      () => chat(),
      504,
      'server_error',
      'upstream_timeout',
      null,
    ],
  ];
  it.each(cases)(
    '%s: %i %s, code %s, param %s',
    async (_label, handler, input, status, type, code, param) => {
      const { response, logs } = await invoke(handler(), input());
      expect(response.statusCode).toBe(status);
      expect((json(response) as { error: Record<string, unknown> }).error).toMatchObject({
        type,
        code,
        param,
      });
      expect(logs[0]).toMatchObject({ status });
    },
  );
});

describe('bad input', () => {
  const cases: [string, Parameters<typeof albEvent>[0], number, string][] = [
    [
      'invalid JSON',
      { path: '/v1/chat/completions', rawBody: '{"model":' },
      400,
      'invalid_request_error',
    ],
    [
      'a JSON array',
      { path: '/v1/chat/completions', rawBody: '[1,2]' },
      400,
      'invalid_request_error',
    ],
    [
      'a body over 1 MB',
      { path: '/v1/chat/completions', rawBody: ' '.repeat(1024 * 1024 + 1) },
      413,
      'invalid_request_error',
    ],
    [
      'a base64 body over 1 MB',
      { path: '/v1/chat/completions', rawBody: ' '.repeat(1024 * 1024 + 1), base64: true },
      413,
      'invalid_request_error',
    ],
    [
      'wrong types',
      { path: '/v1/chat/completions', body: { model: 'chat-small', messages: 'hi' } },
      400,
      'invalid_request_error',
    ],
    [
      'temperature out of range',
      { path: '/v1/chat/completions', body: chatBody({ temperature: 3 }) },
      400,
      'invalid_request_error',
    ],
    [
      'temperature over 1 for bedrock',
      { path: '/v1/chat/completions', body: chatBody({ temperature: 1.5 }) },
      400,
      'invalid_request_error',
    ],
    [
      'top_p out of range',
      { path: '/v1/chat/completions', body: chatBody({ top_p: -0.1 }) },
      400,
      'invalid_request_error',
    ],
    [
      'an unknown model',
      { path: '/v1/chat/completions', body: chatBody({ model: 'gpt-9' }) },
      404,
      'invalid_request_error',
    ],
    [
      'an image model on chat',
      { path: '/v1/chat/completions', body: chatBody({ model: 'image-gen' }) },
      404,
      'invalid_request_error',
    ],
    [
      'n too large (chat)',
      { path: '/v1/chat/completions', body: chatBody({ n: 9 }) },
      400,
      'invalid_request_error',
    ],
    [
      'n over 1 for bedrock',
      { path: '/v1/chat/completions', body: chatBody({ n: 2 }) },
      400,
      'invalid_request_error',
    ],
    [
      'n too large (images)',
      { path: '/v1/images/generations', body: { model: 'image-gen', prompt: 'p', n: 5 } },
      400,
      'invalid_request_error',
    ],
    [
      'a bad size',
      { path: '/v1/images/generations', body: { model: 'image-gen', prompt: 'p', size: 'big' } },
      400,
      'invalid_request_error',
    ],
    [
      'a bad metadata header',
      {
        path: '/v1/chat/completions',
        body: chatBody(),
        headers: { 'x-ephemera-metadata': 'customer_id=a b' },
      },
      400,
      'invalid_request_error',
    ],
    [
      'a bad opt-out header',
      {
        path: '/v1/chat/completions',
        body: chatBody(),
        headers: { 'x-ephemera-learning-opt-out': 'yes' },
      },
      400,
      'invalid_request_error',
    ],
  ];

  it('answers an unknown model as OpenAI does: invalid_request_error, code model_not_found, param model', async () => {
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody({ model: 'gpt-9' }),
    });
    expect(response.statusCode).toBe(404);
    expect(json(response)).toEqual({
      error: {
        type: 'invalid_request_error',
        message:
          "The model 'gpt-9' does not exist or you do not have access to it. List the models with GET /v1/models.",
        param: 'model',
        code: 'model_not_found',
      },
    });
    expect(logs[0]).toMatchObject({
      error_type: 'invalid_request_error',
      error_code: 'model_not_found',
    });
    expect(logs[0]).not.toHaveProperty('model');
    // The name the client sent is in its own answer only: never in the log line.
    expect(JSON.stringify(logs)).not.toContain('gpt-9');
  });

  it.each([
    ['a name that is not a model id', 'gpt 9 <script>', 'The model does not exist'],
    ['a name over 128 characters', `m${'x'.repeat(128)}`, 'The model does not exist'],
    ['a chat model on the images route', 'chat-small', "The model 'chat-small' is not available"],
  ])(
    'names the model in a 404 only when it has the shape of a model id (%s)',
    async (_w, model, start) => {
      const images = model === 'chat-small';
      const { response } = await invoke(handlerWith(), {
        path: images ? '/v1/images/generations' : '/v1/chat/completions',
        headers: bearer(inferenceKey),
        body: images ? { model, prompt: 'p' } : chatBody({ model }),
      });
      expect(response.statusCode).toBe(404);
      const error = json(response).error as { message: string; code: string; param: string };
      expect(error).toMatchObject({ code: 'model_not_found', param: 'model' });
      expect(error.message.startsWith(start)).toBe(true);
      expect(error.message).toContain('List the models with GET /v1/models.');
      if (!images) expect(response.body).not.toContain(model);
    },
  );

  it('says where a malformed JSON body stopped parsing, never quoting it', async () => {
    for (const [rawBody, where] of [
      ['{"model": "chat-small", "messages": }', 'unexpected token at position 36'],
      ['{"model": "SECRET-TEXT', 'unexpected end of input at position 22'],
      ['{"model": SECRET-TEXT}', 'unexpected token at position 10'],
    ]) {
      const { response } = await invoke(handlerWith(), {
        path: '/v1/chat/completions',
        headers: bearer(inferenceKey),
        rawBody,
      });
      expect(response.statusCode).toBe(400);
      expect(json(response).error).toMatchObject({
        message: `We could not parse the JSON body of your request: ${where}. Send a JSON object.`,
        type: 'invalid_request_error',
      });
      expect(response.body).not.toContain('SECRET');
      expect(response.body).not.toContain('messages');
    }
  });

  it.each(cases)('answers %s with a 4xx and no side effect', async (_name, input, status, type) => {
    const before = (await aws.listObjects()).length;
    const { response, logs, itemCount } = await invoke(handlerWith(), {
      ...input,
      headers: { ...bearer(inferenceKey), ...(input.headers ?? {}) },
    });
    expect(response.statusCode).toBe(status);
    expect(json(response)).toMatchObject({ error: { type } });
    expect(typeof (json(response).error as { message: unknown }).message).toBe('string');
    expect(bedrockMock.calls()).toHaveLength(0);
    expect((await aws.listObjects()).length).toBe(before);
    // Authenticated, so one record (metadata only) and one log line.
    expect(itemCount).toBe(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ status, error_type: type, api_key_id: inferenceKeyId });
  });

  it('accepts a base64-encoded body', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    const { response } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: bearer(inferenceKey),
      body: chatBody(),
      base64: true,
    });
    expect(response.statusCode).toBe(200);
  });

  it('answers 503 and calls no upstream when the customer hash cannot be computed', async () => {
    aws.kmsMock
      .on(GenerateMacCommand, { Message: Buffer.from('customer:cust-kms-down') })
      .rejects(new Error('kms down'));
    try {
      const { response } = await invoke(handlerWith(), {
        path: '/v1/chat/completions',
        headers: { ...bearer(inferenceKey), 'x-ephemera-metadata': 'customer_id=cust-kms-down' },
        body: chatBody(),
      });
      expect(response.statusCode).toBe(503);
      expect(bedrockMock.calls()).toHaveLength(0);
    } finally {
      aws.kmsMock
        .on(GenerateMacCommand, { Message: Buffer.from('customer:cust-kms-down') })
        .callsFake((input) => ({
          Mac: createHmac('sha256', Buffer.from('gateway-test-hmac-key'))
            .update(Buffer.from(input.Message))
            .digest(),
        }));
    }
  });
});

describe('images (bedrock)', () => {
  const novaAnswer = (images: Buffer[]) => ({
    body: Buffer.from(JSON.stringify({ images: images.map((b) => b.toString('base64')) })),
    contentType: 'application/json',
  });

  it('stores url images under expiry keys and returns presigned URLs that expire no later', async () => {
    const images = [pngBytes('one'), pngBytes('two')];
    bedrockMock.on(InvokeModelCommand).resolves(novaAnswer(images) as never);
    // A whole second plus 400 ms, near the real clock (the key store and s3rver check times).
    const fixed = new Date(Math.floor(Date.now() / 1000) * 1000 + 400);
    const { response, logs, item } = await invoke(handlerWith(testConfig(), { now: () => fixed }), {
      path: '/v1/images/generations',
      headers: bearer(inferenceKey),
      body: {
        model: 'image-gen',
        prompt: 'a cat',
        n: 2,
        size: '512x512',
        quality: 'hd',
        response_format: 'url',
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['X-Ephemera-Retention']).toBe(
      'content=image; image-ttl=3600; metadata=30d',
    );

    const request = JSON.parse(
      Buffer.from(
        bedrockMock.commandCalls(InvokeModelCommand)[0].args[0].input.body as string,
      ).toString(),
    );
    expect(request).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a cat' },
      imageGenerationConfig: { numberOfImages: 2, width: 512, height: 512, quality: 'premium' },
    });

    const data = json(response).data as { url: string }[];
    expect(data).toHaveLength(2);
    const stored = usageRecordFromItem(item);
    expect(stored.imageKeys).toHaveLength(2);
    expect(stored.record).toMatchObject({
      image_count: 2,
      cost_micro_usd: 80_000,
      response_format: 'url',
      image_ttl_seconds: 3600,
    });
    expect(logs[0]).toMatchObject({ image_count: 2, size: '512x512', quality: 'hd', n: 2 });

    const imageExpiry = Math.ceil(fixed.getTime() / 1000) + 3600;
    for (const key of stored.imageKeys) {
      expect(parseImageKey(key)?.expiresAtEpochSeconds).toBe(imageExpiry);
    }
    for (const [i, { url }] of data.entries()) {
      const u = new URL(url);
      const signedAt = Date.parse(
        (u.searchParams.get('X-Amz-Date') as string).replace(
          /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
          '$1-$2-$3T$4:$5:$6Z',
        ),
      );
      const urlExpiry = signedAt / 1000 + Number(u.searchParams.get('X-Amz-Expires'));
      expect(urlExpiry).toBeLessThanOrEqual(imageExpiry);
      expect(stored.imageKeys).toContain(
        decodeURIComponent(u.pathname.replace(/^\/ephemera-images\//, '')),
      );
      // The presigned URL works: s3rver checks the signature and serves the bytes.
      const fetched = await fetch(url);
      expect(fetched.status).toBe(200);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(images[i])).toBe(true);
      const object = (await aws.listObjects()).find((o) => u.pathname.endsWith(o.key));
      expect(object?.head.ContentType).toBe('image/png');
      expect(object?.head.Metadata).toEqual({});
    }
  });

  it('returns b64_json images without storing anything', async () => {
    const image = pngBytes('b64');
    bedrockMock.on(InvokeModelCommand).resolves(novaAnswer([image]) as never);
    const before = (await aws.listObjects()).length;
    const { response, item } = await invoke(handlerWith(), {
      path: '/v1/images/generations',
      headers: bearer(inferenceKey),
      body: { model: 'image-gen', prompt: 'a dog', response_format: 'b64_json' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    expect((json(response).data as { b64_json: string }[])[0].b64_json).toBe(
      image.toString('base64'),
    );
    expect((await aws.listObjects()).length).toBe(before);
    expect(usageRecordFromItem(item).imageKeys).toEqual([]);
  });

  describe('without a model', () => {
    const withImageModels = (...extra: Record<string, unknown>[]) =>
      handlerWith(testConfig({ MODELS: JSON.stringify([...MODELS, ...extra]) }));
    const noModel = { path: '/v1/images/generations', body: { prompt: 'a dog' } };
    const second = {
      id: 'image-b',
      upstreamId: 'amazon.titan-image-generator-v2:0',
      kind: 'image',
    };

    it('uses the only image model', async () => {
      bedrockMock.on(InvokeModelCommand).resolves(novaAnswer([pngBytes()]) as never);
      const { response, logs } = await invoke(handlerWith(), {
        ...noModel,
        headers: bearer(inferenceKey),
      });
      expect(response.statusCode).toBe(200);
      expect(logs[0]).toMatchObject({ model: 'image-gen', status: 200 });
      expect(bedrockMock.commandCalls(InvokeModelCommand)[0].args[0].input.modelId).toBe(
        'amazon.nova-canvas-v1:0',
      );
    });

    it('uses the image model marked default among several', async () => {
      bedrockMock.on(InvokeModelCommand).resolves(novaAnswer([pngBytes()]) as never);
      const { response, logs } = await invoke(withImageModels({ ...second, default: true }), {
        ...noModel,
        headers: bearer(inferenceKey),
      });
      expect(response.statusCode).toBe(200);
      expect(logs[0]).toMatchObject({ model: 'image-b', status: 200 });
      expect(bedrockMock.commandCalls(InvokeModelCommand)[0].args[0].input.modelId).toBe(
        'amazon.titan-image-generator-v2:0',
      );
    });

    it('answers 400 naming the image models when there are several and no default', async () => {
      const { response, logs } = await invoke(withImageModels(second), {
        ...noModel,
        headers: bearer(inferenceKey),
      });
      expect(response.statusCode).toBe(400);
      expect(json(response)).toEqual({
        error: {
          message:
            'model is required: this deployment has several image models (image-gen, image-b) and none is the default',
          type: 'invalid_request_error',
          param: 'model',
          code: null,
        },
      });
      expect(logs[0]).toMatchObject({ status: 400 });
      expect(bedrockMock.commandCalls(InvokeModelCommand)).toHaveLength(0);
    });
  });

  it('answers 422 response_too_large when b64_json images exceed the ALB limit', async () => {
    bedrockMock
      .on(InvokeModelCommand)
      .resolves(novaAnswer([pngBytes('x'.repeat(800_000))]) as never);
    const { response, logs } = await invoke(handlerWith(), {
      path: '/v1/images/generations',
      headers: bearer(inferenceKey),
      body: { model: 'image-gen', prompt: 'a big dog', response_format: 'b64_json' },
    });
    expect(response.statusCode).toBe(422);
    expect(json(response)).toEqual({
      error: {
        type: 'invalid_request_error',
        message:
          'The generated images exceed the 1 MB response limit; use response_format "url", a smaller size or fewer images',
        param: null,
        code: 'response_too_large',
      },
    });
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(logs[0]).toMatchObject({ status: 422, image_count: 1 });
  });

  it('answers 500 when storing fails, and still records every image that may be stored', async () => {
    bedrockMock
      .on(InvokeModelCommand)
      .resolves(novaAnswer([pngBytes('a'), pngBytes('b')]) as never);
    const s3 = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const s3Mock = mockClient(s3);
    s3Mock.on(PutObjectCommand).resolvesOnce({}).rejects(new Error('SlowDown'));
    try {
      const { response, item } = await invoke(handlerWith(testConfig(), { s3 }), {
        path: '/v1/images/generations',
        headers: bearer(inferenceKey),
        body: { model: 'image-gen', prompt: 'p', n: 2, response_format: 'url' },
      });
      expect(response.statusCode).toBe(500);
      expect(json(response)).toEqual({
        error: {
          type: 'server_error',
          message: 'Could not store the generated images',
          param: null,
          code: null,
        },
      });
      // The image that was stored lives until its TTL, so the header says so,
      // and the record lists every key an upload was attempted for, for erasure.
      expect(response.headers?.['X-Ephemera-Retention']).toBe(
        'content=image; image-ttl=3600; metadata=30d',
      );
      expect(usageRecordFromItem(item).imageKeys).toHaveLength(2);
    } finally {
      s3Mock.restore();
    }
  });

  it('answers 502 for an image answer that is not an image', async () => {
    bedrockMock.on(InvokeModelCommand).resolves({
      body: Buffer.from(
        JSON.stringify({ images: [Buffer.from('not an image').toString('base64')] }),
      ),
    } as never);
    const { response } = await invoke(handlerWith(), {
      path: '/v1/images/generations',
      headers: bearer(inferenceKey),
      body: { model: 'image-gen', prompt: 'p' },
    });
    expect(response.statusCode).toBe(502);
  });
});

describe('models and records', () => {
  it('lists the configured models', async () => {
    const { response, item } = await invoke(handlerWith(), {
      path: '/v1/models',
      headers: bearer(inferenceKey),
    });
    expect(json(response)).toEqual({
      object: 'list',
      data: [
        { id: 'chat-small', object: 'model', created: 0, owned_by: 'ephemera' },
        { id: 'image-gen', object: 'model', created: 0, owned_by: 'ephemera' },
      ],
      next_cursor: null,
    });
    expect(usageRecordFromItem(item).record).toMatchObject({ route: 'models', status: 200 });
  });

  it('still answers when the usage record cannot be written, and says so in the log', async () => {
    const { response, logs, itemCount } = await invoke(
      handlerWith(testConfig({ USAGE_TABLE_NAME: 'no-such-table' })),
      { path: '/v1/models', headers: bearer(inferenceKey) },
    );
    expect(response.statusCode).toBe(200);
    expect(itemCount).toBe(0);
    expect(logs[0]).toMatchObject({ status: 200, record_written: false });
  });
});

describe('unknown metadata parameters', () => {
  const WARNING = 'X-Ephemera-Warning';
  const typo = "unknown metadata parameter 'customerid' (known: customer_id)";
  const value = 'cust-typo-3b8e';

  /** Nothing of the unknown parameter (name or value) in the log line or the usage item. */
  function expectNothingOfIt(logs: Record<string, unknown>[], item: unknown) {
    for (const text of [JSON.stringify(logs), JSON.stringify(item)]) {
      expect(text).not.toMatch(/customerid|tenantx/i);
      expect(text).not.toContain(value);
    }
  }

  it('names a typo in a warning header and stores the request untagged, with nothing of it', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    const { response, logs, item } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: { ...bearer(inferenceKey), 'x-ephemera-metadata': `customerid=${value}` },
      body: chatBody(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.[WARNING]).toBe(typo);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ customer_tagged: false, status: 200 });
    expect(usageRecordFromItem(item).record.customer_hash).toBeUndefined();
    expectNothingOfIt(logs, item);
  });

  it('says nothing for customer_id, in any case', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    for (const header of ['customer_id=abc', 'CUSTOMER_ID=abc', 'Customer_Id=abc; customer_id=x']) {
      const { response, item } = await invoke(handlerWith(), {
        path: '/v1/chat/completions',
        headers: { ...bearer(inferenceKey), 'x-ephemera-metadata': header },
        body: chatBody(),
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers?.[WARNING]).toBeUndefined();
      expect(usageRecordFromItem(item).record.customer_hash).toBeDefined();
    }
  });

  it('tags the request with customer_id and warns about the others, several joined by ", "', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    const { response, logs, item } = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: {
        ...bearer(inferenceKey),
        'x-ephemera-metadata': `customerid=${value}; customer_id=cust-ok; tenantX=${value}`,
      },
      body: chatBody(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.[WARNING]).toBe(
      `${typo}, unknown metadata parameter 'tenantX' (known: customer_id)`,
    );
    expect(usageRecordFromItem(item).record.customer_hash).toBeDefined();
    expectNothingOfIt(logs, item);
  });

  it('counts names it will not quote', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseOk);
    const { response } = await invoke(handlerWith(), {
      path: '/v1/models',
      headers: {
        ...bearer(inferenceKey),
        'x-ephemera-metadata': `<script>=1; ${'n'.repeat(65)}=2; customer_id=abc`,
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.[WARNING]).toBe('2 unknown metadata parameters (known: customer_id)');
  });

  it('warns on a streamed answer too, and on an answer that fails after the headers were read', async () => {
    bedrockMock.on(ConverseStreamCommand).resolves({
      stream: (async function* () {
        yield { messageStart: { role: 'assistant' as const } };
        yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'hi' } } };
        yield { messageStop: { stopReason: 'end_turn' as const } };
      })(),
    });
    const headers = { ...bearer(inferenceKey), 'x-ephemera-metadata': `customerid=${value}` };
    const streamed = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers,
      body: chatBody({ stream: true }),
    });
    expect(streamed.response.statusCode).toBe(200);
    expect(streamed.response.headers?.['Content-Type']).toBe('text/event-stream; charset=utf-8');
    expect(streamed.response.headers?.[WARNING]).toBe(typo);
    expectNothingOfIt(streamed.logs, streamed.item);

    const refused = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers,
      body: chatBody({ temperature: 3 }),
    });
    expect(refused.response.statusCode).toBe(400);
    expect(refused.response.headers?.[WARNING]).toBe(typo);
    expectNothingOfIt(refused.logs, refused.item);
  });

  it('says nothing when the header was not read (bad key) or was refused (malformed)', async () => {
    const noKey = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: { 'x-ephemera-metadata': `customerid=${value}` },
      body: chatBody(),
    });
    expect(noKey.response.statusCode).toBe(401);
    expect(noKey.response.headers?.[WARNING]).toBeUndefined();
    const malformed = await invoke(handlerWith(), {
      path: '/v1/chat/completions',
      headers: { ...bearer(inferenceKey), 'x-ephemera-metadata': `customerid=${value}; junk` },
      body: chatBody(),
    });
    expect(malformed.response.statusCode).toBe(400);
    expect(malformed.response.headers?.[WARNING]).toBeUndefined();
  });
});
