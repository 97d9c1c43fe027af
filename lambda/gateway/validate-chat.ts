/**
 * Validates an OpenAI chat completion request body and turns it into the
 * gateway's own shape, keeping only the fields it understands.
 *
 * Error messages name the field (with array indices) and the rule; they never
 * quote a value. Unknown fields are ignored and never forwarded.
 */

import {
  fail,
  has,
  isObject,
  optionalBool,
  optionalInt,
  optionalNumber,
  requiredModel,
  runValidation,
  compact,
  type Validated,
} from './validation';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export type UserPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly url: string; readonly detail?: 'auto' | 'low' | 'high' };

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text of the arguments, as OpenAI carries them. */
  readonly arguments: string;
}

export type ChatMessage =
  | { readonly role: 'system'; readonly text: string }
  | { readonly role: 'user'; readonly parts: readonly UserPart[] }
  | {
      readonly role: 'assistant';
      readonly text: string | null;
      readonly toolCalls: readonly ToolCall[];
    }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly text: string };

export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the parameters. */
  readonly parameters?: Record<string, unknown>;
  /** Whether the upstream must hold the arguments to the schema exactly (`function.strict`). */
  readonly strict?: boolean;
}

export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

export type ChatResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly jsonSchema: Record<string, unknown> };

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number;
  readonly n: number;
  readonly stop: readonly string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly seed?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly tools: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly responseFormat?: ChatResponseFormat;
  /** Whether the model may call several tools in one turn (`parallel_tool_calls`). */
  readonly parallelToolCalls?: boolean;
  /** Log probabilities of the output tokens (`logprobs`). */
  readonly logprobs?: boolean;
  /** How many likely tokens to list at each position (`top_logprobs`, 0-20). */
  readonly topLogprobs?: number;
  /** A reasoning model's effort (`reasoning_effort`), passed on as given. */
  readonly reasoningEffort?: string;
  /**
   * The name the client gave the output-token limit: `max_completion_tokens`
   * (OpenAI's current name, which reasoning models require) or the older
   * `max_tokens`. An OpenAI-compatible upstream receives the same name.
   */
  readonly maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export const CHAT_LIMITS = {
  maxMessages: 4096,
  maxStop: 4,
  maxTools: 128,
  maxN: 8,
  maxTokens: 1_000_000,
} as const;

/** Text of a `content` that may be a string or an array of text parts. */
function textContent(v: unknown, at: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    return v
      .map((part, j) => {
        if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
          fail(`${at}[${j}] must be a text part ({"type":"text","text":...})`);
        }
        return (part as { text: string }).text;
      })
      .join('');
  }
  return fail(`${at} must be a string or an array of text parts`);
}

/** What the validator accepts beyond OpenAI's own rules. */
export interface ChatValidationOptions {
  /**
   * `deny`: image parts must be `data:image/` URLs; `allow`: `https://` URLs
   * are accepted too (the upstream then fetches them).
   * @default 'deny'
   */
  readonly remoteImageUrls?: 'deny' | 'allow';
}

/**
 * Why a remote image URL is refused, and how to change it. The upstream
 * would fetch it from inside the private network: a way for a client to make
 * the platform request addresses it cannot reach itself.
 */
export const REMOTE_IMAGE_URL_REFUSED =
  'must be a data:image/ URL: remote image URLs are refused because the model upstream would fetch them from inside the private network (a deployment can allow them with remoteImageUrls=allow)';

function userParts(v: unknown, at: string, options: ChatValidationOptions): UserPart[] {
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  if (!Array.isArray(v) || v.length === 0)
    return fail(`${at} must be a string or a non-empty array of content parts`);
  return v.map((part, j): UserPart => {
    const pat = `${at}[${j}]`;
    if (!isObject(part)) return fail(`${pat} must be a content part object`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') fail(`${pat}.text must be a string`);
      return { type: 'text', text: part.text as string };
    }
    if (part.type === 'image_url') {
      const img = part.image_url;
      if (
        !isObject(img) ||
        typeof img.url !== 'string' ||
        !/^(https:\/\/|data:image\/)/.test(img.url)
      ) {
        return fail(`${pat}.image_url.url must be an https: or data:image/ URL`);
      }
      if (img.url.startsWith('https://') && options.remoteImageUrls !== 'allow') {
        return fail(`${pat}.image_url.url ${REMOTE_IMAGE_URL_REFUSED}`);
      }
      const detail = img.detail;
      if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
        fail(`${pat}.image_url.detail must be 'auto', 'low' or 'high'`);
      }
      return {
        type: 'image',
        url: img.url,
        ...(detail ? { detail: detail as 'auto' | 'low' | 'high' } : {}),
      };
    }
    return fail(`${pat}.type must be 'text' or 'image_url'`);
  });
}

function toolCalls(v: unknown, at: string): ToolCall[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail(`${at} must be an array`);
  return v.map((call, k) => {
    const cat = `${at}[${k}]`;
    if (!isObject(call) || call.type !== 'function' || !isObject(call.function)) {
      return fail(`${cat} must be {"id","type":"function","function":{"name","arguments"}}`);
    }
    const fn = call.function;
    if (typeof call.id !== 'string' || call.id.length === 0 || call.id.length > 256) {
      fail(`${cat}.id must be a non-empty string`);
    }
    if (typeof fn.name !== 'string' || !TOOL_NAME.test(fn.name)) {
      fail(`${cat}.function.name ${TOOL_NAME_RULE}`);
    }
    if (typeof fn.arguments !== 'string') fail(`${cat}.function.arguments must be a string`);
    return { id: call.id as string, name: fn.name as string, arguments: fn.arguments as string };
  });
}

/** Names of tools, functions and schemas: OpenAI's rule. */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const TOOL_NAME_RULE = 'must be 1-64 characters of letters, digits, _ or -';

/**
 * A function tool's definition (`name`, `description`, `parameters`,
 * `strict`), found at `at`: chat nests it under `function`, the Responses
 * API has it flat. `strict` is kept only when sent.
 */
export function functionDefinition(fn: Record<string, unknown>, at: string): ToolDefinition {
  if (typeof fn.name !== 'string' || !TOOL_NAME.test(fn.name)) fail(`${at}.name ${TOOL_NAME_RULE}`);
  if (fn.description !== undefined && typeof fn.description !== 'string') {
    fail(`${at}.description must be a string`);
  }
  if (fn.parameters !== undefined && !isObject(fn.parameters)) {
    fail(`${at}.parameters must be a JSON Schema object`);
  }
  const strict = optionalBool(fn, 'strict', `${at}.strict`);
  return {
    name: fn.name as string,
    ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
    ...(isObject(fn.parameters) ? { parameters: fn.parameters } : {}),
    ...(strict === undefined ? {} : { strict }),
  };
}

/**
 * `tool_choice`: a mode, or the function `named` (undefined when `v` is not
 * the API's named-function shape, which `shape` then describes).
 */
export function toolChoiceOf(
  v: unknown,
  defined: readonly ToolDefinition[],
  named: string | undefined,
  shape: string,
): ToolChoice | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'none' || v === 'auto' || v === 'required') {
    if (v === 'required' && defined.length === 0) fail("tool_choice 'required' needs tools");
    return v;
  }
  if (named !== undefined) {
    if (!defined.some((t) => t.name === named)) fail('tool_choice must name one of the tools');
    return { name: named };
  }
  return fail(`tool_choice must be 'none', 'auto', 'required' or ${shape}`);
}

function message(v: unknown, i: number, options: ChatValidationOptions): ChatMessage {
  const at = `messages[${i}]`;
  if (!isObject(v)) return fail(`${at} must be an object`);
  switch (v.role) {
    case 'system':
    case 'developer':
      return { role: 'system', text: textContent(v.content, `${at}.content`) };
    case 'user':
      return { role: 'user', parts: userParts(v.content, `${at}.content`, options) };
    case 'assistant': {
      const calls = toolCalls(v.tool_calls, `${at}.tool_calls`);
      const hasContent = v.content !== undefined && v.content !== null;
      if (!hasContent && calls.length === 0) fail(`${at} must have content or tool_calls`);
      return {
        role: 'assistant',
        text: hasContent ? textContent(v.content, `${at}.content`) : null,
        toolCalls: calls,
      };
    }
    case 'tool': {
      if (
        typeof v.tool_call_id !== 'string' ||
        v.tool_call_id.length === 0 ||
        v.tool_call_id.length > 256
      ) {
        fail(`${at}.tool_call_id must be a non-empty string`);
      }
      return {
        role: 'tool',
        toolCallId: v.tool_call_id as string,
        text: textContent(v.content, `${at}.content`),
      };
    }
    default:
      return fail(`${at}.role must be 'system', 'developer', 'user', 'assistant' or 'tool'`);
  }
}

function tools(v: unknown): ToolDefinition[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > CHAT_LIMITS.maxTools) {
    return fail(`tools must be an array of at most ${CHAT_LIMITS.maxTools} tools`);
  }
  return v.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) {
      return fail(`${at} must be {"type":"function","function":{...}}`);
    }
    return functionDefinition(tool.function, `${at}.function`);
  });
}

function toolChoice(v: unknown, defined: readonly ToolDefinition[]): ToolChoice | undefined {
  const named =
    isObject(v) &&
    v.type === 'function' &&
    isObject(v.function) &&
    typeof v.function.name === 'string'
      ? v.function.name
      : undefined;
  return toolChoiceOf(v, defined, named, '{"type":"function","function":{"name"}}');
}

function responseFormat(v: unknown): ChatResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v)) {
    if (v.type === 'text' || v.type === 'json_object') return { type: v.type };
    if (v.type === 'json_schema' && isObject(v.json_schema))
      return { type: 'json_schema', jsonSchema: v.json_schema };
  }
  return fail(
    `response_format must be {"type":"text"}, {"type":"json_object"} or {"type":"json_schema","json_schema":{...}}`,
  );
}

function stop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length > CHAT_LIMITS.maxStop ||
    list.some((s) => typeof s !== 'string' || s.length === 0)
  ) {
    return fail(
      `stop must be a non-empty string or an array of at most ${CHAT_LIMITS.maxStop} non-empty strings`,
    );
  }
  return list as string[];
}

/**
 * Why `store: true` is refused: OpenAI would keep the completion, and this
 * gateway keeps no content.
 */
export const STORE_REFUSED =
  'store must be false or absent: this gateway keeps no request or response content, so nothing can be stored';

/** A reasoning effort: one lower-case word, passed on unchanged (the upstream knows its levels). */
function reasoningEffort(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[a-z]{1,16}$/.test(v)) {
    return fail("reasoning_effort must be a level such as 'low', 'medium' or 'high'");
  }
  return v;
}

/** Validates a parsed JSON body. Never throws on bad input. */
export function validateChat(
  body: unknown,
  options: ChatValidationOptions = {},
): Validated<ChatRequest> {
  return runValidation(() => parseChat(body, options));
}

function parseChat(body: unknown, options: ChatValidationOptions): ChatRequest {
  if (!isObject(body)) return fail('Request body must be a JSON object');
  const model = requiredModel(body);
  const rawMessages = body.messages;
  if (
    !Array.isArray(rawMessages) ||
    rawMessages.length === 0 ||
    rawMessages.length > CHAT_LIMITS.maxMessages
  ) {
    fail(`messages must be a non-empty array of at most ${CHAT_LIMITS.maxMessages} messages`);
  }
  const messages = (rawMessages as unknown[]).map((m, i) => message(m, i, options));
  const maxTokensField = has(body, 'max_completion_tokens')
    ? 'max_completion_tokens'
    : 'max_tokens';
  const maxTokens = optionalInt(body, maxTokensField, 1, CHAT_LIMITS.maxTokens);
  // Kept nowhere and never forwarded: `store` can only be false, and `user`
  // and `metadata` (which may name a person) are read for their type only.
  if (optionalBool(body, 'store') === true) fail(STORE_REFUSED, 'store');
  if (has(body, 'user') && typeof body.user !== 'string') fail('user must be a string');
  if (has(body, 'metadata') && !isObject(body.metadata)) fail('metadata must be an object');
  const logprobs = optionalBool(body, 'logprobs');
  const topLogprobs = optionalInt(body, 'top_logprobs', 0, 20);
  if (topLogprobs !== undefined && logprobs !== true) fail('top_logprobs needs logprobs: true');
  const definedTools = tools(body.tools);
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    fail('stream_options must be an object');
  }
  const stream = optionalBool(body, 'stream') ?? false;
  const includeUsage = isObject(streamOptions)
    ? (optionalBool(streamOptions, 'include_usage') ?? false)
    : false;
  const request: ChatRequest = {
    model,
    messages,
    temperature: optionalNumber(body, 'temperature', 0, 2),
    topP: optionalNumber(body, 'top_p', 0, 1),
    maxTokens,
    n: optionalInt(body, 'n', 1, CHAT_LIMITS.maxN) ?? 1,
    stop: stop(body.stop),
    stream,
    includeUsage,
    seed: optionalInt(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    presencePenalty: optionalNumber(body, 'presence_penalty', -2, 2),
    frequencyPenalty: optionalNumber(body, 'frequency_penalty', -2, 2),
    tools: definedTools,
    toolChoice: toolChoice(body.tool_choice, definedTools),
    responseFormat: responseFormat(body.response_format),
    parallelToolCalls: optionalBool(body, 'parallel_tool_calls'),
    logprobs,
    topLogprobs,
    reasoningEffort: reasoningEffort(body.reasoning_effort),
    maxTokensField: maxTokens === undefined ? undefined : maxTokensField,
  };
  return compact(request);
}
