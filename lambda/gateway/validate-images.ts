/**
 * Validates an OpenAI image generation request body.
 *
 * `response_format` defaults to `b64_json`, which stores nothing: only an
 * image asked for by URL (`"url"`) is kept, for its TTL (promise P2). Behind
 * the load balancer, whose 1 MB response limit holds about one 512x512 PNG as
 * base64, larger answers fail with `response_too_large` and a message that
 * points at `"url"`.
 */

import { defaultModel, type ModelConfig } from '../../lib/core/models';
import {
  compact,
  fail,
  isObject,
  optionalInt,
  requiredModel,
  runValidation,
  type Validated,
} from './validation';

export type ImageQuality = 'standard' | 'hd' | 'low' | 'medium' | 'high' | 'auto';
export type ImageStyle = 'vivid' | 'natural';
export type ImageResponseFormat = 'url' | 'b64_json';

export interface ImageRequest {
  readonly model: string;
  readonly prompt: string;
  readonly n: number;
  /** `WIDTHxHEIGHT`; `auto` or absent becomes {@link DEFAULT_IMAGE_SIZE}. */
  readonly size: string;
  readonly width: number;
  readonly height: number;
  readonly quality?: ImageQuality;
  readonly style?: ImageStyle;
  readonly responseFormat: ImageResponseFormat;
  /** Extension to OpenAI's API: a generation seed, for upstreams that take one. */
  readonly seed?: number;
}

export const DEFAULT_IMAGE_SIZE = '1024x1024';
export const IMAGE_LIMITS = {
  maxPromptLength: 32_000,
  minSide: 256,
  maxSide: 4096,
  maxSeed: 2_147_483_646,
} as const;

const QUALITIES: readonly ImageQuality[] = ['standard', 'hd', 'low', 'medium', 'high', 'auto'];
const STYLES: readonly ImageStyle[] = ['vivid', 'natural'];

/**
 * Validates a parsed JSON body; `maxImages` is the deployment's largest `n`. A body
 * without `model` gets the default image model of `models` (the only one, or
 * the one marked `default`). Never throws on bad input.
 */
export function validateImages(
  body: unknown,
  maxImages: number,
  models: readonly ModelConfig[] = [],
): Validated<ImageRequest> {
  return runValidation(() => parseImages(body, maxImages, models));
}

/** The request's model, or the default image model when it names none. */
function imageModel(body: Record<string, unknown>, models: readonly ModelConfig[]): string {
  if (body.model !== undefined && body.model !== null) return requiredModel(body);
  const chosen = defaultModel(models, 'image');
  if (chosen) return chosen.id;
  const ids = models.filter((m) => m.kind === 'image').map((m) => m.id);
  // Configured ids, never the request's: safe to name.
  if (ids.length > 1) {
    fail(
      `model is required: this deployment has several image models (${ids.join(', ')}) and none is the default`,
      'model',
    );
  }
  return requiredModel(body);
}

function parseImages(
  body: unknown,
  maxImages: number,
  models: readonly ModelConfig[],
): ImageRequest {
  if (!isObject(body)) return fail('Request body must be a JSON object');
  const model = imageModel(body, models);
  const prompt = body.prompt;
  if (
    typeof prompt !== 'string' ||
    prompt.length === 0 ||
    prompt.length > IMAGE_LIMITS.maxPromptLength
  ) {
    fail(`prompt must be a string of 1 to ${IMAGE_LIMITS.maxPromptLength} characters`);
  }
  const n = optionalInt(body, 'n', 1, maxImages) ?? 1;

  let size = DEFAULT_IMAGE_SIZE;
  if (body.size !== undefined && body.size !== null && body.size !== 'auto') {
    const m =
      typeof body.size === 'string'
        ? /^([1-9][0-9]{2,3})x([1-9][0-9]{2,3})$/.exec(body.size)
        : null;
    const inRange = (v: number) => v >= IMAGE_LIMITS.minSide && v <= IMAGE_LIMITS.maxSide;
    if (!m || !inRange(Number(m[1])) || !inRange(Number(m[2]))) {
      fail(
        `size must be 'auto' or WIDTHxHEIGHT with sides from ${IMAGE_LIMITS.minSide} to ${IMAGE_LIMITS.maxSide}`,
      );
    }
    size = body.size as string;
  }
  const [width, height] = size.split('x').map(Number);

  const quality = body.quality;
  if (quality !== undefined && quality !== null && !QUALITIES.includes(quality as ImageQuality)) {
    fail(`quality must be one of ${QUALITIES.join(', ')}`);
  }
  const style = body.style;
  if (style !== undefined && style !== null && !STYLES.includes(style as ImageStyle)) {
    fail(`style must be one of ${STYLES.join(', ')}`);
  }
  const responseFormat = body.response_format ?? 'b64_json';
  if (responseFormat !== 'url' && responseFormat !== 'b64_json') {
    fail("response_format must be 'url' or 'b64_json'");
  }
  return compact({
    model,
    prompt: prompt as string,
    n,
    size,
    width,
    height,
    quality: (quality ?? undefined) as ImageQuality | undefined,
    style: (style ?? undefined) as ImageStyle | undefined,
    responseFormat: responseFormat as ImageResponseFormat,
    seed: optionalInt(body, 'seed', 0, IMAGE_LIMITS.maxSeed),
  });
}
