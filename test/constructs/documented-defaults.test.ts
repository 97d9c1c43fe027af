import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ts from 'typescript';
import { ControlTowerChecks, ControlTowerChecksProps } from '../../lib/control-tower-checks';
import { DataKeys, DataKeysProps } from '../../lib/data-keys';
import { IsolatedNetwork, IsolatedNetworkProps } from '../../lib/isolated-network';
import { MetadataStore, MetadataStoreProps } from '../../lib/metadata-store';
import { DEFAULT_MODELS, InferenceGatewayProps } from '../../lib/inference-gateway';
import { AdminApiProps } from '../../lib/admin-api';
import { ConfigBucket, ConfigBucketProps } from '../../lib/config-bucket';
import { PrivateFrontDoor, PrivateFrontDoorProps } from '../../lib/private-front-door';
import { CustomerErasureProps } from '../../lib/customer-erasure';
import { WatchdogProps } from '../../lib/watchdog';
import { ReceiptWebhook, ReceiptWebhookProps } from '../../lib/receipt-webhook';
import {
  adminInStack,
  erasureInStack,
  gatewayInStack,
  watchdogInStack,
} from '../support/gateway-fixture';
import {
  FunctionTrigger,
  HardenedFunction,
  HardenedFunctionProps,
} from '../../lib/hardened-function';
import { ShortTtlImageBucket, ShortTtlImageBucketProps } from '../../lib/short-ttl-image-bucket';
import {
  ApiAccessLogFields,
  ApiEndpointAccess,
  ApiGatewayAccountRole,
  StreamingFrontDoor,
  StreamingFrontDoorProps,
} from '../../lib/streaming-front-door';
import { TlsLoadBalancer, TlsLoadBalancerProps, TlsVersions } from '../../lib/tls-load-balancer';
import { testAlarmSink, testApp, testCertificate, testVpc } from '../support/stacks';
import { validationContextOf } from '../support/ephemera-app';

/**
 * Every literal `@default` in the JSDoc of a construct's props is checked
 * against behaviour: the construct synthesized with the prop omitted must be
 * identical to the construct synthesized with the documented value, and
 * different from the construct synthesized with another value (so the prop is
 * really wired, and the comparison can fail).
 */

const LIB = path.join(__dirname, '..', '..', 'lib');

/**
 * `@default` texts of every `*Props` interface member in lib/, keyed
 * `Interface.prop`, members inherited from lib/ interfaces (`extends
 * FunctionDefaults`) included.
 */
function documentedDefaults(): Map<string, { file: string; text: string }> {
  const found = new Map<string, { file: string; text: string }>();
  const own = new Map<string, Map<string, { file: string; text: string }>>();
  const bases = new Map<string, string[]>();
  for (const file of fs.readdirSync(LIB).filter((f) => f.endsWith('.ts'))) {
    const source = ts.createSourceFile(
      file,
      fs.readFileSync(path.join(LIB, file), 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    for (const statement of source.statements) {
      if (!ts.isInterfaceDeclaration(statement)) continue;
      const members = new Map<string, { file: string; text: string }>();
      own.set(statement.name.text, members);
      bases.set(
        statement.name.text,
        (statement.heritageClauses ?? []).flatMap((c) =>
          c.types.map((t) => t.expression.getText()),
        ),
      );
      for (const member of statement.members) {
        if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
        for (const tag of ts.getJSDocTags(member)) {
          if (tag.tagName.text !== 'default') continue;
          const text = (ts.getTextOfJSDocComment(tag.comment) ?? '').replace(/\s+/g, ' ').trim();
          members.set(member.name.text, { file, text });
        }
      }
    }
  }
  const withInherited = (name: string): Map<string, { file: string; text: string }> =>
    new Map([
      ...(bases.get(name) ?? []).flatMap((b) => [...withInherited(b)]),
      ...(own.get(name) ?? []),
    ]);
  for (const name of own.keys()) {
    if (!name.endsWith('Props')) continue;
    for (const [prop, doc] of withInherited(name)) found.set(`${name}.${prop}`, doc);
  }
  return found;
}

/** The literal part of a `@default` text: `false - port 80 is not opened at all` → `false`; computed defaults (`- ...`) → undefined. */
function literalPart(text: string): string | undefined {
  if (text.startsWith('-')) return undefined;
  return text.split(' - ')[0].trim();
}

type Extra = Record<string, unknown>;
/** Builds the construct into `stack` with `extra` props; returns state not visible in the template. */
type Builder = (stack: Stack, extra: Extra) => unknown;

const importedKey = (stack: Stack, id: string) =>
  kms.Key.fromKeyArn(stack, id, `arn:aws:kms:eu-west-1:111111111111:key/${id.toLowerCase()}`);

const BUILDERS: Record<string, Builder> = {
  DataKeysProps: (stack, extra) => {
    new DataKeys(stack, 'Subject', extra as DataKeysProps);
  },
  IsolatedNetworkProps: (stack, extra) => {
    new IsolatedNetwork(stack, 'Subject', {
      logsKey: importedKey(stack, 'Logs'),
      ...(extra as Partial<IsolatedNetworkProps>),
    });
  },
  ShortTtlImageBucketProps: (stack, extra) => {
    const images = new ShortTtlImageBucket(stack, 'Subject', {
      encryptionKey: importedKey(stack, 'Images'),
      logsKey: importedKey(stack, 'Logs'),
      vpc: testVpc(stack),
      alarms: testAlarmSink(stack),
      ...(extra as Partial<ShortTtlImageBucketProps>),
    });
    // The TTL reaches the gateway's configuration, not this construct's template.
    return { ttlSeconds: images.ttl.toSeconds() };
  },
  TlsLoadBalancerProps: (stack, extra) => {
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      restrictDefaultSecurityGroup: false,
    });
    new TlsLoadBalancer(stack, 'Subject', {
      vpc,
      certificate: testCertificate(stack),
      ...(extra as Partial<TlsLoadBalancerProps>),
    });
  },
  HardenedFunctionProps: (stack, extra) => {
    new HardenedFunction(stack, 'Subject', {
      handlerName: 'image-sweeper',
      trigger: FunctionTrigger.SCHEDULE,
      logsKey: importedKey(stack, 'Logs'),
      vpc: testVpc(stack),
      ...(extra as Partial<HardenedFunctionProps>),
    });
  },
  InferenceGatewayProps: (stack, extra) => {
    gatewayInStack(stack, extra as Partial<InferenceGatewayProps>);
  },
  AdminApiProps: (stack, extra) => {
    adminInStack(stack, extra as Partial<AdminApiProps>);
  },
  CustomerErasureProps: (stack, extra) => {
    erasureInStack(stack, extra as Partial<CustomerErasureProps>);
  },
  WatchdogProps: (stack, extra) => {
    watchdogInStack(stack, extra as Partial<WatchdogProps>);
  },
  ReceiptWebhookProps: (stack, extra) => {
    new ReceiptWebhook(stack, 'Subject', {
      vpc: testVpc(stack),
      store: MetadataStore.fromMetadataStoreAttributes(stack, 'Store', {
        usageTableArn: 'arn:aws:dynamodb:eu-west-1:111111111111:table/usage',
        keyTableArn: 'arn:aws:dynamodb:eu-west-1:111111111111:table/keys',
        deletionTableArn: 'arn:aws:dynamodb:eu-west-1:111111111111:table/deletions',
        encryptionKeyArn: importedKey(stack, 'Metadata').keyArn,
      }),
      queuesKey: importedKey(stack, 'Queues'),
      logsKey: importedKey(stack, 'Logs'),
      alarms: testAlarmSink(stack),
      url: 'https://receipts.example.com/ephemera',
      ...(extra as Partial<ReceiptWebhookProps>),
    });
  },
  ConfigBucketProps: (stack, extra) => {
    const bucket = new ConfigBucket(stack, 'Subject', {
      encryptionKey: importedKey(stack, 'Metadata'),
      ...(extra as Partial<ConfigBucketProps>),
    });
    // The switch reaches the functions' environment, not this construct's template.
    return { allowInsecureTrustAll: bucket.allowInsecureTrustAll };
  },
  PrivateFrontDoorProps: (stack, extra) => {
    const loadBalancer = new TlsLoadBalancer(stack, 'Alb', {
      vpc: testVpc(stack),
      certificate: testCertificate(stack),
      allowedCidrs: [],
    });
    new PrivateFrontDoor(stack, 'Subject', {
      loadBalancer,
      allowedPrincipals: ['111122223333'],
      ...(extra as Partial<PrivateFrontDoorProps>),
    });
  },
  ControlTowerChecksProps: (stack, extra) => {
    // Not a construct: what the prop changes is how often cfn-guard runs when
    // the same templates are checked twice.
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const context = validationContextOf(stack);
    const guard = jest.spyOn(CfnGuardValidator.prototype, 'validate');
    const checks = new ControlTowerChecks(extra as ControlTowerChecksProps);
    checks.validate(context);
    checks.validate(context);
    const guardRuns = guard.mock.calls.length;
    guard.mockRestore();
    return { guardRuns };
  },
  StreamingFrontDoorProps: (stack, extra) => {
    const fn = (id: string) =>
      lambda.Function.fromFunctionAttributes(stack, id, {
        functionArn: `arn:aws:lambda:eu-west-1:111111111111:function:${id}`,
        sameEnvironment: true,
      });
    const door = new StreamingFrontDoor(stack, 'Subject', {
      gateway: fn('gateway'),
      admin: fn('admin'),
      logsKey: importedKey(stack, 'Logs'),
      // A private API needs its endpoints (the builder adds them when asked for one).
      ...(extra.access === ApiEndpointAccess.PRIVATE
        ? { vpcEndpointIds: ['vpce-0123456789abcdef0'] }
        : {}),
      ...(extra as Partial<StreamingFrontDoorProps>),
    });
    return { securityPolicy: door.securityPolicy };
  },
  MetadataStoreProps: (stack, extra) => {
    new MetadataStore(stack, 'Subject', {
      encryptionKey: importedKey(stack, 'Metadata'),
      ...(extra as Partial<MetadataStoreProps>),
    });
  },
};

/**
 * [props interface, prop, documented default, that value, another value,
 * props that must be set for the prop to matter]. The documented default is
 * the text before any ` - explanation`.
 */
const TABLE: Array<[string, string, string, unknown, unknown, Extra?]> = [
  ['DataKeysProps', 'rotationPeriod', 'Duration.days(365)', Duration.days(365), Duration.days(180)],
  ['DataKeysProps', 'pendingWindow', 'Duration.days(30)', Duration.days(30), Duration.days(7)],
  [
    'DataKeysProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['IsolatedNetworkProps', 'maxAzs', '2', 2, 3],
  ['IsolatedNetworkProps', 'cidr', "'10.40.0.0/16'", '10.40.0.0/16', '10.41.0.0/16'],
  [
    'IsolatedNetworkProps',
    'flowLogRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  ['IsolatedNetworkProps', 'publicIngress', 'false', false, true],
  ['IsolatedNetworkProps', 'allowInternetEgress', 'false', false, true],
  [
    'IsolatedNetworkProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['ShortTtlImageBucketProps', 'ttl', 'Duration.hours(1)', Duration.hours(1), Duration.hours(2)],
  [
    'ShortTtlImageBucketProps',
    'sweepInterval',
    'Duration.minutes(5)',
    Duration.minutes(5),
    Duration.minutes(15),
  ],
  [
    'ShortTtlImageBucketProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'ShortTtlImageBucketProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['TlsLoadBalancerProps', 'internetFacing', 'false', false, true],
  [
    'TlsLoadBalancerProps',
    'tlsVersions',
    'TlsVersions.TLS_1_2_AND_1_3',
    TlsVersions.TLS_1_2_AND_1_3,
    TlsVersions.TLS_1_3_ONLY,
  ],
  ['TlsLoadBalancerProps', 'fips', 'false', false, true],
  ['TlsLoadBalancerProps', 'httpRedirect', 'false', false, true],
  [
    'TlsLoadBalancerProps',
    'idleTimeout',
    'Duration.seconds(60)',
    Duration.seconds(60),
    Duration.seconds(120),
  ],
  ['TlsLoadBalancerProps', 'accessLogs', 'false', false, true],
  [
    'TlsLoadBalancerProps',
    'accessLogRetention',
    'Duration.days(30)',
    Duration.days(30),
    Duration.days(90),
    { accessLogs: true },
  ],
  ['TlsLoadBalancerProps', 'deletionProtection', 'true', true, false],
  [
    'TlsLoadBalancerProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
    { accessLogs: true },
  ],

  [
    'HardenedFunctionProps',
    'timeout',
    'Duration.seconds(30)',
    Duration.seconds(30),
    Duration.seconds(60),
  ],
  ['HardenedFunctionProps', 'memorySize', '512', 512, 1024],
  ['HardenedFunctionProps', 'reservedConcurrentExecutions', '10', 10, 5],
  ['HardenedFunctionProps', 'reserveConcurrency', 'true', true, false],
  ['ShortTtlImageBucketProps', 'reserveConcurrency', 'true', true, false],
  ['InferenceGatewayProps', 'reserveConcurrency', 'true', true, false],
  ['AdminApiProps', 'reserveConcurrency', 'true', true, false],
  ['CustomerErasureProps', 'reserveConcurrency', 'true', true, false],
  ['WatchdogProps', 'reserveConcurrency', 'true', true, false],
  ['ReceiptWebhookProps', 'reserveConcurrency', 'true', true, false],
  [
    'HardenedFunctionProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  ['HardenedFunctionProps', 'description', "'Ephemera function'", 'Ephemera function', 'Other'],
  ['HardenedFunctionProps', 'dataProtection', 'false', false, true],
  ['HardenedFunctionProps', 'entryPoint', "'handler'", 'handler', 'streamHandler'],
  [
    'HardenedFunctionProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  [
    'InferenceGatewayProps',
    'upstream',
    "{ kind: 'bedrock' }",
    { kind: 'bedrock' },
    {
      kind: 'openai-compatible',
      baseUrl: 'https://llm.internal.example',
    },
  ],
  ['InferenceGatewayProps', 'models', 'DEFAULT_MODELS', DEFAULT_MODELS, [DEFAULT_MODELS[0]]],
  ['InferenceGatewayProps', 'metadataRetentionDays', '30', 30, 90],
  [
    'InferenceGatewayProps',
    'timeout',
    'Duration.minutes(5)',
    Duration.minutes(5),
    Duration.minutes(2),
  ],
  ['InferenceGatewayProps', 'maxConcurrency', '50', 50, 20],
  ['InferenceGatewayProps', 'remoteImageUrls', "'deny'", 'deny', 'allow'],
  [
    'InferenceGatewayProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'InferenceGatewayProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['AdminApiProps', 'metadataRetentionDays', '30', 30, 90],
  [
    'ConfigBucketProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],
  ['ConfigBucketProps', 'allowInsecureTrustAll', 'false', false, true],
  ['PrivateFrontDoorProps', 'acceptanceRequired', 'true', true, false],
  ['PrivateFrontDoorProps', 'deletionProtection', 'true', true, false],
  ['AdminApiProps', 'maxKeyAge', 'Duration.days(90)', Duration.days(90), Duration.days(30)],
  [
    'AdminApiProps',
    'gatewayTimeout',
    'Duration.minutes(5)',
    Duration.minutes(5),
    Duration.minutes(10),
  ],
  [
    'AdminApiProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'AdminApiProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],
  [
    'CustomerErasureProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'CustomerErasureProps',
    'gatewayTimeout',
    'Duration.minutes(5)',
    Duration.minutes(5),
    Duration.minutes(10),
  ],
  ['CustomerErasureProps', 'usageTableRecoveryDays', '1', 1, 7],
  [
    'CustomerErasureProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],
  ['WatchdogProps', 'overdueAfter', 'Duration.hours(12)', Duration.hours(12), Duration.hours(6)],
  ['WatchdogProps', 'keyExpiryWarning', 'Duration.days(7)', Duration.days(7), Duration.days(14)],
  [
    'WatchdogProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'WatchdogProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],
  ['ReceiptWebhookProps', 'maxAttempts', '8', 8, 3],
  [
    'ReceiptWebhookProps',
    'logRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'ReceiptWebhookProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['ControlTowerChecksProps', 'reuseVerdict', 'true', true, false],

  [
    'StreamingFrontDoorProps',
    'gatewayTimeout',
    'Duration.minutes(5)',
    Duration.minutes(5),
    Duration.minutes(10),
  ],
  [
    'StreamingFrontDoorProps',
    'access',
    'ApiEndpointAccess.PUBLIC',
    ApiEndpointAccess.PUBLIC,
    ApiEndpointAccess.PRIVATE,
  ],
  [
    'StreamingFrontDoorProps',
    'tlsVersions',
    'TlsVersions.TLS_1_2_AND_1_3',
    TlsVersions.TLS_1_2_AND_1_3,
    TlsVersions.TLS_1_3_ONLY,
  ],
  ['StreamingFrontDoorProps', 'fips', 'false', false, true],
  [
    'StreamingFrontDoorProps',
    'accountRole',
    'ApiGatewayAccountRole.CREATE',
    ApiGatewayAccountRole.CREATE,
    ApiGatewayAccountRole.EXISTING,
  ],
  ['StreamingFrontDoorProps', 'throttlingRateLimit', '50', 50, 20],
  ['StreamingFrontDoorProps', 'throttlingBurstLimit', '50', 50, 20],
  [
    'StreamingFrontDoorProps',
    'accessLogFields',
    'ApiAccessLogFields.METADATA',
    ApiAccessLogFields.METADATA,
    ApiAccessLogFields.WITH_CLIENT,
  ],
  [
    'StreamingFrontDoorProps',
    'accessLogRetention',
    'logs.RetentionDays.ONE_MONTH',
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.ONE_WEEK,
  ],
  [
    'StreamingFrontDoorProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],

  ['MetadataStoreProps', 'deletionProtection', 'true', true, false],
  [
    'MetadataStoreProps',
    'removalPolicy',
    'RemovalPolicy.RETAIN',
    RemovalPolicy.RETAIN,
    RemovalPolicy.DESTROY,
  ],
];

/**
 * Props interfaces whose literal defaults are not in TABLE yet, with the reason.
 * A new construct's props fail the completeness test until they are added.
 */
const NOT_YET_COVERED: Record<string, string> = {};

/** The construct's template and hidden state, synthesized alone in a fresh app. */
function synth(iface: string, extra: Extra): { template: unknown; observed: unknown } {
  // A concrete account and region: Availability Zones beyond 2 need both.
  const stack = new Stack(testApp(), 'Defaults', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const observed = BUILDERS[iface](stack, extra);
  return { template: Template.fromStack(stack).toJSON(), observed };
}

/**
 * The construct with every prop of `base` and nothing else, synthesized once
 * per interface and base (a synth is a function of its props: the rows of one
 * interface compare with the same template).
 */
const omittedSynths = new Map<string, ReturnType<typeof synth>>();
function synthOmitted(iface: string, base: Extra): ReturnType<typeof synth> {
  const key = `${iface} ${JSON.stringify(base)}`;
  if (!omittedSynths.has(key)) omittedSynths.set(key, synth(iface, base));
  return omittedSynths.get(key)!;
}

const DOCUMENTED = documentedDefaults();

describe('documented defaults', () => {
  test('every literal @default of a construct prop is in the table', () => {
    const inTable = new Set(TABLE.map(([iface, prop]) => `${iface}.${prop}`));
    const missing = [...DOCUMENTED.entries()]
      .filter(([, { text }]) => literalPart(text) !== undefined)
      .map(([key]) => key)
      .filter((key) => !inTable.has(key) && !(key.split('.')[0] in NOT_YET_COVERED));
    expect(missing).toEqual([]);
  });

  test('every table row names a documented prop of a construct with a builder', () => {
    for (const [iface, prop] of TABLE) {
      expect([`${iface}.${prop}`, DOCUMENTED.has(`${iface}.${prop}`)]).toEqual([
        `${iface}.${prop}`,
        true,
      ]);
      expect(BUILDERS[iface]).toBeDefined();
    }
  });

  describe.each(TABLE)('%s.%s', (iface, prop, doc, value, other, base = {}) => {
    test(`is documented as @default ${doc}`, () => {
      const documented = DOCUMENTED.get(`${iface}.${prop}`);
      expect(documented).toBeDefined();
      expect(literalPart(documented!.text)).toBe(doc);
    });

    test(`omitted behaves exactly like ${doc}, and differently from another value`, () => {
      const omitted = synthOmitted(iface, base);
      const explicit = synth(iface, { ...base, [prop]: value });
      const changed = synth(iface, { ...base, [prop]: other });
      expect(explicit).toEqual(omitted);
      expect(changed).not.toEqual(omitted);
    });
  });
});
