/**
 * The configuration schema: every `cdk.json` context key the app reads, with
 * its default, its rule (and the allowed values in words) and a one-line
 * description. Everything else follows from it or is checked against it:
 * `CONFIG_DEFAULTS` and `readConfig` (lib/config.ts) derive from it; tests
 * check that cdk.json holds exactly these keys with these defaults, that the
 * constructs' own checks give the same verdicts (they call the same rules,
 * lib/core/rules.ts), and that the configuration table of
 * docs/configuration.md is its rendering (`npx tsx bin/config-docs.ts`).
 *
 * Pure and CDK-free, so the documentation generator runs without the CDK.
 * Problems are reported in schema order.
 */

import { DEFAULT_MODELS, parseModels } from './models';
import { UPSTREAM_KIND_NAMES } from './upstream-kinds';
import { checkUpstreamBaseUrl } from './upstream-url';
import { webhookUrlProblem } from './webhook-url';
import {
  BOOLEAN_RULE,
  CIDR_LIST_RULE,
  EMAIL_LIST_RULE,
  ENDPOINT_PRINCIPALS_RULE,
  integerProblem,
  integerRule,
  type IntegerRange,
  isAccountId,
  isRegionName,
  oneOfRule,
  REGION_LIST_RULE,
  type Rule,
  stringRule,
  VPC_CIDR_RULE,
  VPC_ENDPOINT_IDS_RULE,
  WEB_ACL_ARN_RULE,
} from './rules';

/**
 * How a context value is read. Values given with `-c key=value` arrive as
 * strings: `integer` and `boolean` parse them, `list` takes a JSON array or
 * comma-separated values, `json` takes JSON text.
 */
export type SettingKind = 'integer' | 'boolean' | 'string' | 'list' | 'json';

/** One context key. */
export interface Setting<T> {
  readonly kind: SettingKind;
  /** The value in cdk.json, and the value when the key is absent. */
  readonly default: T;
  /** What the value must be (a rule the constructs that receive it share, where one does). */
  readonly rule: Rule;
  /** Relations with other keys, added to the rule's range in the table. */
  readonly rangeNote?: string;
  /** One line for the configuration table (Markdown, links relative to docs/). */
  readonly description: string;
  /** The default in words, where the value in cdk.json stands for one chosen at synth. */
  readonly defaultText?: string;
  /** An empty string (or null) means the default: the key is left unset. @default false */
  readonly blankIsDefault?: boolean;
  /** Problems may repeat the value (not for URLs, which may carry a password). @default true */
  readonly showValue?: boolean;
  /** Read by the app for the stack itself (name, account, region), not part of `EphemeraConfig`. */
  readonly app?: boolean;
  /** An integer setting's bounds as numbers (its rule's range), for the handlers' contracts. */
  readonly bounds?: IntegerRange;
  /** A setting that is one of a few strings: those strings. */
  readonly values?: readonly string[];
}

/** One entry of the schema, its literal types kept (`app: true` picks the app's keys). */
const setting = <const S extends Setting<unknown>>(s: S): S => s;

/** An integer from `min` to `max`: the rule, and the bounds as numbers (lib/core/env reads them). */
const integerBetween = (min: number, max: number) => ({
  rule: integerRule(min, max),
  bounds: { min, max },
});

/** One of `values`: the rule, and the values themselves (their literal types kept). */
const choice = <const V extends readonly string[]>(values: V) => ({
  rule: oneOfRule(values),
  values,
});

/** The retention periods CloudWatch Logs offers, in days (not "never expire"). */
export const LOG_RETENTION_PERIODS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

/** What serves the API: the load balancer, or API Gateway with response streaming. */
export const FRONT_DOOR_KINDS = ['alb', 'api-gateway'] as const;

/** Who sets API Gateway's account-level CloudWatch Logs role (ApiGatewayAccountRole in lib/streaming-front-door.ts). */
export const API_GATEWAY_ACCOUNT_ROLES = ['create', 'existing'] as const;

/** The TLS choices of the HTTPS listener (TlsVersions in lib/tls-load-balancer.ts). */
export const TLS_VERSION_VALUES = ['tls1.2+1.3', 'tls1.3'] as const;

const LOG_RETENTION_RULE: Rule = {
  range: 'a CloudWatch Logs period (1, 3, 5, 7, 14, 30, 60, 90, ...)',
  check: (v) =>
    integerProblem(v, { min: 1, max: 3653 }) ??
    (LOG_RETENTION_PERIODS.includes(v as number)
      ? undefined
      : `must be one of CloudWatch Logs' periods: ${LOG_RETENTION_PERIODS.join(', ')}`),
};

/** A lower-case DNS name of two or more labels, at most 253 characters. */
const DNS_NAME_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9-]{1,63}\.)+[a-z]{2,63}$/;
const DNS_NAME_RULE = stringRule('lower-case DNS name', 'a lower-case DNS name', (s) =>
  DNS_NAME_PATTERN.test(s),
);

/** The listener certificate (also the allowed pattern of the template's CertificateArn parameter). */
export const ACM_CERTIFICATE_ARN_PATTERN =
  /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** A URL rule whose problems come from one of the URL checks. */
const urlRule = (check: (v: unknown) => string | undefined): Rule => ({
  range: `\`https://\` URL without credentials, query or fragment`,
  check,
});

/** The model list: the gateway's own cold-start parser. */
const MODELS_RULE: Rule = {
  range:
    'list of `{id, upstreamId, kind, inputMicroUsdPer1kTokens?, outputMicroUsdPer1kTokens?, microUsdPerImage?, default?}`',
  check: (v) => {
    const problems: string[] = [];
    parseModels(typeof v === 'string' ? v : JSON.stringify(v), problems, 'models');
    // "models must ...", "models[0].id must ...": the key is added back by the reader.
    return problems.length === 0 ? undefined : problems.join('; ').slice('models'.length).trim();
  },
};

/**
 * Every context key the app reads, in the order of the configuration table
 * (the stack, then who reaches it and how, the model upstream, retention,
 * keys, outbound calls and alarms).
 */
export const CONFIG_SCHEMA = {
  region: setting({
    kind: 'string',
    default: '',
    rule: stringRule('AWS region', 'an AWS region name such as eu-west-1', isRegionName),
    blankIsDefault: true,
    app: true,
    defaultText: '`CDK_DEFAULT_REGION`, else `us-east-1`',
    description: 'where the stack deploys (the region decides the ALB log-delivery principal)',
  }),
  account: setting({
    kind: 'string',
    default: '',
    rule: stringRule('12 digits', 'a 12-digit AWS account id', isAccountId),
    blankIsDefault: true,
    app: true,
    defaultText: '`CDK_DEFAULT_ACCOUNT`, else unresolved',
    description: 'target account',
  }),
  stackName: setting({
    kind: 'string',
    default: 'Ephemera',
    rule: stringRule(
      'letters, digits and `-`, starting with a letter (at most 128)',
      'a CloudFormation stack name (letters, digits and -, starting with a letter, at most 128)',
      (s) => /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(s),
    ),
    blankIsDefault: true,
    app: true,
    description: 'CloudFormation stack name',
  }),
  allowedRegions: setting({
    kind: 'list',
    default: [] as string[],
    rule: REGION_LIST_RULE,
    defaultText: '`[]` (any)',
    description:
      'data residency: synth refuses any other region, and any Bedrock model that can send prompts elsewhere (see [Data residency](#data-residency)), e.g. `["eu-west-1","eu-central-1"]` for GDPR',
  }),
  frontDoor: setting({
    kind: 'string',
    default: 'public',
    ...choice(['public', 'private', 'both']),
    description:
      "`public`: a public REST API (with `alb`: an internet-facing ALB in public subnets, the only internet gateway; no NAT); `private`: a private REST API reached through the callers' execute-api endpoints (see [Private REST API](deploy.md#private-rest-api)), or with `alb` an internal ALB offered to other VPCs over PrivateLink only (see [Private front door](deploy.md#private-front-door-privatelink)); nothing internet-facing and no internet gateway at all, so `allowInternetEgress` is refused with it; `both`: the public and the private path",
  }),
  frontDoorKind: setting({
    kind: 'string',
    default: 'api-gateway',
    ...choice(FRONT_DOOR_KINDS),
    description:
      '`api-gateway`: a REST API with Lambda response streaming (a `stream: true` answer arrives chunk by chunk as the model produces it, no 1 MB limit) and an enhanced TLS 1.3 security policy (see [Streaming front door](deploy.md#streaming-front-door-api-gateway)); `alb`: the TLS load balancer, which cannot stream: it gathers a `stream: true` answer into one body, and refuses an answer over 1 MB (`422 response_too_large`); see [The load balancer instead](deploy.md#the-load-balancer-instead-frontdoorkind-alb)',
  }),
  apiVpcEndpointIds: setting({
    kind: 'list',
    default: [] as string[],
    rule: VPC_ENDPOINT_IDS_RULE,
    rangeNote:
      'required with `frontDoorKind` `api-gateway` and `frontDoor` `private` or `both`, refused otherwise',
    description:
      "the callers' execute-api interface endpoints the private REST API admits (its resource policy names them on `aws:SourceVpce`)",
  }),
  apiGatewayAccountRole: setting({
    kind: 'string',
    default: 'create',
    ...choice(API_GATEWAY_ACCOUNT_ROLES),
    description:
      "API Gateway's account-level CloudWatch Logs role, without which no stage with an access log can be created (`api-gateway` only; the load balancer creates nothing account-wide). `create`: the stack sets it: a role with only the AWS managed policy `AmazonAPIGatewayPushToCloudWatchLogs` and the account setting naming it, both kept when the stack is deleted; `existing`: it is already set in this account and region (by another stack or by hand) and nothing account-wide is created. Use `create` in one stack per account and region (see [Account-wide settings](deploy.md#account-wide-settings))",
  }),
  certificateArn: setting({
    kind: 'string',
    default: '',
    rule: stringRule('ACM certificate ARN', 'an ACM certificate ARN', (s) =>
      ACM_CERTIFICATE_ARN_PATTERN.test(s),
    ),
    blankIsDefault: true,
    description:
      'listener certificate; when empty and no domain is set, the template takes a `CertificateArn` parameter at deploy (ALB only: without a domain, API Gateway serves its own `execute-api` name and needs none)',
  }),
  domainName: setting({
    kind: 'string',
    default: '',
    rule: DNS_NAME_RULE,
    blankIsDefault: true,
    description:
      "the API's DNS name; with `hostedZoneId` and `hostedZoneName` as well: a DNS-validated ACM certificate (if no `certificateArn`) and an alias record; with `api-gateway`, the public REST API's custom domain (its `execute-api` endpoint is then off)",
  }),
  hostedZoneId: setting({
    kind: 'string',
    default: '',
    rule: stringRule('Route 53 hosted zone id', 'a Route 53 hosted zone id', (s) =>
      /^Z[A-Z0-9]{1,31}$/.test(s),
    ),
    rangeNote: 'needs `domainName` and `hostedZoneName`',
    blankIsDefault: true,
    description: 'the Route 53 hosted zone of `domainName`',
  }),
  hostedZoneName: setting({
    kind: 'string',
    default: '',
    rule: DNS_NAME_RULE,
    rangeNote: 'must contain `domainName`',
    blankIsDefault: true,
    description: 'the name of that hosted zone',
  }),
  tlsVersions: setting({
    kind: 'string',
    default: 'tls1.2+1.3',
    ...choice(TLS_VERSION_VALUES),
    description:
      'ALB listener policy `ELBSecurityPolicy-TLS13-1-2-2021-06` or `...TLS13-1-3-2021-06`; API Gateway policy `SecurityPolicy_TLS13_1_2_2021_06` or `SecurityPolicy_TLS13_1_3_2025_09` (endpoint access mode `STRICT`)',
  }),
  fips: setting({
    kind: 'boolean',
    default: false,
    rule: BOOLEAN_RULE,
    description: 'use the FIPS variant of the policy',
  }),
  httpRedirect: setting({
    kind: 'boolean',
    default: false,
    rule: BOOLEAN_RULE,
    description:
      'open port 80 as a permanent redirect to HTTPS (otherwise port 80 is closed); ALB only (API Gateway answers HTTPS only)',
  }),
  allowedCidrs: setting({
    kind: 'list',
    default: [] as string[],
    rule: CIDR_LIST_RULE,
    description:
      'who may connect directly to the ALB (default: anywhere when public; nobody but the PrivateLink NLB when private, so add ranges here for callers inside the VPC or peered networks); with `api-gateway`, the source addresses the public REST API admits (its resource policy)',
  }),
  endpointServicePrincipals: setting({
    kind: 'list',
    default: [] as string[],
    rule: ENDPOINT_PRINCIPALS_RULE,
    description:
      'who may create an interface endpoint to the PrivateLink service; required with `frontDoorKind` `alb` and `frontDoor` `private` or `both` (each connection must still be accepted), refused with `api-gateway`',
  }),
  webAclArn: setting({
    kind: 'string',
    default: '',
    rule: WEB_ACL_ARN_RULE,
    blankIsDefault: true,
    description: 'attach your WAF (to the ALB, or to each REST API stage)',
  }),
  maxAzs: setting({
    kind: 'integer',
    default: 2,
    ...integerBetween(1, 6),
    description:
      'Availability Zones (more than 2 need an explicit account and region). 1 is a non-production setting for `frontDoorKind` `api-gateway` only (a load balancer needs two zones): one zone of interface endpoints costs half, and a zone outage stops the API; every privacy promise still holds',
  }),
  vpcCidr: setting({
    kind: 'string',
    default: '10.40.0.0/16',
    rule: VPC_CIDR_RULE,
    blankIsDefault: true,
    description: 'VPC range',
  }),
  allowInternetEgress: setting({
    kind: 'boolean',
    default: false,
    rule: BOOLEAN_RULE,
    description:
      'NAT gateways for an upstream outside AWS; the warning (traffic leaves the VPC) stays in every synth summary, acknowledged with this setting as the reason',
  }),
  upstream: setting({
    kind: 'string',
    default: 'bedrock',
    ...choice(UPSTREAM_KIND_NAMES),
    description: 'the model upstream',
  }),
  upstreamBaseUrl: setting({
    kind: 'string',
    default: '',
    rule: urlRule((v) => {
      const checked = checkUpstreamBaseUrl(v);
      return checked.ok ? undefined : checked.problem;
    }),
    blankIsDefault: true,
    showValue: false,
    description: 'required for `openai-compatible` (e.g. vLLM or TGI inside the VPC)',
  }),
  upstreamSecretArn: setting({
    kind: 'string',
    default: '',
    rule: stringRule(
      'complete Secrets Manager ARN (with its 6-character suffix)',
      'the complete ARN of a Secrets Manager secret (with its 6-character suffix)',
      (s) =>
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/.test(
          s,
        ),
    ),
    blankIsDefault: true,
    description:
      'bearer token of the upstream (the secret string, or JSON `{"token":"..."}`), read at cold start',
  }),
  upstreamSecretKmsKeyArn: setting({
    kind: 'string',
    default: '',
    rule: stringRule('KMS key ARN', 'a KMS key ARN', (s) =>
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(s),
    ),
    blankIsDefault: true,
    description:
      'the customer-managed key of that secret, if any (adds `kms:Decrypt` through Secrets Manager)',
  }),
  models: setting({
    kind: 'json',
    default: DEFAULT_MODELS,
    rule: MODELS_RULE,
    showValue: false,
    defaultText: DEFAULT_MODELS.map((m) => `\`${m.id}\` (${m.kind})`).join(', '),
    description:
      'models offered, each of kind `chat`, `image` or `embedding` (with Bedrock, embeddings come from Titan Text Embeddings V2 only), and their prices (micro-dollars; the defaults are examples) for the cost field of usage records; `default: true` on one image model makes it the model of an image request that names none (a single image model is that without it)',
  }),
  gatewayTimeoutSeconds: setting({
    kind: 'integer',
    default: 300,
    ...integerBetween(30, 900),
    description: 'longest request; the ALB idle timeout is 10 s longer',
  }),
  gatewayMaxConcurrency: setting({
    kind: 'integer',
    default: 50,
    ...integerBetween(1, 1000),
    description:
      "reserved concurrency of the gateway (with `reserveConcurrency`); with `api-gateway` also the stage's rate and burst limits",
  }),
  reserveConcurrency: setting({
    kind: 'boolean',
    default: true,
    rule: BOOLEAN_RULE,
    description:
      "whether the functions reserve Lambda concurrency: `gatewayMaxConcurrency` for the gateway, 10 admin, 5 erasure worker, 2 receipt webhook, 1 sweeper, 1 watchdog (67 by default, 69 with `receiptWebhookUrl`), which needs an account concurrency limit of at least the total plus 100 (Lambda keeps 100 unreserved). `false` for an account with a lower limit (new accounts may have 10): no function reserves, and all share the account's pool (see [Deploy readiness](deploy.md#deploy-readiness))",
  }),
  maxImagesPerRequest: setting({
    kind: 'integer',
    default: 4,
    ...integerBetween(1, 10),
    description: 'largest `n` for images',
  }),
  remoteImageUrls: setting({
    kind: 'string',
    default: 'deny',
    ...choice(['deny', 'allow']),
    description:
      'whether chat messages and Responses input may carry `https://` image URLs, which the upstream fetches from inside the VPC (`deny`: `data:` URLs only, a 400 says why)',
  }),
  imageTtlMinutes: setting({
    kind: 'integer',
    default: 60,
    ...integerBetween(5, 1440),
    description: 'how long an image asked for by URL is kept',
  }),
  imageSweepMinutes: setting({
    kind: 'integer',
    default: 5,
    ...integerBetween(1, 60),
    description: 'how often the sweeper runs',
  }),
  metadataRetentionDays: setting({
    kind: 'integer',
    default: 30,
    ...integerBetween(1, 3650),
    description: 'usage-record TTL',
  }),
  logRetentionDays: setting({
    kind: 'integer',
    default: 30,
    rule: LOG_RETENTION_RULE,
    rangeNote: 'at most `metadataRetentionDays`',
    description: 'every log group (log lines are metadata too)',
  }),
  accessLogs: setting({
    kind: 'boolean',
    default: false,
    rule: BOOLEAN_RULE,
    description:
      'ALB access logs to an SSE-S3 bucket, or with `api-gateway` the client IP and full path added to the REST API access log (which otherwise holds metadata only). They record full URLs, so a customer id given as `?customer_id=` would outlive its erasure: off by default; when on, every receipt lists them in `excludes`',
  }),
  accessLogRetentionDays: setting({
    kind: 'integer',
    default: 30,
    ...integerBetween(1, 400),
    rangeNote: 'at most `metadataRetentionDays`',
    description: 'ALB access logs (with `accessLogs`)',
  }),
  maxKeyAgeDays: setting({
    kind: 'integer',
    default: 90,
    ...integerBetween(1, 365),
    description: 'the longest an API key may live, and its default lifetime',
  }),
  keyRotationDays: setting({
    kind: 'integer',
    default: 365,
    ...integerBetween(90, 2560),
    description: 'KMS rotation period of the symmetric keys',
  }),
  allowInsecureTrustAll: setting({
    kind: 'boolean',
    default: false,
    rule: BOOLEAN_RULE,
    description:
      'whether an admin may set the outbound trust mode `insecure_trust_all` (no certificate verification; see [Outbound trust store](http-api.md#outbound-trust-store))',
  }),
  receiptWebhookUrl: setting({
    kind: 'string',
    default: '',
    rule: urlRule(webhookUrlProblem),
    blankIsDefault: true,
    showValue: false,
    description:
      'receives every signed erasure receipt by POST, with retries and a dead-letter queue (see [Erasure](http-api.md#erasure)); an address outside AWS needs `allowInternetEgress`',
  }),
  alarmEmails: setting({
    kind: 'list',
    default: [] as string[],
    rule: EMAIL_LIST_RULE,
    description: 'subscribed to the alarm topic',
  }),
  removalPolicy: setting({
    kind: 'string',
    default: 'retain',
    ...choice(['retain', 'destroy']),
    description:
      'what happens to keys, tables, buckets and logs when the stack is deleted (`destroy` still leaves deletion protection on the tables and the ALB, and buckets must be empty: turn those off and empty the buckets before `cdk destroy`)',
  }),
};

/** A key of the schema. */
export type SettingKey = keyof typeof CONFIG_SCHEMA;

/** The keys in schema order. */
export const SETTING_KEYS = Object.keys(CONFIG_SCHEMA) as SettingKey[];

/** The allowed values of a key in words: its rule's range and any relation with other keys. */
export function rangeOf(s: Setting<unknown>): string {
  return s.rangeNote ? `${s.rule.range}, ${s.rangeNote}` : s.rule.range;
}

/** The default of a key as the configuration table shows it. */
export function defaultTextOf(s: Setting<unknown>): string {
  if (s.defaultText !== undefined) return s.defaultText;
  return typeof s.default === 'string' && s.default !== ''
    ? `\`${s.default}\``
    : `\`${JSON.stringify(s.default)}\``;
}

/** The keys whose values are integers in bounds (`maxImagesPerRequest`, `imageTtlMinutes`, ...). */
export type IntegerSettingKey = {
  [K in SettingKey]: (typeof CONFIG_SCHEMA)[K] extends { readonly bounds: IntegerRange }
    ? K
    : never;
}[SettingKey];

/** The keys whose values are one of a few strings (`remoteImageUrls`, `upstream`, ...). */
export type ChoiceSettingKey = {
  [K in SettingKey]: (typeof CONFIG_SCHEMA)[K] extends { readonly values: readonly string[] }
    ? K
    : never;
}[SettingKey];
