import {
  BedrockRuntimeClient,
  ConverseCommand,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BedrockUpstream,
  bedrockFailure,
  finishReason,
  fromConverseOutput,
  fromImageBody,
  toConverseInput,
  toImageBody,
} from '../../../lambda/gateway/bedrock-upstream';
import { HttpError } from '../../../lambda/shared/http-errors';
import { UpstreamError } from '../../../lambda/gateway/upstream-contract';
import { validateChat, type ChatRequest } from '../../../lambda/gateway/validate-chat';
import { validateImages, type ImageRequest } from '../../../lambda/gateway/validate-images';
import { BEDROCK_CHAT_MODEL, BEDROCK_STOP_REASONS, pngBytes } from './support/fixtures';

const chat = (body: Record<string, unknown>): ChatRequest => {
  // Remote image URLs allowed, so that Bedrock's own refusal of them is tested.
  const r = validateChat({ model: 'm', ...body }, { remoteImageUrls: 'allow' });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const image = (body: Record<string, unknown>): ImageRequest => {
  const r = validateImages({ model: 'm', prompt: 'p', ...body }, 10);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const model = BEDROCK_CHAT_MODEL;

describe('toConverseInput', () => {
  it('maps system prompts, roles, tool history and sampling parameters', () => {
    const input = toConverseInput(
      chat({
        messages: [
          { role: 'system', content: 'sys1' },
          { role: 'user', content: 'q1' },
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,AAAA' } }],
          },
          {
            role: 'assistant',
            content: 'calling',
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'r1' },
          { role: 'developer', content: 'sys2' },
          { role: 'user', content: 'q2' },
        ],
        temperature: 0.2,
        top_p: 0.5,
        max_tokens: 64,
        stop: ['x'],
        seed: 3,
        presence_penalty: 1,
        tools: [{ type: 'function', function: { name: 'f', description: 'does f' } }],
        tool_choice: 'auto',
      }),
      'model-id',
    );
    expect(input).toEqual({
      modelId: 'model-id',
      system: [{ text: 'sys1' }, { text: 'sys2' }],
      messages: [
        {
          role: 'user',
          content: [
            { text: 'q1' },
            { image: { format: 'jpeg', source: { bytes: Buffer.from('AAAA', 'base64') } } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { text: 'calling' },
            { toolUse: { toolUseId: 'c1', name: 'f', input: { a: 1 } } },
          ],
        },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId: 'c1', content: [{ text: 'r1' }] } }, { text: 'q2' }],
        },
      ],
      inferenceConfig: { maxTokens: 64, temperature: 0.2, topP: 0.5, stopSequences: ['x'] },
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: 'f',
              description: 'does f',
              inputSchema: { json: { type: 'object', properties: {} } },
            },
          },
        ],
        toolChoice: { auto: {} },
      },
    });
  });

  it('omits empty parts and leaves tools out for tool_choice none without tool history', () => {
    const input = toConverseInput(
      chat({
        messages: [{ role: 'user', content: 'q' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'none',
      }),
      'id',
    );
    expect(input).toEqual({
      modelId: 'id',
      messages: [{ role: 'user', content: [{ text: 'q' }] }],
    });
  });

  it('maps a named tool choice', () => {
    const input = toConverseInput(
      chat({
        messages: [{ role: 'user', content: 'q' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
      }),
      'id',
    );
    expect(input.toolConfig?.toolChoice).toEqual({ tool: { name: 'f' } });
  });

  it.each([
    [
      { tools: [{ type: 'function', function: { name: 'f', strict: true } }] },
      'tools[0].function.strict',
    ],
    [
      { tools: [{ type: 'function', function: { name: 'f' } }], parallel_tool_calls: false },
      'parallel_tool_calls',
    ],
    [{ logprobs: true }, 'logprobs'],
    [{ logprobs: true, top_logprobs: 2 }, 'logprobs'],
    [{ reasoning_effort: 'low' }, 'reasoning_effort'],
    [{ n: 2 }, 'n'],
    [{ temperature: 1.5 }, 'temperature'],
  ])('refuses %j with a 400 naming the field it cannot honour', (fields, param) => {
    const request = chat({ messages: [{ role: 'user', content: 'q' }], ...fields });
    let thrown: unknown;
    try {
      toConverseInput(request, 'id');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect((thrown as HttpError).status).toBe(400);
    expect((thrown as HttpError).param).toBe(param);
    expect((thrown as HttpError).message).toMatch(
      new RegExp(`^${param.replace(/[[\].]/g, '\\$&')} .* with this upstream`),
    );
  });

  it('accepts what Converse does honour: strict false, parallel tool calls allowed, logprobs false', () => {
    const request = chat({
      messages: [{ role: 'user', content: 'q' }],
      tools: [{ type: 'function', function: { name: 'f', strict: false } }],
      parallel_tool_calls: true,
      logprobs: false,
      max_completion_tokens: 5,
    });
    expect(toConverseInput(request, 'id').inferenceConfig).toEqual({ maxTokens: 5 });
  });

  it.each([
    [{ n: 2 }, 'n must be 1 with this upstream'],
    [{ temperature: 1.2 }, 'temperature must be from 0 to 1 with this upstream'],
    [
      { response_format: { type: 'json_object' } },
      'response_format must be {"type":"text"} with this upstream',
    ],
    [
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }],
          },
        ],
      },
      'messages[0].content[0].image_url.url must be a base64 data:image/ URL with this upstream',
    ],
    [
      {
        messages: [
          { role: 'user', content: 'q' },
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
          },
        ],
      },
      'messages[1].tool_calls[0].function.arguments must be a JSON object with this upstream',
    ],
  ])('refuses %j with a 400', (body, message) => {
    const request = chat({ messages: [{ role: 'user', content: 'q' }], ...body });
    expect(() => toConverseInput(request, 'id')).toThrow(
      new HttpError(400, 'invalid_request_error', message),
    );
  });
});

describe('fromConverseOutput', () => {
  it('joins text blocks and maps usage', () => {
    expect(
      fromConverseOutput({
        output: { message: { role: 'assistant', content: [{ text: 'a' }, { text: 'b' }] } },
        stopReason: 'max_tokens',
        usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
      }),
    ).toEqual({
      choices: [{ text: 'ab', toolCalls: [], finishReason: 'length' }],
      inputTokens: 3,
      outputTokens: 4,
    });
  });

  it('maps tool use to tool calls with null content', () => {
    expect(
      fromConverseOutput({
        output: {
          message: {
            role: 'assistant',
            content: [{ toolUse: { toolUseId: 't', name: 'f', input: { x: [1] } } }],
          },
        },
        stopReason: 'tool_use',
        usage: undefined,
      }),
    ).toEqual({
      choices: [
        {
          text: null,
          toolCalls: [{ id: 't', name: 'f', arguments: '{"x":[1]}' }],
          finishReason: 'tool_calls',
        },
      ],
      inputTokens: 0,
      outputTokens: 0,
    });
  });

  it('fails on a missing message', () => {
    expect(() =>
      fromConverseOutput({ output: undefined, stopReason: 'end_turn', usage: undefined }),
    ).toThrow(UpstreamError);
  });

  it.each<[string | undefined, string]>([...BEDROCK_STOP_REASONS, [undefined, 'stop']])(
    'maps stop reason %s to %s',
    (reason, expected) => {
      expect(finishReason(reason)).toBe(expected);
    },
  );
});

describe('image translation', () => {
  it('builds a TEXT_IMAGE body', () => {
    expect(toImageBody(image({ n: 3, size: '1024x512', seed: 9, quality: 'standard' }))).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'p' },
      imageGenerationConfig: {
        numberOfImages: 3,
        width: 1024,
        height: 512,
        quality: 'standard',
        seed: 9,
      },
    });
    expect(toImageBody(image({ quality: 'high' }))).toMatchObject({
      imageGenerationConfig: { quality: 'premium' },
    });
  });

  it.each([
    [{ prompt: 'x'.repeat(1025) }, 'prompt must be at most 1024 characters with this upstream'],
    [{ n: 6 }, 'n must be at most 5 with this upstream'],
    [{ size: '256x256' }, 'size must have sides from 320 to 4096'],
    [{ size: '1000x1000' }, 'size must have sides from 320 to 4096 divisible by 16'],
    [{ size: '2048x4096' }, 'at most 4194304 pixels'],
    [{ seed: 900_000_000 }, 'seed must be from 0 to 858993459 with this upstream'],
  ])('refuses %j', (body, message) => {
    expect(() => toImageBody(image(body))).toThrow(message);
  });

  it('reads images and refuses errors or non-images', () => {
    const png = pngBytes('x');
    const body = (v: unknown) => Buffer.from(JSON.stringify(v));
    expect(fromImageBody(body({ images: [png.toString('base64')] }), 1)).toEqual({ images: [png] });
    expect(() =>
      fromImageBody(body({ images: [png.toString('base64')], error: 'blocked: CANARY' }), 1),
    ).toThrow(new UpstreamError('failed'));
    expect(() => fromImageBody(body({ images: ['bm90IGFuIGltYWdl'] }), 1)).toThrow(UpstreamError);
    expect(() =>
      fromImageBody(body({ images: [png.toString('base64'), png.toString('base64')] }), 1),
    ).toThrow(UpstreamError);
    expect(() => fromImageBody(Buffer.from('not json'), 1)).toThrow(UpstreamError);
  });
});

describe('BedrockUpstream', () => {
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const mock = mockClient(client);
  afterAll(() => mock.restore());
  beforeEach(() => mock.reset());
  const signal = () => new AbortController().signal;

  it('sends Converse and InvokeModel with the upstream model id', async () => {
    mock.on(ConverseCommand).resolves({
      output: { message: { role: 'assistant', content: [{ text: 'ok' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      metrics: { latencyMs: 1 },
    });
    mock.on(InvokeModelCommand).resolves({
      body: Buffer.from(JSON.stringify({ images: [pngBytes().toString('base64')] })),
    } as never);
    const upstream = new BedrockUpstream(client);
    await expect(
      upstream.chat(chat({ messages: [{ role: 'user', content: 'q' }] }), model, signal()),
    ).resolves.toMatchObject({
      inputTokens: 1,
    });
    await expect(
      upstream.images(image({}), { ...model, upstreamId: 'amazon.nova-canvas-v1:0' }, signal()),
    ).resolves.toEqual({
      images: [pngBytes()],
    });
    expect(mock.commandCalls(ConverseCommand)[0].args[0].input.modelId).toBe(
      'amazon.nova-lite-v1:0',
    );
    expect(mock.commandCalls(InvokeModelCommand)[0].args[0].input).toMatchObject({
      modelId: 'amazon.nova-canvas-v1:0',
      contentType: 'application/json',
      accept: 'application/json',
    });
  });

  it('maps errors by name only, and an aborted signal to a timeout', () => {
    const aborted = new AbortController();
    aborted.abort();
    const named = (name: string) => Object.assign(new Error('CANARY prompt text'), { name });
    expect(bedrockFailure(named('ThrottlingException'), signal()).failure).toBe('throttled');
    expect(bedrockFailure(named('ValidationException'), signal()).failure).toBe('rejected');
    expect(bedrockFailure(named('ModelTimeoutException'), signal()).failure).toBe('timeout');
    expect(bedrockFailure(named('ModelErrorException'), signal()).failure).toBe('failed');
    expect(bedrockFailure(named('ResourceNotFoundException'), signal()).failure).toBe('no_model');
    const tooLong = Object.assign(named('ValidationException'), {
      message: 'Input is too long for requested model.',
    });
    expect(bedrockFailure(tooLong, signal()).failure).toBe('too_long');
    // The message is tested, never carried: the error's own text is fixed.
    expect(bedrockFailure(tooLong, signal()).message).toBe('Upstream input too long');
    expect(bedrockFailure(named('ValidationException'), aborted.signal).failure).toBe('timeout');
    expect(bedrockFailure('a string', signal()).message).toBe('Upstream call failed');
  });
});
