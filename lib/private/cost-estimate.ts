/**
 * What a synthesized Ephemera stack costs before its first request, and what
 * each request adds, at AWS list prices: `estimateCost` reads every count
 * from the template (interface endpoints and their zones, load balancers,
 * NAT gateways, keys, alarms, ...), prices it from a small table, and
 * `formatDeploySummary` prints the result after the compliance summary.
 *
 * Pure and CDK-free: a template object in, figures out. List prices only (no
 * free tier, no savings plans, no taxes), 730 hours a month, amounts rounded
 * to cents. The model's own price (Bedrock tokens, or the upstream's) is never
 * included.
 */

import { LAMBDA_UNRESERVED_MINIMUM } from './deploy-facts';

/** Hours in a month, as the AWS Pricing Calculator counts them. */
export const HOURS_PER_MONTH = 730;

/** AWS bills data in GB of 2^30 bytes. */
const BYTES_PER_GB = 2 ** 30;

/** One region's list prices, in US dollars. */
export interface Prices {
  /** Interface VPC endpoint, per endpoint per Availability Zone per hour. */
  readonly interfaceEndpointHour: number;
  readonly albHour: number;
  readonly nlbHour: number;
  readonly natGatewayHour: number;
  /** Every public IPv4 address (a load balancer's in each zone, a NAT gateway's Elastic IP). */
  readonly publicIpv4Hour: number;
  /** Customer-managed KMS key (symmetric, asymmetric or HMAC), first year (no rotations yet). */
  readonly kmsKeyMonth: number;
  readonly kmsPer10kRequests: number;
  /** Standard-resolution alarm, per metric it lists. */
  readonly alarmMetricMonth: number;
  /** High-resolution (period under 60 s) alarm, per metric. */
  readonly highResolutionAlarmMetricMonth: number;
  readonly compositeAlarmMonth: number;
  readonly dashboardMonth: number;
  readonly wafWebAclMonth: number;
  readonly wafRuleMonth: number;
  readonly wafPerMillionRequests: number;
  /** API Gateway custom domain name: the pricing page lists no charge for one. */
  readonly apiCustomDomainMonth: number;
  readonly restApiPerMillionRequests: number;
  readonly secretMonth: number;
  readonly lambdaPerMillionRequests: number;
  readonly lambdaGbSecondArm: number;
  readonly lambdaGbSecondX86: number;
  /** DynamoDB on demand, per million write request units (1 KB each). */
  readonly dynamoDbWritePerMillion: number;
  /** DynamoDB on demand, per million read request units (a strongly consistent read of 4 KB). */
  readonly dynamoDbReadPerMillion: number;
  /** CloudWatch Logs standard ingestion, per GB. */
  readonly logsIngestionGb: number;
  /** CloudWatch Logs data protection, per GB scanned (log groups with a policy). */
  readonly logsDataProtectionGb: number;
}

/** Each price in words, for naming those a region takes from us-east-1. */
export const PRICE_LABELS: Readonly<Record<keyof Prices, string>> = {
  interfaceEndpointHour: 'interface endpoints',
  albHour: 'ALB',
  nlbHour: 'NLB',
  natGatewayHour: 'NAT gateways',
  publicIpv4Hour: 'public IPv4',
  kmsKeyMonth: 'KMS keys',
  kmsPer10kRequests: 'KMS requests',
  alarmMetricMonth: 'alarms',
  highResolutionAlarmMetricMonth: 'alarms',
  compositeAlarmMonth: 'alarms',
  dashboardMonth: 'dashboards',
  wafWebAclMonth: 'WAF',
  wafRuleMonth: 'WAF',
  wafPerMillionRequests: 'WAF',
  apiCustomDomainMonth: 'API Gateway custom domains',
  restApiPerMillionRequests: 'REST API requests',
  secretMonth: 'Secrets Manager',
  lambdaPerMillionRequests: 'Lambda',
  lambdaGbSecondArm: 'Lambda',
  lambdaGbSecondX86: 'Lambda',
  dynamoDbWritePerMillion: 'DynamoDB on demand',
  dynamoDbReadPerMillion: 'DynamoDB on demand',
  logsIngestionGb: 'Logs ingestion',
  logsDataProtectionGb: 'Logs data protection',
};

/** A region's entry: its name, when its figures were read, and the figures known for it. */
export interface RegionPrices {
  readonly name: string;
  /** When the figures were last compared with the pricing pages (year-month). */
  readonly asOf: string;
  readonly prices: Partial<Prices>;
}

/**
 * The date of the table's reference figures (us-east-1): the month they were
 * last compared with public copies of the AWS pricing pages.
 */
export const PRICES_AS_OF = '2026-06';

/** The reference region: its figures are complete, and stand in for any region without its own. */
export const REFERENCE_REGION = 'us-east-1';

/**
 * List prices from the AWS pricing pages, one entry per region with figures:
 *   aws.amazon.com/privatelink/pricing, /elasticloadbalancing/pricing,
 *   /vpc/pricing (NAT gateway, public IPv4), /kms/pricing, /cloudwatch/pricing
 *   (alarms, dashboards, Logs ingestion and data protection), /waf/pricing,
 *   /api-gateway/pricing, /secrets-manager/pricing, /lambda/pricing,
 *   /dynamodb/pricing/on-demand.
 * A region lists only the figures known for it; the rest are us-east-1's, and
 * the summary says which (`inherited`). Unchanged since: Lambda arm64 (2021),
 * public IPv4 (February 2024), KMS rotation pricing (May 2024), DynamoDB on
 * demand (halved November 2024).
 */
export const PRICE_TABLE: Readonly<Record<string, RegionPrices>> = {
  'us-east-1': {
    name: 'US East (N. Virginia)',
    asOf: PRICES_AS_OF,
    prices: {
      interfaceEndpointHour: 0.01,
      albHour: 0.0225,
      nlbHour: 0.0225,
      natGatewayHour: 0.045,
      publicIpv4Hour: 0.005,
      kmsKeyMonth: 1,
      kmsPer10kRequests: 0.03,
      alarmMetricMonth: 0.1,
      highResolutionAlarmMetricMonth: 0.3,
      compositeAlarmMonth: 0.5,
      dashboardMonth: 3,
      wafWebAclMonth: 5,
      wafRuleMonth: 1,
      wafPerMillionRequests: 0.6,
      apiCustomDomainMonth: 0,
      restApiPerMillionRequests: 3.5,
      secretMonth: 0.4,
      lambdaPerMillionRequests: 0.2,
      lambdaGbSecondArm: 0.0000133334,
      lambdaGbSecondX86: 0.0000166667,
      dynamoDbWritePerMillion: 0.625,
      dynamoDbReadPerMillion: 0.125,
      logsIngestionGb: 0.5,
      logsDataProtectionGb: 0.12,
    },
  },
  // Ireland's figures as read in mid-2025 (the ALB rate also seen in a 2026
  // copy). Not recorded here, so us-east-1's are used and named: DynamoDB on
  // demand and Logs data protection.
  'eu-west-1': {
    name: 'Europe (Ireland)',
    asOf: '2025-06',
    prices: {
      interfaceEndpointHour: 0.011,
      albHour: 0.0252,
      nlbHour: 0.0252,
      natGatewayHour: 0.048,
      publicIpv4Hour: 0.005,
      kmsKeyMonth: 1,
      kmsPer10kRequests: 0.03,
      alarmMetricMonth: 0.1,
      highResolutionAlarmMetricMonth: 0.3,
      compositeAlarmMonth: 0.5,
      dashboardMonth: 3,
      wafWebAclMonth: 5,
      wafRuleMonth: 1,
      wafPerMillionRequests: 0.6,
      apiCustomDomainMonth: 0,
      restApiPerMillionRequests: 3.5,
      secretMonth: 0.4,
      lambdaPerMillionRequests: 0.2,
      lambdaGbSecondArm: 0.0000133334,
      lambdaGbSecondX86: 0.0000166667,
      logsIngestionGb: 0.57,
    },
  },
};

/** The prices a region is estimated with. */
export interface PricesUsed {
  /** The stack's region (`unknown` when the template's region is not known at synth). */
  readonly region: string;
  /** The region whose entry was used. */
  readonly pricedAs: string;
  readonly name: string;
  readonly asOf: string;
  /** Whether the table has an entry for the stack's region. */
  readonly known: boolean;
  /** Figures taken from us-east-1 because the region's entry lacks them. */
  readonly inherited: readonly (keyof Prices)[];
  readonly prices: Prices;
}

/** The region's prices, completed with (or, for a region without an entry, replaced by) us-east-1's. */
export function pricesFor(region: string): PricesUsed {
  const reference = PRICE_TABLE[REFERENCE_REGION];
  const entry = PRICE_TABLE[region];
  const base = reference.prices as Prices;
  if (!entry) {
    return {
      region,
      pricedAs: REFERENCE_REGION,
      name: reference.name,
      asOf: reference.asOf,
      known: false,
      inherited: [],
      prices: base,
    };
  }
  const inherited = (Object.keys(base) as (keyof Prices)[]).filter(
    (k) => entry.prices[k] === undefined,
  );
  return {
    region,
    pricedAs: region,
    name: entry.name,
    asOf: entry.asOf,
    known: true,
    inherited,
    prices: { ...base, ...entry.prices },
  };
}

/** The request mix the per-request figures are for. */
export interface RequestMix {
  /** Chat requests a month. */
  readonly requestsPerMonth: number;
  /** Average duration of one, in seconds (the gateway waits for the model). */
  readonly averageDurationSeconds: number;
  /**
   * Bytes the gateway's log group takes per request: its usage line (about
   * 440 bytes for a chat completion) and Lambda's START, END and REPORT lines.
   */
  readonly gatewayLogBytesPerRequest: number;
  /** Bytes of the REST API's access-log line (frontDoorKind `api-gateway`). */
  readonly accessLogBytesPerRequest: number;
}

/** One million chat requests a month of 3 s each, every one naming a customer id. */
export const DEFAULT_MIX: RequestMix = {
  requestsPerMonth: 1_000_000,
  averageDurationSeconds: 3,
  gatewayLogBytesPerRequest: 700,
  accessLogBytesPerRequest: 300,
};

/** One priced line: what, how many at what unit price, and the monthly amount. */
export interface CostLine {
  readonly item: string;
  /** `count × unit price` (or the formula of a per-request line). */
  readonly detail: string;
  /** Rounded to cents. */
  readonly monthlyUsd: number;
  /** An upper bound rather than an estimate. */
  readonly atMost?: boolean;
}

export interface CostEstimate {
  readonly pricing: PricesUsed;
  readonly mix: RequestMix;
  /** Fixed monthly cost, one line per item the template holds. */
  readonly fixed: readonly CostLine[];
  /** The sum of the fixed lines. */
  readonly fixedMonthlyUsd: number;
  /** Fixed-cost items the template does not hold (so they cost nothing). */
  readonly absent: readonly string[];
  /** Pay-per-request resources: nothing until used (e.g. `3 DynamoDB tables (on demand)`). */
  readonly idleFree: readonly string[];
  /** What the mix adds, one line per service. */
  readonly perRequest: readonly CostLine[];
  /** The sum of the per-request lines (an upper bound where one of them is). */
  readonly perRequestMonthlyUsd: number;
}

/** The part of a CloudFormation template read here. */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
}

type Props = Readonly<Record<string, unknown>>;

function resources(template: CfnTemplate, ...types: string[]): { id: string; props: Props }[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, r]) => types.includes(r.Type))
    .map(([id, r]) => ({ id, props: r.Properties ?? {} }));
}

const listLength = (v: unknown, otherwise = 1): number => (Array.isArray(v) ? v.length : otherwise);

/** The logical id a `{ Ref }` names. */
function refOf(v: unknown): string | undefined {
  const ref = (v as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/** Cents, without binary-fraction noise (16.425 rounds to 16.43). */
export function roundCents(usd: number): number {
  return Math.round(Number((usd * 100).toFixed(6))) / 100;
}

/** A price as the table gives it: at least two decimals, no more than it has. */
export function formatPrice(usd: number): string {
  const decimals = (String(usd).split('.')[1] ?? '').length;
  return `$${usd.toFixed(Math.max(2, decimals))}`;
}

/** Dollars and cents. */
export function formatUsd(usd: number): string {
  return `$${roundCents(usd).toLocaleString('en-US', {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  })}`;
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
const hourly = (price: number) => price * HOURS_PER_MONTH;

/** The fixed monthly cost: every item read from the template. */
function fixedCosts(
  template: CfnTemplate,
  p: Prices,
): { fixed: CostLine[]; absent: string[]; idleFree: string[] } {
  const fixed: CostLine[] = [];
  const absent: string[] = [];
  const add = (item: string, n: number, line: () => CostLine) => {
    if (n > 0) fixed.push(line());
    else absent.push(item);
  };

  const endpoints = resources(template, 'AWS::EC2::VPCEndpoint').filter(
    (e) => e.props.VpcEndpointType === 'Interface',
  );
  const endpointZones = endpoints.reduce((sum, e) => sum + listLength(e.props.SubnetIds), 0);
  const zones = new Set(endpoints.map((e) => listLength(e.props.SubnetIds)));
  add('interface endpoints', endpoints.length, () => ({
    item: 'interface endpoints',
    detail:
      zones.size === 1
        ? `${count(endpoints.length)} × ${plural([...zones][0], 'AZ')} × ${formatPrice(p.interfaceEndpointHour)}/h`
        : `${count(endpointZones)} endpoint-AZs × ${formatPrice(p.interfaceEndpointHour)}/h`,
    monthlyUsd: roundCents(endpointZones * hourly(p.interfaceEndpointHour)),
  }));

  const balancers = resources(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  const albs = balancers.filter((b) => (b.props.Type ?? 'application') === 'application');
  const nlbs = balancers.filter((b) => b.props.Type === 'network');
  add('load balancers', albs.length + nlbs.length, () => {
    const parts = [
      ...(albs.length > 0 ? [`${count(albs.length)} ALB × ${formatPrice(p.albHour)}/h`] : []),
      ...(nlbs.length > 0 ? [`${count(nlbs.length)} NLB × ${formatPrice(p.nlbHour)}/h`] : []),
    ];
    return {
      item: 'load balancers',
      detail: parts.join(' + '),
      monthlyUsd: roundCents(albs.length * hourly(p.albHour) + nlbs.length * hourly(p.nlbHour)),
    };
  });

  // An internet-facing load balancer holds a public address in each of its
  // zones; a NAT gateway holds its Elastic IP.
  const publicAddresses =
    balancers
      .filter((b) => (b.props.Scheme ?? 'internet-facing') === 'internet-facing')
      .reduce((sum, b) => sum + listLength(b.props.Subnets ?? b.props.SubnetMappings, 0), 0) +
    resources(template, 'AWS::EC2::EIP').length;
  add('public IPv4 addresses', publicAddresses, () => ({
    item: 'public IPv4 addresses',
    detail: `${count(publicAddresses)} × ${formatPrice(p.publicIpv4Hour)}/h`,
    monthlyUsd: roundCents(publicAddresses * hourly(p.publicIpv4Hour)),
  }));

  const nats = resources(template, 'AWS::EC2::NatGateway').length;
  add('NAT gateways', nats, () => ({
    item: 'NAT gateways',
    detail: `${count(nats)} × ${formatPrice(p.natGatewayHour)}/h`,
    monthlyUsd: roundCents(nats * hourly(p.natGatewayHour)),
  }));

  const keys = resources(template, 'AWS::KMS::Key', 'AWS::KMS::ReplicaKey').length;
  add('KMS keys', keys, () => ({
    item: 'KMS keys',
    detail: `${count(keys)} × ${formatPrice(p.kmsKeyMonth)}/month`,
    monthlyUsd: roundCents(keys * p.kmsKeyMonth),
  }));

  let standard = 0;
  let highResolution = 0;
  for (const { props } of resources(template, 'AWS::CloudWatch::Alarm')) {
    const metrics = Array.isArray(props.Metrics)
      ? (props.Metrics as Props[]).filter((m) => m.MetricStat !== undefined)
      : [props];
    for (const m of metrics) {
      const period = (m.MetricStat as Props | undefined)?.Period ?? m.Period ?? props.Period;
      if (typeof period === 'number' && period < 60) highResolution++;
      else standard++;
    }
  }
  const composites = resources(template, 'AWS::CloudWatch::CompositeAlarm').length;
  add('CloudWatch alarms', standard + highResolution + composites, () => {
    const parts = [
      ...(standard > 0 ? [`${count(standard)} × ${formatPrice(p.alarmMetricMonth)}/month`] : []),
      ...(highResolution > 0
        ? [
            `${count(highResolution)} high-resolution × ${formatPrice(p.highResolutionAlarmMetricMonth)}/month`,
          ]
        : []),
      ...(composites > 0
        ? [`${count(composites)} composite × ${formatPrice(p.compositeAlarmMonth)}/month`]
        : []),
    ];
    return {
      item: 'CloudWatch alarms',
      detail: parts.join(' + '),
      monthlyUsd: roundCents(
        standard * p.alarmMetricMonth +
          highResolution * p.highResolutionAlarmMetricMonth +
          composites * p.compositeAlarmMonth,
      ),
    };
  });

  // Only a web ACL the stack creates is its cost; one given by webAclArn
  // (associated here) is billed to whoever owns it.
  const acls = resources(template, 'AWS::WAFv2::WebACL');
  const rules = acls.reduce((sum, a) => sum + listLength(a.props.Rules, 0), 0);
  const associated = resources(template, 'AWS::WAFv2::WebACLAssociation').length > 0;
  add(
    associated ? "WAF web ACL (webAclArn's is billed to its owner)" : 'WAF web ACL',
    acls.length,
    () => ({
      item: 'WAF',
      detail: `${plural(acls.length, 'web ACL')} × ${formatPrice(p.wafWebAclMonth)} + ${plural(rules, 'rule')} × ${formatPrice(p.wafRuleMonth)}/month`,
      monthlyUsd: roundCents(acls.length * p.wafWebAclMonth + rules * p.wafRuleMonth),
    }),
  );

  const domains = resources(
    template,
    'AWS::ApiGateway::DomainName',
    'AWS::ApiGateway::DomainNameV2',
    'AWS::ApiGatewayV2::DomainName',
  ).length;
  add('API Gateway custom domain', domains, () => ({
    item: 'API Gateway custom domain',
    detail: `${count(domains)} × ${p.apiCustomDomainMonth === 0 ? 'no charge' : `${formatPrice(p.apiCustomDomainMonth)}/month`}`,
    monthlyUsd: roundCents(domains * p.apiCustomDomainMonth),
  }));

  const dashboards = resources(template, 'AWS::CloudWatch::Dashboard').length;
  add('dashboards', dashboards, () => ({
    item: 'CloudWatch dashboards',
    detail: `${count(dashboards)} × ${formatPrice(p.dashboardMonth)}/month`,
    monthlyUsd: roundCents(dashboards * p.dashboardMonth),
  }));

  const secrets = resources(template, 'AWS::SecretsManager::Secret').length;
  if (secrets > 0) {
    fixed.push({
      item: 'Secrets Manager secrets',
      detail: `${count(secrets)} × ${formatPrice(p.secretMonth)}/month`,
      monthlyUsd: roundCents(secrets * p.secretMonth),
    });
  }

  const tables = resources(template, 'AWS::DynamoDB::Table');
  const onDemand = tables.filter((t) => t.props.BillingMode === 'PAY_PER_REQUEST').length;
  const idleFree = [
    ...(onDemand > 0 ? [`${plural(onDemand, 'DynamoDB table')} (on demand)`] : []),
    ...[
      ['AWS::Lambda::Function', 'Lambda function'],
      ['AWS::ApiGateway::RestApi', 'REST API'],
      ['AWS::SQS::Queue', 'SQS queue'],
      ['AWS::SNS::Topic', 'SNS topic'],
      ['AWS::S3::Bucket', 'S3 bucket'],
    ]
      .map(([type, name]) => [resources(template, type).length, name] as const)
      .filter(([n]) => n > 0)
      .map(([n, name]) => plural(n, name)),
  ];
  if (tables.length > onDemand) {
    absent.push(`${plural(tables.length - onDemand, 'provisioned table')} (not priced here)`);
  }
  return { fixed, absent, idleFree };
}

/**
 * The gateway function: the one that talks to the model upstream (the only
 * function with `UPSTREAM_KIND` in its environment).
 */
function gatewayFunction(template: CfnTemplate): Props | undefined {
  return resources(template, 'AWS::Lambda::Function')
    .map((f) => f.props)
    .find((f) => {
      const env = (f.Environment as Props | undefined)?.Variables as Props | undefined;
      return env?.UPSTREAM_KIND !== undefined;
    });
}

/**
 * What the mix adds. Per chat request the gateway (lambda/gateway) makes one
 * strongly consistent GetItem on the key table (lib/core/key-store.ts), one
 * PutItem of the usage item (lambda/gateway/pipeline/record.ts, under 1 KB)
 * plus one write to each index of the usage table when the request names a
 * customer id, and at most one KMS GenerateMac (the customer id's keyed hash,
 * cached by each instance: lib/core/keyed-hash.ts).
 */
function perRequestCosts(template: CfnTemplate, p: Prices, mix: RequestMix): CostLine[] {
  const lines: CostLine[] = [];
  const n = mix.requestsPerMonth;
  const millions = n / 1_000_000;
  const gateway = gatewayFunction(template);
  const tableById = new Map(
    resources(template, 'AWS::DynamoDB::Table').map((t) => [t.id, t.props] as const),
  );
  const restApis = resources(template, 'AWS::ApiGateway::RestApi').length;

  if (restApis > 0) {
    lines.push({
      item: 'API Gateway REST API',
      detail: `${count(n)} × ${formatPrice(p.restApiPerMillionRequests)}/M`,
      monthlyUsd: roundCents(millions * p.restApiPerMillionRequests),
    });
  }

  if (gateway) {
    const memoryMb = typeof gateway.MemorySize === 'number' ? gateway.MemorySize : 128;
    const arm = Array.isArray(gateway.Architectures) && gateway.Architectures[0] === 'arm64';
    const gbSecondPrice = arm ? p.lambdaGbSecondArm : p.lambdaGbSecondX86;
    const gbSeconds = n * mix.averageDurationSeconds * (memoryMb / 1024);
    lines.push({
      item: `Lambda gateway (${memoryMb} MB, ${arm ? 'arm64' : 'x86_64'})`,
      detail: `${count(gbSeconds)} GB-s × ${formatPrice(gbSecondPrice)} + ${count(n)} × ${formatPrice(p.lambdaPerMillionRequests)}/M`,
      monthlyUsd: roundCents(gbSeconds * gbSecondPrice + millions * p.lambdaPerMillionRequests),
    });

    const env = ((gateway.Environment as Props).Variables ?? {}) as Props;
    const usageTable = tableById.get(refOf(env.USAGE_TABLE_NAME) ?? '');
    const keyTable = tableById.get(refOf(env.KEY_TABLE_NAME) ?? '');
    if (usageTable || keyTable) {
      const indexes = usageTable ? listLength(usageTable.GlobalSecondaryIndexes, 0) : 0;
      const writes = usageTable ? 1 + indexes : 0;
      const reads = keyTable ? 1 : 0;
      const parts = [
        ...(writes > 0
          ? [
              `${plural(writes, 'write')} (usage item${indexes > 0 ? ` and ${plural(indexes, 'index', 'indexes')}` : ''}) × ${formatPrice(p.dynamoDbWritePerMillion)}/M`,
            ]
          : []),
        ...(reads > 0
          ? [`${reads} consistent read (API key) × ${formatPrice(p.dynamoDbReadPerMillion)}/M`]
          : []),
      ];
      lines.push({
        item: 'DynamoDB on demand',
        detail: `${parts.join(' + ')} per request`,
        monthlyUsd: roundCents(
          millions * (writes * p.dynamoDbWritePerMillion + reads * p.dynamoDbReadPerMillion),
        ),
      });
    }

    if (env.HMAC_KEY_ID !== undefined) {
      lines.push({
        item: 'KMS GenerateMac',
        detail: `at most 1 per request (a customer id the instance has not cached) × ${formatPrice(p.kmsPer10kRequests)}/10k`,
        monthlyUsd: roundCents((n / 10_000) * p.kmsPer10kRequests),
        atMost: true,
      });
    }

    const logGroup = resources(template, 'AWS::Logs::LogGroup').find(
      (g) => g.id === refOf((gateway.LoggingConfig as Props | undefined)?.LogGroup),
    );
    const protectedLogs = logGroup?.props.DataProtectionPolicy !== undefined;
    const gatewayGb = (n * mix.gatewayLogBytesPerRequest) / BYTES_PER_GB;
    const accessLogged =
      restApis > 0 &&
      resources(template, 'AWS::ApiGateway::Stage').some((s) => s.props.AccessLogSetting);
    const accessGb = accessLogged ? (n * mix.accessLogBytesPerRequest) / BYTES_PER_GB : 0;
    const bytes = mix.gatewayLogBytesPerRequest + (accessLogged ? mix.accessLogBytesPerRequest : 0);
    const gatewayRate = protectedLogs
      ? `(${formatPrice(p.logsIngestionGb)} + ${formatPrice(p.logsDataProtectionGb)} data protection)/GB`
      : `${formatPrice(p.logsIngestionGb)}/GB`;
    lines.push({
      item: 'CloudWatch Logs',
      detail:
        `${accessLogged ? 5 : 4} lines, about ${count(bytes)} B a request: ` +
        `${gatewayGb.toFixed(2)} GB × ${gatewayRate}` +
        (accessLogged ? ` + ${accessGb.toFixed(2)} GB × ${formatPrice(p.logsIngestionGb)}/GB` : ''),
      monthlyUsd: roundCents(
        gatewayGb * (p.logsIngestionGb + (protectedLogs ? p.logsDataProtectionGb : 0)) +
          accessGb * p.logsIngestionGb,
      ),
    });
  }

  if (resources(template, 'AWS::WAFv2::WebACL').length > 0) {
    lines.push({
      item: 'WAF requests',
      detail: `${count(n)} × ${formatPrice(p.wafPerMillionRequests)}/M`,
      monthlyUsd: roundCents(millions * p.wafPerMillionRequests),
    });
  }
  return lines;
}

const sum = (lines: readonly CostLine[]) =>
  roundCents(lines.reduce((total, l) => total + l.monthlyUsd, 0));

/**
 * The fixed monthly cost of a synthesized template and what `mix` adds, at
 * the list prices of `region` (us-east-1's for a region without figures).
 */
export function estimateCost(
  template: CfnTemplate,
  region: string,
  mix: RequestMix = DEFAULT_MIX,
): CostEstimate {
  const pricing = pricesFor(region);
  const { fixed, absent, idleFree } = fixedCosts(template, pricing.prices);
  const perRequest = perRequestCosts(template, pricing.prices, mix);
  return {
    pricing,
    mix,
    fixed,
    fixedMonthlyUsd: sum(fixed),
    absent,
    idleFree,
    perRequest,
    perRequestMonthlyUsd: sum(perRequest),
  };
}

/**
 * The deploy summary: about 15 lines, printed after the compliance summary.
 * `reserved` is the template's reserved Lambda concurrency (`reservedConcurrency`
 * in lib/private/deploy-facts.ts).
 */
export function formatDeploySummary(
  stackName: string,
  estimate: CostEstimate,
  reserved: number,
): string {
  const { pricing, mix } = estimate;
  const where = pricing.known
    ? pricing.region
    : `${pricing.region}: no figures for it, so ${REFERENCE_REGION} prices`;
  const lines = [`Ephemera deploy summary (stack ${stackName}, ${where})`];
  lines.push(
    `  fixed cost: ${formatUsd(estimate.fixedMonthlyUsd)} a month at list prices (${HOURS_PER_MONTH} h), before any request`,
  );
  for (const l of estimate.fixed) {
    lines.push(`    ${l.item}: ${l.detail} = ${formatUsd(l.monthlyUsd)}`);
  }
  if (estimate.absent.length > 0) lines.push(`    none here: ${estimate.absent.join(', ')}`);
  if (estimate.idleFree.length > 0) {
    lines.push(`    $0 until used: ${estimate.idleFree.join(', ')}`);
  }
  const upTo = estimate.perRequest.some((l) => l.atMost) ? 'up to ' : '';
  lines.push(
    `  per request: ${upTo}${formatUsd(estimate.perRequestMonthlyUsd)} a month for ${count(mix.requestsPerMonth)} chat requests of ${mix.averageDurationSeconds} s ` +
      `each naming a customer id, plus the model's own price (Bedrock tokens)`,
  );
  for (const l of estimate.perRequest) {
    lines.push(
      `    ${l.item}: ${l.detail} = ${l.atMost ? 'up to ' : ''}${formatUsd(l.monthlyUsd)}`,
    );
  }
  const inherited =
    pricing.inherited.length > 0
      ? ` (${REFERENCE_REGION}'s for ${[...new Set(pricing.inherited.map((k) => PRICE_LABELS[k]))].join(', ')})`
      : '';
  lines.push(
    `  prices: ${pricing.name} list prices as of ${pricing.asOf}${inherited}; see lib/private/cost-estimate.ts`,
  );
  lines.push(
    reserved > 0
      ? `  reserved Lambda concurrency: ${count(reserved)} (Lambda keeps ${LAMBDA_UNRESERVED_MINIMUM} unreserved: the account's concurrency limit must be at least ${count(reserved + LAMBDA_UNRESERVED_MINIMUM)})`
      : `  reserved Lambda concurrency: none (every function shares the account's unreserved pool)`,
  );
  return lines.join('\n');
}

/** What the summary needs of a synthesized stack (a cloud assembly's stack artifact). */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly environment: { readonly region: string };
}

/**
 * The deploy summary of every stack of a cloud assembly. It never fails the
 * synth: a template it cannot read gets a one-line note instead.
 */
export function formatDeploySummaries(
  stacks: readonly SynthesizedStack[],
  reserved: (template: CfnTemplate) => number,
  mix: RequestMix = DEFAULT_MIX,
): string {
  return stacks
    .map((s) => {
      try {
        const estimate = estimateCost(s.template, s.environment.region, mix);
        return formatDeploySummary(s.stackName, estimate, reserved(s.template));
      } catch (e) {
        return `Ephemera deploy summary (stack ${s.stackName}): not available (${e instanceof Error ? e.message : String(e)})`;
      }
    })
    .join('\n');
}
