import { Duration, RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CONFIG_SCHEMA, type Setting, type SettingKey, SETTING_KEYS } from './core/config-schema';
import { unknownNameMessage } from './core/unknown-names';
import { checkUpstreamBaseUrl, UPSTREAM_URL_RULE } from './core/upstream-url';
import { GatewayModel, RemoteImageUrls } from './inference-gateway';
import { ApiGatewayAccountRole } from './streaming-front-door';
import { TlsVersions } from './tls-load-balancer';

/**
 * Who can reach the API: the internet (`public`), only VPCs connected over
 * PrivateLink (`private`), or both.
 */
export type FrontDoor = 'public' | 'private' | 'both';

/**
 * What serves the API: the TLS load balancer (`alb`, one body per answer) or
 * an API Gateway REST API with Lambda response streaming (`api-gateway`).
 */
export type FrontDoorKind = 'alb' | 'api-gateway';

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
  readonly frontDoorKind: FrontDoorKind;
  /** The execute-api VPC endpoints a private REST API admits (`api-gateway`, `private` or `both`). */
  readonly apiVpcEndpointIds: string[];
  /** Who sets API Gateway's account-level CloudWatch Logs role (`api-gateway` only). */
  readonly apiGatewayAccountRole: ApiGatewayAccountRole;
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
  /** Whether the functions reserve Lambda concurrency (off for accounts with a low limit). */
  readonly reserveConcurrency: boolean;
  readonly remoteImageUrls: RemoteImageUrls;
  readonly accessLogs: boolean;
  readonly maxKeyAgeDays: number;
  readonly endpointServicePrincipals: string[];
  readonly allowInsecureTrustAll: boolean;
  readonly receiptWebhookUrl?: string;
  /**
   * Every stack setting's checked value, by its `cdk.json` key: what the
   * constructs pass on to their handlers as it is (`InferenceGateway`'s
   * `settings`), so a key that only a handler reads needs no field here.
   */
  readonly settings: CheckedSettings;
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

/** Keys the app reads for the stack itself (`region`, `account`, `stackName`). */
type AppKey = {
  [K in SettingKey]: (typeof CONFIG_SCHEMA)[K] extends { readonly app: true } ? K : never;
}[SettingKey];

/** The stack's keys: every context key but the app's own. */
export type ConfigKey = Exclude<SettingKey, AppKey>;

type DefaultOf<K extends SettingKey> = (typeof CONFIG_SCHEMA)[K]['default'];

/** The type of a key's values (its default's literal type widened). */
type ValueOf<K extends SettingKey> =
  DefaultOf<K> extends string
    ? string
    : DefaultOf<K> extends number
      ? number
      : DefaultOf<K> extends boolean
        ? boolean
        : DefaultOf<K>;

/**
 * Every context key the stack reads, with its default: the schema's
 * (lib/core/config-schema.ts, which documents each key and its range). These
 * are settings in the shape of `cdk.json` context, not an `EphemeraConfig`:
 * `ephemeraConfig(settings)` turns settings into one.
 */
export const CONFIG_DEFAULTS = Object.fromEntries(
  SETTING_KEYS.filter((k) => !(CONFIG_SCHEMA[k] as Setting<unknown>).app).map((k) => [
    k,
    CONFIG_SCHEMA[k].default,
  ]),
) as { readonly [K in ConfigKey]: DefaultOf<K> };

/**
 * A context value as given (JSON from cdk.json, or a string from `-c`) read
 * as its kind; a value that does not parse is returned as it is, for the
 * rule to refuse.
 */
function parseValue(s: Setting<unknown>, v: unknown): unknown {
  switch (s.kind) {
    case 'integer':
      return typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : v;
    case 'list': {
      if (typeof v !== 'string') return v;
      const text = v.trim();
      if (text.startsWith('[')) return safeJson(text);
      return text === '' ? [] : text.split(',').map((x) => x.trim());
    }
    default:
      return v;
  }
}

/**
 * Reads and validates the configuration from context (`cdk.json`, or
 * `-c key=value`): each key by its rule in the schema, then the relations
 * between keys. Values given on the command line arrive as strings, so
 * numbers, booleans and lists are parsed here. Every problem is collected and
 * reported at once; each names the key, what is wrong and what is allowed,
 * and repeats the value only where it cannot hold a secret.
 */
export function readConfig(scope: Construct): EphemeraConfig {
  const problems: string[] = [];
  const raw = (key: SettingKey): unknown => {
    const v = scope.node.tryGetContext(key);
    return v === undefined ? CONFIG_SCHEMA[key].default : v;
  };
  const values = {} as Record<SettingKey, unknown>;
  for (const key of SETTING_KEYS) {
    const s: Setting<unknown> = CONFIG_SCHEMA[key];
    const given = raw(key);
    const unset = s.blankIsDefault === true && (given === '' || given === null);
    const value = unset ? s.default : parseValue(s, given);
    const problem = unset ? undefined : s.rule.check(value);
    if (problem !== undefined) {
      // "models[0].id must ..." reads on from the key without a space.
      const sep = problem.startsWith('[') ? '' : ' ';
      const got = s.showValue === false ? '' : ` (got ${JSON.stringify(given)})`;
      problems.push(`${key}${sep}${problem}${got}`);
    }
    values[key] = problem === undefined ? value : s.default;
  }
  const valid = (key: SettingKey) => !problems.some((p) => p.startsWith(`${key} `));
  const get = <K extends ConfigKey>(key: K) => values[key] as ValueOf<K>;
  const optional = (key: ConfigKey): string | undefined => (values[key] as string) || undefined;
  const list = (key: ConfigKey): string[] => [...(values[key] as string[])];

  const baseUrl = optional('upstreamBaseUrl');
  const checkedUrl = baseUrl === undefined ? undefined : checkUpstreamBaseUrl(baseUrl);
  const upstream: GatewayUpstreamConfig =
    get('upstream') === 'openai-compatible'
      ? {
          kind: 'openai-compatible',
          // Normalised (no trailing slash), as the gateway uses it.
          baseUrl: checkedUrl?.ok ? checkedUrl.url : '',
          secretArn: optional('upstreamSecretArn'),
          secretKmsKeyArn: optional('upstreamSecretKmsKeyArn'),
        }
      : { kind: 'bedrock' };
  const logRetentionDays = get('logRetentionDays');
  const config: EphemeraConfig = {
    imageTtl: Duration.minutes(get('imageTtlMinutes')),
    imageSweepInterval: Duration.minutes(get('imageSweepMinutes')),
    metadataRetentionDays: get('metadataRetentionDays'),
    logRetention: logRetentionDays as logs.RetentionDays,
    accessLogRetentionDays: get('accessLogRetentionDays'),
    certificateArn: optional('certificateArn'),
    domainName: optional('domainName'),
    hostedZoneId: optional('hostedZoneId'),
    hostedZoneName: optional('hostedZoneName'),
    tlsVersions: get('tlsVersions') as TlsVersions,
    fips: get('fips'),
    maxAzs: get('maxAzs'),
    vpcCidr: get('vpcCidr'),
    frontDoor: get('frontDoor') as FrontDoor,
    frontDoorKind: get('frontDoorKind') as FrontDoorKind,
    apiVpcEndpointIds: list('apiVpcEndpointIds'),
    apiGatewayAccountRole: get('apiGatewayAccountRole') as ApiGatewayAccountRole,
    allowedCidrs: optionalList(list('allowedCidrs')),
    httpRedirect: get('httpRedirect'),
    webAclArn: optional('webAclArn'),
    alarmEmails: list('alarmEmails'),
    allowedRegions: list('allowedRegions'),
    allowInternetEgress: get('allowInternetEgress'),
    keyRotationDays: get('keyRotationDays'),
    removalPolicy:
      get('removalPolicy') === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    upstream,
    models: modelList(values.models),
    gatewayTimeout: Duration.seconds(get('gatewayTimeoutSeconds')),
    gatewayMaxConcurrency: get('gatewayMaxConcurrency'),
    reserveConcurrency: get('reserveConcurrency'),
    remoteImageUrls: get('remoteImageUrls') as RemoteImageUrls,
    accessLogs: get('accessLogs'),
    maxKeyAgeDays: get('maxKeyAgeDays'),
    endpointServicePrincipals: list('endpointServicePrincipals'),
    allowInsecureTrustAll: get('allowInsecureTrustAll'),
    receiptWebhookUrl: optional('receiptWebhookUrl'),
    settings: Object.fromEntries(
      SETTING_KEYS.filter((k) => !(CONFIG_SCHEMA[k] as Setting<unknown>).app).map((k) => [
        k,
        k === 'models' ? modelList(values.models) : values[k],
      ]),
    ) as CheckedSettings,
  };
  if (upstream.kind === 'openai-compatible' && !upstream.baseUrl && valid('upstreamBaseUrl')) {
    problems.push(
      `upstreamBaseUrl is required when upstream is openai-compatible (${UPSTREAM_URL_RULE})`,
    );
  }
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
  problems.push(...frontDoorProblems(config));
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

/** How `frontDoor`, `frontDoorKind` and the keys that apply to only one kind fit together. */
function frontDoorProblems(config: EphemeraConfig): string[] {
  const problems: string[] = [];
  const offersPrivate = config.frontDoor !== 'public';
  if (config.frontDoorKind === 'alb') {
    if (config.maxAzs < 2) {
      problems.push(
        'maxAzs 1 needs frontDoorKind api-gateway: a load balancer needs subnets in two Availability Zones',
      );
    }
    if (offersPrivate && config.endpointServicePrincipals.length === 0) {
      problems.push(
        `frontDoor ${config.frontDoor} offers the API over PrivateLink: endpointServicePrincipals must name the AWS accounts (or IAM roles) allowed to connect`,
      );
    }
    if (config.apiVpcEndpointIds.length > 0) {
      problems.push(
        'apiVpcEndpointIds applies to frontDoorKind api-gateway only (the load balancer is offered over PrivateLink: use endpointServicePrincipals)',
      );
    }
    return problems;
  }
  if (offersPrivate && config.apiVpcEndpointIds.length === 0) {
    problems.push(
      `frontDoor ${config.frontDoor} with frontDoorKind api-gateway is a private REST API: apiVpcEndpointIds must name the execute-api interface endpoints (in the callers' VPCs) allowed to call it`,
    );
  }
  if (!offersPrivate && config.apiVpcEndpointIds.length > 0) {
    problems.push('apiVpcEndpointIds applies to frontDoor private or both (a private REST API)');
  }
  if (config.endpointServicePrincipals.length > 0) {
    problems.push(
      'endpointServicePrincipals applies to frontDoorKind alb only (a private REST API admits the VPC endpoints in apiVpcEndpointIds)',
    );
  }
  if (config.httpRedirect) {
    problems.push('httpRedirect applies to frontDoorKind alb only: API Gateway answers HTTPS only');
  }
  if (config.frontDoor === 'private' && config.allowedCidrs) {
    problems.push(
      'allowedCidrs limits the public REST API; with frontDoor private the API admits only apiVpcEndpointIds',
    );
  }
  if (config.frontDoor === 'private' && config.domainName) {
    problems.push(
      "domainName is the public REST API's custom domain; with frontDoor private and frontDoorKind api-gateway callers use their VPC endpoint's execute-api names",
    );
  }
  if (config.certificateArn && !config.domainName) {
    problems.push(
      'certificateArn needs domainName with frontDoorKind api-gateway (without a domain the API serves its execute-api name with its own certificate)',
    );
  }
  return problems;
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

/** The models as the stack passes them on (a fresh copy; the list was checked by its rule). */
function modelList(v: unknown): GatewayModel[] {
  return JSON.parse(typeof v === 'string' ? v : JSON.stringify(v)) as GatewayModel[];
}

/** Every stack setting's checked value, by its `cdk.json` key. */
export type CheckedSettings = { readonly [K in ConfigKey]: ValueOf<K> };

/**
 * Settings for an `EphemeraStack` built in code: the stack's `cdk.json`
 * context keys (docs/configuration.md lists each with its default and range),
 * every one optional. `CONFIG_DEFAULTS` is a complete one.
 */
export type EphemeraSettings = { readonly [K in ConfigKey]?: ValueOf<K> };

/** The header of readConfig's error, and the one `ephemeraConfig` reports under. */
const CONTEXT_SOURCE = '(cdk.json context)';
const SETTINGS_SOURCE = '(ephemeraConfig settings)';

/**
 * The configuration of an `EphemeraStack` built in your own app: `settings`
 * over the defaults, read and checked exactly as `cdk.json` context is (each
 * key by its rule, then the relations between keys; every problem in one
 * error). The app's own keys (`region`, `account`, `stackName`) are not
 * settings: give the stack its `env` and id.
 *
 * ```ts
 * new EphemeraStack(app, 'Ephemera', {
 *   env: { region: 'eu-west-1' },
 *   config: ephemeraConfig({ frontDoorKind: 'api-gateway', imageTtlMinutes: 30 }),
 * });
 * ```
 */
export function ephemeraConfig(settings: EphemeraSettings = {}): EphemeraConfig {
  const known = Object.keys(CONFIG_DEFAULTS);
  const problems = Object.keys(settings)
    .filter((key) => !known.includes(key))
    .map((key) =>
      (SETTING_KEYS as readonly string[]).includes(key)
        ? `${key} is the app's, not a stack setting: give the stack its env (region, account) and id`
        : unknownNameMessage('setting', key, known, 'docs/configuration.md'),
    );
  if (problems.length > 0) {
    throw new Error(
      `Invalid Ephemera configuration ${SETTINGS_SOURCE}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
  // A detached construct carries the settings as its context, for readConfig.
  const holder = new Construct(undefined as unknown as Construct, '');
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) holder.node.setContext(key, value);
  }
  try {
    return readConfig(holder);
  } catch (e) {
    if (e instanceof Error) e.message = e.message.replace(CONTEXT_SOURCE, SETTINGS_SOURCE);
    throw e;
  }
}

/** `EphemeraStack`'s props (here, with the configuration, so that checks of the props need not import the stack). */
export interface EphemeraStackProps extends StackProps {
  /**
   * The configuration: `ephemeraConfig({ ...settings })` builds one from
   * settings by their `cdk.json` keys (docs/configuration.md), checked as
   * context is.
   * @default - read from the app's context (`cdk.json`)
   */
  readonly config?: EphemeraConfig;
}
