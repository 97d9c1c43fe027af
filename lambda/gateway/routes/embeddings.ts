/**
 * `POST /v1/embeddings`: an embedding model's vectors, one per input, as an
 * OpenAI `list` of `embedding` objects; each vector is an array of numbers
 * (`encoding_format` `float`) or base64 of its little-endian float32 bytes
 * (`base64`). The record keeps the number of inputs, the dimensions and the
 * encoding asked for, the input tokens and the cost: never a text or a vector.
 */

import type { HttpResult } from '../../shared/http-event';
import { jsonResult } from '../../shared/http-results';
import type { UsageRecord } from '../../shared/usage-record';
import { encodeFloat32Base64 } from '../embedding-format';
import { recordEmbeddings } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { modelRoute, type ModelCall } from '../pipeline/model-route';
import { withinResponseLimit } from '../pipeline/response-limit';
import { UpstreamError } from '../upstream-contract';
import { type EmbeddingResult } from '../upstream-results';
import {
  validateEmbeddings,
  type EmbeddingEncoding,
  type EmbeddingRequest,
} from '../validate-embeddings';

/** The 422 behind the load balancer when the vectors do not fit its 1 MB answer. */
export const EMBEDDINGS_TOO_LARGE =
  'The embeddings exceed the 1 MB response limit; send fewer inputs, ask for fewer dimensions or use encoding_format "base64"';

/** What the record keeps of an embeddings request (never an input). */
export function describeEmbeddings(request: EmbeddingRequest): UsageRecord {
  return {
    input_count: request.input.length,
    dimensions: request.dimensions,
    encoding_format: request.encodingFormat,
  };
}

/** The answer body: one `embedding` object per vector, in the order of the inputs. */
export function embeddingListJson(
  result: EmbeddingResult,
  modelId: string,
  encoding: EmbeddingEncoding,
): string {
  return JSON.stringify({
    object: 'list',
    data: result.vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? encodeFloat32Base64(vector) : vector,
    })),
    model: modelId,
    usage: { prompt_tokens: result.inputTokens, total_tokens: result.inputTokens },
  });
}

async function embed(call: ModelCall<EmbeddingRequest>): Promise<HttpResult> {
  const { svc, state, request, model } = call;
  const result = await svc.upstream.embeddings(request, model, upstreamSignal(svc, state));
  // Each upstream checks its answer; this holds whichever answered.
  if (result.vectors.length !== request.input.length) throw new UpstreamError('failed');
  recordEmbeddings(state.record, model, result.inputTokens);
  return withinResponseLimit(
    state,
    jsonResult(200, embeddingListJson(result, model.id, request.encodingFormat)),
    EMBEDDINGS_TOO_LARGE,
  );
}

export const embeddings = modelRoute<EmbeddingRequest>({
  validate: (body) => validateEmbeddings(body),
  modelKind: 'embedding',
  describe: describeEmbeddings,
  answer: embed,
});
