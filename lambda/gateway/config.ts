/**
 * Gateway configuration, read from environment variables once at cold start.
 *
 * Every problem is collected and reported in one error that names the variables
 * and the allowed ranges, so a bad deployment fails at init, not at the first
 * request.
 */

import { bedrockModelProblems, parseModels, type ModelConfig } from '../../lib/core/models';
import { checkUpstreamBaseUrl, UPSTREAM_URL_RULE } from '../../lib/core/upstream-url';

export type { ModelConfig, ModelKind } from '../../lib/core/models';

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
  /**
   * Whether chat messages may carry `https://` image URLs (`allow`), which the
   * upstream would fetch from inside the private network, or only `data:`
   * URLs (`deny`).
   */
  readonly remoteImageUrls: RemoteImageUrls;
  /**
   * The config bucket holding the outbound trust store (which CAs the
   * openai-compatible upstream may present). Unset: Node's public CAs only.
   */
  readonly configBucketName?: string;
  /**
   * Whether the deployment allows the trust store's `insecure_trust_all`
   * mode; when it does not, that mode is read as `uploaded_and_public`.
   */
  readonly allowInsecureTrustAll: boolean;
}

export type RemoteImageUrls = 'deny' | 'allow';

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
  let configBucketName: string | undefined;
  if (env.CONFIG_BUCKET_NAME) {
    configBucketName = str('CONFIG_BUCKET_NAME', BUCKET_PATTERN, 'an S3 bucket name');
  }

  const upstream = parseUpstream(env, problems);
  const models = parseModels(env.MODELS, problems);
  // As at synth: Bedrock embeddings come from Titan Text Embeddings V2 only.
  if (upstream.kind === 'bedrock') problems.push(...bedrockModelProblems(models, 'MODELS'));

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
    remoteImageUrls: parseRemoteImageUrls(env.REMOTE_IMAGE_URLS, problems),
    ...(configBucketName ? { configBucketName } : {}),
    allowInsecureTrustAll: parseBoolean('ALLOW_INSECURE_TRUST_ALL', env, problems),
  };
  if (problems.length > 0) {
    throw new Error(`Invalid gateway configuration: ${problems.join('; ')}`);
  }
  return config;
}

function parseBoolean(name: string, env: Env, problems: string[]): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  problems.push(`${name} must be true or false`);
  return false;
}

function parseRemoteImageUrls(value: string | undefined, problems: string[]): RemoteImageUrls {
  if (value === undefined || value === '' || value === 'deny') return 'deny';
  if (value === 'allow') return 'allow';
  problems.push("REMOTE_IMAGE_URLS must be 'deny' or 'allow'");
  return 'deny';
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
  if (!value) {
    problems.push(
      `UPSTREAM_BASE_URL is required with UPSTREAM_KIND=openai-compatible (${UPSTREAM_URL_RULE})`,
    );
    return '';
  }
  const checked = checkUpstreamBaseUrl(value);
  if (!checked.ok) {
    problems.push(`UPSTREAM_BASE_URL ${checked.problem}`);
    return '';
  }
  return checked.url;
}
