/**
 * Property tests of the Responses API translation: any chat result gives a
 * valid response object (checked by a small structural validator of OpenAI's
 * Response shape), and any chat event sequence (text and tool-call arguments
 * in arbitrary pieces, calls interleaved, any finish reason, with or without
 * usage, or cut short by a failure) gives a well-formed event sequence:
 * sequence numbers 0, 1, 2, ..., every added item done once, deltas that add
 * up to the final text and arguments, exactly one terminal event, last.
 */

import fc from 'fast-check';
import { resultEvents } from '../../../../lambda/gateway/chat-stream';
import {
  type ChatStreamEvent,
  type ToolCallDelta,
} from '../../../../lambda/gateway/upstream-results';
import {
  eventSse,
  ResponsesEventStream,
  type ResponsesEvent,
} from '../../../../lambda/gateway/responses/stream-events';
import {
  completedResponse,
  type ResponsesMeta,
} from '../../../../lambda/gateway/responses/to-response';
import {
  validateResponses,
  type ResponsesRequest,
} from '../../../../lambda/gateway/responses/validate';
import type { ChatResult, FinishReason } from '../../../../lambda/gateway/upstream-results';

type Json = Record<string, unknown>;

const CANARY = 'CANARY-failed-9e2b';
const meta: ResponsesMeta = { requestId: 'req-p', createdAt: 1_700_000_000, model: 'chat' };

function request(body: Json = {}): ResponsesRequest {
  const r = validateResponses({ model: 'chat', input: 'q', ...body });
  if (!r.ok) throw new Error(r.message);
  return r.value;
}
const plain = request();
const configured = request({
  instructions: 'be brief',
  tools: [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: false }],
  tool_choice: 'required',
  text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' } } },
  max_output_tokens: 64,
  temperature: 0.5,
  metadata: { k: 'v' },
});

const FINISH: readonly FinishReason[] = ['stop', 'length', 'tool_calls', 'content_filter'];

/** Problems with `r` as OpenAI's Response object (empty when it is one). */
function responseProblems(r: unknown): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const numberOrNull = (v: unknown) => v === null || typeof v === 'number';
  if (!isObj(r)) return ['not an object'];
  check(typeof r.id === 'string' && /^resp_/.test(r.id), 'id');
  check(r.object === 'response', 'object');
  check(count(r.created_at), 'created_at');
  check(
    ['completed', 'incomplete', 'in_progress', 'failed'].includes(r.status as string),
    'status',
  );
  check(
    r.error === null ||
      (isObj(r.error) && typeof r.error.code === 'string' && typeof r.error.message === 'string'),
    'error',
  );
  check((r.status === 'failed') === (r.error !== null), 'error matches status');
  check(
    r.incomplete_details === null ||
      (isObj(r.incomplete_details) &&
        ['max_output_tokens', 'content_filter'].includes(r.incomplete_details.reason as string)),
    'incomplete_details',
  );
  check((r.status === 'incomplete') === (r.incomplete_details !== null), 'incomplete matches');
  check(r.instructions === null || typeof r.instructions === 'string', 'instructions');
  check(r.max_output_tokens === null || count(r.max_output_tokens), 'max_output_tokens');
  check(typeof r.model === 'string', 'model');
  check(typeof r.parallel_tool_calls === 'boolean', 'parallel_tool_calls');
  check(r.previous_response_id === null, 'previous_response_id');
  check(isObj(r.reasoning), 'reasoning');
  check(r.store === false, 'store');
  check(r.background === false, 'background');
  check(numberOrNull(r.temperature) && numberOrNull(r.top_p), 'temperature, top_p');
  check(isObj(r.text) && isObj(r.text.format) && typeof r.text.format.type === 'string', 'text');
  check(
    ['auto', 'none', 'required'].includes(r.tool_choice as string) ||
      (isObj(r.tool_choice) && r.tool_choice.type === 'function'),
    'tool_choice',
  );
  check(
    Array.isArray(r.tools) &&
      r.tools.every((t) => isObj(t) && t.type === 'function' && typeof t.name === 'string'),
    'tools',
  );
  check(count(r.top_logprobs), 'top_logprobs');
  check(r.truncation === 'disabled', 'truncation');
  check(r.user === null, 'user');
  check(
    isObj(r.metadata) && Object.values(r.metadata).every((v) => typeof v === 'string'),
    'metadata',
  );
  const u = r.usage;
  check(
    u === null ||
      (isObj(u) &&
        count(u.input_tokens) &&
        count(u.output_tokens) &&
        u.total_tokens === (u.input_tokens as number) + (u.output_tokens as number) &&
        isObj(u.input_tokens_details) &&
        u.input_tokens_details.cached_tokens === 0 &&
        u.input_tokens_details.cache_write_tokens === 0 &&
        isObj(u.output_tokens_details) &&
        u.output_tokens_details.reasoning_tokens === 0),
    'usage',
  );
  if (!Array.isArray(r.output)) return [...problems, 'output'];
  const ids = new Set<unknown>();
  for (const item of r.output as unknown[]) {
    if (!isObj(item)) {
      problems.push('output item');
      continue;
    }
    ids.add(item.id);
    const status = ['completed', 'incomplete', 'in_progress'].includes(item.status as string);
    if (item.type === 'message') {
      check(typeof item.id === 'string' && /^msg_/.test(item.id) && status, 'message id, status');
      check(item.role === 'assistant', 'message role');
      check(
        Array.isArray(item.content) &&
          item.content.every(
            (c) =>
              isObj(c) &&
              c.type === 'output_text' &&
              typeof c.text === 'string' &&
              Array.isArray(c.annotations) &&
              Array.isArray(c.logprobs),
          ),
        'message content',
      );
    } else if (item.type === 'function_call') {
      check(typeof item.id === 'string' && /^fc_/.test(item.id) && status, 'call id, status');
      check(
        typeof item.call_id === 'string' &&
          typeof item.name === 'string' &&
          typeof item.arguments === 'string',
        'call fields',
      );
    } else {
      problems.push('output item type');
    }
  }
  check(ids.size === r.output.length, 'item ids unique');
  return problems;
}

const text = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', 'héllo wörld ✓', '😀👍🏽 家族', '{"a":"\\n"}', '\u0000\u2028'),
);
const toolName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const toolCall = fc.record({
  id: fc.string({ minLength: 1, maxLength: 40 }),
  name: toolName,
  arguments: text,
});
const tokens = fc.nat({ max: 1_000_000 });

/** A log probability (never -0, which JSON cannot carry). */
const logprob = fc
  .double({ max: 0, noNaN: true, noDefaultInfinity: true })
  .map((x) => (Object.is(x, -0) ? 0 : x));
const topLogprob = fc.record({
  token: text,
  logprob,
  bytes: fc.option(fc.array(fc.nat({ max: 255 }), { maxLength: 4 }), { nil: null }),
});
const tokenLogprob = fc.record({
  token: text,
  logprob,
  bytes: fc.option(fc.array(fc.nat({ max: 255 }), { maxLength: 4 }), { nil: null }),
  top_logprobs: fc.array(topLogprob, { maxLength: 2 }),
});

const chatResult: fc.Arbitrary<ChatResult> = fc.record({
  choices: fc.tuple(
    fc.record(
      {
        text: fc.option(text, { nil: null }),
        toolCalls: fc.array(toolCall, { maxLength: 4 }),
        finishReason: fc.constantFrom(...FINISH),
        logprobs: fc.array(tokenLogprob, { maxLength: 3 }),
      },
      { requiredKeys: ['text', 'toolCalls', 'finishReason'] },
    ),
  ),
  inputTokens: tokens,
  outputTokens: tokens,
});

/** `s` cut at the given points (the pieces join back to `s`, by code unit). */
function pieces(s: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of [...points, s.length]) {
    if (p > from) out.push(s.slice(from, p));
    from = p;
  }
  return out;
}

/** What a chat answer streams: its text and calls, how they are cut up and interleaved. */
interface StreamPlan {
  readonly text: string;
  readonly textCuts: number[];
  readonly textAfter: string;
  readonly calls: { id: string; name: string; arguments: string; cuts: number[] }[];
  readonly interleave: number[];
  readonly finish: FinishReason | null;
  readonly usage: { inputTokens: number; outputTokens: number } | null;
  /** Log probabilities of the text pieces (one entry each), when asked for. */
  readonly logprobs: ((piece: number) => Json) | null;
}

const streamPlan: fc.Arbitrary<StreamPlan> = fc.record({
  text,
  textCuts: fc.array(fc.nat(), { maxLength: 6 }),
  textAfter: fc.oneof(fc.constant(''), text),
  calls: fc.array(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 40 }),
      name: toolName,
      arguments: text,
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
    }),
    { maxLength: 4 },
  ),
  interleave: fc.array(fc.nat(), { maxLength: 30 }),
  finish: fc.option(fc.constantFrom(...FINISH), { nil: null }),
  usage: fc.option(fc.record({ inputTokens: tokens, outputTokens: tokens }), { nil: null }),
  logprobs: fc.option(
    fc.constant((piece: number) => ({
      token: `t${piece}`,
      logprob: -piece,
      bytes: null,
      top_logprobs: [],
    })),
    { nil: null },
  ),
});

/** The chat events of a plan, as an upstream streams them. */
function planEvents(plan: StreamPlan): ChatStreamEvent[] {
  const choice = (delta: Json): ChatStreamEvent =>
    ({ type: 'choice', delta: { index: 0, ...delta } }) as ChatStreamEvent;
  const events: ChatStreamEvent[] = [choice({ role: 'assistant', content: '' })];
  pieces(plan.text, plan.textCuts).forEach((piece, i) =>
    events.push(
      choice({ content: piece, ...(plan.logprobs ? { logprobs: [plan.logprobs(i)] } : {}) }),
    ),
  );
  // Each call starts with its id and name; its argument pieces follow, interleaved with other calls'.
  const queues = plan.calls.map((call, index): ToolCallDelta[] => [
    { index, id: call.id, name: call.name, arguments: '' },
    ...pieces(call.arguments, call.cuts).map((a) => ({ index, arguments: a })),
  ]);
  let k = 0;
  for (;;) {
    const open = queues.map((q, i) => [q, i] as const).filter(([q]) => q.length > 0);
    if (open.length === 0) break;
    // A call starts only after the one before it has started.
    const started = open.filter(
      ([q, i]) => q[0].id === undefined || queues.slice(0, i).every((p) => p[0]?.id === undefined),
    );
    const [queue] = started[(plan.interleave[k++] ?? 0) % started.length];
    events.push(choice({ toolCalls: [queue.shift()] }));
  }
  for (const piece of pieces(plan.textAfter, plan.textCuts))
    events.push(choice({ content: piece }));
  if (plan.finish) events.push(choice({ finishReason: plan.finish }));
  if (plan.usage) events.push({ type: 'usage', ...plan.usage });
  return events;
}

function translate(req: ResponsesRequest, events: readonly ChatStreamEvent[]): ResponsesEvent[] {
  const stream = new ResponsesEventStream(req, meta);
  return [...events.flatMap((e) => stream.push(e)), ...stream.end()];
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Problems with `events` as a Responses event stream (empty when it is well formed). */
function streamProblems(events: readonly ResponsesEvent[]): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  check(
    events.every((e, i) => e.sequence_number === i),
    'sequence numbers 0, 1, 2, ...',
  );
  check(events[0]?.type === 'response.created', 'created first');
  check(events[1]?.type === 'response.in_progress', 'in_progress second');
  const terminals = events.filter((e) => TERMINAL.has(e.type));
  check(terminals.length === 1 && TERMINAL.has(events.at(-1)!.type), 'one terminal, last');
  for (const e of events) {
    if (typeof e.response === 'object') {
      problems.push(...responseProblems(e.response).map((p) => `${e.type}: ${p}`));
    }
    // The framing round-trips.
    const [eventLine, dataLine, ...rest] = eventSse(e).split('\n');
    check(eventLine === `event: ${e.type}`, 'event line');
    check(JSON.stringify(JSON.parse(dataLine.slice(6))) === JSON.stringify(e), 'data line');
    check(rest.join('\n') === '\n', 'framing');
  }

  // Each item: added once (output indexes 0, 1, ... in order), its pieces, done once, nothing after.
  const items = new Map<
    number,
    { added: Json; done?: Json; text: string; args: string; logprobs: unknown[] }
  >();
  let next = 0;
  for (const e of events) {
    const index = e.output_index as number | undefined;
    if (e.type === 'response.output_item.added') {
      check(index === next++, 'items added in output order');
      items.set(index!, { added: e.item as Json, text: '', args: '', logprobs: [] });
      continue;
    }
    if (index === undefined) continue;
    const item = items.get(index);
    if (!item || item.done) {
      problems.push(`${e.type} outside its item`);
      continue;
    }
    if (e.item_id !== undefined) check(e.item_id === item.added.id, 'item_id');
    if (e.type === 'response.output_text.delta') {
      item.text += e.delta as string;
      item.logprobs.push(...(e.logprobs as unknown[]));
    }
    if (e.type === 'response.function_call_arguments.delta') item.args += e.delta as string;
    if (e.type === 'response.output_text.done') {
      check(e.text === item.text, 'text done = deltas');
      check(JSON.stringify(e.logprobs) === JSON.stringify(item.logprobs), 'logprobs done = deltas');
    }
    if (e.type === 'response.content_part.done') {
      check((e.part as Json).text === item.text, 'part done = deltas');
    }
    if (e.type === 'response.function_call_arguments.done') {
      check(e.arguments === item.args, 'arguments done = deltas');
      check(e.name === item.added.name, 'arguments done name');
    }
    if (e.type === 'response.output_item.done') {
      item.done = e.item as Json;
      check(item.done.id === item.added.id && item.done.type === item.added.type, 'same item');
      if (item.done.type === 'message') {
        const part = (item.done.content as Json[])[0];
        check(part?.text === item.text, 'message = deltas');
        check(JSON.stringify(part?.logprobs) === JSON.stringify(item.logprobs), 'logprobs kept');
      } else {
        check(item.done.arguments === item.args, 'call = deltas');
        check(item.done.call_id === item.added.call_id, 'call id kept');
      }
    }
  }
  const last = events.at(-1)!;
  if (last.type !== 'response.failed') {
    check(
      [...items.values()].every((i) => i.done),
      'every added item done',
    );
    const output = (last.response as Json).output;
    check(
      JSON.stringify(output) === JSON.stringify([...items.values()].map((i) => i.done)),
      'final output = the items as done',
    );
  }
  return problems;
}

describe('properties', () => {
  it('any chat result gives a valid response object, the same as its events streamed', () => {
    fc.assert(
      fc.property(chatResult, fc.constantFrom(plain, configured), (result, req) => {
        const response = completedResponse(req, result, meta);
        expect(responseProblems(response)).toEqual([]);
        expect(JSON.parse(JSON.stringify(response))).toEqual(response);
        const choice = result.choices[0];
        const output = response.output as Json[];
        const calls = output.filter((i) => i.type === 'function_call');
        expect(calls.map((c) => [c.call_id, c.name, c.arguments])).toEqual(
          choice.toolCalls.map((c) => [c.id, c.name, c.arguments]),
        );
        const message = output.find((i) => i.type === 'message');
        expect((message?.content as Json[] | undefined)?.[0]?.text ?? '').toBe(choice.text ?? '');
        expect(response.status).toBe(
          choice.finishReason === 'length' || choice.finishReason === 'content_filter'
            ? 'incomplete'
            : 'completed',
        );
        // Streamed, the same answer ends in the same response.
        const streamed = translate(req, [...resultEvents(result)]);
        expect(streamProblems(streamed)).toEqual([]);
        expect(streamed.at(-1)!.response).toEqual(response);
      }),
      { numRuns: 300 },
    );
  });

  it('any chat event sequence gives a well-formed event sequence that adds up to the answer', () => {
    fc.assert(
      fc.property(streamPlan, fc.constantFrom(plain, configured), (plan, req) => {
        const events = translate(req, planEvents(plan));
        expect(streamProblems(events)).toEqual([]);
        const last = events.at(-1)!;
        const response = last.response as Json;
        const output = response.output as Json[];
        const texts = output
          .filter((i) => i.type === 'message')
          .map((m) => (m.content as Json[])[0].text);
        expect(texts.join('')).toBe(plan.text + plan.textAfter);
        expect(
          output
            .filter((i) => i.type === 'function_call')
            .map((c) => [c.call_id, c.name, c.arguments]),
        ).toEqual(plan.calls.map((c) => [c.id, c.name, c.arguments]));
        const incomplete = plan.finish === 'length' || plan.finish === 'content_filter';
        expect(last.type).toBe(incomplete ? 'response.incomplete' : 'response.completed');
        expect((response.usage as Json).input_tokens).toBe(plan.usage?.inputTokens ?? 0);
      }),
      { numRuns: 300 },
    );
  });

  it('a failure at any point ends the stream with one response.failed and none of the content', () => {
    fc.assert(
      fc.property(streamPlan, fc.nat(), (generated, at) => {
        // Content that would be recognised anywhere.
        const plan = {
          ...generated,
          text: `${CANARY}${generated.text}`,
          calls: generated.calls.map((c) => ({ ...c, arguments: `${CANARY}${c.arguments}` })),
        };
        const chatEvents = planEvents(plan);
        const stream = new ResponsesEventStream(plain, meta);
        const before = chatEvents
          .slice(0, at % (chatEvents.length + 1))
          .flatMap((e) => stream.push(e));
        const failed = stream.fail({ code: 'server_error', message: 'The model upstream failed' });
        const events = [...before, ...failed];
        expect(streamProblems(events)).toEqual([]);
        expect(failed.at(-1)).toMatchObject({
          type: 'response.failed',
          response: { status: 'failed', output: [], usage: null },
        });
        expect(JSON.stringify(failed)).not.toContain(CANARY);
      }),
      { numRuns: 200 },
    );
  });
});
