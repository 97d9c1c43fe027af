import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  InternalServerException,
  ModelStreamErrorException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BedrockUpstream,
  converseStreamState,
  endConverseStream,
  fromConverseStream,
  fromConverseStreamEvent,
  toConverseInput,
} from '../../../lambda/gateway/bedrock-upstream';
import type { ChatStreamEvent } from '../../../lambda/gateway/upstream-results';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import { validateChat, type ChatRequest } from '../../../lambda/gateway/validate-chat';
import { HttpError } from '../../../lambda/shared/http-errors';
import { BEDROCK_CHAT_MODEL, BEDROCK_STOP_REASONS } from './support/fixtures';

const CANARY = 'CANARY-7f3a prompt text';

const chat = (body: Record<string, unknown> = {}): ChatRequest => {
  const r = validateChat({ model: 'm', messages: [{ role: 'user', content: 'q' }], ...body });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const model = BEDROCK_CHAT_MODEL;

const meta = { $metadata: {}, message: CANARY };

/** A ConverseStream answer as Bedrock sends it. */
const textAnswer = (stopReason = 'end_turn'): ConverseStreamOutput[] => [
  { messageStart: { role: 'assistant' } },
  { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hel' } } },
  { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'lo' } } },
  { contentBlockStop: { contentBlockIndex: 0 } },
  { messageStop: { stopReason: stopReason as never } },
  {
    metadata: {
      usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 },
      metrics: { latencyMs: 10 },
    },
  },
];

const TEXT_EVENTS: ChatStreamEvent[] = [
  { type: 'choice', delta: { index: 0, role: 'assistant', content: '' } },
  { type: 'choice', delta: { index: 0, content: 'Hel' } },
  { type: 'choice', delta: { index: 0, content: 'lo' } },
  { type: 'choice', delta: { index: 0, finishReason: 'stop' } },
  { type: 'usage', inputTokens: 5, outputTokens: 2 },
];

/** A source stream that records how far it was read and whether it was closed. */
function source(events: readonly ConverseStreamOutput[], fail?: unknown) {
  const seen = { pulled: 0, closed: false };
  const stream = (async function* () {
    try {
      for (const e of events) {
        seen.pulled++;
        yield e;
      }
      if (fail !== undefined) throw fail;
    } finally {
      seen.closed = true;
    }
  })();
  return { stream, seen };
}

async function collect(events: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const out: ChatStreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** Reads until the iteration throws; returns the events before and the error. */
async function collectUntilError(
  events: AsyncIterable<ChatStreamEvent>,
): Promise<{ before: ChatStreamEvent[]; error: unknown }> {
  const before: ChatStreamEvent[] = [];
  try {
    for await (const e of events) before.push(e);
  } catch (error) {
    return { before, error };
  }
  throw new Error('the stream did not fail');
}

const translate = (events: readonly ConverseStreamOutput[]): ChatStreamEvent[] => {
  const state = converseStreamState();
  return [...events.flatMap((e) => fromConverseStreamEvent(e, state)), endConverseStream(state)];
};

describe('fromConverseStreamEvent', () => {
  it('passes text on piece by piece, the finish reason, then the usage last', () => {
    expect(translate(textAnswer())).toEqual(TEXT_EVENTS);
  });

  it('gives each tool call an index of its own, its id and name, then its input in pieces', () => {
    const events = translate([
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Let me look.' } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      {
        contentBlockStart: {
          contentBlockIndex: 1,
          start: { toolUse: { toolUseId: 'tu-1', name: 'weather' } },
        },
      },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Oslo"}' } } } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      {
        contentBlockStart: {
          contentBlockIndex: 2,
          start: { toolUse: { toolUseId: 'tu-2', name: 'time' } },
        },
      },
      { contentBlockDelta: { contentBlockIndex: 2, delta: { toolUse: { input: '{}' } } } },
      { contentBlockStop: { contentBlockIndex: 2 } },
      { messageStop: { stopReason: 'tool_use' } },
      {
        metadata: {
          usage: { inputTokens: 9, outputTokens: 4, totalTokens: 13 },
          metrics: { latencyMs: 1 },
        },
      },
    ] as ConverseStreamOutput[]);
    expect(events).toEqual([
      { type: 'choice', delta: { index: 0, role: 'assistant', content: '' } },
      { type: 'choice', delta: { index: 0, content: 'Let me look.' } },
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 0, id: 'tu-1', name: 'weather', arguments: '' }] },
      },
      { type: 'choice', delta: { index: 0, toolCalls: [{ index: 0, arguments: '{"city":' }] } },
      { type: 'choice', delta: { index: 0, toolCalls: [{ index: 0, arguments: '"Oslo"}' }] } },
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 1, id: 'tu-2', name: 'time', arguments: '' }] },
      },
      { type: 'choice', delta: { index: 0, toolCalls: [{ index: 1, arguments: '{}' }] } },
      { type: 'choice', delta: { index: 0, finishReason: 'tool_calls' } },
      { type: 'usage', inputTokens: 9, outputTokens: 4 },
    ]);
  });

  it('gives a tool call that got no input {} when its block stops (or, if still open, at messageStop)', () => {
    const start = (block: number, id: string): ConverseStreamOutput => ({
      contentBlockStart: {
        contentBlockIndex: block,
        start: { toolUse: { toolUseId: id, name: 'f' } },
      },
    });
    const events = translate([
      { messageStart: { role: 'assistant' } },
      start(0, 'a'),
      { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '' } } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      start(1, 'b'),
      { messageStop: { stopReason: 'tool_use' } },
    ] as ConverseStreamOutput[]);
    expect(events.slice(1, -2)).toEqual([
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 0, id: 'a', name: 'f', arguments: '' }] },
      },
      { type: 'choice', delta: { index: 0, toolCalls: [{ index: 0, arguments: '{}' }] } },
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 1, id: 'b', name: 'f', arguments: '' }] },
      },
      { type: 'choice', delta: { index: 0, toolCalls: [{ index: 1, arguments: '{}' }] } },
    ]);
  });

  it.each(BEDROCK_STOP_REASONS)('maps the stop reason %s to %s', (stopReason, finish) => {
    const events = translate(textAnswer(stopReason));
    expect(events[events.length - 2]).toEqual({
      type: 'choice',
      delta: { index: 0, finishReason: finish },
    });
  });

  it('gives a zero usage when no metadata comes, and ignores reasoning, citations and unknown events', () => {
    const events = translate([
      { messageStart: { role: 'assistant' } },
      {
        contentBlockDelta: {
          contentBlockIndex: 0,
          delta: { reasoningContent: { text: 'thinking about it' } },
        },
      },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { text: 'ok' } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { text: '' } } },
      { $unknown: ['newKind', { text: 'x' }] },
      { somethingElse: {} } as unknown as ConverseStreamOutput,
      { messageStop: { stopReason: 'end_turn' } },
    ] as ConverseStreamOutput[]);
    expect(events).toEqual([
      { type: 'choice', delta: { index: 0, role: 'assistant', content: '' } },
      { type: 'choice', delta: { index: 0, content: 'ok' } },
      { type: 'choice', delta: { index: 0, finishReason: 'stop' } },
      { type: 'usage', inputTokens: 0, outputTokens: 0 },
    ]);
  });

  it('keeps only whole, non-negative token counts', () => {
    const state = converseStreamState();
    fromConverseStreamEvent({ messageStop: { stopReason: 'end_turn' } }, state);
    fromConverseStreamEvent(
      {
        metadata: {
          usage: { inputTokens: -1, outputTokens: 1.5, totalTokens: 0 },
          metrics: { latencyMs: 1 },
        },
      },
      state,
    );
    expect(endConverseStream(state)).toEqual({ type: 'usage', inputTokens: 0, outputTokens: 0 });
  });

  it('gives the role first when messageStart is missing', () => {
    const state = converseStreamState();
    expect(
      fromConverseStreamEvent(
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'a' } } },
        state,
      ),
    ).toEqual([
      { type: 'choice', delta: { index: 0, role: 'assistant', content: '' } },
      { type: 'choice', delta: { index: 0, content: 'a' } },
    ]);
  });

  it.each([
    ['internalServerException', new InternalServerException(meta), 'failed'],
    ['modelStreamErrorException', new ModelStreamErrorException(meta), 'failed'],
    ['serviceUnavailableException', new ServiceUnavailableException(meta), 'failed'],
    ['throttlingException', new ThrottlingException(meta), 'throttled'],
    ['validationException', new ValidationException(meta), 'rejected'],
  ])('maps the exception member %s to %s, without its message', (member, err, failure) => {
    const state = converseStreamState();
    let thrown: unknown;
    try {
      fromConverseStreamEvent({ [member]: err } as unknown as ConverseStreamOutput, state);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toEqual(new UpstreamError(failure as never));
    expect((thrown as Error).message).not.toContain('CANARY');
  });

  it.each([
    [
      'a tool input piece outside a tool call',
      [{ contentBlockDelta: { contentBlockIndex: 3, delta: { toolUse: { input: '{}' } } } }],
    ],
    [
      'a tool call without an id',
      [{ contentBlockStart: { contentBlockIndex: 0, start: { toolUse: { name: 'f' } } } }],
    ],
    [
      'a tool call without a block index',
      [{ contentBlockStart: { start: { toolUse: { toolUseId: 'a', name: 'f' } } } }],
    ],
    [
      'content after messageStop',
      [
        { messageStop: { stopReason: 'end_turn' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'late' } } },
      ],
    ],
    [
      'a second messageStop',
      [{ messageStop: { stopReason: 'end_turn' } }, { messageStop: { stopReason: 'end_turn' } }],
    ],
  ])('treats %s as a failed upstream', (_what, events) => {
    expect(() => translate(events as ConverseStreamOutput[])).toThrow(new UpstreamError('failed'));
  });

  it('treats a stream that ends without messageStop as a failed upstream', () => {
    const state = converseStreamState();
    fromConverseStreamEvent({ messageStart: { role: 'assistant' } }, state);
    expect(() => endConverseStream(state)).toThrow(new UpstreamError('failed'));
  });

  it('fromConverseStream yields each piece as its event arrives', async () => {
    const { stream, seen } = source(textAnswer());
    const it = fromConverseStream(stream);
    await it.next();
    expect(seen.pulled).toBe(1);
    await it.next();
    expect(seen.pulled).toBe(2);
    await it.return(undefined);
    expect(seen.closed).toBe(true);
  });
});

describe('BedrockUpstream.chatStream', () => {
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const mock = mockClient(client);
  afterAll(() => mock.restore());
  beforeEach(() => mock.reset());
  const upstream = new BedrockUpstream(client);
  const signal = () => new AbortController().signal;
  const answer = (events: readonly ConverseStreamOutput[], fail?: unknown) => {
    const s = source(events, fail);
    mock.on(ConverseStreamCommand).resolves({ stream: s.stream });
    return s.seen;
  };

  it('sends ConverseStream with the translated request and the signal, and streams the answer', async () => {
    const seen = answer(textAnswer());
    const request = chat({ max_tokens: 8 });
    const s = signal();
    await expect(collect(upstream.chatStream(request, model, s))).resolves.toEqual(TEXT_EVENTS);
    const calls = mock.commandCalls(ConverseStreamCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual(toConverseInput(request, 'amazon.nova-lite-v1:0'));
    expect((calls[0].args as unknown[])[1]).toEqual({ abortSignal: s });
    expect(seen).toEqual({ pulled: 6, closed: true });
  });

  it('passes each event on before reading the next', async () => {
    const seen = answer(textAnswer());
    const it = upstream.chatStream(chat(), model, signal())[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(TEXT_EVENTS[0]);
    expect(seen.pulled).toBe(1);
    expect((await it.next()).value).toEqual(TEXT_EVENTS[1]);
    expect(seen.pulled).toBe(2);
    await it.return?.(undefined);
  });

  it('streams tool calls', async () => {
    answer([
      { messageStart: { role: 'assistant' } },
      {
        contentBlockStart: {
          contentBlockIndex: 0,
          start: { toolUse: { toolUseId: 'tu-1', name: 'weather' } },
        },
      },
      {
        contentBlockDelta: {
          contentBlockIndex: 0,
          delta: { toolUse: { input: '{"city":"Oslo"}' } },
        },
      },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'tool_use' } },
      {
        metadata: {
          usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
          metrics: { latencyMs: 1 },
        },
      },
    ]);
    const events = await collect(upstream.chatStream(chat(), model, signal()));
    expect(events.slice(1)).toEqual([
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 0, id: 'tu-1', name: 'weather', arguments: '' }] },
      },
      {
        type: 'choice',
        delta: { index: 0, toolCalls: [{ index: 0, arguments: '{"city":"Oslo"}' }] },
      },
      { type: 'choice', delta: { index: 0, finishReason: 'tool_calls' } },
      { type: 'usage', inputTokens: 3, outputTokens: 1 },
    ]);
  });

  it('refuses n > 1 with a 400 from the first next(), before any call', async () => {
    const it = upstream.chatStream(chat({ n: 2 }), model, signal())[Symbol.asyncIterator]();
    expect(mock.calls()).toHaveLength(0);
    const err = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    expect((err as HttpError).message).toBe('n must be 1 with this upstream');
    expect(mock.calls()).toHaveLength(0);
  });

  it.each([
    ['ThrottlingException', 'throttled'],
    ['ServiceQuotaExceededException', 'throttled'],
    ['ValidationException', 'rejected'],
    ['ModelTimeoutException', 'timeout'],
    ['AccessDeniedException', 'failed'],
  ])('maps a %s thrown by the call to %s, without its message', async (name, failure) => {
    mock.on(ConverseStreamCommand).rejects(Object.assign(new Error(CANARY), { name }));
    const { before, error } = await collectUntilError(upstream.chatStream(chat(), model, signal()));
    expect(before).toEqual([]);
    expect(error).toEqual(new UpstreamError(failure as never));
    expect((error as Error).message).not.toContain('CANARY');
    expect(JSON.stringify(error)).not.toContain('CANARY');
  });

  it.each([
    ['throttlingException', new ThrottlingException(meta), 'throttled'],
    ['validationException', new ValidationException(meta), 'rejected'],
    ['modelStreamErrorException', new ModelStreamErrorException(meta), 'failed'],
    ['internalServerException', new InternalServerException(meta), 'failed'],
    ['serviceUnavailableException', new ServiceUnavailableException(meta), 'failed'],
  ])('ends the stream on a %s member mid-stream as %s', async (member, err, failure) => {
    const seen = answer([
      ...textAnswer().slice(0, 2),
      { [member]: err } as unknown as ConverseStreamOutput,
      ...textAnswer().slice(2),
    ]);
    const { before, error } = await collectUntilError(upstream.chatStream(chat(), model, signal()));
    expect(before).toEqual(TEXT_EVENTS.slice(0, 2));
    expect(error).toEqual(new UpstreamError(failure as never));
    expect((error as Error).message).not.toContain('CANARY');
    expect(seen).toEqual({ pulled: 3, closed: true });
  });

  it.each([
    [new ModelStreamErrorException(meta), 'failed'],
    [new ThrottlingException(meta), 'throttled'],
    [new ValidationException(meta), 'rejected'],
    [Object.assign(new Error(CANARY), { name: 'TimeoutError' }), 'timeout'],
  ])('maps an error the SDK throws while reading (%p) by name', async (err, failure) => {
    answer(textAnswer().slice(0, 3), err);
    const { before, error } = await collectUntilError(upstream.chatStream(chat(), model, signal()));
    expect(before).toEqual(TEXT_EVENTS.slice(0, 3));
    expect(error).toEqual(new UpstreamError(failure as never));
    expect((error as Error).message).not.toContain('CANARY');
  });

  it('treats a stream that ends without messageStop, or no stream, as a failed upstream', async () => {
    answer(textAnswer().slice(0, 4));
    const cut = await collectUntilError(upstream.chatStream(chat(), model, signal()));
    expect(cut.before).toEqual(TEXT_EVENTS.slice(0, 3));
    expect(cut.error).toEqual(new UpstreamError('failed'));

    mock.on(ConverseStreamCommand).resolves({});
    const none = await collectUntilError(upstream.chatStream(chat(), model, signal()));
    expect(none).toEqual({ before: [], error: new UpstreamError('failed') });
  });

  it('stops reading when the consumer ends the iteration early', async () => {
    const seen = answer(textAnswer());
    const it = upstream.chatStream(chat(), model, signal())[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await expect(it.return?.(undefined)).resolves.toEqual({ done: true, value: undefined });
    expect(seen).toEqual({ pulled: 2, closed: true });
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('stops reading when the signal aborts, as a timeout', async () => {
    const seen = answer(textAnswer());
    const controller = new AbortController();
    const it = upstream.chatStream(chat(), model, controller.signal)[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await expect(it.next()).rejects.toEqual(new UpstreamError('timeout'));
    expect(seen).toEqual({ pulled: 2, closed: true });
  });
});
