/**
 * The Responses API's translation, both ways, on hand-written fixtures in the
 * shapes of OpenAI's API reference: a request to the chat request the
 * upstream gets (and the 400s for what a stateless gateway cannot do), a
 * chat result to the response object, and chat stream events to the
 * Responses events.
 */

import type { ChatStreamEvent } from '../../../../lambda/gateway/upstream-results';
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
import { inResponsesTerms, responsesParam } from '../../../../lambda/gateway/responses/params';
import { UpstreamError } from '../../../../lambda/gateway/upstream-contract';
import { type ChatResult } from '../../../../lambda/gateway/upstream-results';
import { HttpError, invalidRequest } from '../../../../lambda/shared/http-errors';
import type { ChatRequest } from '../../../../lambda/gateway/validate-chat';

const PNG = 'data:image/png;base64,iVBORw0KGgo=';
const CANARY = 'CANARY-responses-4c1d';

const valid = (body: unknown, options = {}): ResponsesRequest => {
  const r = validateResponses(body, options);
  if (!r.ok) throw new Error(`unexpected refusal: ${r.message}`);
  return r.value;
};

const refused = (body: unknown, options = {}) => {
  const r = validateResponses(body, options);
  if (r.ok) throw new Error('expected a refusal');
  return r;
};

const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
};

/** A request with every kind of input item, in the API reference's shapes. */
const fullRequest = {
  model: 'gpt-4.1',
  instructions: 'Answer in one sentence.',
  input: [
    { role: 'developer', content: 'Prefer metric units.' },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'What is the weather where this photo was taken?' },
        { type: 'input_image', image_url: PNG, detail: 'low' },
      ],
    },
    {
      type: 'message',
      id: 'msg_earlier',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Looks like Oslo.', annotations: [] }],
    },
    {
      type: 'function_call',
      id: 'fc_1',
      call_id: 'call_a',
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
      status: 'completed',
    },
    {
      type: 'function_call',
      call_id: 'call_b',
      name: 'get_weather',
      arguments: '{"city":"Bergen"}',
    },
    { type: 'function_call_output', call_id: 'call_a', output: '12 C, rain' },
    {
      type: 'function_call_output',
      call_id: 'call_b',
      output: [
        { type: 'input_text', text: '9 C, ' },
        { type: 'input_text', text: 'wind' },
      ],
    },
    { role: 'user', content: 'And tomorrow?' },
  ],
  tools: [weatherTool, { ...weatherTool, name: 'get_forecast', strict: true }],
  tool_choice: { type: 'function', name: 'get_forecast' },
  text: {
    format: {
      type: 'json_schema',
      name: 'forecast',
      description: 'A forecast',
      schema: { type: 'object', properties: { summary: { type: 'string' } } },
      strict: true,
    },
  },
  max_output_tokens: 500,
  temperature: 0.4,
  top_p: 0.9,
  parallel_tool_calls: false,
  reasoning: { effort: 'low', summary: 'auto' },
  include: ['message.output_text.logprobs', 'reasoning.encrypted_content'],
  top_logprobs: 2,
  stream: true,
  store: false,
  background: false,
  truncation: 'disabled',
  metadata: { ticket: 'T-1' },
  user: 'user-1',
  safety_identifier: 'hashed-user',
  prompt_cache_key: 'cache-1',
  service_tier: 'auto',
  stream_options: { include_obfuscation: false },
};

describe('request → chat request', () => {
  it('translates instructions, every item kind, tools, the format and the parameters', () => {
    const request = valid(fullRequest);
    const expected: ChatRequest = {
      model: 'gpt-4.1',
      messages: [
        { role: 'system', text: 'Answer in one sentence.' },
        { role: 'system', text: 'Prefer metric units.' },
        {
          role: 'user',
          parts: [
            { type: 'text', text: 'What is the weather where this photo was taken?' },
            { type: 'image', url: PNG, detail: 'low' },
          ],
        },
        // The assistant's text and the calls that follow it: one turn.
        {
          role: 'assistant',
          text: 'Looks like Oslo.',
          toolCalls: [
            { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
            { id: 'call_b', name: 'get_weather', arguments: '{"city":"Bergen"}' },
          ],
        },
        { role: 'tool', toolCallId: 'call_a', text: '12 C, rain' },
        { role: 'tool', toolCallId: 'call_b', text: '9 C, wind' },
        { role: 'user', parts: [{ type: 'text', text: 'And tomorrow?' }] },
      ],
      temperature: 0.4,
      topP: 0.9,
      maxTokens: 500,
      maxTokensField: 'max_completion_tokens',
      n: 1,
      stop: [],
      stream: true,
      includeUsage: false,
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather',
          parameters: weatherTool.parameters,
        },
        {
          name: 'get_forecast',
          description: 'Current weather',
          parameters: weatherTool.parameters,
          strict: true,
        },
      ],
      toolChoice: { name: 'get_forecast' },
      responseFormat: {
        type: 'json_schema',
        jsonSchema: {
          name: 'forecast',
          schema: { type: 'object', properties: { summary: { type: 'string' } } },
          strict: true,
          description: 'A forecast',
        },
      },
      parallelToolCalls: false,
      logprobs: true,
      topLogprobs: 2,
      reasoningEffort: 'low',
    };
    expect(request.chat).toEqual(expected);
    expect(request.model).toBe('gpt-4.1');
    expect(request.instructions).toBe('Answer in one sentence.');
    expect(request.metadata).toEqual({ ticket: 'T-1' });
    // Where each chat message came from (the assistant turn: its message and both calls).
    expect(request.origins).toEqual([
      { item: 'instructions' },
      { item: 0 },
      { item: 1 },
      { item: 2, calls: [3, 4] },
      { item: 5 },
      { item: 6 },
      { item: 7 },
    ]);
    // Never forwarded: not in the chat request at all.
    const text = JSON.stringify(request.chat);
    for (const kept of ['user-1', 'hashed-user', 'cache-1', 'T-1'])
      expect(text).not.toContain(kept);
  });

  it('takes a string input as one user message, with defaults for everything else', () => {
    expect(valid({ model: 'm', input: 'Hello' })).toEqual({
      model: 'm',
      chat: {
        model: 'm',
        messages: [{ role: 'user', parts: [{ type: 'text', text: 'Hello' }] }],
        n: 1,
        stop: [],
        stream: false,
        includeUsage: false,
        tools: [],
      },
      instructions: null,
      metadata: {},
      origins: [{ item: 'input' }],
    });
  });

  it('takes what the Vercel AI SDK sends by default (generateText, tools, store: false history)', () => {
    // The shape of @ai-sdk/openai's Responses getArgs for a system prompt,
    // a user message, a tool loop's second step and a tool without strict.
    const request = valid({
      model: 'chat-small',
      input: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Checking' }], id: 'msg_r1_0' },
        { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      ],
      max_output_tokens: 100,
      tools: [{ type: 'function', name: 'weather', parameters: weatherTool.parameters }],
      tool_choice: 'auto',
      store: false,
    });
    expect(request.chat.messages).toEqual([
      { role: 'system', text: 'You are terse.' },
      { role: 'user', parts: [{ type: 'text', text: 'Weather?' }] },
      {
        role: 'assistant',
        text: 'Checking',
        toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }],
      },
      { role: 'tool', toolCallId: 'c1', text: 'sunny' },
    ]);
    // strict is not defaulted to true: Bedrock refuses strict tools.
    expect(request.chat.tools).toEqual([{ name: 'weather', parameters: weatherTool.parameters }]);
    expect(request.chat.toolChoice).toBe('auto');
  });

  it('starts a new assistant turn for calls after a user or tool message, and drops reasoning items', () => {
    const request = valid({
      model: 'm',
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
        { type: 'function_call', call_id: 'a', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'a', output: 'x' },
        { type: 'function_call', call_id: 'b', name: 'f', arguments: '{}' },
      ],
    });
    expect(request.chat.messages).toEqual([
      { role: 'user', parts: [{ type: 'text', text: 'q' }] },
      { role: 'assistant', text: null, toolCalls: [{ id: 'a', name: 'f', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'a', text: 'x' },
      { role: 'assistant', text: null, toolCalls: [{ id: 'b', name: 'f', arguments: '{}' }] },
    ]);
  });

  it.each([
    [{ type: 'text' }, { type: 'text' }],
    [{ type: 'json_object' }, { type: 'json_object' }],
    [
      { type: 'json_schema', name: 'x', schema: { type: 'object' } },
      { type: 'json_schema', jsonSchema: { name: 'x', schema: { type: 'object' } } },
    ],
  ])('maps text.format %j', (format, expected) => {
    expect(valid({ model: 'm', input: 'q', text: { format } }).chat.responseFormat).toEqual(
      expected,
    );
  });

  it('accepts what asks for nothing stored: store false, background false, truncation auto', () => {
    for (const extra of [
      { store: false },
      { background: false },
      { truncation: 'auto' },
      { previous_response_id: null, conversation: null },
      { include: ['web_search_call.action.sources', 'code_interpreter_call.outputs'] },
    ]) {
      expect(validateResponses({ model: 'm', input: 'q', ...extra }).ok).toBe(true);
    }
  });

  it('accepts https: images only where the deployment allows them', () => {
    const body = {
      model: 'm',
      input: [
        { role: 'user', content: [{ type: 'input_image', image_url: 'https://x.test/a.png' }] },
      ],
    };
    expect(refused(body)).toMatchObject({ param: 'input[0].content[0].image_url' });
    expect(refused(body).message).toContain('remoteImageUrls=allow');
    expect(valid(body, { remoteImageUrls: 'allow' }).chat.messages[0]).toEqual({
      role: 'user',
      parts: [{ type: 'image', url: 'https://x.test/a.png' }],
    });
  });
});

describe('requests a stateless gateway refuses', () => {
  const base = { model: 'm', input: 'q' };
  it.each([
    ['store: true', { store: true }, 'store', 'nothing can be stored'],
    [
      'previous_response_id',
      { previous_response_id: 'resp_1' },
      'previous_response_id',
      'keeps no',
    ],
    ['conversation', { conversation: 'conv_1' }, 'conversation', 'keeps no'],
    ['conversation object', { conversation: { id: 'conv_1' } }, 'conversation', 'keeps no'],
    ['background: true', { background: true }, 'background', 'keeps no'],
    ['a stored prompt', { prompt: { id: 'pmpt_1' } }, 'prompt', 'keeps no'],
    [
      'an item_reference',
      {
        input: [
          { role: 'user', content: 'q' },
          { type: 'item_reference', id: 'msg_1' },
        ],
      },
      'input[1]',
      'no stored item',
    ],
    ['a bare item reference', { input: [{ id: 'msg_1' }] }, 'input[0]', 'no stored item'],
    [
      'an image by file_id',
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] },
      'input[0].content[0].file_id',
      'keeps no',
    ],
    ['file search results', { include: ['file_search_call.results'] }, 'include[0]', 'keeps no'],
  ])('refuses %s, naming the field and saying nothing is kept', (_what, extra, param, says) => {
    // Even without input: the client learns why its continuation cannot work.
    const r = refused({ ...base, ...extra });
    expect(r.param).toBe(param);
    expect(r.message).toContain(says);
    expect(r.message.startsWith(param)).toBe(true);
  });

  it('refuses previous_response_id before asking for input', () => {
    expect(refused({ model: 'm', previous_response_id: 'resp_1' }).param).toBe(
      'previous_response_id',
    );
  });
});

describe('bad requests', () => {
  const base = { model: 'm', input: 'q' };
  it.each([
    ['no input', { input: undefined }, 'input'],
    ['an empty input', { input: [] }, 'input'],
    [
      'a text part without text',
      { input: [{ role: 'user', content: [{ type: 'input_text', text: 5 }] }] },
      'input[0].content[0].text',
    ],
    [
      'a text part at the third item',
      {
        input: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: [{ type: 'input_text', text: null }] },
        ],
      },
      'input[2].content[0].text',
    ],
    [
      'a file part',
      { input: [{ role: 'user', content: [{ type: 'input_file', file_data: 'x' }] }] },
      'input[0].content[0].type',
    ],
    ['an unknown role', { input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    ['a built-in item', { input: [{ type: 'web_search_call', id: 'ws_1' }] }, 'input[0].type'],
    ['an item that is neither', { input: [{ content: 'x' }] }, 'input[0]'],
    [
      'a call without call_id',
      { input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      'input[0].call_id',
    ],
    [
      'a call with a bad name',
      { input: [{ type: 'function_call', call_id: 'c', name: 'a b', arguments: '{}' }] },
      'input[0].name',
    ],
    [
      'a call without arguments',
      { input: [{ type: 'function_call', call_id: 'c', name: 'f' }] },
      'input[0].arguments',
    ],
    [
      'an output image',
      {
        input: [
          {
            type: 'function_call_output',
            call_id: 'c',
            output: [{ type: 'input_image', image_url: PNG }],
          },
        ],
      },
      'input[0].output[0].type',
    ],
    ['a built-in tool', { tools: [weatherTool, { type: 'web_search' }] }, 'tools[1].type'],
    ['a tool with a bad name', { tools: [{ type: 'function', name: '' }] }, 'tools[0].name'],
    [
      'tool parameters that are not a schema',
      { tools: [{ ...weatherTool, parameters: 'x' }] },
      'tools[0].parameters',
    ],
    [
      'a strict that is not a boolean',
      { tools: [{ ...weatherTool, strict: 'yes' }] },
      'tools[0].strict',
    ],
    [
      'a tool_choice naming no tool',
      { tools: [weatherTool], tool_choice: { type: 'function', name: 'other' } },
      'tool_choice',
    ],
    ['a built-in tool_choice', { tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
    ["tool_choice 'required' without tools", { tool_choice: 'required' }, 'tool_choice'],
    ['an unknown format', { text: { format: { type: 'xml' } } }, 'text.format.type'],
    [
      'a schema format without a schema',
      { text: { format: { type: 'json_schema', name: 'x' } } },
      'text.format.schema',
    ],
    [
      'a schema format without a name',
      { text: { format: { type: 'json_schema', schema: {} } } },
      'text.format.name',
    ],
    ['a bad effort', { reasoning: { effort: 'MAX!' } }, 'reasoning.effort'],
    ['a bad temperature', { temperature: 3 }, 'temperature'],
    ['a bad top_p', { top_p: -1 }, 'top_p'],
    ['a bad max_output_tokens', { max_output_tokens: 0 }, 'max_output_tokens'],
    ['a bad top_logprobs', { top_logprobs: 21 }, 'top_logprobs'],
    ['an unknown include', { include: ['everything'] }, 'include[0]'],
    ['a bad truncation', { truncation: 'middle' }, 'truncation'],
    ['metadata with a number', { metadata: { a: 1 } }, 'metadata'],
    [
      'metadata with 17 pairs',
      { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
    ],
    ['a user that is not a string', { user: 5 }, 'user'],
    ['stream that is not a boolean', { stream: 'yes' }, 'stream'],
  ])('refuses %s, naming the field', (_what, extra, param) => {
    const r = refused({ ...base, ...extra });
    expect(r.param).toBe(param);
  });

  it('never quotes a value in a message', () => {
    const bodies = [
      { model: 'm', input: [{ role: CANARY, content: CANARY }] },
      { model: 'm', input: [{ type: CANARY }] },
      { model: 'm', input: [{ type: 'item_reference', id: CANARY }] },
      { model: 'm', input: 'q', previous_response_id: CANARY },
      { model: 'm', input: 'q', tools: [{ type: CANARY, name: CANARY }] },
      { model: 'm', input: 'q', tools: [{ type: 'function', name: `${CANARY} tool` }] },
      { model: 'm', input: 'q', text: { format: { type: CANARY } } },
      { model: 'm', input: 'q', include: [CANARY] },
      { model: 'm', input: 'q', metadata: { [CANARY]: CANARY.repeat(100) } },
      { model: 'm', input: 'q', truncation: CANARY },
      { model: 'm', input: 'q', reasoning: { effort: CANARY } },
      { model: 'm', input: 'q', tool_choice: { type: 'function', name: CANARY } },
      {
        model: 'm',
        input: [
          { role: 'user', content: [{ type: 'input_image', image_url: `https://${CANARY}` }] },
        ],
      },
    ];
    for (const body of bodies) {
      const r = refused(body);
      expect(r.message).not.toContain(CANARY);
      expect(r.param ?? '').not.toContain(CANARY);
    }
  });
});

describe("an upstream's refusal in the request's own terms", () => {
  const request = valid(fullRequest);
  it.each([
    ['response_format', 'text.format'],
    ['reasoning_effort', 'reasoning.effort'],
    ['logprobs', 'top_logprobs'],
    ['top_logprobs', undefined],
    ['temperature', undefined],
    ['tools[1].function.strict', 'tools[1].strict'],
    ['messages[0]', 'instructions'],
    ['messages[2].content[1].image_url.url', 'input[1].content[1].image_url'],
    ['messages[3].tool_calls[0].function.arguments', 'input[3].arguments'],
    ['messages[3].tool_calls[1].function.arguments', 'input[4].arguments'],
    ['messages[4]', 'input[5]'],
    ['messages[99]', undefined],
    ['X-Ephemera-Metadata', undefined],
  ])('names %s as %s', (chatParam, expected) => {
    expect(responsesParam(chatParam, request)).toBe(expected);
  });

  it('names logprobs asked for by include as include', () => {
    const r = valid({ model: 'm', input: 'q', include: ['message.output_text.logprobs'] });
    expect(responsesParam('logprobs', r)).toBe('include');
  });

  it('rewrites the field at the start of a 400, and leaves anything else alone', () => {
    const renamed = inResponsesTerms(
      invalidRequest(
        'tools[1].function.strict is not supported (Bedrock does not enforce schemas) with this upstream',
        'tools[1].function.strict',
      ),
      request,
    ) as HttpError;
    expect(renamed).toBeInstanceOf(HttpError);
    expect(renamed).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'tools[1].strict',
      message:
        'tools[1].strict is not supported (Bedrock does not enforce schemas) with this upstream',
    });
    const other = new HttpError(502, 'server_error', 'The model upstream failed');
    expect(inResponsesTerms(other, request)).toBe(other);
    const same = invalidRequest(
      'temperature must be from 0 to 1 with this upstream',
      'temperature',
    );
    expect(inResponsesTerms(same, request)).toBe(same);
    const plainError = new Error('x');
    expect(inResponsesTerms(plainError, request)).toBe(plainError);
  });
});

const meta: ResponsesMeta = { requestId: 'req1', createdAt: 1_700_000_000, model: 'chat-small' };
const plain = valid({ model: 'chat-small', input: 'q' });

/** The response fields that depend on the answer; the rest is the request's echo. */
const echoOfPlain = {
  id: 'resp_req1',
  object: 'response',
  created_at: 1_700_000_000,
  background: false,
  error: null,
  instructions: null,
  max_output_tokens: null,
  model: 'chat-small',
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: false,
  temperature: null,
  text: { format: { type: 'text' } },
  tool_choice: 'auto',
  tools: [],
  top_logprobs: 0,
  top_p: null,
  truncation: 'disabled',
  user: null,
  metadata: {},
};

const result = (
  choice: Partial<ChatResult['choices'][number]>,
  inputTokens = 10,
  outputTokens = 4,
): ChatResult => ({
  choices: [{ text: null, toolCalls: [], finishReason: 'stop', ...choice }],
  inputTokens,
  outputTokens,
});

const usage = (i: number, o: number) => ({
  input_tokens: i,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: o,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: i + o,
});

describe('chat result → response object', () => {
  it('gives text as one completed message', () => {
    expect(completedResponse(plain, result({ text: 'Hello!' }), meta)).toEqual({
      ...echoOfPlain,
      status: 'completed',
      incomplete_details: null,
      output: [
        {
          type: 'message',
          id: 'msg_req1_0',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
        },
      ],
      usage: usage(10, 4),
    });
  });

  it('gives each tool call as a function_call item, after the text', () => {
    const r = completedResponse(
      plain,
      result({
        text: 'Checking both.',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { id: 'call_b', name: 'get_weather', arguments: '{"city":"Bergen"}' },
        ],
        finishReason: 'tool_calls',
      }),
      meta,
    );
    expect(r.status).toBe('completed');
    expect(r.output).toEqual([
      expect.objectContaining({ type: 'message', id: 'msg_req1_0', status: 'completed' }),
      {
        type: 'function_call',
        id: 'fc_req1_1',
        call_id: 'call_a',
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
        status: 'completed',
      },
      {
        type: 'function_call',
        id: 'fc_req1_2',
        call_id: 'call_b',
        name: 'get_weather',
        arguments: '{"city":"Bergen"}',
        status: 'completed',
      },
    ]);
  });

  it('gives no message for tool calls without text', () => {
    const r = completedResponse(
      plain,
      result({ toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }], finishReason: 'tool_calls' }),
      meta,
    );
    expect((r.output as { type: string; id: string }[]).map((i) => [i.type, i.id])).toEqual([
      ['function_call', 'fc_req1_0'],
    ]);
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ] as const)('makes %s an incomplete response (%s)', (finishReason, reason) => {
    const r = completedResponse(plain, result({ text: 'Half a sent', finishReason }), meta);
    expect(r).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason },
      output: [{ type: 'message', status: 'incomplete' }],
    });
  });

  it('gives the log probabilities when the upstream returns them', () => {
    const logprobs = [
      { token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [] },
      {
        token: '!',
        logprob: -0.5,
        bytes: [33],
        top_logprobs: [{ token: '.', logprob: -1.2, bytes: [46] }],
      },
    ];
    const r = completedResponse(plain, result({ text: 'Hi!', logprobs }), meta);
    expect(r.output).toEqual([
      expect.objectContaining({
        content: [{ type: 'output_text', text: 'Hi!', annotations: [], logprobs }],
      }),
    ]);
  });

  it('gives an empty message for an empty answer', () => {
    const r = completedResponse(plain, result({ text: null }, 3, 0), meta);
    expect(r.output).toEqual([
      expect.objectContaining({
        type: 'message',
        content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }],
      }),
    ]);
    expect(r.usage).toEqual(usage(3, 0));
  });

  it('echoes the request settings as OpenAI does', () => {
    const request = valid(fullRequest);
    const r = completedResponse(request, result({ text: '{}' }), meta);
    expect(r).toMatchObject({
      instructions: 'Answer in one sentence.',
      max_output_tokens: 500,
      parallel_tool_calls: false,
      reasoning: { effort: 'low', summary: null },
      store: false,
      temperature: 0.4,
      top_p: 0.9,
      top_logprobs: 2,
      text: {
        format: {
          type: 'json_schema',
          name: 'forecast',
          description: 'A forecast',
          schema: { type: 'object', properties: { summary: { type: 'string' } } },
          strict: true,
        },
      },
      tool_choice: { type: 'function', name: 'get_forecast' },
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Current weather',
          parameters: weatherTool.parameters,
          strict: null,
        },
        expect.objectContaining({ name: 'get_forecast', strict: true }),
      ],
      metadata: { ticket: 'T-1' },
      user: null,
    });
    expect(JSON.stringify(r)).not.toContain('user-1');
  });
});

describe('chat events → Responses events', () => {
  const translate = (events: ChatStreamEvent[], request = plain): ResponsesEvent[] => {
    const stream = new ResponsesEventStream(request, meta);
    return [...events.flatMap((e) => stream.push(e)), ...stream.end()];
  };
  const choice = (delta: Record<string, unknown>): ChatStreamEvent => ({
    type: 'choice',
    delta: { index: 0, ...delta },
  });

  it('streams text: created, in_progress, the message, its deltas, done, completed', () => {
    const events = translate([
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Hel' }),
      choice({ content: 'lo' }),
      choice({ finishReason: 'stop' }),
      { type: 'usage', inputTokens: 5, outputTokens: 2 },
    ]);
    const inProgress = {
      ...echoOfPlain,
      status: 'in_progress',
      incomplete_details: null,
      output: [],
      usage: null,
    };
    const message = {
      type: 'message',
      id: 'msg_req1_0',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }],
    };
    const at = { item_id: 'msg_req1_0', output_index: 0, content_index: 0 };
    expect(events).toEqual([
      { type: 'response.created', sequence_number: 0, response: inProgress },
      { type: 'response.in_progress', sequence_number: 1, response: inProgress },
      {
        type: 'response.output_item.added',
        sequence_number: 2,
        output_index: 0,
        item: { ...message, status: 'in_progress', content: [] },
      },
      {
        type: 'response.content_part.added',
        sequence_number: 3,
        ...at,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      },
      {
        type: 'response.output_text.delta',
        sequence_number: 4,
        ...at,
        delta: 'Hel',
        logprobs: [],
      },
      { type: 'response.output_text.delta', sequence_number: 5, ...at, delta: 'lo', logprobs: [] },
      {
        type: 'response.output_text.done',
        sequence_number: 6,
        ...at,
        text: 'Hello',
        logprobs: [],
      },
      { type: 'response.content_part.done', sequence_number: 7, ...at, part: message.content[0] },
      { type: 'response.output_item.done', sequence_number: 8, output_index: 0, item: message },
      {
        type: 'response.completed',
        sequence_number: 9,
        response: { ...inProgress, status: 'completed', output: [message], usage: usage(5, 2) },
      },
    ]);
  });

  it('streams tool calls: the text is done first, each call added, its pieces, then done', () => {
    const events = translate([
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Checking.' }),
      choice({ toolCalls: [{ index: 0, id: 'call_a', name: 'get_weather', arguments: '' }] }),
      choice({ toolCalls: [{ index: 0, arguments: '{"city":' }] }),
      choice({ toolCalls: [{ index: 0, arguments: '"Oslo"}' }] }),
      choice({ toolCalls: [{ index: 1, id: 'call_b', name: 'get_time', arguments: '{}' }] }),
      choice({ finishReason: 'tool_calls' }),
      { type: 'usage', inputTokens: 7, outputTokens: 9 },
    ]);
    expect(events.map((e) => [e.type, e.output_index ?? null])).toEqual([
      ['response.created', null],
      ['response.in_progress', null],
      ['response.output_item.added', 0],
      ['response.content_part.added', 0],
      ['response.output_text.delta', 0],
      ['response.output_text.done', 0],
      ['response.content_part.done', 0],
      ['response.output_item.done', 0],
      ['response.output_item.added', 1],
      ['response.function_call_arguments.delta', 1],
      ['response.function_call_arguments.delta', 1],
      ['response.output_item.added', 2],
      ['response.function_call_arguments.delta', 2],
      ['response.function_call_arguments.done', 1],
      ['response.output_item.done', 1],
      ['response.function_call_arguments.done', 2],
      ['response.output_item.done', 2],
      ['response.completed', null],
    ]);
    expect(events[8]).toEqual({
      type: 'response.output_item.added',
      sequence_number: 8,
      output_index: 1,
      item: {
        type: 'function_call',
        id: 'fc_req1_1',
        call_id: 'call_a',
        name: 'get_weather',
        arguments: '',
        status: 'in_progress',
      },
    });
    expect(events[13]).toEqual({
      type: 'response.function_call_arguments.done',
      sequence_number: 13,
      item_id: 'fc_req1_1',
      output_index: 1,
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
    });
    const completed = events.at(-1)!.response as Record<string, unknown>;
    // The same response a whole answer gives.
    expect(completed).toEqual(
      completedResponse(
        plain,
        result(
          {
            text: 'Checking.',
            toolCalls: [
              { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
              { id: 'call_b', name: 'get_time', arguments: '{}' },
            ],
            finishReason: 'tool_calls',
          },
          7,
          9,
        ),
        meta,
      ),
    );
  });

  it('passes log probabilities on with each delta, and all of them when the text is done', () => {
    const lp = (token: string) => ({ token, logprob: -0.25, bytes: null, top_logprobs: [] });
    const events = translate([
      choice({ content: 'Hel', logprobs: [lp('Hel')] }),
      choice({ content: 'lo', logprobs: [lp('lo')] }),
      choice({ finishReason: 'stop' }),
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.map((d) => d.logprobs)).toEqual([[lp('Hel')], [lp('lo')]]);
    expect(events.find((e) => e.type === 'response.output_text.done')?.logprobs).toEqual([
      lp('Hel'),
      lp('lo'),
    ]);
    expect(events.at(-1)).toMatchObject({
      response: { output: [{ content: [{ text: 'Hello', logprobs: [lp('Hel'), lp('lo')] }] }] },
    });
  });

  it('ends a cut-off answer with response.incomplete', () => {
    const events = translate([choice({ content: 'Half' }), choice({ finishReason: 'length' })]);
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: {
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        output: [{ type: 'message', status: 'incomplete' }],
        usage: usage(0, 0),
      },
    });
  });

  it('gives an empty message when the upstream sends nothing', () => {
    const types = translate([]).map((e) => e.type);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('ends a failure under way with response.failed: the fixed error and none of the content', () => {
    const stream = new ResponsesEventStream(plain, meta);
    const before = stream.push(choice({ content: CANARY }));
    const failed = stream.fail({ code: 'server_error', message: 'The model upstream failed' });
    expect(failed).toEqual([
      {
        type: 'response.failed',
        sequence_number: before.length,
        response: {
          ...echoOfPlain,
          status: 'failed',
          error: { code: 'server_error', message: 'The model upstream failed' },
          incomplete_details: null,
          output: [],
          usage: null,
        },
      },
    ]);
    expect(JSON.stringify(failed)).not.toContain(CANARY);
  });

  it('leaves the request content out of response.failed (instructions, tools, schema, metadata)', () => {
    const stream = new ResponsesEventStream(valid(fullRequest), meta);
    const [created] = stream.push(choice({ content: 'x' }));
    const [failed] = stream.fail({ code: 'server_error', message: 'The model upstream failed' });
    expect(created.response).toMatchObject({ instructions: 'Answer in one sentence.' });
    expect(failed.response).toMatchObject({
      instructions: null,
      tools: [],
      text: { format: { type: 'json_schema' } },
      metadata: {},
      temperature: 0.4,
      tool_choice: { type: 'function', name: 'get_forecast' },
    });
    const text = JSON.stringify(failed);
    for (const content of [
      'Answer in one',
      'Current weather',
      'A forecast',
      '"properties"',
      'T-1',
    ]) {
      expect(text).not.toContain(content);
    }
  });

  it('treats a tool call without id or name, or arguments after its end, as a broken answer', () => {
    const noId = new ResponsesEventStream(plain, meta);
    expect(() => noId.push(choice({ toolCalls: [{ index: 0, arguments: '{}' }] }))).toThrow(
      UpstreamError,
    );
    const late = new ResponsesEventStream(plain, meta);
    late.push(choice({ toolCalls: [{ index: 0, id: 'c', name: 'f' }] }));
    late.push(choice({ finishReason: 'tool_calls' }));
    expect(() => late.push(choice({ toolCalls: [{ index: 0, arguments: '{}' }] }))).toThrow(
      UpstreamError,
    );
  });

  it('writes each event as `event: <type>` and `data: <json>`', () => {
    const [created] = translate([]);
    expect(eventSse(created)).toBe(`event: response.created\ndata: ${JSON.stringify(created)}\n\n`);
  });
});
