/**
 * The usage record (promise P4): the one place that declares what the gateway
 * leaves behind about a request.
 *
 * The same fields go to the log line (through the allowlist logger) and to the
 * usage table item; {@link USAGE_SCHEMA} is the single source of truth for both.
 * Every field is metadata: ids, counts, enums and numbers. There is no field for
 * text, so no prompt, message, stop sequence, tool definition, image prompt or
 * upstream response can be written, whatever a caller passes.
 *
 * Readers (the admin API) use {@link usageRecordFromItem}, which applies the same
 * schema to what it reads back.
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  createAllowlistLogger,
  ID_PATTERNS,
  sanitize,
  type AllowlistLogger,
  type FieldKind,
  type LineSink,
  type LogSchema,
} from './allowlist-logger';
import { parseImageKey } from './image-key';

/** Routes of the gateway, as recorded (`unmatched`: no route matched the path). */
export const USAGE_ROUTES = [
  'chat_completions',
  'responses',
  'image_generations',
  'embeddings',
  'models',
  'model',
  'healthz',
  'unmatched',
] as const;
export type UsageRoute = (typeof USAGE_ROUTES)[number];

/** HTTP methods as recorded; anything unusual is `OTHER`. */
export const USAGE_METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'OTHER',
] as const;
export type UsageMethod = (typeof USAGE_METHODS)[number];

/**
 * The `type` of an error response (see the gateway's errors module): OpenAI's
 * `invalid_request_error`, `requests` (a 429) and `server_error`, and
 * `client_closed`. The other values are types answers carried before they
 * followed OpenAI's, kept so that older records still read.
 */
export const USAGE_ERROR_TYPES = [
  'invalid_request_error',
  'requests',
  'server_error',
  'client_closed',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'method_not_allowed',
  'request_too_large',
  'model_not_found',
  'rate_limit_error',
  'upstream_rejected',
  'upstream_error',
  'upstream_timeout',
  'response_too_large',
  'service_unavailable',
  'internal_error',
  'conflict_error',
] as const;
export type UsageErrorType = (typeof USAGE_ERROR_TYPES)[number];

/**
 * The `code` of an error response, where it has one the record keeps
 * (another code is left off the record).
 */
export const USAGE_ERROR_CODES = [
  'model_not_found',
  'invalid_api_key',
  'insufficient_scope',
  'too_many_failed_attempts',
  'context_length_exceeded',
  'upstream_timeout',
  'response_too_large',
  'rate_limit_exceeded',
  'request_too_large',
  'upstream_rejected',
  'upstream_error',
  'service_unavailable',
] as const;
export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number];

export const isUsageErrorCode = (code: string | null | undefined): code is UsageErrorCode =>
  (USAGE_ERROR_CODES as readonly (string | null | undefined)[]).includes(code);

/** Why authentication failed (KeyStore.verify reasons). */
export const USAGE_AUTH_FAILURES = [
  'missing',
  'malformed',
  'unknown',
  'invalid',
  'expired',
  'revoked',
  'scope',
  'throttled',
] as const;
export type UsageAuthFailure = (typeof USAGE_AUTH_FAILURES)[number];

export const USAGE_QUALITIES = ['standard', 'hd', 'low', 'medium', 'high', 'auto'] as const;
export const USAGE_STYLES = ['vivid', 'natural'] as const;
export const USAGE_ENCODING_FORMATS = ['float', 'base64'] as const;
export const USAGE_RESPONSE_FORMATS = [
  'url',
  'b64_json',
  'text',
  'json_object',
  'json_schema',
] as const;

/**
 * One request's metadata. Every field is optional because a request can end at
 * any step (an unknown route has no key id, a bad body has no model).
 */
export interface UsageRecord {
  /** Request id (Lambda request id or a random UUID); the table's partition key. */
  request_id?: string;
  /** Start of the request, ISO-8601 UTC with milliseconds. */
  timestamp?: string;
  /** Public id of the API key that authenticated the request. */
  api_key_id?: string;
  /**
   * Keyed hash (HMAC-SHA256, hex) of the customer id from `X-Ephemera-Metadata`.
   * Table item only: the usage table is the one erasable place that ties a
   * request to a customer; the log line says only {@link customer_tagged}.
   */
  customer_hash?: string;
  /** Log line only: whether the request named a customer (never which). */
  customer_tagged?: boolean;
  route?: UsageRoute;
  method?: UsageMethod;
  /** Public model id, recorded only once it matched the configured models. */
  model?: string;
  /** HTTP status of the response. */
  status?: number;
  /** Milliseconds from the start of the request until the response was ready. */
  latency_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
  image_count?: number;
  /** Cost in millionths of a US dollar, from the configured price table. */
  cost_micro_usd?: number;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  n?: number;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  /** Image size as `WIDTHxHEIGHT`. */
  size?: string;
  quality?: (typeof USAGE_QUALITIES)[number];
  style?: (typeof USAGE_STYLES)[number];
  response_format?: (typeof USAGE_RESPONSE_FORMATS)[number];
  /** Number of stop sequences (never their text). */
  stop_count?: number;
  /** Number of tool definitions (never their text). */
  tool_count?: number;
  /** Number of texts embedded (never the texts). */
  input_count?: number;
  /** Embedding vector length asked for. */
  dimensions?: number;
  /** How the embeddings were returned. */
  encoding_format?: (typeof USAGE_ENCODING_FORMATS)[number];
  stream?: boolean;
  /** `X-Ephemera-Learning-Opt-Out: true`. */
  opt_out?: boolean;
  /** When the usage item expires (DynamoDB TTL), epoch seconds. */
  ttl?: number;
  /** Seconds an image asked for by URL is kept. */
  image_ttl_seconds?: number;
  error_type?: UsageErrorType;
  /** The error response's `code` (`model_not_found`, `context_length_exceeded`, ...). */
  error_code?: UsageErrorCode;
  auth_failure?: UsageAuthFailure;
  /** Log line only: whether the usage item was written. */
  record_written?: boolean;
}

const nonNegativeInt: FieldKind = { kind: 'int', min: 0 };
const enumOf = (values: readonly string[]): FieldKind => ({ kind: 'enum', values });

/**
 * The schema of {@link UsageRecord}. The mapped type makes the compiler check
 * that the schema declares exactly the record's fields.
 */
export const USAGE_SCHEMA: { readonly [K in keyof Required<UsageRecord>]: FieldKind } = {
  request_id: ID_PATTERNS.token,
  timestamp: ID_PATTERNS.timestamp,
  api_key_id: ID_PATTERNS.token,
  customer_hash: ID_PATTERNS.hex,
  customer_tagged: { kind: 'bool' },
  route: enumOf(USAGE_ROUTES),
  method: enumOf(USAGE_METHODS),
  model: ID_PATTERNS.model,
  status: { kind: 'int', min: 100, max: 599 },
  latency_ms: nonNegativeInt,
  input_tokens: nonNegativeInt,
  output_tokens: nonNegativeInt,
  image_count: nonNegativeInt,
  cost_micro_usd: nonNegativeInt,
  temperature: { kind: 'number', min: 0, max: 2 },
  top_p: { kind: 'number', min: 0, max: 1 },
  max_tokens: { kind: 'int', min: 1 },
  n: { kind: 'int', min: 1 },
  seed: { kind: 'int' },
  presence_penalty: { kind: 'number', min: -2, max: 2 },
  frequency_penalty: { kind: 'number', min: -2, max: 2 },
  size: { kind: 'id', pattern: /^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$/, maxLength: 11 },
  quality: enumOf(USAGE_QUALITIES),
  style: enumOf(USAGE_STYLES),
  response_format: enumOf(USAGE_RESPONSE_FORMATS),
  stop_count: nonNegativeInt,
  tool_count: nonNegativeInt,
  input_count: nonNegativeInt,
  dimensions: { kind: 'int', min: 1 },
  encoding_format: enumOf(USAGE_ENCODING_FORMATS),
  stream: { kind: 'bool' },
  opt_out: { kind: 'bool' },
  ttl: nonNegativeInt,
  image_ttl_seconds: nonNegativeInt,
  error_type: enumOf(USAGE_ERROR_TYPES),
  error_code: enumOf(USAGE_ERROR_CODES),
  auth_failure: enumOf(USAGE_AUTH_FAILURES),
  record_written: { kind: 'bool' },
};

/** Fields that belong to the log line only, never to the table item. */
const LOG_ONLY_FIELDS: ReadonlySet<string> = new Set(['record_written', 'customer_tagged']);

/**
 * Fields that belong to the table item only, never to a log line: anything
 * derived from the customer id stays where erasure reaches it (promise P7).
 */
const TABLE_ONLY_FIELDS = ['customer_hash'] as const;

/** The usage log line's schema: {@link USAGE_SCHEMA} without the table-only fields. */
export const USAGE_LOG_SCHEMA: LogSchema = Object.fromEntries(
  Object.entries(USAGE_SCHEMA).filter(
    ([name]) => !(TABLE_ONLY_FIELDS as readonly string[]).includes(name),
  ),
);

/** The table item's attribute for the object keys of images stored for the request (SS). */
export const IMAGE_KEYS_ATTRIBUTE = 'image_keys';

/** The logger event name of usage lines. */
export const USAGE_EVENT = 'usage';

/**
 * The usage logger: one line per request, fields from {@link USAGE_LOG_SCHEMA}
 * only. The customer's hash is replaced by `customer_tagged`.
 */
export function createUsageLogger(sink?: LineSink): AllowlistLogger<typeof USAGE_SCHEMA> {
  const logger = createAllowlistLogger(USAGE_EVENT, USAGE_LOG_SCHEMA, sink);
  return {
    write(record) {
      const line: Record<string, unknown> = { ...record };
      for (const name of TABLE_ONLY_FIELDS) delete line[name];
      line.customer_tagged = record.customer_hash !== undefined;
      logger.write(line);
    },
  };
}

/**
 * Builds the usage table item: the record's allowlisted fields (values checked
 * by kind, exactly as the logger checks them) and, when images were stored, their
 * object keys as a string set. Throws if the keys the table needs (`request_id`,
 * `timestamp`, `ttl`) are missing or invalid; the message names fields only.
 */
export function usageItem(
  record: UsageRecord,
  imageKeys: readonly string[] = [],
): Record<string, AttributeValue> {
  const { clean } = sanitize(USAGE_SCHEMA, record);
  for (const required of ['request_id', 'timestamp', 'ttl']) {
    if (!(required in clean)) {
      throw new Error(`usageItem: field '${required}' is missing or invalid`);
    }
  }
  const item: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(clean)) {
    if (LOG_ONLY_FIELDS.has(name)) continue;
    if (typeof value === 'string') item[name] = { S: value };
    else if (typeof value === 'number') item[name] = { N: String(value) };
    else item[name] = { BOOL: value };
  }
  const keys = [...new Set(imageKeys)];
  if (keys.some((key) => parseImageKey(key) === undefined)) {
    throw new Error('usageItem: image_keys must be image bucket keys');
  }
  if (keys.length > 0) item[IMAGE_KEYS_ATTRIBUTE] = { SS: keys };
  return item;
}

/** A usage item read back from the table. */
export interface StoredUsageRecord {
  readonly record: UsageRecord;
  /** Object keys of stored images (possibly already swept). */
  readonly imageKeys: readonly string[];
}

/**
 * Reads a usage item back, keeping only the schema's fields (values checked by
 * kind) and valid image keys; anything else in the item is ignored.
 */
export function usageRecordFromItem(item: Record<string, AttributeValue>): StoredUsageRecord {
  const raw: Record<string, unknown> = {};
  for (const [name, attr] of Object.entries(item)) {
    if (LOG_ONLY_FIELDS.has(name) || !Object.prototype.hasOwnProperty.call(USAGE_SCHEMA, name)) {
      continue;
    }
    if (attr.S !== undefined) raw[name] = attr.S;
    else if (attr.N !== undefined) raw[name] = Number(attr.N);
    else if (attr.BOOL !== undefined) raw[name] = attr.BOOL;
  }
  const { clean } = sanitize(USAGE_SCHEMA, raw);
  const imageKeys = (item[IMAGE_KEYS_ATTRIBUTE]?.SS ?? []).filter(
    (key) => parseImageKey(key) !== undefined,
  );
  return { record: clean as UsageRecord, imageKeys };
}
