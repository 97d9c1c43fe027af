/**
 * The gateway's environment (lambda/gateway): written by the
 * InferenceGateway construct, read by the gateway at cold start, built by
 * local mode. A configuration key that reaches the gateway as it is gets one
 * line here (`settingInt` / `settingChoice`), and the construct's `settings`
 * prop carries it: see "Add a configuration key" in docs/architecture.md.
 */

import { CONFIG_SCHEMA } from '../config-schema';
import {
  bool,
  custom,
  defineEnv,
  int,
  oneOf,
  optionalText,
  settingInt,
  settingRange,
  text,
  type EnvValues,
  type SettingsOf,
} from '../handler-env';
import { bedrockModelProblems, parseModels, type ModelConfig, type ModelSpec } from '../models';
import { checkUpstreamBaseUrl, UPSTREAM_URL_RULE } from '../upstream-url';
import { BUCKET_NAME, KMS_KEY_ARN, KMS_KEY_ID, SECRET_ARN, TABLE_NAME } from './formats';

/** The model upstreams (the `upstream` configuration key's values). */
const UPSTREAM_KINDS = CONFIG_SCHEMA.upstream.values;
type UpstreamKind = (typeof UPSTREAM_KINDS)[number];

/** The upstream kind read before a variable that depends on it (an unreadable kind: Bedrock's rules). */
const kindOf = (earlier: Readonly<Record<string, unknown>>): UpstreamKind | undefined =>
  earlier.upstreamKind as UpstreamKind | undefined;

/** A variable only an openai-compatible upstream uses. */
const onlyForOpenAi = (name: string) => `${name} is only used with UPSTREAM_KIND=openai-compatible`;

export const gatewayEnv = defineEnv('gateway', {
  usageTableName: text('USAGE_TABLE_NAME', TABLE_NAME),
  keyTableName: text('KEY_TABLE_NAME', TABLE_NAME),
  imageBucketName: text('IMAGE_BUCKET_NAME', BUCKET_NAME),
  hmacKeyId: text('HMAC_KEY_ID', KMS_KEY_ID),
  /** KMS key ARN for SSE-KMS on stored images; when unset the bucket's default encryption applies. */
  imageKmsKeyArn: optionalText('IMAGE_KMS_KEY_ARN', KMS_KEY_ARN),
  /**
   * The config bucket holding the outbound trust store (which CAs the
   * openai-compatible upstream may present). Unset: Node's public CAs only.
   */
  configBucketName: optionalText('CONFIG_BUCKET_NAME', BUCKET_NAME),
  upstreamKind: oneOf('UPSTREAM_KIND', UPSTREAM_KINDS, CONFIG_SCHEMA.upstream.default),
  /** `https://host[:port][/path]`, without a trailing slash (openai-compatible only). */
  upstreamBaseUrl: custom<string, 'optional'>({
    name: 'UPSTREAM_BASE_URL',
    presence: 'optional',
    what: UPSTREAM_URL_RULE,
    read(raw, problems, earlier) {
      const kind = kindOf(earlier);
      if (kind === 'bedrock' && raw) problems.push(onlyForOpenAi('UPSTREAM_BASE_URL'));
      if (kind !== 'openai-compatible') return undefined;
      if (!raw) {
        problems.push(
          `UPSTREAM_BASE_URL is required with UPSTREAM_KIND=openai-compatible (${UPSTREAM_URL_RULE})`,
        );
        return undefined;
      }
      const checked = checkUpstreamBaseUrl(raw);
      if (checked.ok) return checked.url;
      problems.push(`UPSTREAM_BASE_URL ${checked.problem}`);
      return undefined;
    },
    write: (url) => url,
  }),
  /** Secrets Manager secret holding the upstream bearer token (openai-compatible only). */
  upstreamSecretArn: custom<string, 'optional'>({
    name: 'UPSTREAM_SECRET_ARN',
    presence: 'optional',
    what: SECRET_ARN.what,
    read(raw, problems, earlier) {
      if (!raw) return undefined;
      const kind = kindOf(earlier);
      if (kind === 'bedrock') problems.push(onlyForOpenAi('UPSTREAM_SECRET_ARN'));
      if (kind !== 'openai-compatible') return undefined;
      if (SECRET_ARN.pattern.test(raw)) return raw;
      problems.push(`UPSTREAM_SECRET_ARN must be ${SECRET_ARN.what}`);
      return undefined;
    },
    write: (arn) => arn,
  }),
  /** The models offered (JSON), checked as at synth. */
  models: custom<readonly ModelConfig[], 'required', readonly ModelSpec[]>({
    name: 'MODELS',
    presence: 'required',
    what: 'a JSON model list',
    read(raw, problems, earlier) {
      const models = parseModels(raw, problems);
      // As at synth: Bedrock embeddings come from Titan Text Embeddings V2 only.
      if ((kindOf(earlier) ?? 'bedrock') === 'bedrock') {
        problems.push(...bedrockModelProblems(models, 'MODELS'));
      }
      return models;
    },
    write: (models) => JSON.stringify(models),
  }),
  /** How long an image asked for by URL is kept: the `imageTtlMinutes` range, in seconds. */
  imageTtlSeconds: int('IMAGE_TTL_SECONDS', settingRange('imageTtlMinutes', 60)),
  /** How long usage records (and log lines) are kept. */
  metadataRetentionDays: int('METADATA_RETENTION_DAYS', settingRange('metadataRetentionDays')),
  /** The upstream's deadline (lib/core/request-deadlines.ts derives it from the request timeout). */
  upstreamTimeoutMs: int('UPSTREAM_TIMEOUT_MS', { min: 1_000, max: 900_000 }, 280_000),
  /** Largest `n` of an image request. */
  maxImagesPerRequest: settingInt('maxImagesPerRequest', 'MAX_IMAGES_PER_REQUEST'),
  /**
   * Whether chat messages may carry `https://` image URLs (`allow`), which the
   * upstream would fetch from inside the private network, or only `data:`
   * URLs (`deny`).
   */
  remoteImageUrls: oneOf(
    'REMOTE_IMAGE_URLS',
    CONFIG_SCHEMA.remoteImageUrls.values,
    CONFIG_SCHEMA.remoteImageUrls.default,
  ),
  /**
   * Whether the deployment allows the trust store's `insecure_trust_all`
   * mode; when it does not, that mode is read as `uploaded_and_public`.
   */
  allowInsecureTrustAll: bool('ALLOW_INSECURE_TRUST_ALL', false),
});

/** What the gateway reads from its environment, field by field. */
export type GatewayEnv = EnvValues<typeof gatewayEnv.vars>;

/**
 * The configuration keys the gateway receives as they are (the
 * InferenceGateway's `settings`), each defaulting to the schema's default.
 */
export type GatewaySettings = SettingsOf<typeof gatewayEnv.vars>;
