/**
 * Embeddings through Amazon Bedrock: Amazon Titan Text Embeddings V2, one
 * InvokeModel call per input (the model takes one text a call), a few in
 * flight at once.
 *
 * The request body is `{"inputText","dimensions","normalize":true}`; the answer
 * `{"embedding":[...],"inputTextTokenCount":N}`. Differences from OpenAI's API
 * that a client can see:
 * - `dimensions` must be 256, 512 or 1024 (default 1024); vectors are
 *   normalised (unit length), as OpenAI's are.
 * - At most {@link BEDROCK_EMBEDDING_LIMITS}.maxInputs inputs a request (each
 *   is one call), and each at most `maxInputChars` characters (Titan's limit).
 *
 * The translators are pure functions, tested on their own. A failure of any
 * call cancels the others and is mapped by `bedrockFailure` (by the error's
 * name only).
 */

import { InvokeModelCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { invalidRequest } from '../shared/http-errors';
import { floatVector } from './embedding-format';
import { UpstreamError } from './upstream-contract';
import { type EmbeddingResult } from './upstream-results';
import type { EmbeddingRequest } from './validate-embeddings';

export const TITAN_EMBEDDING_DIMENSIONS: readonly number[] = [256, 512, 1024];

export const BEDROCK_EMBEDDING_LIMITS = {
  /** Most inputs a request: each is one InvokeModel call. */
  maxInputs: 128,
  /** Titan Text Embeddings V2 takes at most 50,000 characters (and 8,192 tokens) a text. */
  maxInputChars: 50_000,
  /** Calls in flight at once for one request. */
  concurrency: 8,
  defaultDimensions: 1024,
} as const;

/** Checks a request and builds one Titan V2 body per input. Throws a 400 `HttpError` if Bedrock cannot honour it. */
export function toTitanBodies(request: EmbeddingRequest): Record<string, unknown>[] {
  const L = BEDROCK_EMBEDDING_LIMITS;
  if (request.input.length > L.maxInputs) {
    throw invalidRequest(
      `input must have at most ${L.maxInputs} items with this upstream`,
      'input',
    );
  }
  const dimensions = request.dimensions ?? L.defaultDimensions;
  if (!TITAN_EMBEDDING_DIMENSIONS.includes(dimensions)) {
    throw invalidRequest(
      `dimensions must be ${TITAN_EMBEDDING_DIMENSIONS.slice(0, -1).join(', ')} or ${TITAN_EMBEDDING_DIMENSIONS.at(-1)} with this upstream`,
      'dimensions',
    );
  }
  return request.input.map((inputText, i) => {
    if (inputText.length > L.maxInputChars) {
      const at = request.input.length === 1 ? 'input' : `input[${i}]`;
      throw invalidRequest(
        `${at} must be at most ${L.maxInputChars} characters with this upstream`,
        at,
      );
    }
    return { inputText, dimensions, normalize: true };
  });
}

/** Reads one Titan V2 answer: a vector of `dimensions` finite numbers and its token count. */
export function fromTitanBody(
  body: Uint8Array | undefined,
  dimensions: number,
): { readonly vector: number[]; readonly inputTokens: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body ?? new Uint8Array()).toString('utf8'));
  } catch {
    throw new UpstreamError('failed');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UpstreamError('failed');
  }
  const p = parsed as { embedding?: unknown; inputTextTokenCount?: unknown };
  const vector = floatVector(p.embedding);
  if (!vector || vector.length !== dimensions) throw new UpstreamError('failed');
  const tokens = p.inputTextTokenCount;
  return {
    vector,
    inputTokens:
      typeof tokens === 'number' && Number.isSafeInteger(tokens) && tokens >= 0 ? tokens : 0,
  };
}

/**
 * `fn` over `items`, at most `limit` at once, results in the order of
 * `items`. The first failure stops new calls, aborts the signal the calls in
 * flight were given, waits for them to settle and is thrown (theirs are
 * dropped). An abort of `signal` stops new calls too; its reason is thrown.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  signal: AbortSignal,
): Promise<R[]> {
  const cancel = new AbortController();
  const linked = AbortSignal.any([signal, cancel.signal]);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { readonly err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !linked.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i, linked);
      } catch (err) {
        if (failure === undefined) {
          failure = { err };
          cancel.abort();
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure.err;
  if (signal.aborted) throw signal.reason;
  return results;
}

/**
 * Embeds every input of `request` with a Titan V2 model. `mapFailure` turns
 * an SDK error into an `UpstreamError` (the Bedrock upstream's `bedrockFailure`).
 */
export async function titanEmbeddings(
  client: BedrockRuntimeClient,
  request: EmbeddingRequest,
  modelId: string,
  signal: AbortSignal,
  mapFailure: (err: unknown, signal: AbortSignal) => UpstreamError,
): Promise<EmbeddingResult> {
  const bodies = toTitanBodies(request);
  const dimensions = request.dimensions ?? BEDROCK_EMBEDDING_LIMITS.defaultDimensions;
  let answers: { readonly vector: number[]; readonly inputTokens: number }[];
  try {
    answers = await mapBounded(
      bodies,
      BEDROCK_EMBEDDING_LIMITS.concurrency,
      async (body, _i, callSignal) => {
        const res = await client.send(
          new InvokeModelCommand({
            modelId,
            contentType: 'application/json',
            accept: 'application/json',
            body: JSON.stringify(body), // leak-ok: the upstream (Bedrock) request
          }),
          { abortSignal: callSignal },
        );
        return fromTitanBody(res.body, dimensions);
      },
      signal,
    );
  } catch (err) {
    throw mapFailure(err, signal);
  }
  return {
    vectors: answers.map((a) => a.vector),
    inputTokens: answers.reduce((sum, a) => sum + a.inputTokens, 0),
  };
}
