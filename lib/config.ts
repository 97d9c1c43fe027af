import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { parseModels } from './core/models';
import { isEmailAddress } from './core/text';
import { checkUpstreamBaseUrl, UPSTREAM_URL_RULE } from './core/upstream-url';
import { DEFAULT_MODELS, GatewayModel, RemoteImageUrls } from './inference-gateway';
import { ENDPOINT_PRINCIPAL_PATTERN } from './private-front-door';
import { webhookUrlProblem } from './core/webhook-url';
import { TlsVersions } from './tls-load-balancer';

/**
 * Who can reach the API: the internet (`public`), only VPCs connected over
 * PrivateLink (`private`), or both.
 */
export type FrontDoor = 'public' | 'private' | 'both';

/** The stack's configuration, as read from `cdk.json` context. */
export interface EphemeraConfig {
  readonly imageTtl: Duration;
  readonly imageSweepInterval: Duration;
  readonly metadataRetentionDays: number;
  readonly logRetention: logs.RetentionDays;
  readonly accessLogRetentionDays: number;
  readonly certificateArn?: string;
  readonly domainName?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
  readonly tlsVersions: TlsVersions;
  readonly fips: boolean;
  readonly maxAzs: number;
  readonly vpcCidr: string;
  readonly frontDoor: FrontDoor;
  readonly allowedCidrs?: string[];
  readonly httpRedirect: boolean;
  readonly webAclArn?: string;
  readonly alarmEmails: string[];
  readonly allowedRegions: string[];
  readonly allowInternetEgress: boolean;
  readonly keyRotationDays: number;
  readonly removalPolicy: RemovalPolicy;
  readonly upstream: GatewayUpstreamConfig;
  readonly models: GatewayModel[];
  readonly gatewayTimeout: Duration;
  readonly gatewayMaxConcurrency: number;
  readonly maxImagesPerRequest: number;
  readonly remoteImageUrls: RemoteImageUrls;
  readonly accessLogs: boolean;
  readonly maxKeyAgeDays: number;
  readonly endpointServicePrincipals: string[];
  readonly allowInsecureTrustAll: boolean;
  readonly receiptWebhookUrl?: string;
}

/** The model upstream as configured (the secret is referenced by ARN). */
export type GatewayUpstreamConfig =
  | { readonly kind: 'bedrock' }
  | {
      readonly kind: 'openai-compatible';
      readonly baseUrl: string;
      readonly secretArn?: string;
      readonly secretKmsKeyArn?: string;
    };

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = Object.values(logs.RetentionDays).filter(
  (v): v is number => typeof v === 'number' && v > 0 && v !== logs.RetentionDays.INFINITE,
);

/** Every context key the app reads, with its default (documented in docs/configuration.md). */
export const CONFIG_DEFAULTS = {
  imageTtlMinutes: 60,
  imageSweepMinutes: 5,
  metadataRetentionDays: 30,
  logRetentionDays: 30,
  accessLogRetentionDays: 30,
  certificateArn: '',
  domainName: '',
  hostedZoneId: '',
  hostedZoneName: '',
  tlsVersions: 'tls1.2+1.3',
  fips: false,
  maxAzs: 2,
  vpcCidr: '10.40.0.0/16',
  frontDoor: 'public',
  allowedCidrs: [] as string[],
  httpRedirect: false,
  webAclArn: '',
  alarmEmails: [] as string[],
  allowedRegions: [] as string[],
  allowInternetEgress: false,
  keyRotationDays: 365,
  removalPolicy: 'retain',
  upstream: 'bedrock',
  upstreamBaseUrl: '',
  upstreamSecretArn: '',
  upstreamSecretKmsKeyArn: '',
  models: DEFAULT_MODELS,
  gatewayTimeoutSeconds: 300,
  gatewayMaxConcurrency: 50,
  maxImagesPerRequest: 4,
  remoteImageUrls: 'deny',
  accessLogs: false,
  maxKeyAgeDays: 90,
  endpointServicePrincipals: [] as string[],
  allowInsecureTrustAll: false,
  receiptWebhookUrl: '',
} as const;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

/**
 * Reads and validates the configuration from context (`cdk.json`, or
 * `-c key=value`). Values given on the command line arrive as strings, so
 * numbers, booleans and lists are parsed here. Every problem is collected and
 * reported at once.
 */
export function readConfig(scope: Construct): EphemeraConfig {
  const problems: string[] = [];
  const raw = (key: ConfigKey): unknown => {
    const v = scope.node.tryGetContext(key);
    return v === undefined ? CONFIG_DEFAULTS[key] : v;
  };
  const int = (key: ConfigKey, min: number, max: number): number => {
    const v = raw(key);
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return min;
    }
    return n;
  };
  const bool = (key: ConfigKey): boolean => {
    const v = raw(key);
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    problems.push(`${key} must be true or false (got ${JSON.stringify(v)})`);
    return false;
  };
  const str = (key: ConfigKey, pattern: RegExp, what: string): string | undefined => {
    const v = raw(key);
    if (v === '' || v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || !pattern.test(v)) {
      problems.push(`${key} must be ${what} (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return v;
  };
  const list = (
    key: ConfigKey,
    valid: RegExp | ((s: string) => boolean),
    what: string,
  ): string[] => {
    let v = raw(key);
    if (typeof v === 'string') {
      const s = v.trim();
      v = s.startsWith('[') ? safeJson(s) : s === '' ? [] : s.split(',').map((x) => x.trim());
    }
    const ok = (x: unknown) =>
      typeof x === 'string' && (typeof valid === 'function' ? valid(x) : valid.test(x));
    if (!Array.isArray(v) || !v.every(ok)) {
      problems.push(`${key} must be a list of ${what} (got ${JSON.stringify(raw(key))})`);
      return [];
    }
    return v as string[];
  };
  const oneOf = <T extends string>(key: ConfigKey, values: readonly T[]): T => {
    const v = raw(key);
    if (typeof v !== 'string' || !values.includes(v as T)) {
      problems.push(`${key} must be one of ${values.join(', ')} (got ${JSON.stringify(v)})`);
      return values[0];
    }
    return v as T;
  };

  function readUpstream(): GatewayUpstreamConfig {
    const kind = oneOf('upstream', ['bedrock', 'openai-compatible'] as const);
    if (kind === 'bedrock') return { kind };
    // The gateway's own check, so a URL synth accepts never fails its cold start.
    // The message never repeats the value: it may hold a password.
    const rawUrl = raw('upstreamBaseUrl');
    let baseUrl: string | undefined;
    if (rawUrl !== '' && rawUrl !== undefined && rawUrl !== null) {
      const checked = checkUpstreamBaseUrl(rawUrl);
      if (checked.ok) baseUrl = checked.url;
      else problems.push(`upstreamBaseUrl ${checked.problem}`);
    }
    const secretArn = str(
      'upstreamSecretArn',
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/,
      'the complete ARN of a Secrets Manager secret (with its 6-character suffix)',
    );
    const secretKmsKeyArn = str(
      'upstreamSecretKmsKeyArn',
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
      'a KMS key ARN',
    );
    return { kind, baseUrl: baseUrl ?? '', secretArn, secretKmsKeyArn };
  }
  function readWebhookUrl(): string | undefined {
    const v = raw('receiptWebhookUrl');
    if (v === '' || v === undefined || v === null) return undefined;
    // The message never repeats the value: a URL may carry a token.
    const problem = webhookUrlProblem(v);
    if (problem) problems.push(`receiptWebhookUrl ${problem}`);
    return problem ? undefined : (v as string);
  }
  function readModels(): GatewayModel[] {
    const v = raw('models');
    const json = typeof v === 'string' ? v : JSON.stringify(v);
    const before = problems.length;
    parseModels(json, problems, 'models');
    return problems.length === before ? (JSON.parse(json) as GatewayModel[]) : [...DEFAULT_MODELS];
  }

  const logRetentionDays = int('logRetentionDays', 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(
      `logRetentionDays must be one of CloudWatch Logs' periods: ${LOG_RETENTION_DAYS.join(', ')} (got ${logRetentionDays})`,
    );
  }
  const config: EphemeraConfig = {
    imageTtl: Duration.minutes(int('imageTtlMinutes', 5, 1440)),
    imageSweepInterval: Duration.minutes(int('imageSweepMinutes', 1, 60)),
    metadataRetentionDays: int('metadataRetentionDays', 1, 3650),
    logRetention: logRetentionDays as logs.RetentionDays,
    accessLogRetentionDays: int('accessLogRetentionDays', 1, 400),
    certificateArn: str(
      'certificateArn',
      /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/,
      'an ACM certificate ARN',
    ),
    domainName: str(
      'domainName',
      /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/,
      'a lower-case DNS name',
    ),
    hostedZoneId: str('hostedZoneId', /^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone id'),
    hostedZoneName: str(
      'hostedZoneName',
      /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/,
      'a lower-case DNS name',
    ),
    tlsVersions: oneOf('tlsVersions', [TlsVersions.TLS_1_2_AND_1_3, TlsVersions.TLS_1_3_ONLY]),
    fips: bool('fips'),
    maxAzs: int('maxAzs', 2, 6),
    vpcCidr:
      str('vpcCidr', /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR') ?? CONFIG_DEFAULTS.vpcCidr,
    frontDoor: oneOf('frontDoor', ['public', 'private', 'both'] as const),
    allowedCidrs: optionalList(
      list('allowedCidrs', /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'IPv4 CIDRs'),
    ),
    httpRedirect: bool('httpRedirect'),
    webAclArn: str('webAclArn', /^arn:aws[a-z-]*:wafv2:.+$/, 'a WAFv2 web ACL ARN'),
    alarmEmails: list('alarmEmails', isEmailAddress, 'email addresses'),
    allowedRegions: list('allowedRegions', /^[a-z]{2}(-[a-z]+)+-\d$/, 'AWS region names'),
    allowInternetEgress: bool('allowInternetEgress'),
    keyRotationDays: int('keyRotationDays', 90, 2560),
    removalPolicy:
      oneOf('removalPolicy', ['retain', 'destroy'] as const) === 'destroy'
        ? RemovalPolicy.DESTROY
        : RemovalPolicy.RETAIN,
    upstream: readUpstream(),
    models: readModels(),
    gatewayTimeout: Duration.seconds(int('gatewayTimeoutSeconds', 30, 900)),
    gatewayMaxConcurrency: int('gatewayMaxConcurrency', 1, 1000),
    maxImagesPerRequest: int('maxImagesPerRequest', 1, 10),
    remoteImageUrls: oneOf('remoteImageUrls', ['deny', 'allow'] as const),
    accessLogs: bool('accessLogs'),
    maxKeyAgeDays: int('maxKeyAgeDays', 1, 365),
    endpointServicePrincipals: list(
      'endpointServicePrincipals',
      ENDPOINT_PRINCIPAL_PATTERN,
      'AWS account ids or ARNs of account roots, IAM roles or IAM users',
    ),
    allowInsecureTrustAll: bool('allowInsecureTrustAll'),
    receiptWebhookUrl: readWebhookUrl(),
  };
  if (
    config.upstream.kind === 'openai-compatible' &&
    !config.upstream.baseUrl &&
    !raw('upstreamBaseUrl')
  ) {
    problems.push(
      `upstreamBaseUrl is required when upstream is openai-compatible (${UPSTREAM_URL_RULE})`,
    );
  }
  const valid = (key: ConfigKey) => !problems.some((p) => p.startsWith(`${key} `));
  if (
    valid('logRetentionDays') &&
    valid('metadataRetentionDays') &&
    logRetentionDays > config.metadataRetentionDays
  ) {
    problems.push(
      `logRetentionDays (${logRetentionDays}) must not exceed metadataRetentionDays (${config.metadataRetentionDays}): log lines are metadata too, and every answer promises metadata=${config.metadataRetentionDays}d`,
    );
  }
  if (
    valid('accessLogRetentionDays') &&
    valid('metadataRetentionDays') &&
    config.accessLogRetentionDays > config.metadataRetentionDays
  ) {
    problems.push(
      `accessLogRetentionDays (${config.accessLogRetentionDays}) must not exceed metadataRetentionDays (${config.metadataRetentionDays}): access logs are request metadata too`,
    );
  }
  if (config.frontDoor !== 'public' && config.endpointServicePrincipals.length === 0) {
    problems.push(
      `frontDoor ${config.frontDoor} offers the API over PrivateLink: endpointServicePrincipals must name the AWS accounts (or IAM roles) allowed to connect`,
    );
  }
  if (config.frontDoor === 'private' && config.allowInternetEgress) {
    problems.push(
      'frontDoor private means no internet gateway at all, but allowInternetEgress needs one (for its NAT gateways): reach the upstream through the VPC (PrivateLink, peering) or choose frontDoor both',
    );
  }
  if (config.hostedZoneId && !(config.domainName && config.hostedZoneName)) {
    problems.push('hostedZoneId needs domainName and hostedZoneName');
  }
  if (
    config.domainName &&
    config.hostedZoneName &&
    !`.${config.domainName}`.endsWith(`.${config.hostedZoneName}`)
  ) {
    problems.push(`domainName must be inside hostedZoneName (${config.hostedZoneName})`);
  }
  if (problems.length > 0) {
    throw new Error(
      'Invalid Ephemera configuration (cdk.json context):\n' +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
  return config;
}

function optionalList(v: string[]): string[] | undefined {
  return v.length > 0 ? v : undefined;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
