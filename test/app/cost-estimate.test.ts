/**
 * Cost before deploy: the fixed monthly cost and the per-request structure
 * read from synthesized templates, pinned to figures worked out here by hand
 * from the price table (us-east-1 unless a test says otherwise: $0.01 per
 * interface endpoint per AZ-hour, $0.0225 per ALB-hour, $0.005 per public IPv4
 * address-hour, $1 per KMS key, $0.10 per alarm, $3.50 per million REST API
 * requests; 730 hours a month), and the summary `npm run synth` prints after
 * the compliance summary. The default front door is API Gateway's; the load
 * balancer's figures are those of `frontDoorKind` `alb`.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { REPORT_IN_APP, synthAndReport } from '../../lib/app';
import {
  CfnTemplate,
  CostEstimate,
  DEFAULT_MIX,
  estimateCost,
  formatDeploySummaries,
  formatDeploySummary,
  PRICE_TABLE,
  PRICES_AS_OF,
  pricesFor,
  roundCents,
} from '../../lib/private/cost-estimate';
import { reservedConcurrency } from '../../lib/private/deploy-facts';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { testApp } from '../support/ephemera-app';
import { defaultStackTemplate } from '../support/synths';

/** The template of an Ephemera stack built from cdk.json plus `context`. */
function templateOf(
  context: Record<string, unknown> = {},
  env: { region: string; account?: string } = { region: 'us-east-1' },
): CfnTemplate {
  const app = testApp({ context });
  const stack = new EphemeraStack(app, 'Ephemera', { env });
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** Each line's amount by item. */
const amounts = (lines: CostEstimate['fixed']) =>
  Object.fromEntries(lines.map((l) => [l.item, l.monthlyUsd]));

// Per request, for the default mix (1,000,000 requests of 3 s, 700 B of gateway
// log lines each), with the gateway at 1024 MB on arm64, behind the load balancer:
//   Lambda: 1,000,000 × 3 s × 1 GB = 3,000,000 GB-s × $0.0000133334 = $40.0002,
//           + 1,000,000 requests × $0.20/M = $0.20                        → $40.20
//   DynamoDB: 2 writes (item + by_customer index) × $0.625/M + 1 read × $0.125/M
//             = $1.25 + $0.125                                            → $1.38
//   KMS: at most 1,000,000 GenerateMac × $0.03/10,000                     → $3.00
//   Logs: 700,000,000 B / 2^30 = 0.65193 GB × ($0.50 + $0.12 data protection)
//         = $0.40420                                                      → $0.40
const ALB_PER_REQUEST = {
  'Lambda gateway (1024 MB, arm64)': 40.2,
  'DynamoDB on demand': 1.38,
  'KMS GenerateMac': 3,
  'CloudWatch Logs': 0.4,
};

// Behind the REST API (the default), + 1,000,000 × $3.50/M; its access-log line
// adds 300 B a request: 0.65193 GB × $0.62 + 300,000,000 B / 2^30 = 0.27940 GB
// × $0.50 = $0.54390.
const DEFAULT_PER_REQUEST = {
  'API Gateway REST API': 3.5,
  ...ALB_PER_REQUEST,
  'CloudWatch Logs': 0.54,
};

/** The load-balancer front door, a choice since API Gateway's became the default. */
const ALB = { frontDoorKind: 'alb' };

/** The default stack's template in us-east-1, built once. */
const DEFAULT_TEMPLATE = templateOf();

describe('the default stack (cdk.json: public REST API, maxAzs 2)', () => {
  const template = DEFAULT_TEMPLATE;
  const estimate = estimateCost(template, 'us-east-1');

  test('fixed monthly cost in us-east-1: $94.80', () => {
    expect(amounts(estimate.fixed)).toEqual({
      'interface endpoints': 87.6, // 6 endpoints × 2 AZs × $0.01 × 730 h
      'KMS keys': 6, // 4 symmetric + HMAC + signing key × $1
      'CloudWatch alarms': 1.2, // 12 standard-resolution alarms × $0.10
    });
    expect(estimate.fixedMonthlyUsd).toBe(94.8);
    expect(estimate.absent).toEqual([
      'load balancers',
      'public IPv4 addresses',
      'NAT gateways',
      'WAF web ACL',
      'API Gateway custom domain',
      'dashboards',
    ]);
    expect(estimate.idleFree).toEqual([
      '3 DynamoDB tables (on demand)',
      '5 Lambda functions',
      '1 REST API',
      '2 SQS queues',
      '1 SNS topic',
      '2 S3 buckets',
    ]);
  });

  test('per request, for a million chat requests of 3 s: up to $48.62', () => {
    expect(estimate.mix).toEqual(DEFAULT_MIX);
    expect(amounts(estimate.perRequest)).toEqual(DEFAULT_PER_REQUEST);
    expect(estimate.perRequestMonthlyUsd).toBe(48.62);
    expect(estimate.perRequest.filter((l) => l.atMost).map((l) => l.item)).toEqual([
      'KMS GenerateMac',
    ]);
  });

  test('the reserved concurrency is the functions’ sum (lib/private/deploy-facts.ts)', () => {
    // gateway 50 (gatewayMaxConcurrency) + admin 10 + erasure worker 5 + sweeper 1 + watchdog 1
    expect(reservedConcurrency(template)).toBe(67);
  });

  test('the summary holds every line, in about 15 lines', () => {
    const text = formatDeploySummary('Ephemera', estimate, 67);
    const lines = text.split('\n');
    for (const line of [
      'Ephemera deploy summary (stack Ephemera, us-east-1)',
      '  fixed cost: $94.80 a month at list prices (730 h), before any request',
      '    interface endpoints: 6 × 2 AZs × $0.01/h = $87.60',
      '    KMS keys: 6 × $1.00/month = $6.00',
      '    CloudWatch alarms: 12 × $0.10/month = $1.20',
      '    none here: load balancers, public IPv4 addresses, NAT gateways, WAF web ACL, API Gateway custom domain, dashboards',
      '    $0 until used: 3 DynamoDB tables (on demand), 5 Lambda functions, 1 REST API, 2 SQS queues, 1 SNS topic, 2 S3 buckets',
      "  per request: up to $48.62 a month for 1,000,000 chat requests of 3 s each naming a customer id, plus the model's own price (Bedrock tokens)",
      '    API Gateway REST API: 1,000,000 × $3.50/M = $3.50',
      '    Lambda gateway (1024 MB, arm64): 3,000,000 GB-s × $0.0000133334 + 1,000,000 × $0.20/M = $40.20',
      '    DynamoDB on demand: 2 writes (usage item and 1 index) × $0.625/M + 1 consistent read (API key) × $0.125/M per request = $1.38',
      '    KMS GenerateMac: at most 1 per request (a customer id the instance has not cached) × $0.03/10k = up to $3.00',
      '    CloudWatch Logs: 5 lines, about 1,000 B a request: 0.65 GB × ($0.50 + $0.12 data protection)/GB + 0.28 GB × $0.50/GB = $0.54',
      `  prices: US East (N. Virginia) list prices as of ${PRICES_AS_OF}; see lib/private/cost-estimate.ts`,
      "  reserved Lambda concurrency: 67 (Lambda keeps 100 unreserved: the account's concurrency limit must be at least 167)",
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.length).toBeLessThanOrEqual(16);
  });

  test('in eu-west-1 (its own figures, two taken from us-east-1 and named): $103.56', () => {
    const eu = estimateCost(defaultStackTemplate().template, 'eu-west-1');
    expect(amounts(eu.fixed)).toEqual({
      'interface endpoints': 96.36, // 6 × 2 AZs × $0.011 × 730 h
      'KMS keys': 6,
      'CloudWatch alarms': 1.2,
    });
    expect(eu.fixedMonthlyUsd).toBe(103.56);
    // Logs: 0.65193 GB × ($0.57 + us-east-1's $0.12 data protection) + 0.27940 GB × $0.57 = $0.60909
    expect(amounts(eu.perRequest)).toEqual({ ...DEFAULT_PER_REQUEST, 'CloudWatch Logs': 0.61 });
    expect(eu.pricing).toMatchObject({ pricedAs: 'eu-west-1', known: true, asOf: '2025-06' });
    expect(formatDeploySummary('Ephemera', eu, 67)).toContain(
      "  prices: Europe (Ireland) list prices as of 2025-06 (us-east-1's for DynamoDB on demand, Logs data protection)",
    );
  });

  test('a region without figures is priced at us-east-1 and says so on the line', () => {
    const other = estimateCost(template, 'ap-south-1');
    expect(other.pricing).toMatchObject({ region: 'ap-south-1', pricedAs: 'us-east-1' });
    expect(other.pricing.known).toBe(false);
    expect(other.fixedMonthlyUsd).toBe(94.8);
    expect(formatDeploySummary('Ephemera', other, 67).split('\n')[0]).toBe(
      'Ephemera deploy summary (stack Ephemera, ap-south-1: no figures for it, so us-east-1 prices)',
    );
  });
});

describe('other configurations', () => {
  test('the non-production setting (api-gateway, maxAzs 1): one zone of endpoints, $51.00', () => {
    const estimate = estimateCost(
      templateOf({ frontDoorKind: 'api-gateway', maxAzs: 1 }),
      'us-east-1',
    );
    expect(amounts(estimate.fixed)).toEqual({
      'interface endpoints': 43.8, // 6 × 1 AZ × $0.01 × 730 h
      'KMS keys': 6, // 6 × $1.00
      'CloudWatch alarms': 1.2, // 12 × $0.10
    });
    expect(estimate.fixedMonthlyUsd).toBe(51);
    // Requests cost what they cost in any configuration with the REST API.
    expect(estimate.perRequestMonthlyUsd).toBe(48.62);
  });

  test('frontDoorKind alb (the public load balancer): $118.53', () => {
    const estimate = estimateCost(templateOf(ALB), 'us-east-1');
    expect(amounts(estimate.fixed)).toEqual({
      'interface endpoints': 87.6,
      'load balancers': 16.43, // 1 ALB × $0.0225 × 730 h = $16.425
      'public IPv4 addresses': 7.3, // the ALB's address in each of 2 AZs × $0.005 × 730 h
      'KMS keys': 6,
      'CloudWatch alarms': 1.2,
    });
    expect(estimate.fixedMonthlyUsd).toBe(118.53);
    expect(estimate.absent).toEqual([
      'NAT gateways',
      'WAF web ACL',
      'API Gateway custom domain',
      'dashboards',
    ]);
    // No REST API, and no access-log line of its own.
    expect(amounts(estimate.perRequest)).toEqual(ALB_PER_REQUEST);
    expect(estimate.perRequestMonthlyUsd).toBe(44.98);
    expect(formatDeploySummary('Ephemera', estimate, 67).split('\n')).toEqual(
      expect.arrayContaining([
        '  fixed cost: $118.53 a month at list prices (730 h), before any request',
        '    load balancers: 1 ALB × $0.0225/h = $16.43',
        '    public IPv4 addresses: 2 × $0.005/h = $7.30',
        '    CloudWatch Logs: 4 lines, about 700 B a request: 0.65 GB × ($0.50 + $0.12 data protection)/GB = $0.40',
      ]),
    );
  });

  test('frontDoorKind alb in eu-west-1: $129.26', () => {
    const eu = estimateCost(defaultStackTemplate(ALB).template, 'eu-west-1');
    expect(amounts(eu.fixed)).toMatchObject({
      'load balancers': 18.4, // $0.0252 × 730 h = $18.396
      'public IPv4 addresses': 7.3,
    });
    expect(eu.fixedMonthlyUsd).toBe(129.26);
    // Logs: 0.65193 GB × ($0.57 + us-east-1's $0.12 data protection) = $0.44983
    expect(amounts(eu.perRequest)).toEqual({ ...ALB_PER_REQUEST, 'CloudWatch Logs': 0.45 });
  });

  test('frontDoorKind alb, maxAzs 3 (with an explicit account): each endpoint and the ALB in 3 zones', () => {
    const template = templateOf(
      { ...ALB, maxAzs: 3 },
      { account: '111122223333', region: 'us-east-1' },
    );
    const estimate = estimateCost(template, 'us-east-1');
    expect(amounts(estimate.fixed)).toEqual({
      'interface endpoints': 131.4, // 6 × 3 AZs × $0.01 × 730 h
      'load balancers': 16.43,
      'public IPv4 addresses': 10.95, // 3 × $0.005 × 730 h
      'KMS keys': 6,
      'CloudWatch alarms': 1.2,
    });
    expect(estimate.fixedMonthlyUsd).toBe(165.98);
  });

  test('allowInternetEgress adds a NAT gateway and its address per zone', () => {
    const estimate = estimateCost(templateOf({ allowInternetEgress: true }), 'us-east-1');
    expect(amounts(estimate.fixed)).toMatchObject({
      'NAT gateways': 65.7, // 2 × $0.045 × 730 h
      'public IPv4 addresses': 7.3, // 2 NAT Elastic IPs × $3.65
    });
    expect(estimate.fixedMonthlyUsd).toBe(167.8);
    // With the load balancer, its 2 addresses as well.
    const alb = estimateCost(templateOf({ ...ALB, allowInternetEgress: true }), 'us-east-1');
    expect(amounts(alb.fixed)).toMatchObject({ 'public IPv4 addresses': 14.6 });
    expect(alb.fixedMonthlyUsd).toBe(191.53);
  });

  test('a private load-balancer front door pays for the PrivateLink NLB, and for no public address', () => {
    const estimate = estimateCost(
      templateOf({ ...ALB, frontDoor: 'private', endpointServicePrincipals: ['111122223333'] }),
      'us-east-1',
    );
    expect(amounts(estimate.fixed)).toMatchObject({ 'load balancers': 32.85 }); // 2 × $16.425
    expect(estimate.absent).toContain('public IPv4 addresses');
    expect(estimate.fixedMonthlyUsd).toBe(127.65);
  });
});

describe('what a template does not hold costs nothing', () => {
  test('an empty template: no fixed cost, no per-request line', () => {
    const estimate = estimateCost({ Resources: {} }, 'us-east-1');
    expect(estimate.fixed).toEqual([]);
    expect(estimate.fixedMonthlyUsd).toBe(0);
    expect(estimate.perRequest).toEqual([]);
    expect(estimate.absent).toEqual([
      'interface endpoints',
      'load balancers',
      'public IPv4 addresses',
      'NAT gateways',
      'KMS keys',
      'CloudWatch alarms',
      'WAF web ACL',
      'API Gateway custom domain',
      'dashboards',
    ]);
  });

  test('the load-balancer template without its load balancer: the ALB and its addresses drop out', () => {
    const resources = { ...templateOf(ALB).Resources };
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer') delete resources[id];
    }
    const estimate = estimateCost({ Resources: resources }, 'us-east-1');
    expect(estimate.fixedMonthlyUsd).toBe(roundCents(118.53 - 16.43 - 7.3));
    expect(estimate.absent).toContain('load balancers');
  });

  test('a webAclArn is someone else’s web ACL; one the stack creates is priced with its rules', () => {
    const associated = estimateCost(
      templateOf({ webAclArn: 'arn:aws:wafv2:us-east-1:111122223333:regional/webacl/x/abc' }),
      'us-east-1',
    );
    expect(associated.fixedMonthlyUsd).toBe(94.8);
    expect(associated.absent).toContain("WAF web ACL (webAclArn's is billed to its owner)");

    const own = estimateCost(
      {
        Resources: {
          Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Rules: [{}, {}, {}] } },
          Board: { Type: 'AWS::CloudWatch::Dashboard' },
          Fast: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 10 } },
        },
      },
      'us-east-1',
    );
    expect(amounts(own.fixed)).toEqual({
      WAF: 8, // 1 web ACL × $5 + 3 rules × $1
      'CloudWatch alarms': 0.3, // 1 high-resolution alarm
      'CloudWatch dashboards': 3,
    });
    // WAF requests: 1,000,000 × $0.60/M
    expect(amounts(own.perRequest)).toEqual({ 'WAF requests': 0.6 });
  });
});

describe('the price table', () => {
  test('us-east-1 has every figure, dated PRICES_AS_OF; other regions name what they lack', () => {
    const reference = PRICE_TABLE['us-east-1'];
    expect(reference.asOf).toBe(PRICES_AS_OF);
    expect(pricesFor('us-east-1').inherited).toEqual([]);
    expect(Object.values(reference.prices).every((v) => typeof v === 'number' && v >= 0)).toBe(
      true,
    );
    expect(pricesFor('eu-west-1').inherited).toEqual([
      'dynamoDbWritePerMillion',
      'dynamoDbReadPerMillion',
      'logsDataProtectionGb',
    ]);
    for (const entry of Object.values(PRICE_TABLE)) expect(entry.asOf).toMatch(/^\d{4}-\d{2}$/);
  });
});

test('synthAndReport writes the deploy summary after the compliance summary', () => {
  const app = testApp({ context: { [REPORT_IN_APP]: false } });
  new EphemeraStack(app, 'Ephemera', { env: { region: 'us-east-1' } });
  // A pack with nothing to say, so the assembly has a validation report.
  Validations.of(app).addPlugins({
    name: 'Quiet',
    validate: () => ({ success: true, violations: [] }),
  });
  let output = '';
  expect(synthAndReport(app, ['Quiet'], (t) => (output += t))).toBe(0);
  const compliance = output.indexOf('Ephemera compliance summary');
  const deploy = output.indexOf('Ephemera deploy summary (stack Ephemera, us-east-1)');
  expect(compliance).toBeGreaterThanOrEqual(0);
  expect(deploy).toBeGreaterThan(compliance);
  expect(output).toContain('  fixed cost: $94.80 a month');
  expect(output).toContain('  reserved Lambda concurrency: 67 ');
});

test('a stack the estimate cannot read gets a note, not a failed synth', () => {
  const app = testApp();
  const stack = new Stack(app, 'Odd', { env: { region: 'us-east-1' } });
  new CfnResource(stack, 'Fn', {
    type: 'AWS::Lambda::Function',
    properties: { ReservedConcurrentExecutions: { Ref: 'AWS::NoValue' } },
  });
  const text = formatDeploySummaries(app.synth().stacks, reservedConcurrency);
  expect(text).toMatch(/^Ephemera deploy summary \(stack Odd\): not available \(Fn: /);
});
