/**
 * `POST /v1/images/generations`: an image model's images, as base64 in the
 * body or, with `response_format: "url"`, stored for a while and linked
 * (`./image-urls`). The record keeps the request's parameters, the image
 * count and the cost.
 */

import type { HttpResult } from '../../shared/http-event';
import { MESSAGES } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import type { UsageRecord } from '../../shared/usage-record';
import { recordImages } from '../pipeline/cost';
import { upstreamSignal } from '../pipeline/deadline';
import { modelRoute, type ModelCall } from '../pipeline/model-route';
import { withinResponseLimit } from '../pipeline/response-limit';
import { validateImages, type ImageRequest } from '../validate-images';
import { storeImages } from './image-urls';

/** What the record keeps of an image request (never the prompt). */
export function describeImages(request: ImageRequest): UsageRecord {
  return {
    n: request.n,
    size: request.size,
    quality: request.quality,
    style: request.style,
    seed: request.seed,
    response_format: request.responseFormat,
  };
}

/** The images in the body, base64-encoded. */
export function base64ImagesJson(created: number, images: readonly Buffer[]): string {
  return JSON.stringify({
    created,
    data: images.map((bytes) => ({ b64_json: bytes.toString('base64') })),
  });
}

async function generateImages(call: ModelCall<ImageRequest>): Promise<HttpResult> {
  const { svc, state, request, model } = call;
  const result = await svc.upstream.images(request, model, upstreamSignal(svc, state));
  recordImages(state.record, model, result.images.length);
  const created = Math.floor(state.now.getTime() / 1000);
  if (request.responseFormat === 'url') return storeImages(svc, state, result.images, created);
  return withinResponseLimit(
    state,
    jsonResult(200, base64ImagesJson(created, result.images)),
    MESSAGES.imagesTooLarge,
  );
}

export const imageGenerations = modelRoute<ImageRequest>({
  validate: (body, config) => validateImages(body, config.maxImagesPerRequest, config.models),
  modelKind: 'image',
  describe: describeImages,
  answer: generateImages,
});
