/**
 * Wire-exact OpenAI answers: every field OpenAI's published API reference
 * marks required is present with the right JSON type (null where it allows
 * null), for every route and every event type of both streams, success and
 * every error status the gateway produces, end to end over HTTPS against
 * local mode (the real handlers).
 *
 * The required-field lists below are the project's own test data, taken from
 * the specification's facts: openai/openai-openapi, `openapi.yaml` version
 * 2.3.0 (commit f85dbe2, 2026-08-21). A field OpenAI adds later is one line
 * here.
 */

import { startLocalProcess, bearer, type LocalProcess } from '../../local/child-process';

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** A schema: required fields with their allowed types, and sub-schemas for nested objects. */
interface Shape {
  readonly [field: string]:
    | readonly JsonType[]
    | { readonly types: readonly JsonType[]; readonly shape: Shape; readonly each?: boolean };
}

const nested = (types: readonly JsonType[], shape: Shape, each = false) => ({ types, shape, each });

const ERROR: Shape = {
  error: nested(['object'], {
    type: ['string'],
    message: ['string'],
    param: ['string', 'null'],
    code: ['string', 'null'],
  }),
};

const CHAT_MESSAGE: Shape = {
  role: ['string'],
  content: ['string', 'null'],
  refusal: ['string', 'null'],
};
const COMPLETION_USAGE: Shape = {
  prompt_tokens: ['integer'],
  completion_tokens: ['integer'],
  total_tokens: ['integer'],
};

/** The fields every chat completion object and chunk requires besides its choices. */
const COMPLETION_OBJECT: Shape = {
  id: ['string'],
  object: ['string'],
  created: ['integer'],
  model: ['string'],
};

const SCHEMAS = {
  ErrorResponse: ERROR,
  CreateChatCompletionResponse: {
    ...COMPLETION_OBJECT,
    choices: nested(
      ['array'],
      {
        finish_reason: ['string'],
        index: ['integer'],
        message: nested(['object'], CHAT_MESSAGE),
        logprobs: ['object', 'null'],
      },
      true,
    ),
  },
  CreateChatCompletionStreamResponse: {
    ...COMPLETION_OBJECT,
    choices: nested(
      ['array'],
      { delta: ['object'], finish_reason: ['string', 'null'], index: ['integer'] },
      true,
    ),
  },
  CreateEmbeddingResponse: {
    object: ['string'],
    model: ['string'],
    data: nested(
      ['array'],
      { index: ['integer'], object: ['string'], embedding: ['array', 'string'] },
      true,
    ),
    usage: nested(['object'], { prompt_tokens: ['integer'], total_tokens: ['integer'] }),
  },
  ImagesResponse: { created: ['integer'] },
  ListModelsResponse: {
    object: ['string'],
    data: nested(
      ['array'],
      { id: ['string'], object: ['string'], created: ['integer'], owned_by: ['string'] },
      true,
    ),
  },
  Model: { id: ['string'], object: ['string'], created: ['integer'], owned_by: ['string'] },
  Response: {
    id: ['string'],
    object: ['string'],
    created_at: ['number', 'integer'],
    error: ['object', 'null'],
    incomplete_details: ['object', 'null'],
    instructions: ['string', 'array', 'null'],
    model: ['string'],
    tools: ['array'],
    output: ['array'],
    parallel_tool_calls: ['boolean'],
    metadata: ['object', 'null'],
    tool_choice: ['string', 'object'],
    temperature: ['number', 'integer', 'null'],
    top_p: ['number', 'integer', 'null'],
  },
  ResponseUsage: {
    input_tokens: ['integer'],
    input_tokens_details: nested(['object'], {
      cached_tokens: ['integer'],
      cache_write_tokens: ['integer'],
    }),
    output_tokens: ['integer'],
    output_tokens_details: nested(['object'], { reasoning_tokens: ['integer'] }),
    total_tokens: ['integer'],
  },
  OutputMessage: {
    id: ['string'],
    type: ['string'],
    role: ['string'],
    content: ['array'],
    status: ['string'],
  },
  OutputTextContent: {
    type: ['string'],
    text: ['string'],
    annotations: ['array'],
    logprobs: ['array'],
  },
} satisfies Record<string, Shape>;

/** The Responses stream's events: required fields by event type. */
const RESPONSE_EVENTS: Record<string, Shape> = {
  'response.created': { type: ['string'], response: ['object'], sequence_number: ['integer'] },
  'response.in_progress': { type: ['string'], response: ['object'], sequence_number: ['integer'] },
  'response.completed': { type: ['string'], response: ['object'], sequence_number: ['integer'] },
  'response.output_item.added': {
    type: ['string'],
    output_index: ['integer'],
    item: ['object'],
    sequence_number: ['integer'],
  },
  'response.output_item.done': {
    type: ['string'],
    output_index: ['integer'],
    item: ['object'],
    sequence_number: ['integer'],
  },
  'response.content_part.added': {
    type: ['string'],
    item_id: ['string'],
    output_index: ['integer'],
    content_index: ['integer'],
    part: ['object'],
    sequence_number: ['integer'],
  },
  'response.content_part.done': {
    type: ['string'],
    item_id: ['string'],
    output_index: ['integer'],
    content_index: ['integer'],
    part: ['object'],
    sequence_number: ['integer'],
  },
  'response.output_text.delta': {
    type: ['string'],
    item_id: ['string'],
    output_index: ['integer'],
    content_index: ['integer'],
    delta: ['string'],
    sequence_number: ['integer'],
    logprobs: ['array'],
  },
  'response.output_text.done': {
    type: ['string'],
    item_id: ['string'],
    output_index: ['integer'],
    content_index: ['integer'],
    text: ['string'],
    sequence_number: ['integer'],
    logprobs: ['array'],
  },
};

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

/** Every required field missing or of the wrong type, as `path: problem`. */
function problems(value: unknown, shape: Shape, path = '$'): string[] {
  if (typeOf(value) !== 'object') return [`${path}: not an object`];
  const out: string[] = [];
  const record = value as Record<string, unknown>;
  for (const [field, rule] of Object.entries(shape)) {
    const at = `${path}.${field}`;
    if (!(field in record)) {
      out.push(`${at}: missing`);
      continue;
    }
    const types: readonly JsonType[] = Array.isArray(rule)
      ? (rule as readonly JsonType[])
      : (rule as { readonly types: readonly JsonType[] }).types;
    const actual = typeOf(record[field]);
    // An integer is a number too.
    const ok = types.includes(actual) || (actual === 'integer' && types.includes('number'));
    if (!ok) out.push(`${at}: ${actual}, expected ${types.join(' or ')}`);
    if (!Array.isArray(rule) && ok && record[field] !== null) {
      const { shape: sub, each } = rule as { shape: Shape; each?: boolean };
      if (each) {
        (record[field] as unknown[]).forEach((item, i) =>
          out.push(...problems(item, sub, `${at}[${i}]`)),
        );
      } else {
        out.push(...problems(record[field], sub, at));
      }
    }
  }
  return out;
}

/** The `data:` payloads of an SSE body, with their `event:` names when given. */
function events(body: string): { event?: string; data: string }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return event ? { event, data } : { data };
    });
}

describe('OpenAI conformance: required fields and types (openai-openapi 2.3.0, 2026-08-21)', () => {
  let local: LocalProcess;
  const chat = { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] };

  beforeAll(async () => {
    local = await startLocalProcess({ args: ['--in-memory'] });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
  });

  const inference = () => bearer(local.inferenceKey);
  const json = async (path: string, body?: unknown, headers = inference(), method?: string) => {
    const answer = await local.call(path, {
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(method ? { method } : {}),
    });
    return { status: answer.status, body: JSON.parse(answer.body) as unknown, raw: answer.body };
  };

  it('chat completions, whole', async () => {
    const { status, body } = await json('/v1/chat/completions', chat);
    expect(status).toBe(200);
    expect(problems(body, SCHEMAS.CreateChatCompletionResponse)).toEqual([]);
    expect(problems((body as { usage: unknown }).usage, COMPLETION_USAGE)).toEqual([]);
  });

  it('chat completions, streamed: every chunk', async () => {
    const answer = await local.call('/v1/chat/completions', {
      headers: inference(),
      body: { ...chat, stream: true, stream_options: { include_usage: true } },
    });
    expect(answer.status).toBe(200);
    const chunks = events(answer.body).filter((e) => e.data !== '[DONE]');
    expect(chunks.length).toBeGreaterThan(2);
    expect(events(answer.body).at(-1)?.data).toBe('[DONE]');
    for (const chunk of chunks) {
      expect(problems(JSON.parse(chunk.data), SCHEMAS.CreateChatCompletionStreamResponse)).toEqual(
        [],
      );
    }
  });

  it('the Responses API, whole', async () => {
    const { status, body } = await json('/v1/responses', { model: 'demo-chat', input: 'Hello' });
    expect(status).toBe(200);
    const response = body as { usage: unknown; output: { content: unknown[] }[] };
    expect(problems(response, SCHEMAS.Response)).toEqual([]);
    expect(problems(response.usage, SCHEMAS.ResponseUsage)).toEqual([]);
    expect(problems(response.output[0], SCHEMAS.OutputMessage)).toEqual([]);
    expect(problems(response.output[0].content[0], SCHEMAS.OutputTextContent)).toEqual([]);
  });

  it('the Responses API, streamed: every event type', async () => {
    const answer = await local.call('/v1/responses', {
      headers: inference(),
      body: { model: 'demo-chat', input: 'Hello', stream: true },
    });
    expect(answer.status).toBe(200);
    const seen = new Set<string>();
    for (const { event, data } of events(answer.body)) {
      const parsed = JSON.parse(data) as { type: string; response?: { usage?: unknown } };
      expect(parsed.type).toBe(event);
      const shape = RESPONSE_EVENTS[parsed.type];
      expect({ type: parsed.type, known: shape !== undefined }).toEqual({
        type: parsed.type,
        known: true,
      });
      seen.add(parsed.type);
      expect({ type: parsed.type, problems: problems(parsed, shape) }).toEqual({
        type: parsed.type,
        problems: [],
      });
      if (parsed.response) {
        expect(problems(parsed.response, SCHEMAS.Response)).toEqual([]);
      }
      if (parsed.type === 'response.completed') {
        expect(problems(parsed.response?.usage, SCHEMAS.ResponseUsage)).toEqual([]);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(RESPONSE_EVENTS).sort());
  });

  it('embeddings, models, one model, images', async () => {
    const embeddings = await json('/v1/embeddings', { model: 'demo-embedding', input: ['a', 'b'] });
    expect(embeddings.status).toBe(200);
    expect(problems(embeddings.body, SCHEMAS.CreateEmbeddingResponse)).toEqual([]);
    const models = await json('/v1/models');
    expect(problems(models.body, SCHEMAS.ListModelsResponse)).toEqual([]);
    const model = await json('/v1/models/demo-chat');
    expect(problems(model.body, SCHEMAS.Model)).toEqual([]);
    const image = await json('/v1/images/generations', {
      model: 'demo-image',
      prompt: 'a lighthouse',
      response_format: 'b64_json',
    });
    expect(image.status).toBe(200);
    expect(problems(image.body, SCHEMAS.ImagesResponse)).toEqual([]);
  });

  it.each([
    ['400 bad body', () => json('/v1/chat/completions', { model: 'demo-chat' }), 400],
    ['401 no key', () => json('/v1/models', undefined, {}), 401],
    ['401 wrong key', () => json('/v1/models', undefined, bearer('eph_AAAAAAAAAAAAAAAA_x')), 401],
    ['403 admin route', () => json('/v1/keys', undefined, inference()), 403],
    ['404 unknown route', () => json('/v1/nothing-here'), 404],
    ['404 unknown model', () => json('/v1/models/no-such-model'), 404],
    ['405 wrong method', () => json('/v1/chat/completions', undefined, inference(), 'GET'), 405],
  ] as const)(
    'error %s: the error object has every required field',
    async (_name, call, status) => {
      const answer = await call();
      expect(answer.status).toBe(status);
      expect(problems(answer.body, SCHEMAS.ErrorResponse)).toEqual([]);
    },
  );
});
