/**
 * Embeddings through an OpenAI-compatible server: the request goes to
 * `POST /v1/embeddings` as `{model, input, encoding_format?, dimensions?}`
 * (the validated fields, unchanged; `user` is never forwarded), and the
 * answer is read back field by field. Vectors may come as arrays of numbers
 * or as base64 float32, whichever the server sends; the route re-encodes them
 * as the client asked.
 *
 * A malformed answer (not one vector per input, an index out of range or
 * repeated, a non-finite number, vectors of different lengths, or a length
 * other than the `dimensions` asked for) is a failed upstream.
 */

import { readVector } from './embedding-format';
import { UpstreamError } from './upstream-contract';
import { type EmbeddingResult } from './upstream-results';
import type { EmbeddingRequest } from './validate-embeddings';
import { isObject } from './validation';

/** The body sent to `POST /v1/embeddings`. */
export function toOpenAiEmbeddingsBody(
  request: EmbeddingRequest,
  upstreamId: string,
): Record<string, unknown> {
  return {
    model: upstreamId,
    input: [...request.input],
    // `float` is every server's default: asked for only when base64 is wanted.
    ...(request.encodingFormat === 'base64' ? { encoding_format: 'base64' } : {}),
    ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
  };
}

/** Reads an embeddings answer for `request`: one vector per input, by `index`. */
export function fromOpenAiEmbeddingsBody(
  parsed: unknown,
  request: Pick<EmbeddingRequest, 'input' | 'dimensions'>,
): EmbeddingResult {
  const expected = request.input.length;
  if (!isObject(parsed) || !Array.isArray(parsed.data) || parsed.data.length !== expected) {
    throw new UpstreamError('failed');
  }
  const vectors = new Array<number[] | undefined>(expected).fill(undefined);
  parsed.data.forEach((item: unknown, position) => {
    if (!isObject(item)) throw new UpstreamError('failed');
    const index = item.index ?? position;
    if (
      typeof index !== 'number' ||
      !Number.isSafeInteger(index) ||
      index < 0 ||
      index >= expected ||
      vectors[index] !== undefined
    ) {
      throw new UpstreamError('failed');
    }
    const vector = readVector(item.embedding);
    if (!vector) throw new UpstreamError('failed');
    vectors[index] = vector;
  });
  const length = request.dimensions ?? vectors[0]?.length;
  if (vectors.some((v) => v === undefined || v.length !== length)) {
    throw new UpstreamError('failed');
  }
  const usage = isObject(parsed.usage) ? parsed.usage.prompt_tokens : undefined;
  return {
    vectors: vectors as number[][],
    inputTokens: typeof usage === 'number' && Number.isSafeInteger(usage) && usage >= 0 ? usage : 0,
  };
}
