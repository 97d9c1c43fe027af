/**
 * Canary suite (promise P1): requests whose prompts, messages, stop sequences,
 * tool definitions, image prompts, headers and upstream answers carry unique
 * canary strings go through the success, upstream-error, timeout and bad-input
 * paths of both upstreams. Afterwards every log line written to stdout (the
 * production sink), anything else written to stdout, stderr or the console,
 * every DynamoDB item of every table, every S3 object's key and metadata (not
 * the image bytes), every error body and every response header is searched: no
 * canary may appear.
 */

import { randomUUID } from 'node:crypto';
import {
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { ALBResult } from 'aws-lambda';
import type { GatewayHandler } from '../../../lambda/gateway/gateway';
import { CANARY_PREFIX as PREFIX, captureOutput, makeCanaries } from './support/canaries';
import { startFakeOpenAi, type FakeOpenAi } from './support/fake-openai';
import {
  albEvent,
  bearer,
  context,
  openAiTestConfig,
  pngBytes,
  testConfig,
  type EventInput,
} from './support/fixtures';
import { startLocalAws, type LocalAws } from './support/local-aws';
import { localGateway, mockedUpstreamClients } from './support/local-gateway';

const { made: canaries, canary } = makeCanaries();

let aws: LocalAws;
let fake: FakeOpenAi;
let key: string;
const { bedrock, bedrockMock, secrets, secretsMock } = mockedUpstreamClients();

const responses: ALBResult[] = [];
/** The usage lines the production sink wrote to stdout. */
const stdout: string[] = [];
const otherOutput: string[] = [];
let restoreOutput: () => void;

let bedrockHandler: GatewayHandler;
let openAiHandler: GatewayHandler;

async function send(handler: GatewayHandler, input: EventInput): Promise<ALBResult> {
  const response = await handler(albEvent(input), context(randomUUID()));
  responses.push(response);
  return response;
}

/** A chat body in which every piece of content carries a canary. */
function canaryChat(model: string, extra: Record<string, unknown> = {}) {
  return {
    model,
    messages: [
      { role: 'system', content: canary('system') },
      { role: 'user', content: [{ type: 'text', text: canary('user') }] },
      {
        role: 'assistant',
        content: canary('assistant'),
        tool_calls: [
          {
            id: 'call1',
            type: 'function',
            function: { name: 'lookup', arguments: JSON.stringify({ q: canary('args') }) },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call1', content: canary('tool-result') },
      { role: 'user', content: canary('user2') },
    ],
    stop: [canary('stop1'), canary('stop2')],
    tools: [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: canary('tool-description'),
          parameters: {
            type: 'object',
            properties: { q: { type: 'string', description: canary('tool-param') } },
          },
        },
      },
    ],
    ...extra,
  };
}

const headers = (): Record<string, string> => ({
  ...bearer(key),
  'x-ephemera-metadata': `customer_id=${canary('customer')}`,
  'user-agent': canary('user-agent'),
});

beforeAll(async () => {
  aws = await startLocalAws();
  fake = await startFakeOpenAi();
  key = await aws.createKey('canary', ['inference']);
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'upstream-token' });

  // The production sink writes to stdout: capture it (and everything else).
  restoreOutput = captureOutput(otherOutput, { usageLines: stdout });

  bedrockHandler = localGateway(aws, testConfig({ UPSTREAM_TIMEOUT_MS: '1000' }), { bedrock });
  const openAiConfig = openAiTestConfig(
    fake.baseUrl,
    {
      UPSTREAM_TIMEOUT_MS: '1000',
      MODELS: JSON.stringify([
        { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat' },
        { id: 'draw', upstreamId: 'org/image-model', kind: 'image' },
      ]),
    },
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
  );
  openAiHandler = localGateway(aws, openAiConfig, { secrets });
});

afterAll(async () => {
  restoreOutput();
  bedrockMock.restore();
  secretsMock.restore();
  await fake.stop();
  await aws.stop();
});

describe('canary requests', () => {
  describe('bedrock upstream', () => {
    beforeEach(() => bedrockMock.reset());

    it('success: chat, streamed chat, url and b64 images', async () => {
      const converse = () => ({
        output: {
          message: {
            role: 'assistant' as const,
            content: [
              { text: canary('answer') },
              { toolUse: { toolUseId: 't', name: 'lookup', input: { q: canary('answer-args') } } },
            ],
          },
        },
        stopReason: 'tool_use' as const,
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
        metrics: { latencyMs: 1 },
      });
      bedrockMock.on(ConverseCommand).callsFake(converse);
      bedrockMock.on(ConverseStreamCommand).callsFake(() => ({
        stream: (async function* () {
          yield { messageStart: { role: 'assistant' as const } };
          yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: canary('answer') } } };
          yield { contentBlockStop: { contentBlockIndex: 0 } };
          yield {
            contentBlockStart: {
              contentBlockIndex: 1,
              start: { toolUse: { toolUseId: 't', name: 'lookup' } },
            },
          };
          yield {
            contentBlockDelta: {
              contentBlockIndex: 1,
              delta: { toolUse: { input: JSON.stringify({ q: canary('answer-args') }) } },
            },
          };
          yield { contentBlockStop: { contentBlockIndex: 1 } };
          yield { messageStop: { stopReason: 'tool_use' as const } };
          yield {
            metadata: {
              usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
              metrics: { latencyMs: 1 },
            },
          };
        })(),
      }));
      expect(
        (
          await send(bedrockHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat-small', { temperature: 0.3 }),
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (
          await send(bedrockHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat-small', { stream: true }),
          })
        ).statusCode,
      ).toBe(200);

      bedrockMock.on(InvokeModelCommand).callsFake(() => ({
        body: Buffer.from(
          JSON.stringify({ images: [pngBytes(canary('image-bytes')).toString('base64')] }),
        ),
      }));
      for (const format of ['url', 'b64_json']) {
        const r = await send(bedrockHandler, {
          path: '/v1/images/generations',
          headers: headers(),
          body: {
            model: 'image-gen',
            prompt: canary('image-prompt'),
            size: '512x512',
            response_format: format,
          },
        });
        expect(r.statusCode).toBe(200);
      }
      // The upstream saw the content: the canaries were live.
      expect(JSON.stringify(bedrockMock.calls().map((c) => c.args[0].input))).toContain(PREFIX);
    });

    it('upstream errors whose messages and bodies quote the request', async () => {
      for (const name of [
        'ValidationException',
        'ThrottlingException',
        'InternalServerException',
        'ModelTimeoutException',
      ]) {
        bedrockMock.on(ConverseCommand).rejects(
          Object.assign(new Error(`Bad input: ${canary('err-message')}`), {
            name,
            $fault: 'client',
          }),
        );
        expect(
          (
            await send(bedrockHandler, {
              path: '/v1/chat/completions',
              headers: headers(),
              body: canaryChat('chat-small'),
            })
          ).statusCode,
        ).toBeGreaterThanOrEqual(400);
      }
      bedrockMock.on(InvokeModelCommand).callsFake(() => ({
        body: Buffer.from(
          JSON.stringify({ images: [], error: `Blocked: ${canary('image-error')}` }),
        ),
      }));
      expect(
        (
          await send(bedrockHandler, {
            path: '/v1/images/generations',
            headers: headers(),
            body: { model: 'image-gen', prompt: canary('image-prompt') },
          })
        ).statusCode,
      ).toBe(502);
    });

    it('timeout', async () => {
      bedrockMock
        .on(ConverseCommand)
        .callsFake(
          () =>
            new Promise((_, reject) =>
              setTimeout(
                () => reject(Object.assign(new Error(canary('abort')), { name: 'AbortError' })),
                1_200,
              ),
            ),
        );
      expect(
        (
          await send(bedrockHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat-small'),
          })
        ).statusCode,
      ).toBe(504);
    });

    it('response over the ALB limit', async () => {
      bedrockMock.on(ConverseCommand).callsFake(() => ({
        output: {
          message: {
            role: 'assistant' as const,
            content: [{ text: canary('big') + 'x'.repeat(1_100_000) }],
          },
        },
        stopReason: 'end_turn' as const,
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        metrics: { latencyMs: 1 },
      }));
      expect(
        (
          await send(bedrockHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat-small'),
          })
        ).statusCode,
      ).toBe(422);
    });
  });

  describe('openai-compatible upstream', () => {
    it('success', async () => {
      fake.behaviour = {
        kind: 'ok',
        content: canary('oai-answer'),
        images: [pngBytes(canary('oai-image-bytes'))],
      };
      expect(
        (
          await send(openAiHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat', { temperature: 1.5 }),
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (
          await send(openAiHandler, {
            path: '/v1/images/generations',
            headers: headers(),
            body: { model: 'draw', prompt: canary('oai-image-prompt'), response_format: 'url' },
          })
        ).statusCode,
      ).toBe(200);
      expect(fake.requests.map((r) => r.body).join('')).toContain(PREFIX);
    });

    it('upstream error bodies', async () => {
      for (const status of [400, 429, 500, 503]) {
        fake.behaviour = {
          kind: 'status',
          status,
          body: JSON.stringify({ error: { message: `You said ${canary('oai-error-body')}` } }),
        };
        expect(
          (
            await send(openAiHandler, {
              path: '/v1/chat/completions',
              headers: headers(),
              body: canaryChat('chat'),
            })
          ).statusCode,
        ).toBeGreaterThanOrEqual(400);
      }
      fake.behaviour = { kind: 'raw', body: `not json ${canary('oai-garbage')}` };
      expect(
        (
          await send(openAiHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat'),
          })
        ).statusCode,
      ).toBe(502);
    });

    it('timeout', async () => {
      fake.behaviour = { kind: 'hang' };
      expect(
        (
          await send(openAiHandler, {
            path: '/v1/chat/completions',
            headers: headers(),
            body: canaryChat('chat'),
          })
        ).statusCode,
      ).toBe(504);
    });
  });

  describe('bad input', () => {
    const cases: () => EventInput[] = () => [
      {
        path: '/v1/chat/completions',
        headers: headers(),
        rawBody: `{"model":"${canary('json')}", `,
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        rawBody: `{"model":"${canary('big-body')}","x":"${'y'.repeat(1024 * 1024)}"}`,
      },
      // Not shaped as a model id (`!`), so not named in the 404 (an id-shaped one would be).
      { path: '/v1/chat/completions', headers: headers(), body: canaryChat(`${canary('model')}!`) },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small', { temperature: canary('temperature') }),
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small', { n: 2 }),
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: {
          model: 'chat-small',
          messages: [{ role: canary('role'), content: canary('content') }],
        },
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small', {
          stop: [canary('s1'), canary('s2'), canary('s3'), canary('s4'), canary('s5')],
        }),
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small', {
          tools: [{ type: 'function', function: { name: canary('tool name') } }],
        }),
      },
      {
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small', {
          tool_choice: { type: 'function', function: { name: canary('choice') } },
        }),
      },
      {
        path: '/v1/images/generations',
        headers: headers(),
        body: { model: 'image-gen', prompt: canary('image-prompt'), size: canary('size') },
      },
      {
        path: '/v1/images/generations',
        headers: headers(),
        body: { model: 'image-gen', prompt: canary('long-prompt') + 'p'.repeat(2000) },
      },
      {
        path: '/v1/images/generations',
        headers: headers(),
        body: { model: 'image-gen', prompt: canary('image-prompt'), n: 99 },
      },
      {
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-metadata': `customer_id=${canary('bad customer')}` },
        body: canaryChat('chat-small'),
      },
      {
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': canary('opt-out') },
        body: canaryChat('chat-small'),
      },
      {
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${canary('key')}` },
        body: canaryChat('chat-small'),
      },
      // Not shaped like a path segment, so the 404 does not name it (an id-shaped one would be).
      { path: `/v1/${canary('path')}!`, headers: headers(), body: canaryChat('chat-small') },
      {
        method: canary('method'),
        path: '/v1/chat/completions',
        headers: headers(),
        body: canaryChat('chat-small'),
      },
    ];

    it('is refused with a 4xx', async () => {
      bedrockMock.reset();
      for (const input of cases()) {
        const r = await send(bedrockHandler, input);
        expect(r.statusCode).toBeGreaterThanOrEqual(400);
        expect(r.statusCode).toBeLessThan(500);
      }
      expect(bedrockMock.calls()).toHaveLength(0);
    });
  });
});

describe('after the canary requests', () => {
  const leaks = (haystack: string) =>
    canaries.filter((c) => haystack.includes(c) || haystack.includes(PREFIX));

  it('used many canaries and wrote one usage line per request', () => {
    expect(canaries.length).toBeGreaterThan(100);
    expect(stdout.length).toBe(responses.length);
  });

  it('finds none in the log lines', () => {
    expect(leaks(stdout.join(''))).toEqual([]);
    for (const line of stdout)
      expect(Object.keys(JSON.parse(line)).every((k) => /^[a-z_]+$/.test(k))).toBe(true);
  });

  it('finds none in anything else written to stdout, stderr or the console', () => {
    expect(leaks(otherOutput.join(''))).toEqual([]);
  });

  it('finds none in any DynamoDB item of any table', async () => {
    const items = await aws.scanAll();
    expect(items.length).toBeGreaterThan(10);
    expect(leaks(JSON.stringify(items))).toEqual([]);
  });

  it('finds none in S3 object keys or metadata (only in the image bytes themselves)', async () => {
    const objects = await aws.listObjects();
    expect(objects.length).toBeGreaterThanOrEqual(2);
    expect(leaks(JSON.stringify(objects.map((o) => ({ key: o.key, head: o.head }))))).toEqual([]);
    // The bytes do hold their canary: the search above would have found a leak.
    expect(objects.some((o) => o.body.includes(PREFIX))).toBe(true);
  });

  it('finds none in any error body or any response header', () => {
    const errors = responses.filter((r) => r.statusCode >= 400);
    expect(errors.length).toBeGreaterThan(20);
    expect(leaks(JSON.stringify(errors.map((r) => r.body)))).toEqual([]);
    expect(leaks(JSON.stringify(responses.map((r) => r.headers)))).toEqual([]);
  });
});
