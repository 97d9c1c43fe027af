/**
 * Reuse with defaults: every construct the library exports, built in a bare
 * stack of someone else's app with only its required props (its
 * dependencies imported, so nothing else is in the template), passes every
 * rule pack. A construct that cannot pass without some prop must require it.
 */

import { App, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import * as library from '../../lib/index';
import { tempOutdir } from '../support/ephemera-app';

const ACCOUNT = '111111111111';
const REGION = 'eu-central-1';

let keys = 0;
const key = (scope: Construct, id: string): kms.IKey =>
  (scope.node.tryFindChild(id) as kms.IKey | undefined) ??
  kms.Key.fromKeyArn(
    scope,
    id,
    `arn:aws:kms:${REGION}:${ACCOUNT}:key/${String(++keys).padStart(8, '0')}-aaaa-bbbb-cccc-ddddeeeeffff`,
  );

const vpc = (scope: Construct): ec2.IVpc =>
  (scope.node.tryFindChild('Vpc') as ec2.IVpc | undefined) ??
  ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    vpcCidrBlock: '10.50.0.0/16',
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    isolatedSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
  });

const alarms = (scope: Construct) =>
  library.IncidentResponse.sinkFor(
    (scope.node.tryFindChild('Alarms') as sns.ITopic | undefined) ??
      sns.Topic.fromTopicArn(scope, 'Alarms', `arn:aws:sns:${REGION}:${ACCOUNT}:alarms`),
  );

const tableArn = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
const store = (scope: Construct): library.IMetadataStore =>
  (scope.node.tryFindChild('Store') as library.IMetadataStore | undefined) ??
  library.MetadataStore.fromMetadataStoreAttributes(scope, 'Store', {
    usageTableArn: tableArn('usage'),
    keyTableArn: tableArn('keys'),
    deletionTableArn: tableArn('deletions'),
    encryptionKeyArn: key(scope, 'Metadata').keyArn,
  });

const images = (scope: Construct, id = 'ImageBucket') =>
  new library.ShortTtlImageBucket(scope, id, {
    encryptionKey: key(scope, 'Images'),
    logsKey: key(scope, 'Logs'),
    vpc: vpc(scope),
    alarms: alarms(scope),
  });

const erasure = (scope: Construct, id = 'Erasure') =>
  new library.CustomerErasure(scope, id, {
    vpc: vpc(scope),
    store: store(scope),
    queuesKey: key(scope, 'Queues'),
    signingKey: key(scope, 'Signing'),
    images: images(scope),
    logsKey: key(scope, 'Logs'),
    alarms: alarms(scope),
  });

/**
 * Each exported construct with its required props only. A construct exported
 * from lib/index.ts without an entry here fails the completeness test.
 */
const BARE: Record<string, (stack: Stack) => unknown> = {
  DataKeys: (s) => new library.DataKeys(s, 'Subject'),
  IsolatedNetwork: (s) => new library.IsolatedNetwork(s, 'Subject', { logsKey: key(s, 'Logs') }),
  MetadataStore: (s) =>
    new library.MetadataStore(s, 'Subject', { encryptionKey: key(s, 'Metadata') }),
  IncidentResponse: (s) =>
    new library.IncidentResponse(s, 'Subject', {
      encryptionKey: key(s, 'Queues'),
      watchedKeys: [key(s, 'Watched')],
    }),
  ShortTtlImageBucket: (s) =>
    new library.ShortTtlImageBucket(s, 'Subject', {
      encryptionKey: key(s, 'Images'),
      logsKey: key(s, 'Logs'),
      vpc: vpc(s),
      alarms: alarms(s),
    }),
  HardenedFunction: (s) =>
    new library.HardenedFunction(s, 'Subject', {
      handlerName: 'image-sweeper',
      trigger: library.FunctionTrigger.SCHEDULE,
      logsKey: key(s, 'Logs'),
      vpc: vpc(s),
    }),
  TlsLoadBalancer: (s) =>
    new library.TlsLoadBalancer(s, 'Subject', {
      vpc: vpc(s),
      certificate: acm.Certificate.fromCertificateArn(
        s,
        'Certificate',
        `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`,
      ),
    }),
  PrivateFrontDoor: (s) =>
    new library.PrivateFrontDoor(s, 'Subject', {
      loadBalancer: new library.TlsLoadBalancer(s, 'Alb', {
        vpc: vpc(s),
        certificate: acm.Certificate.fromCertificateArn(
          s,
          'Certificate',
          `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`,
        ),
        allowedCidrs: [],
      }),
      allowedPrincipals: [ACCOUNT],
    }),
  StreamingFrontDoor: (s) =>
    new library.StreamingFrontDoor(s, 'Subject', {
      gateway: lambda.Function.fromFunctionArn(
        s,
        'Gateway',
        `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ephemera-gateway`,
      ),
      logsKey: key(s, 'Logs'),
    }),
  ConfigBucket: (s) =>
    new library.ConfigBucket(s, 'Subject', { encryptionKey: key(s, 'Metadata') }),
  InferenceGateway: (s) =>
    new library.InferenceGateway(s, 'Subject', {
      // A way in is required: this, or a listener.
      responseStreaming: true,
      vpc: vpc(s),
      store: store(s),
      images: images(s),
      hmacKey: key(s, 'Hmac'),
      logsKey: key(s, 'Logs'),
      alarms: alarms(s),
    }),
  CustomerErasure: (s) => erasure(s, 'Subject'),
  AdminApi: (s) =>
    new library.AdminApi(s, 'Subject', {
      vpc: vpc(s),
      store: store(s),
      hmacKey: key(s, 'Hmac'),
      logsKey: key(s, 'Logs'),
      erasure: erasure(s),
      alarms: alarms(s),
    }),
  ReceiptWebhook: (s) =>
    new library.ReceiptWebhook(s, 'Subject', {
      vpc: vpc(s),
      store: store(s),
      queuesKey: key(s, 'Queues'),
      logsKey: key(s, 'Logs'),
      alarms: alarms(s),
      url: 'https://receipts.example.com/ephemera',
    }),
  Watchdog: (s) =>
    new library.Watchdog(s, 'Subject', {
      vpc: vpc(s),
      store: store(s),
      logsKey: key(s, 'Logs'),
      alarms: alarms(s),
    }),
};

/** Classes exported by lib/index.ts that are constructs (stacks excluded: they are apps' roots). */
const exportedConstructs = Object.entries(library)
  .filter(
    ([, value]) =>
      typeof value === 'function' &&
      value.prototype instanceof Construct &&
      !(value.prototype instanceof Stack),
  )
  .map(([name]) => name)
  .sort();

test('every exported construct has a bare build here', () => {
  expect(exportedConstructs).toEqual(Object.keys(BARE).sort());
});

test('each exported construct, alone in a bare stack with only its required props, passes every pack', () => {
  const app = new App({
    outdir: tempOutdir(),
    context: { '@aws-cdk/core:failSynthOnValidationErrors': false },
  });
  for (const [name, build] of Object.entries(BARE)) {
    build(new Stack(app, `Bare${name}`, { env: { account: ACCOUNT, region: REGION } }));
  }
  const plugins = library.compliancePlugins(app);
  Validations.of(app).addPlugins(...plugins);
  const assembly = app.synth();
  const summary = library.readComplianceReport(
    assembly.directory,
    app,
    plugins.map((p) => p.name),
  );
  expect(summary.plugins.every((p) => !p.error)).toBe(true);
  expect(summary.findings).toEqual([]);
});
