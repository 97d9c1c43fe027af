/**
 * A value reaches two checks: the configuration's (cdk.json context, through
 * readConfig) and the check of the construct that receives it as a prop. Both
 * call one shared rule (lib/core/rules.ts and the URL checks), so they must
 * give the same verdict on every input. This table feeds each input to both
 * levels and compares the verdicts (accepted or refused).
 *
 * The `was` notes record where the two levels disagreed before the rules were
 * shared (the bug this table keeps fixed):
 * - vpcCidr: the configuration took any prefix (/0 to /99) and the
 *   IsolatedNetwork only /16 to /21; both took octets above 255, and a block
 *   with host bits set (10.40.0.1/16), from which CDK quietly built the VPC
 *   10.41.0.0/16.
 * - allowedCidrs: both took /33 to /99, octets above 255 and host bits (a
 *   security group widens 10.0.0.1/8 to 10.0.0.0/8); the construct refused a
 *   token (another VPC's `vpcCidrBlock`).
 * - webAclArn: the configuration took any `arn:aws:wafv2:...` (a CloudFront
 *   `global/` ACL, a truncated ARN), which the TlsLoadBalancer then refused.
 * - alarmEmails: the configuration took an address listed twice, on which the
 *   IncidentResponse failed with CDK's "A subscription with id ... already
 *   exists".
 * - allowedRegions: the InferenceGateway did not check region names at all.
 * - https URLs: the webhook's check was the upstream's with its messages
 *   rewritten by string comparison; both took whitespace and control
 *   characters that the URL parser drops.
 */
import { App, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { readConfig } from '../../lib/config';
import { DataKeys } from '../../lib/data-keys';
import { IncidentResponse } from '../../lib/incident-response';
import { IsolatedNetwork } from '../../lib/isolated-network';
import { MetadataStore } from '../../lib/metadata-store';
import { PrivateFrontDoor } from '../../lib/private-front-door';
import { ReceiptWebhook } from '../../lib/receipt-webhook';
import { ShortTtlImageBucket } from '../../lib/short-ttl-image-bucket';
import { TlsLoadBalancer } from '../../lib/tls-load-balancer';
import { adminInStack, gatewayInStack } from '../support/gateway-fixture';
import { testAlarmSink, testApp, testCertificate, testVpc } from '../support/stacks';

type Verdict = 'accepted' | 'refused';

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';

/** The configuration's verdict on `context` (nothing else set, so any problem is the value's). */
function configVerdict(context: Record<string, unknown>): Verdict {
  try {
    readConfig(new App({ context }));
    return 'accepted';
  } catch (e) {
    if ((e as Error).message.startsWith('Invalid Ephemera configuration')) return 'refused';
    throw e;
  }
}

/** A stack with an account, a region and six Availability Zones, as a deployment has. */
function stack(): Stack {
  const app = testApp({
    [`availability-zones:account=${ACCOUNT}:region=${REGION}`]: ['a', 'b', 'c', 'd', 'e', 'f'].map(
      (z) => `${REGION}${z}`,
    ),
  });
  return new Stack(app, 'Rules', { env: { account: ACCOUNT, region: REGION } });
}

/** The construct's verdict: refused when its props check throws, accepted when it builds. */
function constructVerdict(build: (stack: Stack) => unknown): Verdict {
  try {
    build(stack());
    return 'accepted';
  } catch (e) {
    if (/^Invalid \w+ props:/.test((e as Error).message)) return 'refused';
    throw e;
  }
}

const key = (s: Stack, id = 'Key') =>
  kms.Key.fromKeyArn(s, id, `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id.toLowerCase()}`);

const internalLb = (s: Stack, props: Record<string, unknown> = {}) =>
  new TlsLoadBalancer(s, 'Lb', {
    vpc: testVpc(s),
    certificate: testCertificate(s),
    allowedCidrs: [],
    ...props,
  });

/**
 * One shared rule: the context key, how the value reaches its construct, other
 * context the configuration needs for the value to be the only thing judged,
 * and the inputs with the verdict both levels must give.
 */
interface Case {
  readonly key: string;
  readonly construct: (value: never) => (s: Stack) => unknown;
  readonly context?: Record<string, unknown>;
  readonly inputs: ReadonlyArray<{ value: unknown; verdict: Verdict; was?: string }>;
}

const CONFIG_ACCEPTED = 'config accepted, construct refused';
const BOTH_ACCEPTED = 'both accepted';
const CONSTRUCT_ACCEPTED = 'config refused, construct accepted';

const CASES: Case[] = [
  {
    key: 'vpcCidr',
    construct: (cidr: string) => (s) => new IsolatedNetwork(s, 'Net', { logsKey: key(s), cidr }),
    inputs: [
      { value: '10.40.0.0/16', verdict: 'accepted' },
      { value: '10.40.0.0/21', verdict: 'accepted' },
      { value: '10.0.0.0/8', verdict: 'refused', was: CONFIG_ACCEPTED },
      { value: '10.40.0.0/25', verdict: 'refused', was: CONFIG_ACCEPTED },
      { value: '10.40.0.0/99', verdict: 'refused', was: CONFIG_ACCEPTED },
      { value: '10.40.0.1/16', verdict: 'refused', was: `${BOTH_ACCEPTED} (VPC 10.41.0.0/16)` },
      { value: '999.1.1.0/24', verdict: 'refused', was: BOTH_ACCEPTED },
      { value: '010.40.0.0/16', verdict: 'refused', was: BOTH_ACCEPTED },
      { value: '10.40.0.0', verdict: 'refused' },
      { value: ' 10.40.0.0/16', verdict: 'refused' },
    ],
  },
  {
    key: 'allowedCidrs',
    construct: (allowedCidrs: string[]) => (s) => internalLb(s, { allowedCidrs }),
    inputs: [
      { value: [], verdict: 'accepted' },
      { value: ['0.0.0.0/0'], verdict: 'accepted' },
      { value: ['10.0.0.0/8', '192.168.1.7/32'], verdict: 'accepted' },
      { value: ['10.0.0.0/33'], verdict: 'refused', was: BOTH_ACCEPTED },
      { value: ['256.0.0.0/8'], verdict: 'refused', was: BOTH_ACCEPTED },
      { value: ['10.0.0.1/8'], verdict: 'refused', was: BOTH_ACCEPTED },
      { value: ['10.0.0.0/8', 'oops'], verdict: 'refused' },
      { value: ['10.0.0.0'], verdict: 'refused' },
    ],
  },
  {
    key: 'webAclArn',
    construct: (webAclArn: string) => (s) => internalLb(s, { webAclArn }),
    inputs: [
      {
        value: `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/ephemera/a1b2c3d4`,
        verdict: 'accepted',
      },
      {
        value: `arn:aws:wafv2:us-east-1:${ACCOUNT}:global/webacl/ephemera/a1b2c3d4`,
        verdict: 'refused',
        was: CONFIG_ACCEPTED,
      },
      { value: 'arn:aws:wafv2:anything', verdict: 'refused', was: CONFIG_ACCEPTED },
      {
        value: `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/`,
        verdict: 'refused',
        was: CONFIG_ACCEPTED,
      },
      {
        value: `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/ephemera`,
        verdict: 'refused',
        was: BOTH_ACCEPTED,
      },
      { value: 'waf', verdict: 'refused' },
    ],
  },
  {
    key: 'alarmEmails',
    construct: (alarmEmails: string[]) => (s) => {
      const k = key(s);
      return new IncidentResponse(s, 'Incidents', {
        encryptionKey: k,
        watchedKeys: [k],
        alarmEmails,
      });
    },
    inputs: [
      { value: [], verdict: 'accepted' },
      { value: ['ops@example.com', 'Ops@example.com'], verdict: 'accepted' },
      { value: ['ops@example.com', 'ops@example.com'], verdict: 'refused', was: CONFIG_ACCEPTED },
      { value: ['ops'], verdict: 'refused' },
      { value: ['ops@example.com', 'ops @example.com'], verdict: 'refused' },
      { value: ['user@localhost'], verdict: 'refused' },
    ],
  },
  {
    key: 'endpointServicePrincipals',
    context: { frontDoorKind: 'alb', frontDoor: 'private' },
    construct: (allowedPrincipals: string[]) => (s) =>
      new PrivateFrontDoor(s, 'Private', { loadBalancer: internalLb(s), allowedPrincipals }),
    inputs: [
      { value: ['111122223333'], verdict: 'accepted' },
      { value: ['arn:aws:iam::111122223333:role/platform/ci'], verdict: 'accepted' },
      { value: [], verdict: 'refused' },
      { value: ['*'], verdict: 'refused' },
      { value: ['arn:aws:iam::111122223333:group/ops'], verdict: 'refused' },
      { value: ['11112222333'], verdict: 'refused' },
    ],
  },
  {
    key: 'allowedRegions',
    construct: (allowedRegions: string[]) => (s) => gatewayInStack(s, { allowedRegions }),
    inputs: [
      { value: [REGION], verdict: 'accepted' },
      { value: [REGION, 'us-gov-west-1'], verdict: 'accepted' },
      { value: [REGION, 'EU-CENTRAL-1'], verdict: 'refused', was: CONSTRUCT_ACCEPTED },
      { value: [REGION, 'eu-central'], verdict: 'refused', was: CONSTRUCT_ACCEPTED },
    ],
  },
  {
    key: 'upstreamBaseUrl',
    context: { upstream: 'openai-compatible' },
    construct: (baseUrl: string) => (s) =>
      gatewayInStack(s, { upstream: { kind: 'openai-compatible', baseUrl } }),
    inputs: [
      { value: 'https://llm.internal.example/v1/', verdict: 'accepted' },
      { value: 'https://llm.internal.example:8443', verdict: 'accepted' },
      { value: 'http://llm.internal.example', verdict: 'refused' },
      { value: 'https://svc:pw@llm.internal.example', verdict: 'refused' },
      { value: 'https://llm.internal.example/?q=1', verdict: 'refused' },
      { value: 'https://llm.internal.example/#f', verdict: 'refused' },
      { value: 'https://llm.internal\t.example', verdict: 'refused', was: BOTH_ACCEPTED },
      { value: 'https://llm.internal.example/v1 ', verdict: 'refused', was: BOTH_ACCEPTED },
    ],
  },
  {
    key: 'receiptWebhookUrl',
    construct: (url: string) => (s) =>
      new ReceiptWebhook(s, 'Webhook', {
        vpc: testVpc(s),
        store: MetadataStore.fromMetadataStoreAttributes(s, 'Store', {
          usageTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/usage`,
          keyTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/keys`,
          deletionTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/deletions`,
          encryptionKeyArn: key(s, 'Metadata').keyArn,
        }),
        queuesKey: key(s, 'Queues'),
        logsKey: key(s, 'Logs'),
        alarms: testAlarmSink(s),
        url,
      }),
    inputs: [
      { value: 'https://receipts.example.com/ephemera', verdict: 'accepted' },
      { value: 'http://receipts.example.com/ephemera', verdict: 'refused' },
      { value: 'https://user:token@receipts.example.com/x', verdict: 'refused' },
      { value: 'https://receipts.example.com/x?token=1', verdict: 'refused' },
      { value: ' https://receipts.example.com/x', verdict: 'refused', was: BOTH_ACCEPTED },
      { value: 'https://receipts.exa\nmple.com/x', verdict: 'refused', was: BOTH_ACCEPTED },
    ],
  },
  {
    key: 'remoteImageUrls',
    construct: (remoteImageUrls: 'deny') => (s) => gatewayInStack(s, { remoteImageUrls }),
    inputs: [
      { value: 'deny', verdict: 'accepted' },
      { value: 'allow', verdict: 'accepted' },
      { value: 'Allow', verdict: 'refused' },
      { value: '', verdict: 'refused' },
    ],
  },
  // Integer ranges. A construct that takes a Duration accepts fractions of
  // the configuration's unit, which cdk.json cannot express: whole units only here.
  {
    key: 'maxAzs',
    construct: (maxAzs: number) => (s) =>
      new IsolatedNetwork(s, 'Net', { logsKey: key(s), maxAzs }),
    // One zone is a setting for the API Gateway front door only (a load balancer needs two).
    context: { frontDoorKind: 'api-gateway' },
    inputs: [0, 1, 2, 6, 7, 2.5].map((value) => ({
      value,
      verdict: value >= 1 && value <= 6 && Number.isInteger(value) ? 'accepted' : 'refused',
    })),
  },
  {
    key: 'metadataRetentionDays',
    context: { logRetentionDays: 1, accessLogRetentionDays: 1 },
    construct: (metadataRetentionDays: number) => (s) =>
      gatewayInStack(s, { metadataRetentionDays }),
    inputs: range(0, 1, 3650, 3651),
  },
  {
    key: 'metadataRetentionDays',
    context: { logRetentionDays: 1, accessLogRetentionDays: 1 },
    construct: (metadataRetentionDays: number) => (s) => adminInStack(s, { metadataRetentionDays }),
    inputs: range(0, 1, 3650, 3651),
  },
  {
    key: 'gatewayMaxConcurrency',
    construct: (maxConcurrency: number) => (s) => gatewayInStack(s, { maxConcurrency }),
    inputs: range(0, 1, 1000, 1001),
  },
  {
    key: 'maxImagesPerRequest',
    construct: (maxImagesPerRequest: number) => (s) =>
      gatewayInStack(s, { settings: { maxImagesPerRequest } }),
    inputs: range(0, 1, 10, 11),
  },
  {
    key: 'gatewayTimeoutSeconds',
    construct: (seconds: number) => (s) =>
      gatewayInStack(s, { timeout: Duration.seconds(seconds) }),
    inputs: range(29, 30, 900, 901),
  },
  {
    key: 'gatewayTimeoutSeconds',
    construct: (seconds: number) => (s) =>
      adminInStack(s, { gatewayTimeout: Duration.seconds(seconds) }),
    inputs: range(29, 30, 900, 901),
  },
  {
    key: 'maxKeyAgeDays',
    construct: (days: number) => (s) => adminInStack(s, { maxKeyAge: Duration.days(days) }),
    inputs: range(0, 1, 365, 366),
  },
  {
    key: 'keyRotationDays',
    construct: (days: number) => (s) =>
      new DataKeys(s, 'Keys', { rotationPeriod: Duration.days(days) }),
    inputs: range(89, 90, 2560, 2561),
  },
  {
    key: 'imageTtlMinutes',
    construct: (minutes: number) => (s) =>
      new ShortTtlImageBucket(s, 'Images', {
        encryptionKey: key(s, 'ImagesKey'),
        logsKey: key(s, 'Logs'),
        vpc: testVpc(s),
        alarms: testAlarmSink(s),
        ttl: Duration.minutes(minutes),
      }),
    inputs: range(4, 5, 1440, 1441),
  },
  {
    key: 'imageSweepMinutes',
    construct: (minutes: number) => (s) =>
      new ShortTtlImageBucket(s, 'Images', {
        encryptionKey: key(s, 'ImagesKey'),
        logsKey: key(s, 'Logs'),
        vpc: testVpc(s),
        alarms: testAlarmSink(s),
        sweepInterval: Duration.minutes(minutes),
      }),
    inputs: range(0, 1, 60, 61),
  },
  {
    key: 'accessLogRetentionDays',
    context: { metadataRetentionDays: 3650 },
    construct: (days: number) => (s) =>
      internalLb(s, { accessLogs: true, accessLogRetention: Duration.days(days) }),
    inputs: range(0, 1, 400, 401),
  },
];

/** The edges of an integer range: below, lowest, highest, above. */
function range(below: number, min: number, max: number, above: number) {
  return [
    { value: below, verdict: 'refused' as const },
    { value: min, verdict: 'accepted' as const },
    { value: max, verdict: 'accepted' as const },
    { value: above, verdict: 'refused' as const },
  ];
}

describe.each(CASES)('$key: the configuration and the construct agree', (c) => {
  test.each(
    c.inputs.map(
      (i) => [`${JSON.stringify(i.value)}${i.was ? ` (before: ${i.was})` : ''}`, i] as const,
    ),
  )('%s', (_name, { value, verdict }) => {
    const config = configVerdict({ ...c.context, [c.key]: value });
    const construct = constructVerdict(c.construct(value as never));
    expect({ config, construct }).toEqual({ config: verdict, construct: verdict });
  });
});

test('an unset value is accepted at both levels (the configuration passes no prop)', () => {
  for (const k of ['vpcCidr', 'webAclArn', 'receiptWebhookUrl', 'allowedCidrs', 'alarmEmails']) {
    expect([k, configVerdict({ [k]: k.endsWith('s') ? [] : '' })]).toEqual([k, 'accepted']);
  }
  expect(constructVerdict((s) => internalLb(s, { webAclArn: undefined }))).toBe('accepted');
  expect(constructVerdict((s) => new IsolatedNetwork(s, 'Net', { logsKey: key(s) }))).toBe(
    'accepted',
  );
});

test('a construct skips the tokens it cannot read at synth, and checks the rest', () => {
  expect(
    constructVerdict((s) => {
      const peer = testVpc(s, 'Peer');
      return internalLb(s, { allowedCidrs: [peer.vpcCidrBlock, '10.0.0.0/8'] });
    }),
  ).toBe('accepted');
  expect(
    constructVerdict((s) => {
      const peer = testVpc(s, 'Peer');
      return internalLb(s, { allowedCidrs: [peer.vpcCidrBlock, '10.0.0.1/8'] });
    }),
  ).toBe('refused');
  // A principal token could be an account id, which would become an invalid ARN: refused.
  expect(
    constructVerdict(
      (s) =>
        new PrivateFrontDoor(s, 'Private', {
          loadBalancer: internalLb(s),
          allowedPrincipals: [Aws.ACCOUNT_ID],
        }),
    ),
  ).toBe('refused');
});
