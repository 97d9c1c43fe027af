/**
 * `POST /v1/responses` through the whole gateway handler: real dynalite on
 * loopback, Bedrock mocked with aws-sdk-client-mock (Converse and
 * ConverseStream) and a real OpenAI-compatible server on 127.0.0.1. Whole
 * answers and streamed ones, to a front door that streams (a recording
 * response stream, and the API Gateway streaming entry point) and to the
 * load balancer (the same events in one body); failures before and during
 * the stream, a client hanging up, the 1 MB limit; the 400s for what needs
 * stored state; the usage record; and canary strings in every piece of
 * content, found in no log line, no table item and no error body.
 */

import { randomUUID } from 'node:crypto';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseCommandInput,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import type { ALBResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { rawStreamingHandler } from '../../../../lambda/shared/lambda-stream';
import type { ResponseStream } from '../../../../lambda/shared/response-stream';
import { usageRecordFromItem } from '../../../../lambda/shared/usage-record';
import type { GatewayHandler } from '../../../../lambda/gateway/gateway';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai';
import {
  albEvent,
  apiGatewayEvent,
  bearer,
  context,
  json,
  openAiTestConfig,
  testConfig,
} from '../support/fixtures';
import { fakeRuntime, recordedResponse } from '../support/lambda-runtime';
import { startLocalAws, type LocalAws } from '../support/local-aws';
import { localGateway } from '../support/local-gateway';
import { recordingStream } from '../support/recording-stream';
import { openAiChunk, streamedAnswer } from '../support/upstream-stream';

type Json = Record<string, unknown>;

let aws: LocalAws;
let fake: FakeOpenAi;
let key: string;
let lines: string[] = [];
/** Every log line of the file, for the canary search at the end. */
const allLines: string[] = [];
const logSink = (line: string) => {
  lines.push(line);
  allLines.push(line);
};
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const bedrockMock = mockClient(bedrock);

/** Every answer, for the canary search at the end. */
const answers: { status: number; body: string; headers: unknown }[] = [];

function bedrockHandler(): GatewayHandler {
  return localGateway(aws, testConfig(), { bedrock }, logSink);
}

function openAiHandler(): GatewayHandler {
  const config = openAiTestConfig(fake.baseUrl, {
    MODELS: JSON.stringify([
      { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat', inputMicroUsdPer1kTokens: 1000 },
      { id: 'draw', upstreamId: 'org/image-model', kind: 'image' },
    ]),
  });
  return localGateway(aws, config, {}, logSink);
}

async function send(
  handler: GatewayHandler,
  body: Json,
  options: { stream?: ResponseStream; headers?: Record<string, string>; requestId?: string } = {},
) {
  const requestId = options.requestId ?? `resp-${randomUUID()}`;
  const result = (await handler(
    albEvent({
      path: '/v1/responses',
      headers: { ...bearer(key), ...options.headers },
      body,
    }),
    context(requestId),
    options.stream,
  )) as ALBResult;
  answers.push({ status: result.statusCode, body: result.body ?? '', headers: result.headers });
  return { result, requestId };
}

async function recordOf(requestId: string) {
  const items = (await aws.scanAll()).filter((i) => i.request_id?.S === requestId);
  expect(items).toHaveLength(1);
  return usageRecordFromItem(items[0]).record;
}

/** The events of a Responses event stream: `event: <type>` and `data: <json>`, no [DONE]. */
function events(body: string): Json[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .split('\n\n')
    .filter((e) => e !== '')
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      expect(rest).toEqual([]);
      expect(eventLine.startsWith('event: ')).toBe(true);
      expect(dataLine.startsWith('data: ')).toBe(true);
      const data = JSON.parse(dataLine.slice('data: '.length)) as Json;
      expect(data.type).toBe(eventLine.slice('event: '.length));
      return data;
    });
}

const deltaText = (evs: Json[]) =>
  evs
    .filter((e) => e.type === 'response.output_text.delta')
    .map((e) => e.delta)
    .join('');

const converseAnswer = {
  output: {
    message: {
      role: 'assistant' as const,
      content: [
        { text: 'Checking the weather.' },
        { toolUse: { toolUseId: 'tu-1', name: 'get_weather', input: { city: 'Oslo' } } },
      ],
    },
  },
  stopReason: 'tool_use' as const,
  usage: { inputTokens: 1200, outputTokens: 500, totalTokens: 1700 },
  metrics: { latencyMs: 5 },
};

const converseStream = (
  text: readonly string[],
  stopReason = 'end_turn',
): ConverseStreamOutput[] => [
  { messageStart: { role: 'assistant' } },
  ...text.map((t) => ({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: t } } })),
  { contentBlockStop: { contentBlockIndex: 0 } },
  { messageStop: { stopReason: stopReason as never } },
  {
    metadata: {
      usage: { inputTokens: 30, outputTokens: text.length, totalTokens: 30 + text.length },
      metrics: { latencyMs: 1 },
    },
  },
];

const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
};

beforeAll(async () => {
  aws = await startLocalAws();
  fake = await startFakeOpenAi();
  key = await aws.createKey('responses', ['inference']);
});
afterAll(async () => {
  bedrockMock.restore();
  await fake.stop();
  await aws.stop();
});
beforeEach(() => {
  bedrockMock.reset();
  lines = [];
  fake.requests.length = 0;
});

describe('responses through Bedrock', () => {
  it('answers a whole response and records it as a chat completion', async () => {
    bedrockMock.on(ConverseCommand).resolves(converseAnswer);
    const { result, requestId } = await send(bedrockHandler(), {
      model: 'chat-small',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'Weather in Oslo?' },
        {
          type: 'function_call',
          call_id: 'c0',
          name: 'get_weather',
          arguments: '{"city":"Bergen"}',
        },
        { type: 'function_call_output', call_id: 'c0', output: '9 C' },
        { role: 'user', content: [{ type: 'input_text', text: 'And Oslo?' }] },
      ],
      tools: [weatherTool],
      max_output_tokens: 300,
      temperature: 0.2,
      metadata: { ticket: 'T-9' },
    });
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({
      'Content-Type': 'application/json',
      'X-Ephemera-Retention': 'content=none; metadata=30d',
      'X-Request-Id': requestId,
    });
    const body = json(result);
    expect(body).toMatchObject({
      id: `resp_${requestId}`,
      object: 'response',
      status: 'completed',
      model: 'chat-small',
      instructions: 'Be brief.',
      max_output_tokens: 300,
      store: false,
      metadata: { ticket: 'T-9' },
      output: [
        {
          type: 'message',
          id: `msg_${requestId}_0`,
          status: 'completed',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'Checking the weather.', annotations: [], logprobs: [] },
          ],
        },
        {
          type: 'function_call',
          id: `fc_${requestId}_1`,
          call_id: 'tu-1',
          name: 'get_weather',
          arguments: '{"city":"Oslo"}',
          status: 'completed',
        },
      ],
      usage: { input_tokens: 1200, output_tokens: 500, total_tokens: 1700 },
    });
    // OpenAI's usage details: cache writes beside cache reads (none known: 0).
    expect(body.usage).toMatchObject({
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    });

    // Bedrock got the conversation: instructions as the system prompt, the call and its result.
    const input = bedrockMock.commandCalls(ConverseCommand)[0].args[0]
      .input as ConverseCommandInput;
    expect(input.system).toEqual([{ text: 'Be brief.' }]);
    expect(input.inferenceConfig).toEqual({ maxTokens: 300, temperature: 0.2 });
    expect(input.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Oslo?' }] },
      {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 'c0', name: 'get_weather', input: { city: 'Bergen' } } }],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'c0', content: [{ text: '9 C' }] } },
          { text: 'And Oslo?' },
        ],
      },
    ]);
    expect(JSON.stringify(input)).not.toContain('T-9');

    const record = await recordOf(requestId);
    expect(record).toMatchObject({
      route: 'responses',
      method: 'POST',
      model: 'chat-small',
      status: 200,
      input_tokens: 1200,
      output_tokens: 500,
      // 1200 * 60 / 1000 + 500 * 240 / 1000
      cost_micro_usd: 192,
      max_tokens: 300,
      temperature: 0.2,
      tool_count: 1,
      n: 1,
      stop_count: 0,
      stream: false,
    });
    expect(JSON.parse(lines[0])).toMatchObject({ event: 'usage', route: 'responses', status: 200 });
  });

  it('streams through ConverseStream to a front door that streams, and gathers the same events behind the load balancer', async () => {
    const words = ['Rain ', 'in ', 'Oslo.'];
    bedrockMock.on(ConverseStreamCommand).callsFake(() => ({
      stream: (async function* () {
        yield* converseStream(words);
      })(),
    }));
    const body = { model: 'chat-small', input: 'Weather?', stream: true };
    const streamed = recordingStream();
    const first = await send(bedrockHandler(), body, { stream: streamed.stream });
    expect(first.result.statusCode).toBe(200);
    expect(first.result.body).toBe('');
    expect(streamed.head()).toMatchObject({
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'X-Request-Id': first.requestId,
      },
    });
    const evs = events(streamed.text());
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs[0]).toMatchObject({ type: 'response.created', response: { status: 'in_progress' } });
    expect(deltaText(evs)).toBe(words.join(''));
    expect(evs.at(-1)).toMatchObject({
      type: 'response.completed',
      response: {
        status: 'completed',
        output: [{ type: 'message', content: [{ text: words.join('') }] }],
        usage: {
          input_tokens: 30,
          input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
          output_tokens: 3,
          total_tokens: 33,
        },
      },
    });
    expect(streamed.text()).not.toContain('[DONE]');
    expect(await recordOf(first.requestId)).toMatchObject({
      route: 'responses',
      stream: true,
      input_tokens: 30,
      output_tokens: 3,
    });

    const buffered = await send(bedrockHandler(), body);
    expect(buffered.result.statusCode).toBe(200);
    expect(buffered.result.headers?.['Content-Type']).toBe('text/event-stream; charset=utf-8');
    // The same events; only the ids and, across a second boundary, the time differ.
    const strip = (s: string, id: string) =>
      s
        .split(id)
        .join('ID')
        .replace(/"created_at":\d+/g, '"created_at":0');
    expect(strip(buffered.result.body ?? '', buffered.requestId)).toBe(
      strip(streamed.text(), first.requestId),
    );
  });

  it('ends a ConverseStream that fails midway with response.failed', async () => {
    bedrockMock.on(ConverseStreamCommand).callsFake(() => ({
      stream: (async function* () {
        yield { messageStart: { role: 'assistant' as const } };
        yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Half' } } };
        yield { throttlingException: { message: 'slow down' } } as ConverseStreamOutput;
      })(),
    }));
    const streamed = recordingStream();
    const { requestId } = await send(
      bedrockHandler(),
      { model: 'chat-small', input: 'q', stream: true },
      { stream: streamed.stream },
    );
    const evs = events(streamed.text());
    expect(evs.at(-1)).toEqual({
      type: 'response.failed',
      sequence_number: evs.length - 1,
      response: expect.objectContaining({
        status: 'failed',
        error: {
          code: 'rate_limit_exceeded',
          message: 'The model upstream is rate limiting requests; retry later',
        },
        output: [],
        usage: null,
      }),
    });
    expect(evs.filter((e) => e.type === 'response.failed')).toHaveLength(1);
    expect(await recordOf(requestId)).toMatchObject({
      status: 200,
      error_type: 'requests',
    });
  });
});

describe("Bedrock's refusals, in the request's own terms", () => {
  it.each([
    ['tools[0].strict', { tools: [{ ...weatherTool, strict: true }] }],
    ['text.format', { text: { format: { type: 'json_schema', name: 'x', schema: {} } } }],
    ['reasoning.effort', { reasoning: { effort: 'high' } }],
    [
      'input[2].arguments',
      {
        input: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'Let me see.' },
          { type: 'function_call', call_id: 'c', name: 'get_weather', arguments: '[1]' },
          { type: 'function_call_output', call_id: 'c', output: 'x' },
        ],
      },
    ],
  ])('names %s, streamed or not', async (param, extra) => {
    for (const stream of [false, true]) {
      const { result } = await send(bedrockHandler(), {
        model: 'chat-small',
        input: 'q',
        stream,
        ...extra,
      });
      expect(result.statusCode).toBe(400);
      const error = (json(result) as { error: { param: string; message: string } }).error;
      expect(error.param).toBe(param);
      expect(error.message.startsWith(`${param} `)).toBe(true);
    }
    expect(bedrockMock.calls()).toHaveLength(0);
  });
});

describe('responses through an OpenAI-compatible upstream', () => {
  it('answers a whole response; metadata and user never reach the upstream', async () => {
    fake.behaviour = { kind: 'ok', content: 'pong' };
    const { result, requestId } = await send(openAiHandler(), {
      model: 'chat',
      instructions: 'Reply with one word.',
      input: 'ping',
      metadata: { ticket: 'T-7' },
      user: 'user-7',
      safety_identifier: 'safe-7',
      prompt_cache_key: 'cache-7',
    });
    expect(result.statusCode).toBe(200);
    expect(json(result)).toMatchObject({
      id: `resp_${requestId}`,
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'pong' }] }],
      usage: { input_tokens: 11, output_tokens: 7, total_tokens: 18 },
      metadata: { ticket: 'T-7' },
      user: null,
    });
    expect(result.body).not.toContain('user-7');
    const upstream = JSON.parse(fake.requests[0].body) as Json;
    expect(fake.requests[0].path).toBe('/v1/chat/completions');
    expect(upstream).toMatchObject({
      model: 'org/chat-model',
      messages: [
        { role: 'system', content: 'Reply with one word.' },
        { role: 'user', content: 'ping' },
      ],
    });
    for (const kept of ['T-7', 'user-7', 'safe-7', 'cache-7']) {
      expect(fake.requests[0].body).not.toContain(kept);
    }
    expect(await recordOf(requestId)).toMatchObject({
      route: 'responses',
      model: 'chat',
      input_tokens: 11,
      output_tokens: 7,
    });
  });

  it('asks for log probabilities with include, and returns them in the output text', async () => {
    const logprobs = [
      { token: 'po', logprob: -0.1, bytes: [112, 111], top_logprobs: [] },
      { token: 'ng', logprob: -0.2, bytes: [110, 103], top_logprobs: [] },
    ];
    fake.behaviour = {
      kind: 'raw',
      body: JSON.stringify({
        id: 'up',
        object: 'chat.completion',
        created: 1,
        model: 'org/chat-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'pong' },
            logprobs: { content: logprobs, refusal: null },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    };
    const { result } = await send(openAiHandler(), {
      model: 'chat',
      input: 'ping',
      include: ['message.output_text.logprobs'],
      top_logprobs: 0,
    });
    expect(JSON.parse(fake.requests[0].body)).toMatchObject({ logprobs: true, top_logprobs: 0 });
    expect(json(result)).toMatchObject({
      output: [{ content: [{ type: 'output_text', text: 'pong', logprobs }] }],
    });
  });

  it('relays each upstream chunk as it arrives, and records the usage', async () => {
    const words = ['Tokens ', 'arrive ', 'one ', 'by ', 'one.'];
    fake.behaviour = { kind: 'stream', pieces: streamedAnswer(words), delayMs: 60 };
    const streamed = recordingStream();
    const { requestId } = await send(
      openAiHandler(),
      { model: 'chat', input: 'Count', stream: true },
      { stream: streamed.stream },
    );
    expect(JSON.parse(fake.requests[0].body)).toMatchObject({ stream: true });
    const evs = events(streamed.text());
    expect(deltaText(evs)).toBe(words.join(''));
    // Spread over the upstream's pacing, not gathered at the end.
    const at = (word: string) => streamed.writes.find((w) => w.text.includes(word))!.at;
    expect(at('one.') - at('Tokens ')).toBeGreaterThan(150);
    expect(evs.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { usage: { input_tokens: 12, output_tokens: 5 } },
    });
    expect(await recordOf(requestId)).toMatchObject({
      stream: true,
      input_tokens: 12,
      output_tokens: 5,
      cost_micro_usd: 12,
    });
  });

  it('streams tool calls as function_call items', async () => {
    fake.behaviour = {
      kind: 'stream',
      pieces: [
        openAiChunk([
          { index: 0, delta: { role: 'assistant', content: null }, finish_reason: null },
        ]),
        openAiChunk([
          {
            index: 0,
            delta: {
              tool_calls: [
                {
                  index: 0,
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '' },
                },
              ],
            },
            finish_reason: null,
          },
        ]),
        openAiChunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
            finish_reason: null,
          },
        ]),
        openAiChunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] },
            finish_reason: null,
          },
        ]),
        openAiChunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
        openAiChunk([], { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }),
        'data: [DONE]\n\n',
      ],
    };
    const { result } = await send(openAiHandler(), {
      model: 'chat',
      input: 'Weather?',
      tools: [weatherTool],
      stream: true,
    });
    const evs = events(result.body ?? '');
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(evs.at(-1)).toMatchObject({
      response: {
        output: [
          {
            type: 'function_call',
            call_id: 'call_1',
            name: 'get_weather',
            arguments: '{"city":"Oslo"}',
          },
        ],
      },
    });
  });

  it('ends a stream cut off midway with response.failed, and records the failure', async () => {
    fake.behaviour = { kind: 'stream', pieces: streamedAnswer(['a ', 'b ', 'c']).slice(0, 3) };
    const streamed = recordingStream();
    const { requestId } = await send(
      openAiHandler(),
      { model: 'chat', input: 'q', stream: true },
      { stream: streamed.stream },
    );
    expect(streamed.head()?.status).toBe(200);
    const evs = events(streamed.text());
    expect(evs.at(-1)).toMatchObject({
      type: 'response.failed',
      response: {
        status: 'failed',
        error: { code: 'server_error', message: 'The model upstream failed' },
        output: [],
      },
    });
    expect(await recordOf(requestId)).toMatchObject({ status: 200, error_type: 'server_error' });
  });

  it('fails the whole answer behind the load balancer when the stream is cut off', async () => {
    fake.behaviour = { kind: 'stream', pieces: streamedAnswer(['a ', 'b ', 'c']).slice(0, 3) };
    const { result } = await send(openAiHandler(), { model: 'chat', input: 'q', stream: true });
    expect(result.statusCode).toBe(502);
    expect(json(result)).toMatchObject({
      error: { type: 'server_error', code: 'upstream_error' },
    });
  });

  it('answers an ordinary error status when the upstream fails before the first event', async () => {
    fake.behaviour = { kind: 'status', status: 429, body: '{"error":"busy"}' };
    const streamed = recordingStream();
    const { result } = await send(
      openAiHandler(),
      { model: 'chat', input: 'q', stream: true },
      { stream: streamed.stream },
    );
    expect(streamed.head()).toBeUndefined();
    expect(result.statusCode).toBe(429);
    expect(json(result)).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded' },
    });
  });

  it('stops the upstream call and records client_closed when the client hangs up', async () => {
    fake.behaviour = {
      kind: 'stream',
      pieces: streamedAnswer(['a ', 'b ']).slice(0, 2),
      hang: true,
    };
    const streamed = recordingStream();
    const requestId = `resp-${randomUUID()}`;
    const done = send(
      openAiHandler(),
      { model: 'chat', input: 'q', stream: true },
      { stream: streamed.stream, requestId },
    );
    while (!streamed.text().includes('output_text.delta')) {
      await new Promise((r) => setTimeout(r, 10));
    }
    streamed.stream.hangUp();
    await done;
    expect(await recordOf(requestId)).toMatchObject({ status: 200, error_type: 'client_closed' });
    expect(streamed.text()).not.toContain('response.failed');
  });

  it('answers 422 behind the load balancer when the response is over 1 MB', async () => {
    const big = 'x'.repeat(64 * 1024);
    fake.behaviour = { kind: 'ok', content: big.repeat(16) };
    const whole = await send(openAiHandler(), { model: 'chat', input: 'q' });
    expect(whole.result.statusCode).toBe(422);
    expect(json(whole.result)).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message: 'The response exceeds the 1 MB response limit; lower max_output_tokens',
      },
    });
    fake.behaviour = {
      kind: 'stream',
      pieces: [
        ...Array.from({ length: 20 }, () =>
          openAiChunk([{ index: 0, delta: { content: big }, finish_reason: null }]),
        ),
        'data: [DONE]\n\n',
      ],
    };
    const streamed = await send(openAiHandler(), { model: 'chat', input: 'q', stream: true });
    expect(streamed.result.statusCode).toBe(422);
  });

  it('streams through the API Gateway entry point: prelude, then the events as they come', async () => {
    const words = Array.from({ length: 8 }, (_, i) => `w${i} `);
    fake.behaviour = { kind: 'stream', pieces: streamedAnswer(words), delayMs: 50 };
    const response = recordedResponse();
    await rawStreamingHandler(openAiHandler(), fakeRuntime)(
      apiGatewayEvent({
        path: '/v1/responses',
        headers: bearer(key),
        body: { model: 'chat', input: 'Count', stream: true },
      }),
      response.stream,
      context(`resp-${randomUUID()}`),
    );
    await response.ended;
    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['Content-Type']).toBe('text/event-stream; charset=utf-8');
    const evs = events(body);
    expect(deltaText(evs)).toBe(words.join(''));
    expect(evs.at(-1)?.type).toBe('response.completed');
    const pieces = response.bodyWrites();
    expect(pieces.length).toBeGreaterThan(words.length);
    expect(pieces.at(-1)!.at - pieces[0].at).toBeGreaterThan(200);
  });
});

describe('requests that need stored state', () => {
  it.each([
    ['store', { store: true }],
    ['previous_response_id', { previous_response_id: 'resp_abc' }],
    ['conversation', { conversation: 'conv_abc' }],
    ['background', { background: true }],
    [
      'input[1]',
      {
        input: [
          { role: 'user', content: 'q' },
          { type: 'item_reference', id: 'msg_1' },
        ],
      },
    ],
  ])('refuses %s with a 400 naming it, before any upstream call', async (param, extra) => {
    const { result, requestId } = await send(bedrockHandler(), {
      model: 'chat-small',
      input: 'q',
      ...extra,
    });
    expect(result.statusCode).toBe(400);
    const error = (json(result) as { error: Json }).error;
    expect(error).toMatchObject({ type: 'invalid_request_error', param });
    expect(error.message).toMatch(/nothing can be stored|keeps no requests or responses/);
    expect(bedrockMock.calls()).toHaveLength(0);
    expect(await recordOf(requestId)).toMatchObject({
      route: 'responses',
      status: 400,
      error_type: 'invalid_request_error',
    });
  });

  it('answers 404 for a model of another kind', async () => {
    const { result } = await send(openAiHandler(), { model: 'draw', input: 'q' });
    expect(result.statusCode).toBe(404);
  });
});

describe('canaries', () => {
  const canaries: string[] = [];
  const canary = (where: string) => {
    const c = `CNRY-${where}-${randomUUID()}`;
    canaries.push(c);
    return c;
  };
  const leaks = (haystack: string) => canaries.filter((c) => haystack.includes(c));
  const neverForwarded: string[] = [];

  /** A request with a canary in every piece of content. */
  const canaryRequest = (model: string, extra: Json = {}): Json => {
    const hidden = {
      metadata: { note: canary('metadata') },
      user: canary('user'),
      safety_identifier: canary('safety'),
      prompt_cache_key: canary('cache-key'),
    };
    neverForwarded.push(
      hidden.metadata.note,
      hidden.user,
      hidden.safety_identifier,
      hidden.prompt_cache_key,
    );
    return {
      model,
      instructions: canary('instructions'),
      input: [
        { role: 'developer', content: canary('developer') },
        { role: 'user', content: [{ type: 'input_text', text: canary('input') }] },
        { role: 'assistant', content: [{ type: 'output_text', text: canary('assistant') }] },
        {
          type: 'function_call',
          call_id: 'c1',
          name: 'get_weather',
          arguments: JSON.stringify({ city: canary('args') }),
        },
        { type: 'function_call_output', call_id: 'c1', output: canary('tool-output') },
        { role: 'user', content: canary('input2') },
      ],
      tools: [{ ...weatherTool, description: canary('tool-description') }],
      ...hidden,
      ...extra,
    };
  };

  const converseWithCanaries = () => ({
    ...converseAnswer,
    output: {
      message: {
        role: 'assistant' as const,
        content: [
          { text: canary('answer') },
          {
            toolUse: {
              toolUseId: 't',
              name: 'get_weather',
              input: { city: canary('answer-args') },
            },
          },
        ],
      },
    },
  });

  it('go through success, failure and bad-input paths of both upstreams', async () => {
    const bedrockGw = bedrockHandler();
    const openAiGw = openAiHandler();
    bedrockMock.on(ConverseCommand).callsFake(converseWithCanaries);
    bedrockMock.on(ConverseStreamCommand).callsFake(() => ({
      stream: (async function* () {
        yield* converseStream([canary('streamed-answer')], 'end_turn');
      })(),
    }));
    expect((await send(bedrockGw, canaryRequest('chat-small'))).result.statusCode).toBe(200);
    expect(
      (await send(bedrockGw, canaryRequest('chat-small', { stream: true }))).result.statusCode,
    ).toBe(200);
    const streamed = recordingStream();
    await send(bedrockGw, canaryRequest('chat-small', { stream: true }), {
      stream: streamed.stream,
    });
    answers.push({ status: 200, body: streamed.text(), headers: streamed.head()?.headers });

    fake.behaviour = { kind: 'ok', content: canary('oai-answer') };
    const ok = await send(openAiGw, canaryRequest('chat'));
    expect(ok.result.statusCode).toBe(200);
    // Content reached the upstream (the canaries were live); the hidden fields never did.
    const upstreamBodies = fake.requests.map((r) => r.body).join('');
    expect(upstreamBodies).toContain('CNRY-input');
    expect(neverForwarded.filter((c) => upstreamBodies.includes(c))).toEqual([]);
    expect(JSON.stringify(bedrockMock.calls().map((c) => c.args[0].input))).toContain('CNRY-args');

    // Upstream failures whose bodies and messages quote the request.
    fake.behaviour = {
      kind: 'status',
      status: 400,
      body: JSON.stringify({ error: canary('oai-error') }),
    };
    expect((await send(openAiGw, canaryRequest('chat'))).result.statusCode).toBe(400);
    fake.behaviour = {
      kind: 'stream',
      pieces: [openAiChunk([{ index: 0, delta: { content: canary('cut') } }])],
    };
    const cut = recordingStream();
    await send(openAiGw, canaryRequest('chat', { stream: true }), { stream: cut.stream });
    expect(cut.text()).toContain('response.failed');
    const failedEvent = cut.text().slice(cut.text().indexOf('event: response.failed'));
    answers.push({ status: 200, body: failedEvent, headers: {} });
    bedrockMock
      .on(ConverseCommand)
      .rejects(Object.assign(new Error(canary('bedrock-error')), { name: 'ValidationException' }));
    expect((await send(bedrockGw, canaryRequest('chat-small'))).result.statusCode).toBe(400);

    // Bad input carrying canaries.
    for (const extra of [
      { store: true },
      { previous_response_id: canary('previous') },
      { conversation: canary('conversation') },
      { input: [{ type: 'item_reference', id: canary('item') }] },
      { input: [{ role: canary('role'), content: canary('content') }] },
      { tools: [{ type: canary('tool-type') }] },
      { metadata: { [canary('meta-key')]: 5 } },
      { temperature: canary('temperature') },
      // Not shaped as a model id (`!`), so not named in the 404 (an id-shaped one would be).
      { model: `${canary('model')}!` },
    ]) {
      const r = await send(bedrockGw, canaryRequest('chat-small', extra));
      expect(r.result.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.result.statusCode).toBeLessThan(500);
    }
  });

  it('are in no log line, no table item, no error body and no header', async () => {
    expect(canaries.length).toBeGreaterThan(60);
    expect(leaks(allLines.join('\n'))).toEqual([]);
    for (const line of allLines) {
      expect(Object.keys(JSON.parse(line) as Json).every((k) => /^[a-z_]+$/.test(k))).toBe(true);
    }
    expect(leaks(JSON.stringify(await aws.scanAll()))).toEqual([]);
    const errors = answers.filter((a) => a.status >= 400);
    expect(errors.length).toBeGreaterThan(10);
    expect(leaks(JSON.stringify(errors.map((a) => a.body)))).toEqual([]);
    expect(leaks(JSON.stringify(answers.map((a) => a.headers)))).toEqual([]);
    // The end of a stream cut off midway holds none of it either.
    const failedTail = answers.find((a) => a.body.includes('"status":"failed"'));
    expect(failedTail).toBeDefined();
    expect(leaks(failedTail!.body)).toEqual([]);
  });
});
