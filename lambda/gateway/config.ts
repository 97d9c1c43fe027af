/**
 * Gateway configuration, read from environment variables once at cold start.
 *
 * Every problem is collected and reported in one error that names the variables
 * and the allowed ranges, so a bad deployment fails at init, not at the first
 * request.
 */

import { ID_PATTERNS } from '../shared/allowlist-logger';

export type ModelKind = 'chat' | 'image';

export interface ModelConfig {
  /** Public model name, as clients send it and as usage records show it. */
  readonly id: string;
  /** Model id at the upstream (Bedrock model id, inference profile or ARN; or the upstream's name). */
  readonly upstreamId: string;
  readonly kind: ModelKind;
  /** Price of 1,000 input tokens, in millionths of a US dollar. @default 0 */
  readonly inputMicroUsdPer1kTokens: number;
  /** Price of 1,000 output tokens, in millionths of a US dollar. @default 0 */
  readonly outputMicroUsdPer1kTokens: number;
  /** Price of one image, in millionths of a US dollar. @default 0 */
  readonly microUsdPerImage: number;
}

export type UpstreamConfig =
  | { readonly kind: 'bedrock' }
  | {
      readonly kind: 'openai-compatible';
      /** `https://host[:port][/path]`, without a trailing slash. */
      readonly baseUrl: string;
      /** Secrets Manager secret holding the upstream bearer token. */
      readonly secretArn?: string;
    };

export interface GatewayConfig {
  readonly usageTableName: string;
  readonly keyTableName: string;
  readonly imageBucketName: string;
  /** KMS key ARN for SSE-KMS on stored images; when unset the bucket's default encryption applies. */
  readonly imageKmsKeyArn?: string;
  readonly hmacKeyId: string;
  readonly upstream: UpstreamConfig;
  readonly models: readonly ModelConfig[];
  readonly imageTtlSeconds: number;
  readonly metadataRetentionDays: number;
  readonly upstreamTimeoutMs: number;
  readonly maxImagesPerRequest: number;
}

export const IMAGE_TTL_RANGE = { min: 300, max: 86_400 } as const;
export const METADATA_RETENTION_RANGE = { min: 1, max: 3_650 } as const;
export const UPSTREAM_TIMEOUT_RANGE = { min: 1_000, max: 900_000 } as const;
export const MAX_IMAGES_RANGE = { min: 1, max: 10 } as const;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 280_000;
export const DEFAULT_MAX_IMAGES_PER_REQUEST = 4;

const NAME_PATTERN = /^[A-Za-z0-9._-]{3,255}$/;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const SECRET_ARN_PATTERN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const UPSTREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Parses and validates the gateway's environment. Throws one error listing every problem. */
export function parseConfig(env: Env): GatewayConfig {
  const problems: string[] = [];
  const str = (name: string, pattern: RegExp, what: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is required (${what})`);
      return '';
    }
    if (!pattern.test(value)) problems.push(`${name} must be ${what}`);
    return value;
  };
  const int = (name: string, range: { min: number; max: number }, fallback?: number): number => {
    const value = env[name];
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback;
      problems.push(`${name} is required (a whole number from ${range.min} to ${range.max})`);
      return range.min;
    }
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
      problems.push(`${name} must be a whole number from ${range.min} to ${range.max}`);
      return range.min;
    }
    return n;
  };

  const usageTableName = str('USAGE_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name');
  const keyTableName = str('KEY_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name');
  const imageBucketName = str('IMAGE_BUCKET_NAME', BUCKET_PATTERN, 'an S3 bucket name');
  const hmacKeyId = str('HMAC_KEY_ID', /^[A-Za-z0-9:/_-]{1,2048}$/, 'a KMS key id or ARN');
  let imageKmsKeyArn: string | undefined;
  if (env.IMAGE_KMS_KEY_ARN) {
    imageKmsKeyArn = str('IMAGE_KMS_KEY_ARN', KMS_KEY_ARN_PATTERN, 'a KMS key ARN');
  }

  const upstream = parseUpstream(env, problems);
  const models = parseModels(env.MODELS, problems);

  const config: GatewayConfig = {
    usageTableName,
    keyTableName,
    imageBucketName,
    ...(imageKmsKeyArn ? { imageKmsKeyArn } : {}),
    hmacKeyId,
    upstream,
    models,
    imageTtlSeconds: int('IMAGE_TTL_SECONDS', IMAGE_TTL_RANGE),
    metadataRetentionDays: int('METADATA_RETENTION_DAYS', METADATA_RETENTION_RANGE),
    upstreamTimeoutMs: int(
      'UPSTREAM_TIMEOUT_MS',
      UPSTREAM_TIMEOUT_RANGE,
      DEFAULT_UPSTREAM_TIMEOUT_MS,
    ),
    maxImagesPerRequest: int(
      'MAX_IMAGES_PER_REQUEST',
      MAX_IMAGES_RANGE,
      DEFAULT_MAX_IMAGES_PER_REQUEST,
    ),
  };
  if (problems.length > 0) {
    throw new Error(`Invalid gateway configuration: ${problems.join('; ')}`);
  }
  return config;
}

function parseUpstream(env: Env, problems: string[]): UpstreamConfig {
  const kind = env.UPSTREAM_KIND || 'bedrock';
  if (kind === 'bedrock') {
    if (env.UPSTREAM_BASE_URL)
      problems.push('UPSTREAM_BASE_URL is only used with UPSTREAM_KIND=openai-compatible');
    if (env.UPSTREAM_SECRET_ARN) {
      problems.push('UPSTREAM_SECRET_ARN is only used with UPSTREAM_KIND=openai-compatible');
    }
    return { kind };
  }
  if (kind !== 'openai-compatible') {
    problems.push("UPSTREAM_KIND must be 'bedrock' or 'openai-compatible'");
    return { kind: 'bedrock' };
  }
  const baseUrl = parseBaseUrl(env.UPSTREAM_BASE_URL, problems);
  const secretArn = env.UPSTREAM_SECRET_ARN;
  if (secretArn !== undefined && secretArn !== '' && !SECRET_ARN_PATTERN.test(secretArn)) {
    problems.push('UPSTREAM_SECRET_ARN must be a Secrets Manager secret ARN');
  }
  return { kind, baseUrl, ...(secretArn ? { secretArn } : {}) };
}

function parseBaseUrl(value: string | undefined, problems: string[]): string {
  const what = 'an https:// URL without credentials, query or fragment';
  if (!value) {
    problems.push(`UPSTREAM_BASE_URL is required with UPSTREAM_KIND=openai-compatible (${what})`);
    return '';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`UPSTREAM_BASE_URL must be ${what}`);
    return '';
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
    problems.push(`UPSTREAM_BASE_URL must be ${what}`);
    return '';
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Parses and checks a model list (JSON). Also used at synth time by the CDK
 * construct, so a list that would fail the gateway's cold start fails synth.
 */
export function parseModels(
  value: string | undefined,
  problems: string[],
  label = 'MODELS',
): ModelConfig[] {
  const what =
    'a JSON array of {"id","upstreamId","kind":"chat"|"image"} with optional non-negative ' +
    'inputMicroUsdPer1kTokens, outputMicroUsdPer1kTokens, microUsdPerImage';
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
  parsed.forEach((entry: unknown, i) => {
    const at = `${label}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const idKind = ID_PATTERNS.model;
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
    if (e.kind !== 'chat' && e.kind !== 'image')
      problems.push(`${at}.kind must be 'chat' or 'image'`);
    const price = (field: string): number => {
      const v = e[field];
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e12) {
        problems.push(`${at}.${field} must be a non-negative number (micro-USD)`);
        return 0;
      }
      return v;
    };
    models.push({
      id: e.id,
      upstreamId: String(e.upstreamId),
      kind: e.kind === 'image' ? 'image' : 'chat',
      inputMicroUsdPer1kTokens: price('inputMicroUsdPer1kTokens'),
      outputMicroUsdPer1kTokens: price('outputMicroUsdPer1kTokens'),
      microUsdPerImage: price('microUsdPerImage'),
    });
  });
  return models;
}
