/**
 * `stream: true` end to end in the handler: a real OpenAI-compatible server on
 * 127.0.0.1 streams its answer, and the handler relays it chunk by chunk to a
 * response stream (a front door that streams) or gathers the same chunks into
 * one body (the load balancer). Also the event-stream decoder and the chunk
 * parser on their own, the decoder with property tests.
 */

import fc from 'fast-check';
import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import type { GatewayHandler } from '../../../lambda/gateway/gateway';
import { fromOpenAiChunk } from '../../../lambda/gateway/openai-upstream';
import { SseDecoder, SseTooLargeError } from '../../../lambda/gateway/sse-decoder';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import { startFakeOpenAi, type FakeOpenAi } from './support/fake-openai';
import { albEvent, bearer, context, openAiTestConfig, sseData } from './support/fixtures';
import { startLocalAws, type LocalAws } from './support/local-aws';
import { localGateway } from './support/local-gateway';
import { recordingStream } from './support/recording-stream';
import { openAiChunk } from './support/upstream-stream';

const CANARY = 'CANARY-stream-7d1e4b';

const chunk = openAiChunk;
const words = ['Tokens ', 'arrive ', 'one ', 'by ', 'one.'];
const upstreamPieces = [
  chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  ...words.map((w) => chunk([{ index: 0, delta: { content: w }, finish_reason: null }])),
  chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
  chunk([], { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 }),
  'data: [DONE]\n\n',
];

describe('streamed chat completions through the handler', () => {
  let aws: LocalAws;
  let fake: FakeOpenAi;
  let key: string;
  let lines: string[] = [];
  let n = 0;

  function handler(env: Record<string, string> = {}): GatewayHandler {
    const config = openAiTestConfig(fake.baseUrl, {
      MODELS: JSON.stringify([
        { id: 'chat', upstreamId: 'org/chat-model', kind: 'chat', inputMicroUsdPer1kTokens: 1000 },
      ]),
      ...env,
    });
    return localGateway(aws, config, {}, (l) => lines.push(l));
  }

  const request = (extra: Record<string, unknown> = {}) =>
    albEvent({
      path: '/v1/chat/completions',
      headers: { ...bearer(key), 'x-ephemera-metadata': 'customer_id=streamer' },
      body: {
        model: 'chat',
        messages: [{ role: 'user', content: `Say something ${CANARY}` }],
        stop: [CANARY],
        stream: true,
        stream_options: { include_usage: true },
        ...extra,
      },
    });

  async function recordOf(requestId: string) {
    const item = (await aws.scanAll()).find((i) => i.request_id?.S === requestId);
    return usageRecordFromItem(item!).record;
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    fake = await startFakeOpenAi();
    key = await aws.createKey('stream', ['inference']);
  });
  afterAll(async () => {
    await fake.stop();
    await aws.stop();
  });
  beforeEach(() => {
    lines = [];
    fake.requests.length = 0;
  });

  it('relays each upstream chunk as it arrives, and records the usage the upstream reports', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces, delayMs: 60 };
    const { stream, writes, head } = recordingStream();
    const requestId = `stream-${++n}`;
    const result = await handler()(request(), context(requestId), stream);

    expect(head()).toMatchObject({
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'X-Ephemera-Retention': 'content=none; metadata=30d',
        'X-Request-Id': requestId,
      },
    });
    expect(result.statusCode).toBe(200);
    expect(result.body).toBe('');
    // One write per upstream event; the words arrive spread over time, not at once.
    const texts = writes.map((w) => w.text);
    const payloads = texts.map((t) => sseData(t)[0]);
    expect(payloads.at(-1)).toBe('[DONE]');
    const parsed = payloads.slice(0, -1).map((p) => JSON.parse(p));
    expect(parsed.map((p) => p.choices[0]?.delta?.content ?? null).join('')).toBe(
      `${''}${words.join('')}`,
    );
    expect(parsed.every((p) => p.id === `chatcmpl-${requestId}` && p.model === 'chat')).toBe(true);
    expect(parsed.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 },
    });
    const firstWord = writes.find((w) => w.text.includes(words[0]))!.at;
    const lastWord = writes.find((w) => w.text.includes(words.at(-1)!))!.at;
    expect(lastWord - firstWord).toBeGreaterThan(150);

    // The upstream was asked to stream, with usage at the end.
    expect(JSON.parse(fake.requests[0].body)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    const record = await recordOf(requestId);
    expect(record).toMatchObject({
      status: 200,
      stream: true,
      input_tokens: 21,
      output_tokens: 5,
      cost_micro_usd: 21,
    });
    expect(record.error_type).toBeUndefined();
    expect(lines.join('\n')).not.toContain(CANARY);
  });

  it('names an unknown metadata parameter in the headers it starts the stream with, before the first chunk', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces };
    const typo = 'customerid';
    const value = `typo-value-${CANARY}`;
    const warned = (metadata: string) =>
      albEvent({
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-metadata': metadata },
        body: { model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true },
      });
    const { stream, writes, head } = recordingStream();
    const requestId = `stream-${++n}`;
    let headAtFirstWrite: ReturnType<typeof head>;
    const write = stream.write.bind(stream);
    stream.write = async (text) => {
      headAtFirstWrite ??= head();
      await write(text);
    };
    await handler()(warned(`${typo}=${value}`), context(requestId), stream);
    expect(writes.length).toBeGreaterThan(1);
    expect(headAtFirstWrite?.headers['X-Ephemera-Warning']).toBe(
      "unknown metadata parameter 'customerid' (known: customer_id)",
    );
    const record = await recordOf(requestId);
    expect(record.customer_hash).toBeUndefined();
    // Nor in the record, the log line or what went upstream.
    for (const text of [JSON.stringify(record), lines.join('\n'), JSON.stringify(fake.requests)]) {
      expect(text).not.toContain(typo);
      expect(text).not.toContain(CANARY);
    }

    const known = recordingStream();
    await handler()(warned('CUSTOMER_ID=abc'), context(`stream-${++n}`), known.stream);
    expect(known.head()?.status).toBe(200);
    expect(known.head()?.headers).not.toHaveProperty('X-Ephemera-Warning');
  });

  it("opens each choice as OpenAI does (role, content '', refusal null), and passes an upstream's refusal on", async () => {
    const refusal = ['I cannot ', 'help with that.'];
    fake.behaviour = {
      kind: 'stream',
      pieces: [
        chunk([{ index: 0, delta: { role: 'assistant' }, finish_reason: null }]),
        ...refusal.map((r) => chunk([{ index: 0, delta: { refusal: r }, finish_reason: null }])),
        chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
        'data: [DONE]\n\n',
      ],
    };
    const { stream, writes } = recordingStream();
    await handler()(request(), context(`stream-${++n}`), stream);
    const parsed = writes
      .map((w) => sseData(w.text)[0])
      .filter((p) => p !== '[DONE]')
      .map((p) => JSON.parse(p) as { choices: { delta: Record<string, unknown> }[] });
    expect(parsed[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(parsed.slice(1, 3).map((p) => p.choices[0].delta)).toEqual(
      refusal.map((r) => ({ refusal: r })),
    );
    // The plain stream's first chunk carries the same three fields.
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces };
    const plain = recordingStream();
    await handler()(request(), context(`stream-${++n}`), plain.stream);
    const first = JSON.parse(sseData(plain.writes[0].text)[0]) as {
      choices: { delta: unknown }[];
    };
    expect(first.choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(lines.join('\n')).not.toContain('help with that');
  });

  it("answers message.refusal: null, or the upstream's refusal, in a buffered completion", async () => {
    const answer = (message: Record<string, unknown>) =>
      JSON.stringify({
        id: 'u',
        object: 'chat.completion',
        created: 1,
        model: 'org/chat-model',
        choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    const buffered = async () => {
      const res = await handler()(
        request({ stream: false, stream_options: undefined }),
        context(`stream-${++n}`),
      );
      expect(res.statusCode).toBe(200);
      return (JSON.parse(res.body ?? '') as { choices: { message: unknown }[] }).choices[0].message;
    };
    fake.behaviour = { kind: 'raw', body: answer({ content: 'hello' }) };
    expect(await buffered()).toEqual({ role: 'assistant', content: 'hello', refusal: null });
    fake.behaviour = { kind: 'raw', body: answer({ content: null, refusal: 'I cannot help.' }) };
    expect(await buffered()).toEqual({
      role: 'assistant',
      content: null,
      refusal: 'I cannot help.',
    });
    expect(lines.join('\n')).not.toContain('I cannot help');
  });

  it('sends the usage chunk only when the client asked for it, but records the usage always', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces };
    const { stream, writes } = recordingStream();
    const requestId = `stream-${++n}`;
    await handler()(request({ stream_options: undefined }), context(requestId), stream);
    const all = writes.map((w) => w.text).join('');
    expect(all).not.toContain('"usage"');
    expect(await recordOf(requestId)).toMatchObject({ input_tokens: 21, output_tokens: 5 });
  });

  it('gathers the same chunks into one body behind the load balancer', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces };
    const streamed = recordingStream();
    await handler()(request(), context(`stream-${++n}`), streamed.stream);
    const requestId = `stream-${++n}`;
    const buffered = await handler()(request(), context(requestId));
    expect(buffered.statusCode).toBe(200);
    // The two answers differ only in their id and, across a second boundary, their timestamp.
    const strip = (s: string) =>
      s.replace(/chatcmpl-stream-\d+/g, 'chatcmpl-X').replace(/"created":\d+/g, '"created":0');
    expect(strip(buffered.body ?? '')).toBe(strip(streamed.writes.map((w) => w.text).join('')));
    expect(await recordOf(requestId)).toMatchObject({ status: 200, input_tokens: 21 });
  });

  it('ends a stream cut off midway with an error event, and records the failure', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces.slice(0, 3) };
    const { stream, writes, head } = recordingStream();
    const requestId = `stream-${++n}`;
    await handler()(request(), context(requestId), stream);
    expect(head()?.status).toBe(200);
    const last = sseData(writes.at(-1)!.text)[0];
    expect(JSON.parse(last)).toEqual({
      error: {
        message: 'The model upstream failed',
        type: 'server_error',
        param: null,
        code: 'upstream_error',
      },
    });
    expect(writes.map((w) => w.text).join('')).not.toContain('[DONE]');
    expect(await recordOf(requestId)).toMatchObject({ status: 200, error_type: 'server_error' });
  });

  it('answers an ordinary error status when the upstream fails before the first chunk', async () => {
    fake.behaviour = { kind: 'status', status: 429, body: `{"error":"${CANARY}"}` };
    const { stream, head } = recordingStream();
    const requestId = `stream-${++n}`;
    const result = await handler()(request(), context(requestId), stream);
    expect(head()).toBeUndefined();
    expect(result.statusCode).toBe(429);
    expect(result.body).not.toContain(CANARY);
  });

  it('stops the upstream call and records client_closed when the client hangs up', async () => {
    fake.behaviour = { kind: 'stream', pieces: upstreamPieces.slice(0, 3), hang: true };
    const { stream, writes } = recordingStream();
    const requestId = `stream-${++n}`;
    const done = handler()(request(), context(requestId), stream);
    while (writes.length < 2) await new Promise((r) => setTimeout(r, 10));
    stream.hangUp();
    await done;
    const record = await recordOf(requestId);
    expect(record).toMatchObject({ status: 200, error_type: 'client_closed' });
    expect(writes.map((w) => w.text).join('')).not.toContain('"error"');
  });

  it('records client_closed with status 499 when the client leaves before the first chunk', async () => {
    fake.behaviour = { kind: 'hang' };
    const { stream, head } = recordingStream();
    const requestId = `stream-${++n}`;
    const done = handler()(request(), context(requestId), stream);
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    stream.hangUp();
    await done;
    expect(head()).toBeUndefined();
    expect(await recordOf(requestId)).toMatchObject({ status: 499, error_type: 'client_closed' });
  });

  it('answers 422 behind the load balancer when the gathered stream is over 1 MB', async () => {
    const big = 'x'.repeat(64 * 1024);
    fake.behaviour = {
      kind: 'stream',
      pieces: [
        ...Array.from({ length: 20 }, () =>
          chunk([{ index: 0, delta: { content: big }, finish_reason: null }]),
        ),
        'data: [DONE]\n\n',
      ],
    };
    const result = await handler()(request(), context(`stream-${++n}`));
    expect(result.statusCode).toBe(422);
  });
});

describe('SseDecoder', () => {
  const events = ['{"a":1}', 'line one\nline two', '', 'ü→😀 multi-byte', '[DONE]'];
  const encoded = (eol: string) =>
    [
      `: comment${eol}`,
      `event: message${eol}data: ${events[0]}${eol}${eol}`,
      `data: line one${eol}data:line two${eol}id: 7${eol}${eol}`,
      `data${eol}${eol}`,
      `retry: 10${eol}${eol}`,
      `data: ${events[3]}${eol}${eol}`,
      `data: ${events[4]}${eol}${eol}`,
    ].join('');

  it.each(['\n', '\r\n', '\r'])('decodes events whatever the line end (%j)', (eol) => {
    const d = new SseDecoder();
    expect([...d.push(Buffer.from(encoded(eol))), ...d.end()]).toEqual(events);
  });

  it('gives the same events however the bytes are split (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 12 }),
        (eol, cuts) => {
          const bytes = Buffer.from(encoded(eol));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const d = new SseDecoder();
          const out: string[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            out.push(...d.push(bytes.subarray(from, p)));
            from = p;
          }
          out.push(...d.end());
          expect(out).toEqual(events);
        },
      ),
    );
  });

  it('round-trips any data through the OpenAI framing (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 8 }), (datas) => {
        const clean = datas.map((s) => s.replace(/[\r\n]/g, ' '));
        const d = new SseDecoder();
        const text = clean.map((s) => `data: ${s}\n\n`).join('');
        expect([...d.push(Buffer.from(text)), ...d.end()]).toEqual(clean);
      }),
    );
  });

  it('drops an unterminated last event and refuses lines or events over the limit', () => {
    const d = new SseDecoder();
    expect(d.push(Buffer.from('data: complete\n\ndata: cut'))).toEqual(['complete']);
    expect(d.end()).toEqual([]);
    const small = new SseDecoder(100);
    expect(() => small.push(Buffer.from('x'.repeat(101)))).toThrow(SseTooLargeError);
    const small2 = new SseDecoder(100);
    expect(() => small2.push(Buffer.from('data: 1234567890\n'.repeat(10)))).toThrow(
      SseTooLargeError,
    );
  });

  it('decodes a long line in linear time', () => {
    // A line end never arrives: one piece at a time, 2 MB in all, under a 4 MB cap.
    const d = new SseDecoder(4 * 1024 * 1024);
    const piece = Buffer.from('y'.repeat(1024));
    const started = performance.now();
    for (let i = 0; i < 2048; i++) d.push(piece);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('fromOpenAiChunk', () => {
  it('keeps only the fields the gateway passes on', () => {
    expect(
      fromOpenAiChunk(
        {
          id: 'x',
          system_fingerprint: 'fp',
          choices: [
            {
              index: 1,
              delta: {
                role: 'assistant',
                content: 'hi',
                refusal: null,
                tool_calls: [
                  { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{' } },
                ],
              },
              logprobs: { content: [] },
              finish_reason: 'function_call',
            },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 2 },
        },
        2,
      ),
    ).toEqual([
      {
        type: 'choice',
        delta: {
          index: 1,
          role: 'assistant',
          content: 'hi',
          toolCalls: [{ index: 0, id: 'c1', name: 'f', arguments: '{' }],
          finishReason: 'tool_calls',
        },
      },
      { type: 'usage', inputTokens: 3, outputTokens: 2 },
    ]);
  });

  it.each([
    ['an error event', { error: { message: CANARY } }],
    ['a choice beyond n', { choices: [{ index: 2, delta: {} }] }],
    ['content that is not a string', { choices: [{ index: 0, delta: { content: 5 } }] }],
    ['tool calls that are not a list', { choices: [{ index: 0, delta: { tool_calls: {} } }] }],
    ['a tool call without an index', { choices: [{ delta: { tool_calls: [{ id: 'c' }] } }] }],
    ['not an object', 'text'],
  ])('treats %s as a failed upstream, without quoting it', (_what, chunkBody) => {
    let caught: unknown;
    try {
      fromOpenAiChunk(chunkBody, 2);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamError);
    expect(String((caught as Error).message)).not.toContain(CANARY);
  });
});
