/**
 * Typed reuse across stacks: the image bucket and the config bucket live in
 * one stack, the gateway, the erasure worker and the admin API in another,
 * either by handing the constructs over (CDK writes the cross-stack references)
 * or by importing them from their attributes. Every rule pack stays clean,
 * and the grants land on the consumers' roles only.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  AdminApi,
  compliancePlugins,
  ConfigBucket,
  CustomerErasure,
  DataKeys,
  IncidentResponse,
  InferenceGateway,
  IsolatedNetwork,
  readComplianceReport,
  ShortTtlImageBucket,
  TlsLoadBalancer,
  type IConfigBucket,
  type ICustomerErasure,
  type IShortTtlImageBucket,
} from '../../lib/index';
import { cdkJsonContext, tempOutdir } from '../support/ephemera-app';
import { groundInStack } from '../support/gateway-fixture';
import { actionsOfRole, statementsOfRole, testCertificate } from '../support/stacks';

const ENV = { account: '111122223333', region: 'eu-central-1' };

/** The data stack: keys, alarms, the image bucket (with its sweeper) and the config bucket. */
function dataStack(app: App) {
  const stack = new Stack(app, 'TeamData', { env: ENV });
  const keys = new DataKeys(stack, 'Keys', { aliasPrefix: 'alias/team-data' });
  const network = new IsolatedNetwork(stack, 'Net', { logsKey: keys.logsKey });
  const incidents = new IncidentResponse(stack, 'Incidents', {
    encryptionKey: keys.queuesKey,
    watchedKeys: keys.allKeys,
  });
  const images = new ShortTtlImageBucket(stack, 'Images', {
    encryptionKey: keys.imagesKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    vpc: network.vpc,
    ttl: Duration.minutes(30),
  });
  const config = new ConfigBucket(stack, 'Config', { encryptionKey: keys.metadataKey });
  return { stack, keys, images, config };
}

/** What a stack serving requests stands on: its own keys, network, tables, alarms and load balancer. */
function servingFoundation(stack: Stack, name: string) {
  const { keys, network, store, incidents } = groundInStack(stack, `alias/${name}`);
  const lb = new TlsLoadBalancer(stack, 'Lb', {
    vpc: network.vpc,
    certificate: testCertificate(stack),
  });
  return { keys, network, store, incidents, lb };
}

/** The serving stack: its own keys, network, tables and load balancer, and the request path. */
function servingStack(
  app: App,
  reuse: (stack: Stack) => { images: IShortTtlImageBucket; config: IConfigBucket },
) {
  const stack = new Stack(app, 'TeamServing', { env: ENV });
  const { images, config } = reuse(stack);
  const { keys, network, store, incidents, lb } = servingFoundation(stack, 'team-serving');
  const gateway = new InferenceGateway(stack, 'Gateway', {
    listener: lb.httpsListener,
    vpc: network.vpc,
    store,
    images,
    hmacKey: keys.hmacKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    configBucket: config,
  });
  const erasure = new CustomerErasure(stack, 'Erasure', {
    vpc: network.vpc,
    store,
    queuesKey: keys.queuesKey,
    signingKey: keys.signingKey,
    images,
    logsKey: keys.logsKey,
    alarms: incidents,
  });
  return { stack, keys, network, store, incidents, lb, gateway, erasure };
}

function checkedApp(): { app: App; verify: () => void } {
  const app = new App({
    outdir: tempOutdir(),
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const plugins = compliancePlugins(app);
  Validations.of(app).addPlugins(...plugins);
  return {
    app,
    verify: () => {
      const assembly = app.synth();
      const report = readComplianceReport(
        assembly.directory,
        app,
        plugins.map((p) => p.name),
      );
      expect(report.findings).toEqual([]);
    },
  };
}

const envOf = (template: Template, description: string) => {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: description },
  });
  const [fn] = Object.values(fns);
  return fn.Properties.Environment.Variables as Record<string, unknown>;
};

describe('the gateway in one stack, its image bucket in another', () => {
  test('handing the constructs over: CDK writes the references, every pack clean', () => {
    const { app, verify } = checkedApp();
    const data = dataStack(app);
    const serving = servingStack(app, () => ({ images: data.images, config: data.config }));
    verify();

    const servingTemplate = Template.fromStack(serving.stack);
    // No bucket of the data stack is redefined in the serving stack.
    expect(Object.keys(servingTemplate.findResources('AWS::S3::Bucket'))).toHaveLength(
      serving.lb.accessLogBucket ? 1 : 0,
    );
    const env = envOf(servingTemplate, 'Ephemera: OpenAI-compatible inference with zero retention');
    // A reference to the data stack's output (a weak reference, as cdk.json asks).
    for (const name of [env.IMAGE_BUCKET_NAME, env.CONFIG_BUCKET_NAME]) {
      expect(name).toEqual({
        'Fn::GetStackOutput': expect.objectContaining({ StackName: 'TeamData' }),
      });
    }
    expect(env.IMAGE_TTL_SECONDS).toBe('1800');
    // The grants are on the serving roles; the data stack's policies are untouched.
    expect(actionsOfRole(servingTemplate, serving.gateway.handler.role)).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:GetObject']),
    );
    expect(actionsOfRole(servingTemplate, serving.erasure.worker.role)).toContain(
      's3:DeleteObject',
    );
    const dataTemplate = Template.fromStack(data.stack);
    const bucketPolicies = JSON.stringify(dataTemplate.findResources('AWS::S3::BucketPolicy'));
    expect(bucketPolicies).not.toContain('TeamServing');
    expect(JSON.stringify(dataTemplate.findResources('AWS::KMS::Key'))).not.toContain(
      'TeamServing',
    );
  });

  test('importing from attributes: literal names, the same least privilege, every pack clean', () => {
    const { app, verify } = checkedApp();
    const bucketName = 'team-data-images-111122223333';
    const keyArn = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    let images: IShortTtlImageBucket | undefined;
    const serving = servingStack(app, (stack) => {
      images = ShortTtlImageBucket.fromShortTtlImageBucketAttributes(stack, 'Images', {
        bucketName,
        encryptionKeyArn: keyArn,
        ttl: Duration.minutes(30),
      });
      const config = ConfigBucket.fromConfigBucketAttributes(stack, 'Config', {
        bucketName: 'team-data-config-111122223333',
        encryptionKeyArn: keyArn,
      });
      return { images, config };
    });
    // An admin API in a third stack, queuing jobs into the serving stack's erasure queue.
    const adminStack = new Stack(app, 'TeamAdmin', { env: ENV });
    const erasureImport = CustomerErasure.fromCustomerErasureAttributes(adminStack, 'Erasure', {
      queueArn: 'arn:aws:sqs:eu-central-1:111122223333:team-deletion-jobs',
      queueKeyArn: keyArn,
    });
    const admin = adminInOwnStack(adminStack, erasureImport);
    verify();

    const template = Template.fromStack(serving.stack);
    const env = envOf(template, 'Ephemera: OpenAI-compatible inference with zero retention');
    expect(env.IMAGE_BUCKET_NAME).toBe(bucketName);
    expect(env.IMAGE_KMS_KEY_ARN).toBe(keyArn);
    const gatewayStatements = statementsOfRole(template, serving.gateway.handler.role);
    const s3Statement = gatewayStatements.find((s) => s.Action.includes('s3:PutObject'));
    expect(JSON.stringify(s3Statement?.Resource)).toContain(`:s3:::${bucketName}/images/*`);
    const keyStatement = gatewayStatements.find(
      (s) =>
        JSON.stringify(s.Resource) === JSON.stringify([keyArn]) &&
        s.Action.includes('kms:GenerateDataKey'),
    );
    expect(keyStatement?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' },
    });
    const adminTemplate = Template.fromStack(adminStack);
    expect(
      envOf(adminTemplate, 'Ephemera: admin API (erasure, logs, keys)').DELETION_QUEUE_URL,
    ).toBeDefined();
    expect(actionsOfRole(adminTemplate, admin.handler.role)).toContain('sqs:SendMessage');
  });
});

/** An admin API with its own foundation, taking the erasure path as an interface. */
function adminInOwnStack(stack: Stack, erasure: ICustomerErasure): AdminApi {
  const { keys, network, store, incidents, lb } = servingFoundation(stack, 'team-admin');
  return new AdminApi(stack, 'Admin', {
    listener: lb.httpsListener,
    vpc: network.vpc,
    store,
    hmacKey: keys.hmacKey,
    logsKey: keys.logsKey,
    erasure,
    alarms: incidents,
  });
}
