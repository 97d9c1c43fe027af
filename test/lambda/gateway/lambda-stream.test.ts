/**
 * The streaming Lambda entry point (API Gateway, response transfer mode
 * STREAM) end to end: an API Gateway proxy event goes through the gateway
 * handler to a real OpenAI-compatible server on 127.0.0.1 that sends a token
 * every 100 ms for 2 s, and the answer comes out of the runtime's response
 * stream (prelude, delimiter, body) as the upstream produces it. DynamoDB is
 * dynalite on loopback.
 */

import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import type { GatewayConfig } from '../../../lambda/gateway/config';
import { createHandler } from '../../../lambda/gateway/gateway';
import { createUpstream } from '../../../lambda/gateway/upstreams';
import {
  lambdaRuntime,
  rawStreamingHandler,
  streamingEntry,
} from '../../../lambda/shared/lambda-stream';
import { startFakeOpenAi, type FakeOpenAi } from './support/fake-openai';
import {
  apiGatewayEvent,
  bearer,
  context,
  pngBytes,
  sseData,
  testConfig,
} from './support/fixtures';
import { fakeRuntime, recordedResponse } from './support/lambda-runtime';
import { startLocalAws, type LocalAws } from './support/local-aws';
import { streamedAnswer } from './support/upstream-stream';

const CANARY = 'CANARY-apigw-stream-5b2e9c';
const TOKENS = Array.from({ length: 20 }, (_, i) => `tok${i}-${CANARY} `);

/** The role chunk, a token every 100 ms for 2 s, then the finish reason, the usage and [DONE]. */
const SLOW_PIECES = streamedAnswer(TOKENS);

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('the streaming entry point (API Gateway)', () => {
  let aws: LocalAws;
  let fake: FakeOpenAi;
  let key: string;
  let lines: string[] = [];
  let n = 0;

  function streamingHandler() {
    const parsed = testConfig({
      UPSTREAM_KIND: 'openai-compatible',
      UPSTREAM_BASE_URL: 'https://upstream.invalid',
      MODELS: JSON.stringify([
        { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat', inputMicroUsdPer1kTokens: 1000 },
        { id: 'img', upstreamId: 'org/img', kind: 'image', microUsdPerImage: 40000 },
      ]),
    });
    const config: GatewayConfig = {
      ...parsed,
      upstream: { kind: 'openai-compatible', baseUrl: fake.baseUrl },
    };
    const handler = createHandler({
      config,
      ddb: aws.ddb,
      kms: aws.kms,
      upstream: createUpstream(config),
      logSink: (l) => lines.push(l),
    });
    return rawStreamingHandler(handler, fakeRuntime);
  }

  const chatEvent = () =>
    apiGatewayEvent({
      path: '/v1/chat/completions',
      headers: { ...bearer(key), 'x-ephemera-metadata': 'customer_id=streamer' },
      body: {
        model: 'chat',
        messages: [{ role: 'user', content: `Count slowly ${CANARY}` }],
        stream: true,
      },
    });

  async function itemsOf(requestId: string) {
    return (await aws.scanAll()).filter((i) => i.request_id?.S === requestId);
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    fake = await startFakeOpenAi();
    key = await aws.createKey('apigw', ['inference']);
  });
  afterAll(async () => {
    await fake.stop();
    await aws.stop();
  });
  beforeEach(() => {
    lines = [];
  });

  it('sends the first chunk within 300 ms, the rest as they come, and the exact text', async () => {
    fake.behaviour = { kind: 'stream', pieces: SLOW_PIECES, delayMs: 100 };
    const response = recordedResponse();
    const requestId = `apigw-${++n}`;
    const started = performance.now();
    await streamingHandler()(chatEvent(), response.stream, context(requestId));
    await response.ended;

    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['Content-Type']).toMatch(/^text\/event-stream/);
    expect(metadata.headers['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    const pieces = response.bodyWrites();
    expect(pieces[0].at - started).toBeLessThan(300);
    // Spread over the upstream's 2 s, not gathered at the end.
    expect(pieces[pieces.length - 1].at - pieces[0].at).toBeGreaterThan(1500);
    const firstToken = pieces.findIndex((p) => p.bytes.toString().includes('tok0-'));
    const lastToken = pieces.findIndex((p) => p.bytes.toString().includes('tok19-'));
    expect(pieces[lastToken].at - pieces[firstToken].at).toBeGreaterThan(1500);

    const events = sseData(body);
    expect(events[events.length - 1]).toBe('[DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e) as { choices: { delta?: { content?: string } }[] }).choices)
      .map((choices) => choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe(TOKENS.join(''));

    const items = await itemsOf(requestId);
    expect(items).toHaveLength(1);
    expect(usageRecordFromItem(items[0]).record).toMatchObject({
      status: 200,
      input_tokens: 12,
      output_tokens: 20,
    });
    // The canary was in the prompt and in every token: in no item and no log line.
    expect(JSON.stringify(await aws.scanAll())).not.toContain(CANARY);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(CANARY);
  });

  it('on a hang-up mid-stream stops the upstream call, writes one record, and leaves no timer or socket', async () => {
    fake.behaviour = { kind: 'stream', pieces: SLOW_PIECES, delayMs: 100 };
    const timersBefore = activeTimers();
    const response = recordedResponse();
    const requestId = `apigw-${++n}`;
    const done = streamingHandler()(chatEvent(), response.stream, context(requestId));
    while (response.bodyWrites().length < 5) await new Promise((r) => setTimeout(r, 10));
    const hungUpAt = performance.now();
    response.hangUp();
    await done;
    // Long before the upstream's 2 s were over.
    expect(performance.now() - hungUpAt).toBeLessThan(500);

    const items = await itemsOf(requestId);
    expect(items).toHaveLength(1);
    expect(usageRecordFromItem(items[0]).record).toMatchObject({
      status: 200,
      error_type: 'client_closed',
    });
    // The upstream call was cancelled: its connection is closed.
    for (let i = 0; i < 50 && (await fake.connections()) > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await fake.connections()).toBe(0);
    // The fake upstream's own pacing timer (100 ms) may still be due; a timer
    // the gateway left (its deadline is minutes away) would stay.
    for (let i = 0; i < 50 && activeTimers() > timersBefore; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
    expect(lines.join('\n')).not.toContain(CANARY);
  });

  it('writes a buffered answer as one body after the prelude', async () => {
    fake.behaviour = { kind: 'ok' };
    const response = recordedResponse();
    await streamingHandler()(
      apiGatewayEvent({ path: '/v1/models', headers: bearer(key) }),
      response.stream,
      context(`apigw-${++n}`),
    );
    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(body)).toMatchObject({ object: 'list' });
  });

  it('answers errors with their status and the contract body', async () => {
    const response = recordedResponse();
    await streamingHandler()(
      apiGatewayEvent({ path: '/v1/chat/completions', body: { model: 'chat', messages: [] } }),
      response.stream,
      context(`apigw-${++n}`),
    );
    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(401);
    expect(JSON.parse(body)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_api_key' },
    });
  });

  it('sends b64_json images over 1 MB (the limit is the load balancer’s only)', async () => {
    const big = Buffer.concat([pngBytes(), Buffer.alloc(900_000, 7)]);
    fake.behaviour = { kind: 'ok', images: [big, big] };
    const response = recordedResponse();
    await streamingHandler()(
      apiGatewayEvent({
        path: '/v1/images/generations',
        headers: bearer(key),
        body: { model: 'img', prompt: 'two', n: 2 },
      }),
      response.stream,
      context(`apigw-${++n}`),
    );
    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(200);
    expect(body.length).toBeGreaterThan(2_000_000);
    const images = (JSON.parse(body) as { data: { b64_json: string }[] }).data;
    expect(Buffer.from(images[1].b64_json, 'base64').equals(big)).toBe(true);
  });

  it('answers 502 without detail when the handler throws before answering', async () => {
    const response = recordedResponse();
    const handler = rawStreamingHandler(async () => {
      throw new Error(`failed on ${CANARY}`);
    }, fakeRuntime);
    await handler(chatEvent(), response.stream, context('apigw-throw'));
    const { metadata, body } = response.decode();
    expect(metadata.statusCode).toBe(502);
    expect(body).not.toContain(CANARY);
    expect(JSON.parse(body)).toMatchObject({ error: { type: 'server_error' } });
  });

  it('is marked for the runtime in Lambda, and says so when called outside it', async () => {
    expect(lambdaRuntime()).toBeUndefined();
    const outside = streamingEntry(async () => ({
      statusCode: 200,
      body: '',
    })) as () => Promise<void>;
    await expect(outside()).rejects.toThrow('runs only in the Lambda runtime');
    const marked: unknown[] = [];
    streamingEntry(async () => ({ statusCode: 200, body: '' }), {
      ...fakeRuntime,
      streamifyResponse: (h) => {
        marked.push(h);
        return h;
      },
    });
    expect(marked).toHaveLength(1);
  });
});
