/**
 * The model list: what the gateway offers, under which public names, from
 * which upstream model, at what price. One parser, used by synth (cdk.json's
 * `models` and the InferenceGateway construct) and by the gateway at cold
 * start, so a list that one accepts the other never refuses.
 */

import { bedrockReach } from './bedrock-regions';

export type ModelKind = 'chat' | 'image' | 'embedding';
export const MODEL_KINDS: readonly ModelKind[] = ['chat', 'image', 'embedding'];

/** The kinds as the parser's messages list them: `'chat', 'image' or 'embedding'`. */
const KINDS_TEXT = `${MODEL_KINDS.slice(0, -1)
  .map((k) => `'${k}'`)
  .join(', ')} or '${MODEL_KINDS[MODEL_KINDS.length - 1]}'`;

/** A model as configured (prices in millionths of a US dollar). */
export interface ModelSpec {
  /** Public model name, as clients send it and as usage records show it. */
  readonly id: string;
  /** Model id at the upstream: a Bedrock model id, inference profile or ARN; or the upstream's name. */
  readonly upstreamId: string;
  readonly kind: ModelKind;
  /** Price of 1,000 input tokens (an embedding model's only price). @default 0 */
  readonly inputMicroUsdPer1kTokens?: number;
  /** Price of 1,000 output tokens. @default 0 */
  readonly outputMicroUsdPer1kTokens?: number;
  /** Price of one image. @default 0 */
  readonly microUsdPerImage?: number;
  /**
   * An image model only: the model `POST /v1/images/generations` uses when the
   * request names none. At most one image model may have it; with a single
   * image model configured, that one is the default without it. @default false
   */
  readonly default?: boolean;
}

/** A model as the gateway uses it: every price present. */
export type ModelConfig = Required<Omit<ModelSpec, 'default'>> & { readonly default?: boolean };

/**
 * The model a request of `kind` that names none uses: the only model of that
 * kind, or the one marked `default`; undefined when there is no such model.
 */
export function defaultModel(
  models: readonly ModelConfig[],
  kind: ModelKind,
): ModelConfig | undefined {
  const ofKind = models.filter((m) => m.kind === kind);
  return ofKind.length === 1 ? ofKind[0] : ofKind.find((m) => m.default === true);
}

/**
 * Public model ids: letters, digits and `. _ : / -`, starting with a letter or
 * digit, at most 128 characters. The usage record's `model` field has the same rule.
 */
export const MODEL_ID = { pattern: /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, maxLength: 128 } as const;

const UPSTREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$/;

/**
 * Bedrock models offered when none are configured. The prices only feed the
 * cost field of usage records; they are examples: set your own contract's
 * prices in cdk.json (`models`).
 */
export const DEFAULT_MODELS: readonly ModelSpec[] = [
  {
    id: 'amazon.nova-lite-v1:0',
    upstreamId: 'amazon.nova-lite-v1:0',
    kind: 'chat',
    inputMicroUsdPer1kTokens: 60,
    outputMicroUsdPer1kTokens: 240,
  },
  {
    id: 'amazon.nova-canvas-v1:0',
    upstreamId: 'amazon.nova-canvas-v1:0',
    kind: 'image',
    microUsdPerImage: 40_000,
  },
  {
    id: 'amazon.titan-embed-text-v2:0',
    upstreamId: 'amazon.titan-embed-text-v2:0',
    kind: 'embedding',
    inputMicroUsdPer1kTokens: 20,
  },
];

/**
 * The Bedrock embedding models the gateway can call: Amazon Titan Text
 * Embeddings V2 (one text per InvokeModel call, 256, 512 or 1024 dimensions).
 * Matched against the foundation-model id, whether it is given as an id, a
 * foundation-model ARN or inside a cross-region profile id.
 */
export const BEDROCK_EMBEDDING_MODEL = /^amazon\.titan-embed-text-v2:\d+$/;

/**
 * Problems of a model list for the Bedrock upstream: every embedding model
 * that is not Titan Text Embeddings V2 (the only request shape the gateway
 * speaks to Bedrock for embeddings). An application inference profile cannot
 * be checked, so it is refused too.
 */
export function bedrockModelProblems(
  models: ReadonlyArray<Pick<ModelSpec, 'id' | 'upstreamId' | 'kind'>>,
  label = 'models',
): string[] {
  const problems: string[] = [];
  models.forEach((m, i) => {
    if (m.kind !== 'embedding') return;
    const reach = bedrockReach(m.upstreamId);
    if (reach.kind === 'opaque' || !BEDROCK_EMBEDDING_MODEL.test(reach.modelId)) {
      problems.push(
        `${label}[${i}] (${m.id}): the Bedrock upstream serves embeddings with Amazon Titan Text Embeddings V2 only (upstreamId amazon.titan-embed-text-v2:0, or its foundation-model ARN)`,
      );
    }
  });
  return problems;
}

/**
 * Parses and checks a model list given as JSON text. Problems are appended to
 * `problems`, prefixed with `label`; the models that parsed are returned.
 */
export function parseModels(
  value: string | undefined,
  problems: string[],
  label = 'MODELS',
): ModelConfig[] {
  const what =
    'a JSON array of {"id","upstreamId","kind":"chat"|"image"|"embedding"} with optional non-negative ' +
    'inputMicroUsdPer1kTokens, outputMicroUsdPer1kTokens, microUsdPerImage, and default (image models)';
  if (!value) {
    problems.push(`${label} is required (${what})`);
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    problems.push(`${label} must be ${what}`);
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    problems.push(`${label} must be ${what}, with at least one model`);
    return [];
  }
  const models: ModelConfig[] = [];
  const seen = new Set<string>();
  let defaultImage: string | undefined;
  parsed.forEach((entry: unknown, i) => {
    const at = `${label}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const idKind = MODEL_ID;
    if (typeof e.id !== 'string' || e.id.length > idKind.maxLength || !idKind.pattern.test(e.id)) {
      problems.push(
        `${at}.id must be 1-128 characters of letters, digits and . _ : / - (starting with a letter or digit)`,
      );
      return;
    }
    if (seen.has(e.id)) problems.push(`${at}.id repeats an earlier model id`);
    seen.add(e.id);
    if (typeof e.upstreamId !== 'string' || !UPSTREAM_ID_PATTERN.test(e.upstreamId)) {
      problems.push(
        `${at}.upstreamId must be 1-256 characters of letters, digits and . _ : / @ + -`,
      );
    }
    const kind = MODEL_KINDS.find((k) => k === e.kind);
    if (kind === undefined) problems.push(`${at}.kind must be ${KINDS_TEXT}`);
    const price = (field: string): number => {
      const v = e[field];
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e12) {
        problems.push(`${at}.${field} must be a non-negative number (micro-USD)`);
        return 0;
      }
      return v;
    };
    if (e.default !== undefined && e.default !== false) {
      if (e.default !== true || kind !== 'image') {
        problems.push(`${at}.default may only be true or false, and true only on an image model`);
      } else if (defaultImage !== undefined) {
        problems.push(
          `${at}.default: only one image model may be the default (${defaultImage} is)`,
        );
      } else {
        defaultImage = e.id;
      }
    }
    models.push({
      id: e.id,
      upstreamId: String(e.upstreamId),
      kind: kind ?? 'chat',
      inputMicroUsdPer1kTokens: price('inputMicroUsdPer1kTokens'),
      outputMicroUsdPer1kTokens: price('outputMicroUsdPer1kTokens'),
      microUsdPerImage: price('microUsdPerImage'),
      ...(e.default === true && kind === 'image' ? { default: true } : {}),
    });
  });
  return models;
}
