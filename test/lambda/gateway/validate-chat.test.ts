import fc from 'fast-check';
import { validateChat } from '../../../lambda/gateway/validate-chat';

const ok = (body: unknown) => {
  const result = validateChat(body);
  if (!result.ok) throw new Error(`expected ok, got: ${result.message}`);
  return result.value;
};
const message = (body: unknown) => {
  const result = validateChat(body);
  if (result.ok) throw new Error('expected a validation error');
  return result.message;
};

const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

describe('validateChat', () => {
  it('normalises a full request', () => {
    expect(
      ok({
        model: 'm',
        messages: [
          {
            role: 'developer',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              {
                type: 'image_url',
                image_url: { url: 'data:image/png;base64,iVBO', detail: 'low' },
              },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'result' },
        ],
        temperature: 0,
        top_p: 1,
        max_completion_tokens: 10,
        n: 2,
        stop: 'END',
        stream: true,
        stream_options: { include_usage: true },
        seed: -5,
        presence_penalty: -2,
        frequency_penalty: 2,
        tools: [
          {
            type: 'function',
            function: {
              name: 'f',
              description: 'd',
              parameters: { type: 'object' },
              strict: true,
            },
          },
        ],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_schema', json_schema: { name: 's' } },
        user: 'ignored',
        metadata: { team: 'ignored' },
        store: false,
        logprobs: true,
        top_logprobs: 3,
        parallel_tool_calls: false,
        reasoning_effort: 'low',
      }),
    ).toEqual({
      model: 'm',
      messages: [
        { role: 'system', text: 'ab' },
        {
          role: 'user',
          parts: [
            { type: 'text', text: 'look' },
            { type: 'image', url: 'data:image/png;base64,iVBO', detail: 'low' },
          ],
        },
        { role: 'assistant', text: null, toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'c1', text: 'result' },
      ],
      temperature: 0,
      topP: 1,
      n: 2,
      stop: ['END'],
      stream: true,
      includeUsage: true,
      seed: -5,
      presencePenalty: -2,
      frequencyPenalty: 2,
      tools: [{ name: 'f', description: 'd', parameters: { type: 'object' }, strict: true }],
      toolChoice: { name: 'f' },
      responseFormat: { type: 'json_schema', jsonSchema: { name: 's' } },
      logprobs: true,
      topLogprobs: 3,
      parallelToolCalls: false,
      reasoningEffort: 'low',
      maxTokens: 10,
      maxTokensField: 'max_completion_tokens',
    });
  });

  it('applies defaults', () => {
    expect(ok(base)).toEqual({
      model: 'm',
      messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
      n: 1,
      stop: [],
      stream: false,
      includeUsage: false,
      tools: [],
    });
  });

  it.each([
    [{ ...base, model: 3 }, 'model must be a non-empty string'],
    [{ ...base, messages: [] }, 'messages must be a non-empty array of at most 4096 messages'],
    [
      { ...base, messages: [{ role: 'robot', content: 'x' }] },
      "messages[0].role must be 'system', 'developer', 'user', 'assistant' or 'tool'",
    ],
    [
      { ...base, messages: [{ role: 'user', content: 5 }] },
      'messages[0].content must be a string or a non-empty array of content parts',
    ],
    [
      { ...base, messages: [{ role: 'user', content: [{ type: 'audio' }] }] },
      "messages[0].content[0].type must be 'text' or 'image_url'",
    ],
    [
      {
        ...base,
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] },
        ],
      },
      'messages[0].content[0].image_url.url must be an https: or data:image/ URL',
    ],
    [{ ...base, messages: [{ role: 'assistant' }] }, 'messages[0] must have content or tool_calls'],
    [
      { ...base, messages: [{ role: 'tool', content: 'x' }] },
      'messages[0].tool_call_id must be a non-empty string',
    ],
    [{ ...base, temperature: 2.01 }, 'temperature must be a number from 0 to 2'],
    [{ ...base, temperature: '1' }, 'temperature must be a number from 0 to 2'],
    [{ ...base, top_p: 1.5 }, 'top_p must be a number from 0 to 1'],
    [{ ...base, max_tokens: 0 }, 'max_tokens must be a whole number from 1 to 1000000'],
    [{ ...base, max_tokens: 1.5 }, 'max_tokens must be a whole number from 1 to 1000000'],
    [{ ...base, n: 9 }, 'n must be a whole number from 1 to 8'],
    [
      { ...base, stop: ['a', 'b', 'c', 'd', 'e'] },
      'stop must be a non-empty string or an array of at most 4 non-empty strings',
    ],
    [
      { ...base, stop: [''] },
      'stop must be a non-empty string or an array of at most 4 non-empty strings',
    ],
    [{ ...base, presence_penalty: -3 }, 'presence_penalty must be a number from -2 to 2'],
    [{ ...base, frequency_penalty: Infinity }, 'frequency_penalty must be a number from -2 to 2'],
    [{ ...base, seed: 2 ** 60 }, 'seed must be a whole number'],
    [{ ...base, stream: 'yes' }, 'stream must be true or false'],
    [
      { ...base, tools: [{ type: 'function', function: { name: 'bad name' } }] },
      'tools[0].function.name must be 1-64 characters',
    ],
    [{ ...base, tool_choice: 'required' }, "tool_choice 'required' needs tools"],
    [
      { ...base, tool_choice: { type: 'function', function: { name: 'nope' } } },
      'tool_choice must name one of the tools',
    ],
    [{ ...base, response_format: { type: 'xml' } }, 'response_format must be'],
    [{ ...base, store: true }, 'store must be false or absent: this gateway keeps no'],
    [{ ...base, user: 5 }, 'user must be a string'],
    [{ ...base, metadata: 'x' }, 'metadata must be an object'],
    [{ ...base, top_logprobs: 2 }, 'top_logprobs needs logprobs: true'],
    [{ ...base, logprobs: true, top_logprobs: 21 }, 'top_logprobs must be a whole number'],
    [{ ...base, reasoning_effort: 'VERY HIGH' }, 'reasoning_effort must be a level'],
    [
      { ...base, tools: [{ type: 'function', function: { name: 'f', strict: 'yes' } }] },
      'tools[0].function.strict must be true or false',
    ],
  ])('refuses %j', (body, expected) => {
    expect(message(body)).toContain(expected);
  });

  it.each([
    [{ ...base, temperature: 9 }, 'temperature'],
    [{ ...base, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [
      { ...base, tools: [{ type: 'function', function: { name: 'f', strict: 1 } }] },
      'tools[0].function.strict',
    ],
    [{ ...base, store: true }, 'store'],
    [{ ...base, tool_choice: 'required' }, 'tool_choice'],
    ['not an object', undefined],
  ])('names the field at fault of %j in param', (body, param) => {
    const result = validateChat(body);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.param).toBe(param);
  });

  const CANARY = 'CANARY-5e1b';
  const canaryString = fc.string({ maxLength: 20 }).map((s) => `${CANARY}${s}`);
  const anyValue = fc.oneof(
    canaryString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(canaryString, { maxLength: 3 }),
    fc.dictionary(canaryString, canaryString, { maxKeys: 3 }),
  );
  const part = fc.oneof(
    fc.record({ type: fc.constant('text'), text: anyValue }),
    fc.record({ type: fc.constant('image_url'), image_url: fc.record({ url: anyValue }) }),
    anyValue,
  );
  const msg = fc.record(
    {
      role: fc.oneof(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'), anyValue),
      content: fc.oneof(anyValue, fc.array(part, { maxLength: 3 })),
      tool_call_id: anyValue,
      tool_calls: fc.oneof(
        anyValue,
        fc.array(
          fc.record({
            id: anyValue,
            type: fc.constant('function'),
            function: fc.record({ name: anyValue, arguments: anyValue }),
          }),
          {
            maxLength: 2,
          },
        ),
      ),
    },
    { requiredKeys: ['role'] },
  );
  const chatish = fc.record(
    {
      model: fc.oneof(canaryString, anyValue),
      messages: fc.oneof(anyValue, fc.array(msg, { maxLength: 4 })),
      temperature: anyValue,
      top_p: anyValue,
      max_tokens: anyValue,
      n: anyValue,
      stop: anyValue,
      seed: anyValue,
      tools: fc.oneof(
        anyValue,
        fc.array(
          fc.record({
            type: fc.constant('function'),
            function: fc.record({ name: anyValue, description: anyValue, parameters: anyValue }),
          }),
          {
            maxLength: 2,
          },
        ),
      ),
      tool_choice: anyValue,
      response_format: anyValue,
      stream: anyValue,
      stream_options: anyValue,
    },
    { requiredKeys: [] },
  );

  it('never throws and never quotes the request in an error (property)', () => {
    fc.assert(
      fc.property(fc.oneof(chatish, fc.jsonValue()), (body) => {
        const result = validateChat(body);
        if (!result.ok) {
          expect(result.message).not.toContain(CANARY);
          expect(result.message.length).toBeLessThan(200);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps every accepted message text unchanged (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (texts) => {
        const value = ok({
          model: 'm',
          messages: texts.map((content) => ({ role: 'user', content })),
        });
        expect(
          value.messages.map((m) =>
            m.role === 'user' && m.parts[0].type === 'text' ? m.parts[0].text : undefined,
          ),
        ).toEqual(texts);
      }),
    );
  });
});
