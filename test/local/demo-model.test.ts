/**
 * The built-in demo model over real HTTP: the OpenAI subset the gateway's
 * OpenAI-compatible upstream uses, deterministic replies that never echo the
 * prompt, word-by-word streaming, tool calls, PNG images and errors.
 */

import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { inflateSync } from 'node:zlib';
import { fromOpenAiEmbeddingsBody } from '../../lambda/gateway/openai-embeddings';
import { fromOpenAiChatBody, fromOpenAiImageBody } from '../../lambda/gateway/openai-upstream';
import {
  crc32,
  DEMO_CHAT_MODEL,
  DEMO_EMBEDDING_DIMENSIONS,
  DEMO_EMBEDDING_MODEL,
  DEMO_IMAGE_MODEL,
  demoEmbedding,
  demoPng,
  demoReply,
  demoToolArguments,
  startDemoModel,
  type DemoModel,
} from '../../local/demo-model';

const canary = () => `CANARY-${randomUUID()}`;

let demo: DemoModel;
beforeAll(async () => {
  demo = await startDemoModel({ wordDelayMs: 1 });
});
afterAll(() => demo.stop());

async function post(model: DemoModel, path: string, body: unknown): Promise<Response> {
  return fetch(`${model.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const chat = (body: Record<string, unknown>, model = demo) =>
  post(model, '/v1/chat/completions', { model: DEMO_CHAT_MODEL, ...body });

interface SseEvent {
  readonly data: string;
  /** When the read that completed this event returned (ms). */
  readonly at: number;
}

/** Reads a whole event stream, timestamping each event by the read that completed it. */
async function readSse(res: Response): Promise<{ raw: string; events: SseEvent[] }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let raw = '';
  let pending = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const at = performance.now();
    const text = decoder.decode(value, { stream: true });
    raw += text;
    pending += text;
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      expect(block.startsWith('data: ')).toBe(true);
      events.push({ data: block.slice('data: '.length), at });
    }
  }
  expect(pending).toBe('');
  return { raw, events };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();

const parseChunks = (events: SseEvent[]): any[] =>
  events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));

describe('pure helpers', () => {
  test('demoReply is deterministic, a fixed sentence of 12-25 words, and varies with messages', () => {
    const replies = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const messages = [{ role: 'user', content: `question ${i}` }];
      const reply = demoReply(messages);
      expect(demoReply(JSON.parse(JSON.stringify(messages)))).toBe(reply);
      const words = reply.split(' ').length;
      expect(words).toBeGreaterThanOrEqual(12);
      expect(words).toBeLessThanOrEqual(25);
      replies.add(reply);
    }
    expect(replies.size).toBeGreaterThan(2);
    expect(typeof demoReply(undefined)).toBe('string');
  });

  test('demoToolArguments fills required properties with fixed values by type', () => {
    const args = JSON.parse(
      demoToolArguments({
        type: 'object',
        properties: {
          city: { type: 'string', description: canary() },
          days: { type: 'integer' },
          ratio: { type: 'number' },
          metric: { type: 'boolean' },
          tags: { type: 'array', items: { type: 'string' } },
          maybe: { type: ['null', 'string'] },
          opts: {
            type: 'object',
            properties: { x: { type: 'number' }, y: { type: 'string' } },
            required: ['x'],
          },
          optional: { type: 'string' },
        },
        required: ['city', 'days', 'ratio', 'metric', 'tags', 'maybe', 'opts', 'untyped'],
      }),
    );
    expect(args).toEqual({
      city: 'demo',
      days: 1,
      ratio: 1,
      metric: true,
      tags: [],
      maybe: 'demo',
      opts: { x: 1 },
      untyped: 'demo',
    });
    expect(demoToolArguments(undefined)).toBe('{}');
    expect(demoToolArguments({ type: 'object', properties: {} })).toBe('{}');
  });

  test('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  test('demoPng is a valid PNG whose pixels derive from the seed', () => {
    const a = demoPng('seed-a');
    expectValidPng(a, 64);
    expectValidPng(demoPng('seed-a', 1), 1);
    expect(demoPng('seed-a').equals(a)).toBe(true);
    expect(demoPng('seed-b').equals(a)).toBe(false);
    expect(() => demoPng('x', 0)).toThrow(RangeError);
  });
});

/** Walks the chunks of a PNG, checking signature, CRCs, IHDR and the inflated IDAT size. */
function expectValidPng(png: Buffer, side: number): void {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const types: string[] = [];
  const idat: Buffer[] = [];
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length)).toBe(
      crc32(png.subarray(offset + 4, offset + 8 + length)),
    );
    types.push(type);
    if (type === 'IHDR') {
      expect(data.readUInt32BE(0)).toBe(side);
      expect(data.readUInt32BE(4)).toBe(side);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  expect(offset).toBe(png.length);
  expect(types[0]).toBe('IHDR');
  expect(types[types.length - 1]).toBe('IEND');
  expect(types).not.toContain('tEXt');
  expect(inflateSync(Buffer.concat(idat)).length).toBe((side * 3 + 1) * side);
}

describe('GET /v1/models', () => {
  test('lists the chat, image and embedding models', async () => {
    const res = await fetch(`${demo.baseUrl}/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json(res)).toEqual({
      object: 'list',
      data: [
        { id: DEMO_CHAT_MODEL, object: 'model', created: 0, owned_by: 'ephemera-demo' },
        { id: DEMO_IMAGE_MODEL, object: 'model', created: 0, owned_by: 'ephemera-demo' },
        { id: DEMO_EMBEDDING_MODEL, object: 'model', created: 0, owned_by: 'ephemera-demo' },
      ],
    });
    expect(demo.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('POST /v1/chat/completions', () => {
  test('answers a chat.completion deterministically without echoing the prompt', async () => {
    const secret = canary();
    const messages = [
      { role: 'system', content: `Be brief. ${secret}` },
      { role: 'user', content: [{ type: 'text', text: `Repeat after me: ${secret} ${secret}` }] },
    ];
    const res = await chat({ messages });
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain('CANARY');
    const body = JSON.parse(raw);
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-demo-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: DEMO_CHAT_MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: demoReply(messages) },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 8,
        completion_tokens: demoReply(messages).split(' ').length,
        total_tokens: 8 + demoReply(messages).split(' ').length,
      },
    });
    const again = await json(chat({ messages }));
    expect(again.choices[0].message.content).toBe(body.choices[0].message.content);
    // The gateway's own parser accepts it.
    const parsed = fromOpenAiChatBody(body, 1);
    expect(parsed.choices[0]).toEqual({
      text: demoReply(messages),
      toolCalls: [],
      finishReason: 'stop',
    });
    expect(parsed.inputTokens).toBe(8);
  });

  test('max_tokens cuts the words and finishes with length; n gives indexed choices', async () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const full = demoReply(messages).split(' ');
    const body = await json(chat({ messages, max_tokens: 3, n: 3 }));
    expect(body.choices).toHaveLength(3);
    body.choices.forEach((c: any, i: number) => {
      expect(c.index).toBe(i);
      expect(c.message.content).toBe(full.slice(0, 3).join(' '));
      expect(c.finish_reason).toBe('length');
    });
    expect(body.usage.completion_tokens).toBe(9);
    const roomy = await json(chat({ messages, max_tokens: 1000 }));
    expect(roomy.choices[0].finish_reason).toBe('stop');
    expect(roomy.choices[0].message.content).toBe(full.join(' '));
  });

  test('streams word by word; the deltas add up to the non-streamed text', async () => {
    const slow = await startDemoModel({ wordDelayMs: 30 });
    try {
      const secret = canary();
      const messages = [{ role: 'user', content: `stream this ${secret}` }];
      const expected = (await json(chat({ messages }, slow))).choices[0].message.content;
      const res = await chat(
        { messages, stream: true, stream_options: { include_usage: true } },
        slow,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const { raw, events } = await readSse(res);
      expect(raw).not.toContain(secret);
      expect(events[events.length - 1].data).toBe('[DONE]');
      const chunks = parseChunks(events);
      const words = expected.split(' ');
      // role, one per word, finish, usage
      expect(chunks).toHaveLength(words.length + 3);
      for (const c of chunks) {
        expect(c.object).toBe('chat.completion.chunk');
        expect(c.model).toBe(DEMO_CHAT_MODEL);
        expect(c.id).toBe(chunks[0].id);
      }
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      const contentChunks = chunks.slice(1, 1 + words.length);
      expect(contentChunks.map((c) => c.choices[0].delta.content)).toEqual(
        words.map((w: string, i: number) => (i < words.length - 1 ? `${w} ` : w)),
      );
      expect(contentChunks.map((c) => c.choices[0].delta.content).join('')).toBe(expected);
      for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
      const finish = chunks[chunks.length - 2];
      expect(finish.choices).toEqual([
        { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' },
      ]);
      const usage = chunks[chunks.length - 1];
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toEqual({
        prompt_tokens: 3,
        completion_tokens: words.length,
        total_tokens: 3 + words.length,
      });
      // Written as it goes, not buffered: the first word arrives well before the last.
      const firstAt = events[1].at;
      const lastAt = events[words.length].at;
      expect(lastAt - firstAt).toBeGreaterThan(((words.length - 1) * 30) / 2);
    } finally {
      await slow.stop();
    }
  });

  test('streams without usage fields unless include_usage is set, one choice per index', async () => {
    const messages = [{ role: 'user', content: 'two please' }];
    const res = await chat({ messages, stream: true, n: 2, max_tokens: 2 });
    const chunks = parseChunks((await readSse(res)).events);
    for (const c of chunks) expect(c).not.toHaveProperty('usage');
    const text = (i: number) =>
      chunks
        .filter((c) => c.choices[0].index === i)
        .map((c) => c.choices[0].delta.content ?? '')
        .join('');
    const twoWords = demoReply(messages).split(' ').slice(0, 2).join(' ');
    expect(text(0)).toBe(twoWords);
    expect(text(1)).toBe(twoWords);
    const finishes = chunks.filter((c) => c.choices[0].finish_reason !== null);
    expect(finishes.map((c) => [c.choices[0].index, c.choices[0].finish_reason])).toEqual([
      [0, 'length'],
      [1, 'length'],
    ]);
  });

  const weather = {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer' } },
        required: ['city', 'days'],
      },
    },
  };
  const time = {
    type: 'function',
    function: {
      name: 'get_time',
      parameters: {
        type: 'object',
        properties: { utc: { type: 'boolean' } },
        required: ['utc'],
      },
    },
  };

  test('answers a tool call with arguments built from the schema', async () => {
    const secret = canary();
    const messages = [{ role: 'user', content: `weather in ${secret}?` }];
    const res = await chat({ messages, tools: [weather, time] });
    const raw = await res.text();
    expect(raw).not.toContain(secret);
    const body = JSON.parse(raw);
    const choice = body.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_[0-9a-f]+$/),
        type: 'function',
        function: { name: 'get_weather', arguments: expect.any(String) },
      },
    ]);
    expect(JSON.parse(choice.message.tool_calls[0].function.arguments)).toEqual({
      city: 'demo',
      days: 1,
    });
    expect(fromOpenAiChatBody(body, 1).choices[0].toolCalls[0].name).toBe('get_weather');

    const named = await json(
      chat({
        messages,
        tools: [weather, time],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      }),
    );
    expect(named.choices[0].message.tool_calls[0].function.name).toBe('get_time');
    expect(JSON.parse(named.choices[0].message.tool_calls[0].function.arguments)).toEqual({
      utc: true,
    });

    const none = await json(chat({ messages, tools: [weather], tool_choice: 'none' }));
    expect(none.choices[0].message.content).toBe(demoReply(messages));
    expect(none.choices[0].finish_reason).toBe('stop');

    const unknown = await chat({
      messages,
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'nope' } },
    });
    expect(unknown.status).toBe(400);
  });

  test("answers a tool's result in words, unless the client insists on another call", async () => {
    const round = [
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ];
    const words = await json(chat({ messages: round, tools: [weather] }));
    expect(words.choices[0].finish_reason).toBe('stop');
    expect(words.choices[0].message.content).toBe(demoReply(round));
    const again = await json(chat({ messages: round, tools: [weather], tool_choice: 'required' }));
    expect(again.choices[0].finish_reason).toBe('tool_calls');
    // The tools are still checked.
    expect((await chat({ messages: round, tools: [{ type: 'x' }] })).status).toBe(400);
  });

  test('streams a tool call: header chunk, then the arguments in pieces', async () => {
    const messages = [{ role: 'user', content: 'weather?' }];
    const res = await chat({ messages, tools: [weather], stream: true });
    const { events } = await readSse(res);
    expect(events[events.length - 1].data).toBe('[DONE]');
    const chunks = parseChunks(events);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const header = chunks[1].choices[0].delta.tool_calls;
    expect(header).toEqual([
      {
        index: 0,
        id: expect.stringMatching(/^call_[0-9a-f]+$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '' },
      },
    ]);
    const argChunks = chunks.slice(2, -1);
    expect(argChunks.length).toBeGreaterThanOrEqual(2);
    expect(argChunks.length).toBeLessThanOrEqual(3);
    const args = argChunks
      .map((c) => {
        const call = c.choices[0].delta.tool_calls[0];
        expect(call.index).toBe(0);
        return call.function.arguments;
      })
      .join('');
    expect(JSON.parse(args)).toEqual({ city: 'demo', days: 1 });
    expect(chunks[chunks.length - 1].choices[0]).toEqual({
      index: 0,
      delta: {},
      logprobs: null,
      finish_reason: 'tool_calls',
    });
    // Same id as the non-streamed answer to the same messages.
    const plain = await json(chat({ messages, tools: [weather] }));
    expect(plain.choices[0].message.tool_calls[0].id).toBe(header[0].id);
  });

  test('a client that disconnects mid-stream leaves no timers behind', async () => {
    // A distinctive, long delay: the stream's timers are recognised by it, and one the
    // disconnect failed to clear would still be pending below.
    const delay = 1234;
    const realSetTimeout = global.setTimeout;
    const streamTimers: unknown[] = [];
    const setSpy = jest.spyOn(global, 'setTimeout').mockImplementation(((
      fn: () => void,
      ms?: number,
    ) => {
      const timer = realSetTimeout(fn, ms);
      if (ms === delay) streamTimers.push(timer);
      return timer;
    }) as typeof setTimeout);
    const clearSpy = jest.spyOn(global, 'clearTimeout');
    const slow = await startDemoModel({ wordDelayMs: delay });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          `${slow.baseUrl}/v1/chat/completions`,
          { method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', () => undefined);
        req.end(
          JSON.stringify({
            model: DEMO_CHAT_MODEL,
            messages: [{ role: 'user', content: 'long answer' }],
            stream: true,
          }),
        );
        realSetTimeout(() => reject(new Error('no data')), 5000).unref();
      });
      await new Promise((r) => realSetTimeout(r, 100));
      expect(streamTimers).toHaveLength(1);
      expect(clearSpy).toHaveBeenCalledWith(streamTimers[0]);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
      const started = performance.now();
      await slow.stop();
      expect(performance.now() - started).toBeLessThan(500);
    }
    // stop() is idempotent.
    await slow.stop();
  });

  test('stop() ends streams in progress', async () => {
    const slow = await startDemoModel({ wordDelayMs: 1000 });
    const res = await chat({ messages: [{ role: 'user', content: 'x' }], stream: true }, slow);
    const reader = res.body!.getReader();
    await reader.read();
    const started = performance.now();
    await slow.stop();
    expect(performance.now() - started).toBeLessThan(500);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
  });
});

describe('POST /v1/images/generations', () => {
  test('answers base64 PNGs seeded by the prompt and index', async () => {
    const secret = canary();
    const res = await post(demo, '/v1/images/generations', {
      model: DEMO_IMAGE_MODEL,
      prompt: `a cat named ${secret}`,
      n: 3,
      size: '1024x1024',
      response_format: 'url',
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.created).toEqual(expect.any(Number));
    expect(body.data).toHaveLength(3);
    const images = body.data.map((d: any) => Buffer.from(d.b64_json, 'base64'));
    for (const png of images) {
      expectValidPng(png, 64);
      expect(png.toString('latin1')).not.toContain(secret);
    }
    expect(new Set(images.map((b: Buffer) => b.toString('hex'))).size).toBe(3);
    // The gateway's own parser accepts it.
    expect(fromOpenAiImageBody(body, 3).images).toHaveLength(3);

    const again = await json(
      post(demo, '/v1/images/generations', {
        model: DEMO_IMAGE_MODEL,
        prompt: `a cat named ${secret}`,
      }),
    );
    expect(again.data).toHaveLength(1);
    expect(again.data[0].b64_json).toBe(body.data[0].b64_json);
  });

  test('small sizes give small images', async () => {
    const body = await json(
      post(demo, '/v1/images/generations', {
        model: DEMO_IMAGE_MODEL,
        prompt: 'tiny',
        size: '32x48',
      }),
    );
    expectValidPng(Buffer.from(body.data[0].b64_json, 'base64'), 32);
  });

  test.each([
    [{ model: DEMO_IMAGE_MODEL, prompt: '' }, 400],
    [{ model: DEMO_IMAGE_MODEL }, 400],
    [{ model: DEMO_IMAGE_MODEL, prompt: 'x', n: 11 }, 400],
    [{ model: DEMO_IMAGE_MODEL, prompt: 'x', n: 0 }, 400],
    [{ model: DEMO_IMAGE_MODEL, prompt: 'x', size: 'big' }, 400],
    [{ model: DEMO_CHAT_MODEL, prompt: 'x' }, 404],
  ])('rejects %j with %d', async (body, status) => {
    const res = await post(demo, '/v1/images/generations', body);
    expect(res.status).toBe(status);
    expect((await json(res)).error.type).toBe('invalid_request_error');
  });
});

describe('POST /v1/embeddings', () => {
  const embed = (body: Record<string, unknown>) =>
    post(demo, '/v1/embeddings', { model: DEMO_EMBEDDING_MODEL, ...body });
  const norm = (v: readonly number[]) => Math.hypot(...v);

  test('answers one deterministic unit vector per text, never the text', async () => {
    const secret = canary();
    const res = await embed({ input: [`the word ${secret}`, 'another text'] });
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw).not.toContain(secret);
    const body = JSON.parse(raw);
    expect(body).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: expect.any(Array) },
        { object: 'embedding', index: 1, embedding: expect.any(Array) },
      ],
      model: DEMO_EMBEDDING_MODEL,
      usage: { prompt_tokens: 5, total_tokens: 5 },
    });
    const [a, b] = body.data.map((d: any) => d.embedding as number[]);
    expect(a).toHaveLength(DEMO_EMBEDDING_DIMENSIONS);
    expect(norm(a)).toBeCloseTo(1, 10);
    expect(a).toEqual(demoEmbedding(`the word ${secret}`));
    expect(b).not.toEqual(a);
    // One string is one input; the same text gives the same vector.
    const single = await json(embed({ input: `the word ${secret}` }));
    expect(single.data).toHaveLength(1);
    expect(single.data[0].embedding).toEqual(a);
    // The gateway's own parser accepts it.
    const parsed = fromOpenAiEmbeddingsBody(body, { input: ['x', 'y'] });
    expect(parsed.vectors).toEqual([a, b]);
    expect(parsed.inputTokens).toBe(5);
  });

  test('honours dimensions (a renormalised prefix) and base64 (little-endian float32)', async () => {
    const full = demoEmbedding('text');
    const short = await json(embed({ input: 'text', dimensions: 8 }));
    const v = short.data[0].embedding as number[];
    expect(v).toHaveLength(8);
    expect(norm(v)).toBeCloseTo(1, 10);
    const scale = norm(full.slice(0, 8));
    v.forEach((x, i) => expect(x).toBeCloseTo(full[i] / scale, 12));

    const b64 = await json(embed({ input: 'text', dimensions: 1024, encoding_format: 'base64' }));
    const bytes = Buffer.from(b64.data[0].embedding as string, 'base64');
    expect(bytes).toHaveLength(1024 * 4);
    const floats = Array.from({ length: 1024 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(floats).toEqual(demoEmbedding('text', 1024).map(Math.fround));
  });

  test.each([
    [{ model: DEMO_EMBEDDING_MODEL }, 400],
    [{ model: DEMO_EMBEDDING_MODEL, input: '' }, 400],
    [{ model: DEMO_EMBEDDING_MODEL, input: [] }, 400],
    [{ model: DEMO_EMBEDDING_MODEL, input: [1, 2, 3] }, 400],
    [{ model: DEMO_EMBEDDING_MODEL, input: 'x', dimensions: 0 }, 400],
    [{ model: DEMO_EMBEDDING_MODEL, input: 'x', encoding_format: 'int8' }, 400],
    [{ model: DEMO_CHAT_MODEL, input: 'x' }, 404],
  ])('rejects %j with %d', async (body, status) => {
    const res = await post(demo, '/v1/embeddings', body);
    expect(res.status).toBe(status);
    expect((await json(res)).error.type).toBe('invalid_request_error');
  });
});

describe('errors', () => {
  test('unknown model is an OpenAI-style 404 that does not quote the model', async () => {
    const secret = canary();
    const res = await post(demo, '/v1/chat/completions', {
      model: secret,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.status).toBe(404);
    const raw = await res.text();
    expect(raw).not.toContain(secret);
    expect(JSON.parse(raw)).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  test.each([
    ['no messages', { model: DEMO_CHAT_MODEL }],
    ['empty messages', { model: DEMO_CHAT_MODEL, messages: [] }],
    ['n too large', { model: DEMO_CHAT_MODEL, messages: [{ role: 'user' }], n: 5 }],
    ['max_tokens zero', { model: DEMO_CHAT_MODEL, messages: [{ role: 'user' }], max_tokens: 0 }],
    ['tools not an array', { model: DEMO_CHAT_MODEL, messages: [{ role: 'user' }], tools: {} }],
    ['not an object', [1, 2]],
    ['malformed JSON', '{"model": '],
  ])('%s is a 400', async (_name, body) => {
    const res = await post(demo, '/v1/chat/completions', body);
    expect(res.status).toBe(400);
    const error = (await json(res)).error;
    expect(error.type).toBe('invalid_request_error');
    expect(typeof error.message).toBe('string');
  });

  test('unknown path is a 404, wrong method a 405', async () => {
    const missing = await fetch(`${demo.baseUrl}/v1/completions`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe('not_found');

    const wrong = await fetch(`${demo.baseUrl}/v1/models`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect((await json(wrong)).error.message).toEqual(expect.any(String));

    const getChat = await fetch(`${demo.baseUrl}/v1/chat/completions`);
    expect(getChat.status).toBe(405);
    expect(getChat.headers.get('allow')).toBe('POST');
    await getChat.body?.cancel();
  });

  test('a body over 2 MB is a 413', async () => {
    const res = await post(demo, '/v1/chat/completions', {
      model: DEMO_CHAT_MODEL,
      messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024 + 1) }],
    });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe('request_too_large');
    // The server still answers afterwards.
    expect((await fetch(`${demo.baseUrl}/v1/models`)).status).toBe(200);
  });
});
