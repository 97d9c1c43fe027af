/**
 * Validates an OpenAI embeddings request body (`POST /v1/embeddings`).
 *
 * `input` is one string or an array of strings, none empty. Token arrays (an
 * array of integers, or of such arrays) are refused: the gateway forwards
 * text only, and Bedrock takes nothing else. `encoding_format` is `float` (the
 * default) or `base64` (little-endian float32 bytes, as OpenAI sends them).
 * `dimensions` is a positive whole number; which values a model takes is the
 * upstream's to say (Bedrock: 256, 512 or 1024). `user` is accepted and
 * dropped: never forwarded, logged or stored.
 *
 * Messages name the field and the rule, never a value.
 */

import {
  fail,
  has,
  isObject,
  optionalInt,
  requiredModel,
  runValidation,
  type Validated,
} from './validation';

export type EmbeddingEncoding = 'float' | 'base64';
export const EMBEDDING_ENCODINGS: readonly EmbeddingEncoding[] = ['float', 'base64'];

export interface EmbeddingRequest {
  readonly model: string;
  /** The texts, in order; a single string becomes one item. */
  readonly input: readonly string[];
  readonly encodingFormat: EmbeddingEncoding;
  /** Vector length asked for; absent: the model's default. */
  readonly dimensions?: number;
}

export const EMBEDDING_LIMITS = {
  /** Most inputs in one request (OpenAI's own limit). */
  maxInputs: 2048,
  /** Largest `dimensions` accepted before the upstream has its say. */
  maxDimensions: 16_384,
} as const;

/** Validates a parsed JSON body. Never throws on bad input. */
export function validateEmbeddings(body: unknown): Validated<EmbeddingRequest> {
  return runValidation(() => parseEmbeddings(body));
}

const TOKEN_ARRAYS =
  'input must be a string or an array of strings: token arrays are not supported';

function parseInput(raw: unknown): string[] {
  if (typeof raw === 'string') {
    if (raw.length === 0) fail('input must be a non-empty string');
    return [raw];
  }
  if (!Array.isArray(raw)) {
    return fail('input must be a string or a non-empty array of strings', 'input');
  }
  if (raw.length === 0) fail('input must be a non-empty array of strings');
  if (raw.length > EMBEDDING_LIMITS.maxInputs) {
    fail(`input must have at most ${EMBEDDING_LIMITS.maxInputs} items`);
  }
  // An array of numbers, or of arrays, is a token array (or a batch of them).
  if (raw.every((item) => typeof item === 'number' || Array.isArray(item))) {
    fail(TOKEN_ARRAYS, 'input');
  }
  return raw.map((item: unknown, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      fail(`input[${i}] must be a non-empty string`);
    }
    return item as string;
  });
}

function parseEmbeddings(body: unknown): EmbeddingRequest {
  if (!isObject(body)) return fail('Request body must be a JSON object');
  const model = requiredModel(body);
  if (!has(body, 'input')) fail('input is required: a string or an array of strings');
  const input = parseInput(body.input);
  const format = body.encoding_format ?? 'float';
  if (!EMBEDDING_ENCODINGS.includes(format as EmbeddingEncoding)) {
    fail("encoding_format must be 'float' or 'base64'");
  }
  const dimensions = optionalInt(body, 'dimensions', 1, EMBEDDING_LIMITS.maxDimensions);
  // Accepted for compatibility and dropped here: it goes nowhere.
  if (has(body, 'user') && typeof body.user !== 'string') fail('user must be a string');
  return {
    model,
    input,
    encodingFormat: format as EmbeddingEncoding,
    ...(dimensions !== undefined ? { dimensions } : {}),
  };
}
