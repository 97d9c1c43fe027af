/**
 * The built-in demo model: a small OpenAI-compatible HTTP server on 127.0.0.1
 * that local mode uses as its upstream when there is no model server. The
 * gateway reaches it through its normal OpenAI-compatible upstream code.
 *
 * It speaks a subset of the API: `GET /v1/models`, `POST /v1/chat/completions`
 * (plain, streamed, tool calls), `POST /v1/images/generations` (always
 * base64 PNGs) and `POST /v1/embeddings` (float or base64). Replies are
 * deterministic and never echo the request: a chat answer is one of a few
 * fixed sentences picked by a SHA-256 of the messages, tool arguments are
 * fixed values chosen by JSON-schema type, images are gradients whose colours
 * derive from a hash, and an embedding is a unit vector drawn from a SHA-256
 * of its text (the same text, the same vector). Error messages never quote
 * the request either, and nothing is ever logged.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';

export const DEMO_CHAT_MODEL = 'demo-chat';
export const DEMO_IMAGE_MODEL = 'demo-image';
export const DEMO_EMBEDDING_MODEL = 'demo-embedding';
/** The demo embedding's length when `dimensions` is not given. */
export const DEMO_EMBEDDING_DIMENSIONS = 256;

export interface DemoModelOptions {
  /** Delay between streamed words, ms. @default 25 */
  readonly wordDelayMs?: number;
  /** @default 0 (any free port) */
  readonly port?: number;
}

export interface DemoModel {
  /** http://127.0.0.1:<port> (no trailing slash, no /v1) */
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** Largest request body read (bytes); more is answered with 413. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Largest side of a generated PNG, whatever size was asked for. */
const MAX_IMAGE_SIDE = 64;
const MAX_CHAT_CHOICES = 4;
const MAX_IMAGES = 10;
const MAX_EMBEDDING_INPUTS = 2048;
const MAX_EMBEDDING_DIMENSIONS = 4096;

const REPLIES: readonly string[] = [
  "This is Ephemera's demo model: it answers every prompt with one of a few fixed sentences, word by word.",
  'Hello from the Ephemera demo model, a tiny built-in server that stands in for a real language model.',
  'The demo model never reads your words for meaning; point local mode at a real model server for real answers.',
  'Your request reached the gateway, passed validation and came back through the normal upstream path, one word at a time.',
  'Nothing you send is stored or repeated here: this canned reply is picked by a hash of the conversation.',
  "Ephemera's local mode is running; this fixed answer shows the whole request path works end to end on your machine.",
];

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** JSON text of a value; `undefined` and other non-JSON values become ''. */
const jsonOf = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
};

/** The deterministic reply text for a list of messages (exported for tests). */
export function demoReply(messages: unknown): string {
  return REPLIES[sha256(jsonOf(messages)).readUInt32BE(0) % REPLIES.length];
}

/** A rough prompt token count: whitespace-separated words of all message text, at least 1. */
export function countPromptWords(messages: unknown): number {
  let words = 0;
  const add = (text: unknown) => {
    if (typeof text === 'string') words += text.split(/\s+/).filter((w) => w !== '').length;
  };
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (!isObject(m)) continue;
      if (Array.isArray(m.content)) {
        for (const part of m.content) if (isObject(part)) add(part.text);
      } else {
        add(m.content);
      }
    }
  }
  return Math.max(1, words);
}

/**
 * Tool-call arguments (JSON text) for a function's JSON-schema `parameters`:
 * each `required` property filled with a fixed value by its type, nested
 * objects likewise. Nothing comes from the conversation.
 */
export function demoToolArguments(parameters: unknown): string {
  return JSON.stringify(fillObject(parameters, 0));
}

function fillObject(schema: unknown, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(schema) || !Array.isArray(schema.required) || depth > 8) return out;
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const name of schema.required) {
    if (typeof name !== 'string') continue;
    const property = Object.prototype.hasOwnProperty.call(properties, name)
      ? properties[name]
      : undefined;
    out[name] = fillValue(property, depth + 1);
  }
  return out;
}

function fillValue(schema: unknown, depth: number): unknown {
  const declared = isObject(schema) ? schema.type : undefined;
  const type = Array.isArray(declared)
    ? (declared.find((t) => t !== 'null') ?? declared[0])
    : declared;
  switch (type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return fillObject(schema, depth);
    case 'null':
      return null;
    default:
      return 'demo';
  }
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, as PNG chunks use). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A small valid PNG: a `size`x`size` RGB gradient between four corner colours
 * taken from a SHA-256 of the seed. It holds no text chunks.
 */
export function demoPng(seed: string, size = MAX_IMAGE_SIDE): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > 1024) {
    throw new RangeError('size must be an integer from 1 to 1024');
  }
  const h = sha256(seed);
  const corner = (i: number) => [h[i * 3], h[i * 3 + 1], h[i * 3 + 2]];
  const [tl, tr, bl, br] = [corner(0), corner(1), corner(2), corner(3)];
  const stride = size * 3 + 1;
  const raw = Buffer.alloc(stride * size);
  const span = Math.max(1, size - 1);
  for (let y = 0; y < size; y++) {
    const v = y / span;
    raw[y * stride] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const u = x / span;
      for (let c = 0; c < 3; c++) {
        const top = tl[c] + (tr[c] - tl[c]) * u;
        const bottom = bl[c] + (br[c] - bl[c]) * u;
        raw[y * stride + 1 + x * 3 + c] = Math.round(top + (bottom - top) * v);
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter and interlace methods stay 0
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A failure answered with an OpenAI-style error body; messages never quote the request. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

const badRequest = (message: string, param: string | null = null) =>
  new HttpError(400, message, param);

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body); // leak-ok: the demo model's answer to the gateway
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: HttpError, headers: Record<string, string> = {}) {
  sendJson(
    res,
    err.status,
    { error: { message: err.message, type: err.type, param: err.param, code: err.code } },
    headers,
  );
}

/** Reads the JSON body (at most MAX_BODY_BYTES); resolves undefined after answering a failure. */
function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const tooLarge = () => {
    // Close the connection rather than reading the rest of an oversized body.
    sendError(res, new HttpError(413, 'Request body too large.', null, 'request_too_large'), {
      connection: 'close',
    });
  };
  return new Promise((resolve) => {
    if (Number(req.headers['content-length'] ?? '0') > MAX_BODY_BYTES) {
      tooLarge();
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: unknown) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge();
        finish(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish(undefined));
    req.on('end', () => {
      if (done) return;
      try {
        finish(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        sendError(res, badRequest('The request body is not valid JSON.'));
        finish(undefined);
      }
    });
  });
}

/** The validated parts of a chat request the demo model uses. */
interface ChatPlan {
  readonly messages: unknown[];
  readonly n: number;
  readonly maxTokens: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** The tool to call, if the answer is a tool call. */
  readonly tool: { readonly name: string; readonly parameters: unknown } | undefined;
}

function optionalInt(body: Record<string, unknown>, name: string, min: number, max: number) {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}.`, name);
  }
  return v;
}

function requireModel(body: Record<string, unknown>, model: string): void {
  if (body.model !== model) {
    throw new HttpError(
      404,
      `The model does not exist; this demo server offers '${model}'.`,
      'model',
      'model_not_found',
    );
  }
}

function planChat(body: unknown): ChatPlan {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  requireModel(body, DEMO_CHAT_MODEL);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('messages must be a non-empty array.', 'messages');
  }
  const n = optionalInt(body, 'n', 1, MAX_CHAT_CHOICES) ?? 1;
  const maxTokens =
    optionalInt(body, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER) ??
    optionalInt(body, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw badRequest('stream must be a boolean.', 'stream');
  }
  const streamOptions = body.stream_options;
  const includeUsage = isObject(streamOptions) && streamOptions.include_usage === true;
  // Tools are checked even when the answer is words.
  const tool = pickTool(body.tools, body.tool_choice);
  return {
    messages,
    n,
    maxTokens,
    stream: body.stream === true,
    includeUsage,
    tool: answersToolResult(messages, body.tool_choice) ? undefined : tool,
  };
}

/**
 * Whether the last message hands back a tool's result and the client does
 * not insist on another call: the demo then answers in words, so that a
 * client's tool loop ends as it would with a model.
 */
function answersToolResult(messages: unknown[], choice: unknown): boolean {
  const last = messages[messages.length - 1];
  return isObject(last) && last.role === 'tool' && choice !== 'required' && !isObject(choice);
}

function pickTool(tools: unknown, choice: unknown): ChatPlan['tool'] {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw badRequest('tools must be an array.', 'tools');
  const defined = tools.map((t) => {
    const fn = isObject(t) && isObject(t.function) ? t.function : undefined;
    if (!fn || typeof fn.name !== 'string' || fn.name === '') {
      throw badRequest('Each tool must be {"type":"function","function":{"name"}}.', 'tools');
    }
    return { name: fn.name, parameters: fn.parameters };
  });
  if (defined.length === 0 || choice === 'none') return undefined;
  if (isObject(choice)) {
    const name = isObject(choice.function) ? choice.function.name : undefined;
    const tool = defined.find((t) => t.name === name);
    if (!tool) throw badRequest('tool_choice must name one of the tools.', 'tool_choice');
    return tool;
  }
  return defined[0];
}

interface Completion {
  readonly id: string;
  readonly created: number;
  readonly words: readonly string[];
  readonly finishReason: 'stop' | 'length' | 'tool_calls';
  readonly toolCall: { readonly name: string; readonly arguments: string } | undefined;
  readonly usage: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
  };
}

function complete(plan: ChatPlan): Completion {
  const promptTokens = countPromptWords(plan.messages);
  const usage = (completionTokens: number) => ({
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  });
  const base = {
    id: `chatcmpl-demo-${randomBytes(12).toString('hex')}`,
    created: Math.floor(Date.now() / 1000),
  };
  if (plan.tool) {
    const args = demoToolArguments(plan.tool.parameters);
    return {
      ...base,
      words: [],
      finishReason: 'tool_calls',
      toolCall: { name: plan.tool.name, arguments: args },
      usage: usage(plan.n * Math.max(1, Math.ceil((plan.tool.name.length + args.length) / 4))),
    };
  }
  const all = demoReply(plan.messages).split(' ');
  const cut = plan.maxTokens !== undefined && plan.maxTokens < all.length;
  const words = cut ? all.slice(0, plan.maxTokens) : all;
  return {
    ...base,
    words,
    finishReason: cut ? 'length' : 'stop',
    toolCall: undefined,
    usage: usage(plan.n * words.length),
  };
}

/** The tool call id of choice `index`: derived from a hash of the messages. */
function toolCallId(messages: unknown, index: number): string {
  return `call_${sha256(`${jsonOf(messages)}\n${index}`)
    .toString('hex')
    .slice(0, 24)}`;
}

function completionBody(plan: ChatPlan, c: Completion): Record<string, unknown> {
  const choices = Array.from({ length: plan.n }, (_, index) => ({
    index,
    message: c.toolCall
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: toolCallId(plan.messages, index),
              type: 'function',
              function: { name: c.toolCall.name, arguments: c.toolCall.arguments },
            },
          ],
        }
      : { role: 'assistant', content: c.words.join(' ') },
    finish_reason: c.finishReason,
    logprobs: null,
  }));
  return {
    id: c.id,
    object: 'chat.completion',
    created: c.created,
    model: DEMO_CHAT_MODEL,
    choices,
    usage: c.usage,
  };
}

/** Splits text into at most `count` pieces of similar length (none empty). */
function pieces(text: string, count: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / count));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The SSE events of a streamed completion, grouped in steps written `wordDelayMs` apart. */
function streamSteps(plan: ChatPlan, c: Completion): string[][] {
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  const chunk = (index: number, delta: unknown, finishReason: string | null = null) =>
    event({
      id: c.id,
      object: 'chat.completion.chunk',
      created: c.created,
      model: DEMO_CHAT_MODEL,
      choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
      ...(plan.includeUsage ? { usage: null } : {}),
    });
  const indexes = Array.from({ length: plan.n }, (_, i) => i);
  const perChoice = (delta: (index: number) => unknown) => indexes.map((i) => chunk(i, delta(i)));
  const steps: string[][] = [];
  if (c.toolCall) {
    const call = c.toolCall;
    steps.push(perChoice(() => ({ role: 'assistant', content: null })));
    steps.push(
      perChoice((i) => ({
        tool_calls: [
          {
            index: 0,
            id: toolCallId(plan.messages, i),
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      })),
    );
    for (const piece of pieces(call.arguments, 3)) {
      steps.push(perChoice(() => ({ tool_calls: [{ index: 0, function: { arguments: piece } }] })));
    }
  } else {
    steps.push(perChoice(() => ({ role: 'assistant', content: '' })));
    c.words.forEach((word, w) => {
      const content = w < c.words.length - 1 ? `${word} ` : word;
      steps.push(perChoice(() => ({ content })));
    });
  }
  const last = indexes.map((i) => chunk(i, {}, c.finishReason));
  if (plan.includeUsage) {
    last.push(
      event({
        id: c.id,
        object: 'chat.completion.chunk',
        created: c.created,
        model: DEMO_CHAT_MODEL,
        choices: [],
        usage: c.usage,
      }),
    );
  }
  last.push('data: [DONE]\n\n');
  steps.push(last);
  return steps;
}

function planImages(body: unknown): { prompt: string; n: number; side: number } {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  requireModel(body, DEMO_IMAGE_MODEL);
  if (typeof body.prompt !== 'string' || body.prompt === '') {
    throw badRequest('prompt must be a non-empty string.', 'prompt');
  }
  const n = optionalInt(body, 'n', 1, MAX_IMAGES) ?? 1;
  let side = MAX_IMAGE_SIDE;
  if (body.size !== undefined && body.size !== null) {
    const m = typeof body.size === 'string' ? /^(\d{1,5})x(\d{1,5})$/.exec(body.size) : null;
    const width = m ? Number(m[1]) : 0;
    const height = m ? Number(m[2]) : 0;
    if (width < 1 || height < 1) throw badRequest("size must look like '1024x1024'.", 'size');
    side = Math.min(width, height, MAX_IMAGE_SIDE);
  }
  return { prompt: body.prompt, n, side };
}

/**
 * A deterministic unit vector for `text`: value i comes from a SHA-256 of the
 * text and i's block, so the first `dimensions` values are the same whatever
 * length is asked for (a shorter vector is a renormalised prefix, as OpenAI's
 * `dimensions` works). The same text always gives the same vector.
 */
export function demoEmbedding(text: string, dimensions = DEMO_EMBEDDING_DIMENSIONS): number[] {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_EMBEDDING_DIMENSIONS) {
    throw new RangeError(`dimensions must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}`);
  }
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const h = sha256(`${block}\n${text}`);
    for (let j = 0; j < h.length && values.length < dimensions; j += 4) {
      // An unsigned 32-bit value mapped onto [-1, 1].
      values.push((h.readUInt32BE(j) / 0xffffffff) * 2 - 1);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}

/** The validated parts of an embeddings request the demo model uses. */
interface EmbeddingPlan {
  readonly input: readonly string[];
  readonly dimensions: number;
  readonly base64: boolean;
}

function planEmbeddings(body: unknown): EmbeddingPlan {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  requireModel(body, DEMO_EMBEDDING_MODEL);
  const raw = body.input;
  const input = typeof raw === 'string' ? [raw] : raw;
  if (
    !Array.isArray(input) ||
    input.length === 0 ||
    input.length > MAX_EMBEDDING_INPUTS ||
    !input.every((t) => typeof t === 'string' && t !== '')
  ) {
    throw badRequest(
      `input must be a non-empty string or 1 to ${MAX_EMBEDDING_INPUTS} non-empty strings (token arrays are not supported).`,
      'input',
    );
  }
  const dimensions =
    optionalInt(body, 'dimensions', 1, MAX_EMBEDDING_DIMENSIONS) ?? DEMO_EMBEDDING_DIMENSIONS;
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw badRequest("encoding_format must be 'float' or 'base64'.", 'encoding_format');
  }
  return { input: input as string[], dimensions, base64: format === 'base64' };
}

/** The embeddings answer, in OpenAI's shape; tokens are the inputs' words (at least 1 each). */
function embeddingsBody(plan: EmbeddingPlan): Record<string, unknown> {
  const tokens = plan.input.reduce((sum, text) => sum + countPromptWords([{ content: text }]), 0);
  return {
    object: 'list',
    data: plan.input.map((text, index) => {
      const vector = demoEmbedding(text, plan.dimensions);
      let embedding: number[] | string = vector;
      if (plan.base64) {
        const bytes = Buffer.alloc(vector.length * 4);
        vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
        embedding = bytes.toString('base64');
      }
      return { object: 'embedding', index, embedding };
    }),
    model: DEMO_EMBEDDING_MODEL,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

const ROUTES: Readonly<Record<string, string>> = {
  '/v1/models': 'GET',
  '/v1/chat/completions': 'POST',
  '/v1/images/generations': 'POST',
  '/v1/embeddings': 'POST',
};

export async function startDemoModel(options: DemoModelOptions = {}): Promise<DemoModel> {
  const wordDelayMs = Math.max(0, options.wordDelayMs ?? 25);
  /** Stream timers still pending, so stop() can clear them all. */
  const timers = new Set<NodeJS.Timeout>();

  const stream = (res: ServerResponse, steps: readonly string[][]) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    let timer: NodeJS.Timeout | undefined;
    let next = 0;
    const cancel = () => {
      if (timer) {
        clearTimeout(timer);
        timers.delete(timer);
        timer = undefined;
      }
    };
    const writeStep = () => {
      if (timer) timers.delete(timer);
      timer = undefined;
      if (res.destroyed || res.writableEnded) return;
      for (const data of steps[next]) res.write(data);
      next++;
      if (next >= steps.length) {
        res.end();
        return;
      }
      timer = setTimeout(writeStep, wordDelayMs);
      timers.add(timer);
    };
    res.on('close', cancel);
    writeStep();
  };

  const handleChat = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req, res);
    if (body === undefined) return;
    const plan = planChat(body);
    const completion = complete(plan);
    if (plan.stream) stream(res, streamSteps(plan, completion));
    else sendJson(res, 200, completionBody(plan, completion));
  };

  const handleImages = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req, res);
    if (body === undefined) return;
    const { prompt, n, side } = planImages(body);
    const data = Array.from({ length: n }, (_, i) => ({
      b64_json: demoPng(`${prompt}\n${i}`, side).toString('base64'),
    }));
    sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data });
  };

  const handleEmbeddings = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req, res);
    if (body === undefined) return;
    sendJson(res, 200, embeddingsBody(planEmbeddings(body)));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const method = Object.prototype.hasOwnProperty.call(ROUTES, path) ? ROUTES[path] : undefined;
    if (method === undefined) {
      req.resume();
      throw new HttpError(404, 'Unknown path.', null, 'not_found');
    }
    if (req.method !== method) {
      req.resume();
      res.setHeader('allow', method);
      throw new HttpError(405, `Use ${method} on this path.`, null, 'method_not_allowed');
    }
    if (path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [DEMO_CHAT_MODEL, DEMO_IMAGE_MODEL, DEMO_EMBEDDING_MODEL].map((id) => ({
          id,
          object: 'model',
          created: 0,
          owned_by: 'ephemera-demo',
        })),
      });
    } else if (path === '/v1/chat/completions') {
      await handleChat(req, res);
    } else if (path === '/v1/embeddings') {
      await handleEmbeddings(req, res);
    } else {
      await handleImages(req, res);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      sendError(
        res,
        err instanceof HttpError
          ? err
          : new HttpError(500, 'The demo model failed.', null, null, 'server_error'),
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Errors after listening (a socket reset, ...) concern one connection only.
  server.on('error', () => undefined);

  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
