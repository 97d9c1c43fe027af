/**
 * The openai-compatible upstream against a real local server on 127.0.0.1:
 * through the whole handler over HTTP (dynalite, s3rver, Secrets Manager mocked),
 * and once over real TLS in a child process that trusts the server's certificate.
 */

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import type { GatewayHandler } from '../../../lambda/gateway/gateway';
import {
  fromOpenAiChatBody,
  statusFailure,
  toOpenAiChatBody,
  toOpenAiImageBody,
} from '../../../lambda/gateway/openai-upstream';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import { validateChat } from '../../../lambda/gateway/validate-chat';
import { validateImages } from '../../../lambda/gateway/validate-images';
import { startFakeOpenAi, type FakeOpenAi } from './support/fake-openai';
import { albEvent, bearer, context, json, openAiTestConfig, pngBytes } from './support/fixtures';
import { startLocalAws, type LocalAws } from './support/local-aws';
import { localGateway } from './support/local-gateway';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:upstream-AbCdEf';
const MODELS = JSON.stringify([
  { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat', inputMicroUsdPer1kTokens: 1000 },
  { id: 'other', upstreamId: 'org/not-served', kind: 'chat' },
  { id: 'draw', upstreamId: 'org/image-model', kind: 'image' },
]);

describe('openai-compatible upstream through the handler', () => {
  let aws: LocalAws;
  let fake: FakeOpenAi;
  let key: string;
  const secrets = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const secretsMock = mockClient(secrets);
  let lines: string[] = [];
  let n = 0;

  function handler(env: Record<string, string> = {}): GatewayHandler {
    const config = openAiTestConfig(fake.baseUrl, { MODELS, ...env }, SECRET_ARN);
    return localGateway(aws, config, { secrets }, (l) => lines.push(l));
  }
  async function invoke(h: GatewayHandler, input: Parameters<typeof albEvent>[0]) {
    lines = [];
    fake.requests.length = 0;
    const requestId = `oai-${++n}`;
    const response = await h(albEvent(input), context(requestId));
    const item = (await aws.scanAll()).find((i) => i.request_id?.S === requestId);
    return { response, logs: lines.map((l) => JSON.parse(l) as Record<string, unknown>), item };
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    fake = await startFakeOpenAi();
    key = await aws.createKey('oai', ['inference']);
  });
  afterAll(async () => {
    secretsMock.restore();
    await fake.stop();
    await aws.stop();
  });
  beforeEach(() => {
    secretsMock.reset();
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: '{"token":"upstream-secret-token"}' });
    fake.behaviour = { kind: 'ok' };
  });

  it('forwards only validated fields with the upstream token, never the client headers', async () => {
    const { response, logs, item } = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: {
        ...bearer(key),
        'x-ephemera-metadata': 'customer_id=c1',
        'x-custom': 'leak?',
        cookie: 'a=b',
      },
      body: {
        model: 'chat',
        messages: [{ role: 'user', content: 'ping' }],
        temperature: 1.5,
        n: 2,
        seed: 4,
        user: 'end-user-id',
        logprobs: true,
        stream: true,
      },
    });
    expect(response.statusCode).toBe(200);
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0];
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer upstream-secret-token');
    expect(sent.headers).not.toHaveProperty('x-ephemera-metadata');
    expect(sent.headers).not.toHaveProperty('x-custom');
    expect(sent.headers).not.toHaveProperty('cookie');
    expect(JSON.parse(sent.body)).toEqual({
      model: 'org/chat-model',
      messages: [{ role: 'user', content: 'ping' }],
      // Streamed requests ask the upstream to stream, with usage at the end;
      // this server answers with a whole completion, which is accepted too.
      stream: true,
      stream_options: { include_usage: true },
      temperature: 1.5,
      n: 2,
      seed: 4,
      // Passed on unchanged; `user` is read for its type and never forwarded.
      logprobs: true,
    });
    expect(sent.body).not.toContain('end-user-id');
    expect(response.headers?.['Content-Type']).toBe('text/event-stream; charset=utf-8');
    expect(response.body).toContain('"content":"pong"');
    expect(response.body?.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(logs[0]).toMatchObject({
      status: 200,
      input_tokens: 11,
      output_tokens: 7,
      cost_micro_usd: 11,
      n: 2,
    });
    expect(usageRecordFromItem(item!).record).toMatchObject({ model: 'chat', status: 200 });
  });

  it('lists, retrieves and serves every configured model alike, whatever the upstream lists', async () => {
    // The fake lists org/chat-model only; 'other' (org/not-served) is configured all the same.
    const { response } = await invoke(handler(), { path: '/v1/models', headers: bearer(key) });
    expect(fake.requests).toHaveLength(0);
    expect((json(response).data as { id: string }[]).map((m) => m.id)).toEqual([
      'chat',
      'other',
      'draw',
    ]);
    const one = await invoke(handler(), { path: '/v1/models/other', headers: bearer(key) });
    expect(one.response.statusCode).toBe(200);
    expect(json(one.response)).toMatchObject({ id: 'other', object: 'model' });
    const chat = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'other', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(chat.response.statusCode).toBe(200);
    expect(JSON.parse(fake.requests[0].body)).toMatchObject({ model: 'org/not-served' });
  });

  it.each([
    ['delay-seconds', '7', '7'],
    ['delay-seconds over the bound', '3600', '60'],
    ['zero', '0', '1'],
    ['an HTTP date', 'HTTP-DATE+5', 'date'],
    ['a past HTTP date', 'HTTP-DATE-30', '1'],
    ['garbage', 'soon', '1'],
  ])("passes an upstream 429's Retry-After on, bounded (%s)", async (_what, given, sent) => {
    // An HTTP date has whole seconds (toUTCString drops the milliseconds).
    const date = given.startsWith('HTTP-DATE')
      ? Math.floor((Date.now() + Number(given.slice(9)) * 1000) / 1000) * 1000
      : undefined;
    fake.behaviour = {
      kind: 'status',
      status: 429,
      body: '{}',
      headers: { 'Retry-After': date === undefined ? given : new Date(date).toUTCString() },
    };
    for (const stream of [false, true]) {
      const before = Date.now();
      const { response } = await invoke(handler(), {
        path: '/v1/chat/completions',
        headers: bearer(key),
        body: { model: 'chat', messages: [{ role: 'user', content: 'x' }], stream },
      });
      const after = Date.now();
      expect(response.statusCode).toBe(429);
      if (sent !== 'date') {
        expect(response.headers?.['Retry-After']).toBe(sent);
        continue;
      }
      // The seconds left until the date, rounded up, as counted at some moment of the request.
      const wait = Number(response.headers?.['Retry-After']);
      expect(wait).toBeGreaterThanOrEqual(Math.ceil((date! - after) / 1000));
      expect(wait).toBeLessThanOrEqual(Math.ceil((date! - before) / 1000));
      expect(wait).toBeGreaterThanOrEqual(2); // read from the date, not the fallback of 1
    }
  });

  it('asks the upstream for base64 and stores url images itself', async () => {
    fake.behaviour = { kind: 'ok', images: [pngBytes('oai')] };
    const { response, item } = await invoke(handler(), {
      path: '/v1/images/generations',
      headers: bearer(key),
      body: {
        model: 'draw',
        prompt: 'a fox',
        size: '512x512',
        style: 'vivid',
        response_format: 'url',
      },
    });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(fake.requests[0].body)).toEqual({
      model: 'org/image-model',
      prompt: 'a fox',
      n: 1,
      size: '512x512',
      style: 'vivid',
      response_format: 'b64_json',
    });
    expect(usageRecordFromItem(item!).imageKeys).toHaveLength(1);
    expect(response.headers?.['X-Ephemera-Retention']).toBe(
      'content=image; image-ttl=3600; metadata=30d',
    );
  });

  it.each([
    [500, 502, 'server_error', 'upstream_error'],
    [503, 502, 'server_error', 'upstream_error'],
    [401, 502, 'server_error', 'upstream_error'],
    [429, 429, 'requests', 'rate_limit_exceeded'],
    [400, 400, 'invalid_request_error', 'upstream_rejected'],
    [422, 400, 'invalid_request_error', 'upstream_rejected'],
    [504, 504, 'server_error', 'upstream_timeout'],
  ])(
    'maps upstream status %i to %i %s, code %s, without reading its body',
    async (status, expected, type, code) => {
      fake.behaviour = {
        kind: 'status',
        status,
        body: '{"error":{"message":"CANARY-upstream-error-body"}}',
      };
      const { response, logs } = await invoke(handler(), {
        path: '/v1/chat/completions',
        headers: bearer(key),
        body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
      });
      expect(response.statusCode).toBe(expected);
      expect(json(response)).toMatchObject({ error: { type, code } });
      expect(response.body).not.toContain('CANARY');
      expect(lines.join('\n')).not.toContain('CANARY');
      expect(logs[0]).toMatchObject({ status: expected, error_type: type, error_code: code });
    },
  );

  it.each([
    ['not JSON', { kind: 'raw', body: 'CANARY not json' }],
    ['a wrong shape', { kind: 'raw', body: '{"choices":[{"message":{"content":5}}]}' }],
    ['a redirect', { kind: 'redirect' }],
  ] as const)('answers 502 for %s', async (_name, behaviour) => {
    fake.behaviour = behaviour;
    const { response } = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(response.statusCode).toBe(502);
    expect(json(response)).toEqual({
      error: {
        type: 'server_error',
        message: 'The model upstream failed',
        param: null,
        code: 'upstream_error',
      },
    });
  });

  it('passes strict, parallel_tool_calls, logprobs, reasoning_effort and max_completion_tokens on unchanged', async () => {
    const logprobs = {
      content: [
        {
          token: 'po',
          logprob: -0.25,
          bytes: [112, 111],
          top_logprobs: [{ token: 'po', logprob: -0.25, bytes: [112, 111] }],
        },
      ],
    };
    fake.behaviour = {
      kind: 'raw',
      body: JSON.stringify({
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'pong' },
            logprobs: { ...logprobs, extra: 'dropped' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1 },
      }),
    };
    const tool = {
      type: 'function',
      function: { name: 'f', parameters: { type: 'object' }, strict: true },
    };
    const { response } = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: {
        model: 'chat',
        messages: [{ role: 'user', content: 'ping' }],
        tools: [tool],
        parallel_tool_calls: false,
        logprobs: true,
        top_logprobs: 1,
        reasoning_effort: 'high',
        max_completion_tokens: 64,
        metadata: { person: 'someone' },
        store: false,
      },
    });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(fake.requests[0].body)).toEqual({
      model: 'org/chat-model',
      messages: [{ role: 'user', content: 'ping' }],
      stream: false,
      tools: [tool],
      parallel_tool_calls: false,
      logprobs: true,
      top_logprobs: 1,
      reasoning_effort: 'high',
      max_completion_tokens: 64,
    });
    expect((json(response).choices as Record<string, unknown>[])[0].logprobs).toEqual({
      ...logprobs,
      refusal: null,
    });
  });

  it('answers an upstream 404 for a configured model with a 502 that says not to retry', async () => {
    fake.behaviour = { kind: 'status', status: 404, body: '{"error":{"message":"no such model"}}' };
    const { response, logs } = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(response.statusCode).toBe(502);
    expect(response.headers?.['x-should-retry']).toBe('false');
    expect(json(response)).toMatchObject({
      error: { type: 'server_error', code: 'model_not_found', param: 'model' },
    });
    expect(response.body).not.toContain('no such model');
    expect(logs[0]).toMatchObject({ error_code: 'model_not_found' });
  });

  it("takes context_length_exceeded from an upstream 400's code, and nothing else from its body", async () => {
    const canary = 'CANARY-ctx-91';
    fake.behaviour = {
      kind: 'status',
      status: 400,
      body: JSON.stringify({
        error: { message: `too long: ${canary}`, code: 'context_length_exceeded' },
      }),
    };
    const { response, logs } = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: canary }] },
    });
    expect(response.statusCode).toBe(400);
    expect(json(response)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'context_length_exceeded' },
    });
    expect(response.body).not.toContain(canary);
    expect(JSON.stringify(logs)).not.toContain(canary);

    fake.behaviour = { kind: 'status', status: 400, body: `{"error":{"code":"${canary}"}}` };
    const other = await invoke(handler(), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(json(other.response)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'upstream_rejected' },
    });
  });

  it('retrieves one model by id, percent-encoded or not, and only a configured one', async () => {
    const one = await invoke(handler(), { path: '/v1/models/chat', headers: bearer(key) });
    expect(one.response.statusCode).toBe(200);
    expect(json(one.response)).toEqual({
      id: 'chat',
      object: 'model',
      created: 0,
      owned_by: 'ephemera',
    });
    expect(one.logs[0]).toMatchObject({ route: 'model', model: 'chat', status: 200 });
    const unknown = await invoke(handler(), {
      path: '/v1/models/org%2Fnope',
      headers: bearer(key),
    });
    expect(unknown.response.statusCode).toBe(404);
    expect(json(unknown.response)).toMatchObject({
      error: {
        message:
          "The model 'org/nope' does not exist or you do not have access to it. List the models with GET /v1/models.",
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      },
    });
    expect(unknown.logs[0]).not.toHaveProperty('model');
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    fake.behaviour = { kind: 'hang' };
    const { response } = await invoke(handler({ UPSTREAM_TIMEOUT_MS: '1000' }), {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(response.statusCode).toBe(504);
    expect(json(response)).toMatchObject({
      error: { type: 'server_error', code: 'upstream_timeout' },
    });
  });

  it('answers 502 when the secret cannot be read, and retries the read on the next request', async () => {
    secretsMock.reset();
    // Fails at cold start and again on the first request's retry, then works.
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('denied'))
      .rejectsOnce(new Error('denied'))
      .resolves({ SecretString: 'plain-token' });
    const h = handler();
    await new Promise((resolve) => setImmediate(resolve)); // let the cold-start read fail
    const chat = {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    };
    const first = await invoke(h, chat);
    expect(first.response.statusCode).toBe(502);
    expect(fake.requests).toHaveLength(0);
    const second = await invoke(h, chat);
    expect(second.response.statusCode).toBe(200);
    expect(fake.requests[0].headers.authorization).toBe('Bearer plain-token');
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({
      SecretId: SECRET_ARN,
    });
  });

  it('reads the secret once per instance, at creation', async () => {
    const h = handler();
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const chat = {
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
    };
    await invoke(h, chat);
    await invoke(h, chat);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});

describe('openai-compatible translators', () => {
  it('rebuilds messages, tools and formats', () => {
    const r = validateChat(
      {
        model: 'm',
        messages: [
          { role: 'system', content: 's' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'image_url', image_url: { url: 'https://x/y.png' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c', content: 'r' },
        ],
        stop: 'S',
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_object' },
        top_p: 0.3,
        max_tokens: 5,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
      },
      { remoteImageUrls: 'allow' },
    );
    if (!r.ok) throw new Error(r.message);
    expect(toOpenAiChatBody(r.value, 'up')).toEqual({
      model: 'up',
      messages: [
        { role: 'system', content: 's' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c', content: 'r' },
      ],
      stream: false,
      top_p: 0.3,
      max_tokens: 5,
      stop: ['S'],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_object' },
    });
    const img = validateImages({ model: 'm', prompt: 'p', quality: 'hd' }, 4);
    if (!img.ok) throw new Error(img.message);
    expect(toOpenAiImageBody(img.value, 'up')).toEqual({
      model: 'up',
      prompt: 'p',
      n: 1,
      size: '1024x1024',
      quality: 'hd',
      response_format: 'b64_json',
    });
  });

  it('parses answers strictly and keeps only known fields', () => {
    expect(
      fromOpenAiChatBody(
        {
          choices: [
            {
              message: {
                content: null,
                tool_calls: [
                  { id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
                ],
                extra: 'x',
              },
              finish_reason: 'function_call',
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: -1 },
        },
        1,
      ),
    ).toEqual({
      choices: [
        {
          text: null,
          toolCalls: [{ id: 'c', name: 'f', arguments: '{"a":1}' }],
          finishReason: 'tool_calls',
        },
      ],
      inputTokens: 1,
      outputTokens: 0,
    });
    expect(() => fromOpenAiChatBody({ choices: [] }, 1)).toThrow(UpstreamError);
    expect(() => fromOpenAiChatBody({ choices: [{ message: {} }, { message: {} }] }, 1)).toThrow(
      UpstreamError,
    );
    expect(statusFailure(418).failure).toBe('failed');
  });
});

describe('openai-compatible upstream over TLS', () => {
  let dir: string;
  let fake: FakeOpenAi;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ephemera-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    fake = await startFakeOpenAi({
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    });
  });
  afterAll(async () => {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const runChild = (env: Record<string, string>) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(__dirname, 'support', 'https-upstream-child.ts')],
        { env: { ...process.env, ...env, TEST_UPSTREAM_URL: fake.baseUrl }, timeout: 30_000 },
        (err, stdout) => resolve({ code: err ? 1 : 0, out: stdout }),
      );
    });

  it('talks to an https upstream with the global fetch when its CA is trusted', async () => {
    const { code, out } = await runChild({ NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      choices: [{ text: 'pong', toolCalls: [], finishReason: 'stop' }],
      inputTokens: 11,
      outputTokens: 7,
    });
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer child-token');
  });

  it('refuses an https upstream whose certificate is not trusted', async () => {
    const { code, out } = await runChild({});
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({ failed: 'UpstreamError' });
  });
});
