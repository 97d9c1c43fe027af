/**
 * Validates an OpenAI Responses API request body (`POST /v1/responses`) and
 * turns it into the gateway's chat request, so that either upstream serves it
 * unchanged. Beside it, the little the response object echoes that the chat
 * request does not hold: `instructions` and `metadata`.
 *
 * Stateless: the gateway keeps nothing, so every field that refers to stored
 * state is a 400 that says so (`store: true`, `previous_response_id`,
 * `conversation`, `background: true`, a stored `prompt`, `item_reference`
 * items, images and files by `file_id`). `user`, `safety_identifier` and
 * `prompt_cache_key` are read for their type only: never forwarded, logged
 * or echoed. Reasoning items of an earlier answer are left out (the upstream
 * cannot read another model's reasoning).
 *
 * Error messages start with the field at fault (with array indices) and say
 * the rule; they never quote a value. Unknown fields are ignored and never
 * forwarded.
 */

import {
  CHAT_LIMITS,
  functionDefinition,
  REMOTE_IMAGE_URL_REFUSED,
  STORE_REFUSED,
  TOOL_NAME,
  TOOL_NAME_RULE,
  toolChoiceOf,
  type ChatMessage,
  type ChatRequest,
  type ChatResponseFormat,
  type ChatValidationOptions,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type UserPart,
} from '../validate-chat';
import {
  compact,
  fail,
  has,
  isObject,
  optionalBool,
  optionalInt,
  optionalNumber,
  requiredModel,
  runValidation,
  type Validated,
} from '../validation';

export interface ResponsesRequest {
  /** The public model id (the chat request's too). */
  readonly model: string;
  /** The request as the chat path takes it; `instructions` is its first (system) message. */
  readonly chat: ChatRequest;
  /** `instructions` as given, echoed in the response object. */
  readonly instructions: string | null;
  /** `metadata` as given (`{}` without), echoed in the response object and nowhere else. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Where each chat message came from, by index: to name the request's own field in an error. */
  readonly origins: readonly MessageOrigin[];
}

/** The input item a chat message came from (`input` for a string input). */
export interface MessageOrigin {
  /** `instructions`, `input`, or the index of the item in `input`. */
  readonly item: number | 'instructions' | 'input';
  /** For an assistant turn, the `function_call` item of each of its tool calls. */
  readonly calls?: readonly number[];
}

/** Largest `metadata`: OpenAI's limits. */
export const METADATA_LIMITS = { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } as const;

/** Why fields that refer to stored state are refused: the reason, shared by each message. */
const NOTHING_KEPT = 'this gateway keeps no requests or responses';

/** Refusals of fields that need stored state; the first present wins. */
export const STATE_REFUSED = {
  previousResponseId: `previous_response_id cannot be used: ${NOTHING_KEPT}, so there is no earlier response to continue; send the whole conversation in input`,
  conversation: `conversation cannot be used: ${NOTHING_KEPT}, so there is no stored conversation to add to; send the whole conversation in input`,
  background: `background must be false or absent: ${NOTHING_KEPT}, so a response run in the background could never be fetched`,
  prompt: `prompt cannot be used: it names a prompt template stored with OpenAI, and ${NOTHING_KEPT} or templates; send the text as instructions and input`,
  itemReference: `is an item_reference: ${NOTHING_KEPT}, so there is no stored item to refer to; send the item itself (with the Vercel AI SDK, set providerOptions.openai.store to false)`,
  fileId: `cannot be used: it names a file stored with OpenAI, and ${NOTHING_KEPT} or files; send the image as a data:image/ URL`,
  fileSearchResults: `cannot be used: file search needs files stored with OpenAI, and ${NOTHING_KEPT} or files`,
} as const;

/** `include` entries asking for items this gateway never produces: accepted, nothing to add. */
const HARMLESS_INCLUDES: ReadonlySet<string> = new Set([
  'reasoning.encrypted_content',
  'web_search_call.results',
  'web_search_call.action.sources',
  'code_interpreter_call.outputs',
  'computer_call_output.output.image_url',
  'message.input_image.image_url',
]);
const LOGPROBS_INCLUDE = 'message.output_text.logprobs';

/** Validates a parsed JSON body. Never throws on bad input. */
export function validateResponses(
  body: unknown,
  options: ChatValidationOptions = {},
): Validated<ResponsesRequest> {
  return runValidation(() => parseResponses(body, options));
}

function parseResponses(body: unknown, options: ChatValidationOptions): ResponsesRequest {
  if (!isObject(body)) return fail('Request body must be a JSON object');
  // First: a client continuing a stored conversation learns why, whatever else it sent.
  refuseStoredState(body);
  const model = requiredModel(body);
  const instructions = optionalString(body, 'instructions');
  const messages: ChatMessage[] = [];
  const origins: MessageOrigin[] = [];
  if (instructions) {
    messages.push({ role: 'system', text: instructions });
    origins.push({ item: 'instructions' });
  }
  const input = inputMessages(body.input, options);
  messages.push(...input.messages);
  origins.push(...input.origins);

  // Read for their type only: never forwarded, recorded or echoed.
  for (const field of ['user', 'safety_identifier', 'prompt_cache_key']) {
    optionalString(body, field);
  }
  const metadata = metadataOf(body.metadata);
  if (has(body, 'stream_options') && !isObject(body.stream_options)) {
    fail('stream_options must be an object');
  }
  // `auto` would drop the conversation's first items when it is over the
  // model's context; the input goes on whole (the response says `disabled`).
  if (has(body, 'truncation') && body.truncation !== 'auto' && body.truncation !== 'disabled') {
    fail("truncation must be 'auto' or 'disabled'");
  }

  const maxTokens = optionalInt(body, 'max_output_tokens', 1, CHAT_LIMITS.maxTokens);
  const definedTools = tools(body.tools);
  const includesLogprobs = include(body.include);
  const topLogprobs = optionalInt(body, 'top_logprobs', 0, 20);
  const chat: ChatRequest = {
    model,
    messages,
    temperature: optionalNumber(body, 'temperature', 0, 2),
    topP: optionalNumber(body, 'top_p', 0, 1),
    maxTokens,
    n: 1,
    stop: [],
    stream: optionalBool(body, 'stream') ?? false,
    includeUsage: false,
    tools: definedTools,
    toolChoice: toolChoice(body.tool_choice, definedTools),
    responseFormat: textFormat(body.text),
    parallelToolCalls: optionalBool(body, 'parallel_tool_calls'),
    logprobs: includesLogprobs || topLogprobs !== undefined ? true : undefined,
    topLogprobs,
    reasoningEffort: reasoningEffort(body.reasoning),
    maxTokensField: maxTokens === undefined ? undefined : 'max_completion_tokens',
  };
  return { model, chat: compact(chat), instructions: instructions ?? null, metadata, origins };
}

function refuseStoredState(body: Record<string, unknown>): void {
  if (optionalBool(body, 'store') === true) fail(STORE_REFUSED, 'store');
  if (has(body, 'previous_response_id')) {
    fail(STATE_REFUSED.previousResponseId, 'previous_response_id');
  }
  if (has(body, 'conversation')) fail(STATE_REFUSED.conversation, 'conversation');
  if (optionalBool(body, 'background') === true) fail(STATE_REFUSED.background, 'background');
  if (has(body, 'prompt')) fail(STATE_REFUSED.prompt, 'prompt');
}

function optionalString(o: Record<string, unknown>, field: string): string | undefined {
  if (!has(o, field)) return undefined;
  if (typeof o[field] !== 'string') fail(`${field} must be a string`);
  return o[field] as string;
}

/** `input`: a string (one user message) or the conversation as items. */
function inputMessages(
  v: unknown,
  options: ChatValidationOptions,
): { messages: ChatMessage[]; origins: MessageOrigin[] } {
  if (typeof v === 'string') {
    return {
      messages: [{ role: 'user', parts: [{ type: 'text', text: v }] }],
      origins: [{ item: 'input' }],
    };
  }
  if (!Array.isArray(v) || v.length === 0 || v.length > CHAT_LIMITS.maxMessages) {
    return fail(
      `input must be a string or a non-empty array of at most ${CHAT_LIMITS.maxMessages} items`,
    );
  }
  const messages: ChatMessage[] = [];
  const origins: MessageOrigin[] = [];
  v.forEach((item: unknown, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) return fail(`${at} must be an object`);
    switch (itemType(item, at)) {
      case 'message':
        messages.push(messageItem(item, at, options));
        origins.push({ item: i });
        return;
      case 'function_call': {
        const call = functionCall(item, at);
        const last = messages.length - 1;
        const turn = messages[last];
        // Calls that follow an assistant turn belong to it (one turn, several calls).
        if (turn?.role === 'assistant') {
          messages[last] = { ...turn, toolCalls: [...turn.toolCalls, call] };
          origins[last] = { ...origins[last], calls: [...(origins[last].calls ?? []), i] };
        } else {
          messages.push({ role: 'assistant', text: null, toolCalls: [call] });
          origins.push({ item: i, calls: [i] });
        }
        return;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          toolCallId: callId(item, at),
          text: textParts(item.output, `${at}.output`, ['input_text']),
        });
        origins.push({ item: i });
        return;
      case 'reasoning':
        // Another model's reasoning (often encrypted): nothing the upstream can read.
        return;
    }
  });
  return { messages, origins };
}

type ItemType = 'message' | 'function_call' | 'function_call_output' | 'reasoning';

function itemType(item: Record<string, unknown>, at: string): ItemType {
  const type = item.type;
  if (type === undefined || type === null) {
    // OpenAI's shorthands: a message is known by its role, an item reference by its id alone.
    if (has(item, 'role')) return 'message';
    if (has(item, 'id')) return fail(`${at} ${STATE_REFUSED.itemReference}`, at);
    return fail(`${at} must be a message (with a role) or an item with a type`);
  }
  if (type === 'item_reference') return fail(`${at} ${STATE_REFUSED.itemReference}`, at);
  if (
    type === 'message' ||
    type === 'function_call' ||
    type === 'function_call_output' ||
    type === 'reasoning'
  ) {
    return type;
  }
  return fail(`${at}.type must be 'message', 'function_call' or 'function_call_output'`);
}

function messageItem(
  item: Record<string, unknown>,
  at: string,
  options: ChatValidationOptions,
): ChatMessage {
  const content = `${at}.content`;
  switch (item.role) {
    case 'system':
    case 'developer':
      return { role: 'system', text: textParts(item.content, content, ['input_text']) };
    case 'user':
      return { role: 'user', parts: userParts(item.content, content, options) };
    case 'assistant':
      return {
        role: 'assistant',
        text: textParts(item.content, content, ['output_text', 'input_text', 'refusal']),
        toolCalls: [],
      };
    default:
      return fail(`${at}.role must be 'user', 'system', 'developer' or 'assistant'`);
  }
}

/**
 * A `content` (or tool `output`) that is a string or an array of text parts
 * of the `accepted` types, as one text.
 */
function textParts(v: unknown, at: string, accepted: readonly string[]): string {
  if (typeof v === 'string') return v;
  const kinds = accepted.map((t) => `'${t}'`).join(' or ');
  if (!Array.isArray(v)) return fail(`${at} must be a string or an array of ${kinds} parts`);
  return v
    .map((part: unknown, j) => {
      const pat = `${at}[${j}]`;
      if (!isObject(part) || typeof part.type !== 'string' || !accepted.includes(part.type)) {
        return fail(`${pat}.type must be ${kinds}`);
      }
      const field = part.type === 'refusal' ? 'refusal' : 'text';
      if (typeof part[field] !== 'string') return fail(`${pat}.${field} must be a string`);
      return part[field] as string;
    })
    .join('');
}

function userParts(v: unknown, at: string, options: ChatValidationOptions): UserPart[] {
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  if (!Array.isArray(v) || v.length === 0) {
    return fail(`${at} must be a string or a non-empty array of content parts`);
  }
  return v.map((part: unknown, j): UserPart => {
    const pat = `${at}[${j}]`;
    if (!isObject(part)) return fail(`${pat} must be a content part object`);
    if (part.type === 'input_text') {
      if (typeof part.text !== 'string') return fail(`${pat}.text must be a string`);
      return { type: 'text', text: part.text };
    }
    if (part.type === 'input_image') return inputImage(part, pat, options);
    return fail(`${pat}.type must be 'input_text' or 'input_image'`);
  });
}

function inputImage(
  part: Record<string, unknown>,
  at: string,
  options: ChatValidationOptions,
): UserPart {
  if (has(part, 'file_id')) fail(`${at}.file_id ${STATE_REFUSED.fileId}`);
  const url = part.image_url;
  if (typeof url !== 'string' || !/^(https:\/\/|data:image\/)/.test(url)) {
    return fail(`${at}.image_url must be an https: or data:image/ URL`);
  }
  if (url.startsWith('https://') && options.remoteImageUrls !== 'allow') {
    return fail(`${at}.image_url ${REMOTE_IMAGE_URL_REFUSED}`);
  }
  const detail = part.detail ?? undefined;
  if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
    fail(`${at}.detail must be 'auto', 'low' or 'high'`);
  }
  return {
    type: 'image',
    url,
    ...(detail ? { detail: detail as 'auto' | 'low' | 'high' } : {}),
  };
}

function callId(item: Record<string, unknown>, at: string): string {
  const id = item.call_id;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    return fail(`${at}.call_id must be a non-empty string of at most 256 characters`);
  }
  return id;
}

function functionCall(item: Record<string, unknown>, at: string): ToolCall {
  const id = callId(item, at);
  if (typeof item.name !== 'string' || !TOOL_NAME.test(item.name)) {
    fail(`${at}.name ${TOOL_NAME_RULE}`);
  }
  if (typeof item.arguments !== 'string') fail(`${at}.arguments must be a string`);
  return { id, name: item.name as string, arguments: item.arguments as string };
}

/** `tools`: function tools only (Responses' flat shape); built-in tools are refused. */
function tools(v: unknown): ToolDefinition[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > CHAT_LIMITS.maxTools) {
    return fail(`tools must be an array of at most ${CHAT_LIMITS.maxTools} tools`);
  }
  return v.map((tool: unknown, i): ToolDefinition => {
    const at = `tools[${i}]`;
    if (!isObject(tool)) return fail(`${at} must be a tool object`);
    if (tool.type !== 'function') {
      return fail(
        `${at}.type must be 'function': built-in tools (web search, file search, code interpreter, ...) are not offered by this gateway`,
      );
    }
    // strict is passed on only when sent: OpenAI's default (true) would have Bedrock refuse every tool.
    return functionDefinition(tool, at);
  });
}

function toolChoice(v: unknown, defined: readonly ToolDefinition[]): ToolChoice | undefined {
  const named =
    isObject(v) && v.type === 'function' && typeof v.name === 'string' ? v.name : undefined;
  return toolChoiceOf(v, defined, named, '{"type":"function","name":...} naming a function tool');
}

/** `text.format` as the chat request's response format. */
function textFormat(v: unknown): ChatResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return fail('text must be an object');
  const format = v.format;
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) return fail('text.format must be an object');
  if (format.type === 'text' || format.type === 'json_object') return { type: format.type };
  if (format.type !== 'json_schema') {
    return fail("text.format.type must be 'text', 'json_object' or 'json_schema'");
  }
  if (typeof format.name !== 'string' || !TOOL_NAME.test(format.name)) {
    fail(`text.format.name ${TOOL_NAME_RULE}`);
  }
  if (!isObject(format.schema)) fail('text.format.schema must be a JSON Schema object');
  if (has(format, 'description') && typeof format.description !== 'string') {
    fail('text.format.description must be a string');
  }
  const strict = optionalBool(format, 'strict', 'text.format.strict');
  return {
    type: 'json_schema',
    jsonSchema: compact({
      name: format.name as string,
      schema: format.schema as Record<string, unknown>,
      strict,
      description: typeof format.description === 'string' ? format.description : undefined,
    }),
  };
}

/** `reasoning.effort`, passed on unchanged (the upstream knows its levels); `summary` is ignored. */
function reasoningEffort(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return fail('reasoning must be an object');
  const effort = v.effort;
  if (effort === undefined || effort === null) return undefined;
  if (typeof effort !== 'string' || !/^[a-z]{1,16}$/.test(effort)) {
    return fail("reasoning.effort must be a level such as 'low', 'medium' or 'high'");
  }
  return effort;
}

/**
 * `include`: whether it asks for the output's log probabilities. Entries for
 * items this gateway never produces are accepted; file search results (which
 * need stored files) and unknown entries are refused.
 */
function include(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (!Array.isArray(v)) return fail('include must be an array');
  let logprobs = false;
  v.forEach((entry: unknown, i) => {
    const at = `include[${i}]`;
    if (entry === LOGPROBS_INCLUDE) logprobs = true;
    else if (entry === 'file_search_call.results') fail(`${at} ${STATE_REFUSED.fileSearchResults}`);
    else if (typeof entry !== 'string' || !HARMLESS_INCLUDES.has(entry)) {
      fail(`${at} must be one of ${[LOGPROBS_INCLUDE, ...HARMLESS_INCLUDES].join(', ')}`);
    }
  });
  return logprobs;
}

/** `metadata`: at most 16 string pairs; kept only to echo in the response object. */
function metadataOf(v: unknown): Readonly<Record<string, string>> {
  if (v === undefined || v === null) return {};
  const { maxPairs, maxKeyLength, maxValueLength } = METADATA_LIMITS;
  const rule = `metadata must be an object of at most ${maxPairs} string values (keys up to ${maxKeyLength} characters, values up to ${maxValueLength})`;
  if (!isObject(v)) return fail(rule);
  const entries = Object.entries(v);
  if (
    entries.length > maxPairs ||
    entries.some(
      ([key, value]) =>
        key.length > maxKeyLength || typeof value !== 'string' || value.length > maxValueLength,
    )
  ) {
    return fail(rule);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
