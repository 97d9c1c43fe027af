import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  RETENTION_TRANSPORT_RULES,
  RETENTION_TRANSPORT_RULE_IDS,
  RetentionTransportChecks,
} from '../../lib/rules';
import { findings, newStack } from './helpers';

process.env.CDK_VALIDATION = 'false';

const certificates = [
  elbv2.ListenerCertificate.fromArn('arn:aws:acm:eu-west-1:111111111111:certificate/abc'),
];

/** Every stateful and front-door resource the pack checks, configured securely with L2s. */
function secureStack(stack: Stack): void {
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  new s3.Bucket(stack, 'Bucket', {
    encryptionKey: key,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    lifecycleRules: [{ expiration: Duration.days(1) }],
  });
  new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: key });
  new sqs.Queue(stack, 'Queue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    retentionPeriod: Duration.days(4),
  });
  new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    timeToLiveAttribute: 'ttl',
  });
  new dynamodb.TableV2(stack, 'TableV2', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryptionV2.customerManagedKey(key),
    timeToLiveAttribute: 'ttl',
  });
  new sns.Topic(stack, 'Topic', { masterKey: key });
  new secretsmanager.Secret(stack, 'Secret', { encryptionKey: key }).addRotationSchedule(
    'Rotation',
    {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser(),
      automaticallyAfter: Duration.days(30),
    },
  );
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', {
    vpc,
    internetFacing: true,
    dropInvalidHeaderFields: true,
  });
  alb.addListener('Https', {
    port: 443,
    certificates,
    sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  alb.addRedirect();
}

/** The same resources with the L2 defaults. */
function defaultStack(stack: Stack): void {
  new s3.Bucket(stack, 'Bucket');
  new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.INFINITE });
  new sqs.Queue(stack, 'Queue');
  new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  new dynamodb.TableV2(stack, 'TableV2', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  new sns.Topic(stack, 'Topic');
  new secretsmanager.Secret(stack, 'Secret');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
  alb.addListener('Https', {
    port: 443,
    certificates,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  alb.addListener('Http', {
    port: 80,
    defaultAction: elbv2.ListenerAction.fixedResponse(200),
  });
}

const DEFAULT_FINDINGS = [
  'EphemeraRT-ALBDropInvalidHeaders Test/Alb/Resource',
  'EphemeraRT-ALBListenerHTTPRedirect Test/Alb/Http/Resource',
  'EphemeraRT-DynamoDBTableCMK Test/Table/Resource',
  'EphemeraRT-DynamoDBTableCMK Test/TableV2/Resource',
  'EphemeraRT-DynamoDBTableTTL Test/Table/Resource',
  'EphemeraRT-DynamoDBTableTTL Test/TableV2/Resource',
  'EphemeraRT-ELBListenerTLSPolicy Test/Alb/Https/Resource',
  'EphemeraRT-LogGroupCMK Test/Logs/Resource',
  'EphemeraRT-LogGroupRetention Test/Logs/Resource',
  'EphemeraRT-S3BucketCMK Test/Bucket/Resource',
  'EphemeraRT-S3BucketExpiration Test/Bucket/Resource',
  'EphemeraRT-S3BucketTLSOnly Test/Bucket/Resource',
  'EphemeraRT-SNSTopicCMK Test/Topic/Resource',
  'EphemeraRT-SQSQueueCMK Test/Queue/Resource',
  'EphemeraRT-SQSQueueRetention Test/Queue/Resource',
  'EphemeraRT-SecretCMK Test/Secret/Resource',
  'EphemeraRT-SecretRotation Test/Secret/Resource',
];

describe('RetentionTransportChecks', () => {
  test('names the pack and lists every rule id', () => {
    const pack = new RetentionTransportChecks();
    expect(pack.name).toBe('EphemeraRT');
    expect(pack.readPackName).toBe('EphemeraRT');
    expect(pack.ruleIds).toEqual([
      'EphemeraRT-LogGroupRetention',
      'EphemeraRT-S3BucketExpiration',
      'EphemeraRT-SQSQueueRetention',
      'EphemeraRT-DynamoDBTableTTL',
      'EphemeraRT-SecretRotation',
      'EphemeraRT-S3BucketCMK',
      'EphemeraRT-DynamoDBTableCMK',
      'EphemeraRT-LogGroupCMK',
      'EphemeraRT-SQSQueueCMK',
      'EphemeraRT-SNSTopicCMK',
      'EphemeraRT-SecretCMK',
      'EphemeraRT-S3BucketTLSOnly',
      'EphemeraRT-ELBListenerTLSPolicy',
      'EphemeraRT-ALBListenerHTTPRedirect',
      'EphemeraRT-ALBListenerACMCertificate',
      'EphemeraRT-ALBDropInvalidHeaders',
      'EphemeraRT-APIGatewayTLSPolicy',
      'EphemeraRT-APIGatewayNoBodyLogging',
      'EphemeraRT-APIGatewayStageThrottling',
    ]);
    expect(RETENTION_TRANSPORT_RULE_IDS).toEqual(pack.ruleIds);
  });

  test('every rule has an info and an explanation, and its function is named for its id', () => {
    for (const r of RETENTION_TRANSPORT_RULES) {
      expect(r.info.length).toBeGreaterThan(20);
      expect(r.explanation.length).toBeGreaterThan(40);
      expect(r.rule.name).toBe(r.suffix);
    }
  });

  test('securely configured L2 constructs have no findings', () => {
    const { app, stack } = newStack();
    secureStack(stack);
    expect(findings(app)).toEqual([]);
  });

  test('the L2 defaults are reported with exactly these rule ids', () => {
    const { app, stack } = newStack();
    defaultStack(stack);
    expect(findings(app)).toEqual(DEFAULT_FINDINGS);
  });

  test('every finding is an error with the rule info as description', () => {
    const { app, stack } = newStack();
    defaultStack(stack);
    const report = new RetentionTransportChecks().validateScope(app);
    expect(report.success).toBe(false);
    for (const v of report.violations) {
      const rule = RETENTION_TRANSPORT_RULES.find((r) => `EphemeraRT-${r.suffix}` === v.ruleName);
      expect(v.severity).toBe('error');
      expect(v.description).toBe(rule?.info);
    }
  });

  test('verbose mode adds the explanation', () => {
    const { app, stack } = newStack();
    new sns.Topic(stack, 'Topic');
    const [violation] = new RetentionTransportChecks(app, { verbose: true }).validateScope(
      app,
    ).violations;
    expect(violation.description).toContain('alias/aws/sns does not count');
  });

  test('acknowledging a finding on the resource removes that finding only', () => {
    const { app, stack } = newStack();
    defaultStack(stack);
    const bucket = stack.node.findChild('Bucket');
    Validations.of(bucket).acknowledge({
      id: 'EphemeraRT-S3BucketExpiration',
      reason: 'Config bucket: objects are kept until replaced.',
    });
    expect(findings(app)).toEqual(
      DEFAULT_FINDINGS.filter((f) => f !== 'EphemeraRT-S3BucketExpiration Test/Bucket/Resource'),
    );
  });

  test('an acknowledgement on a parent construct covers the resources under it', () => {
    const { app, stack } = newStack();
    defaultStack(stack);
    Validations.of(stack).acknowledge({
      id: 'EphemeraRT-DynamoDBTableTTL',
      reason: 'Test: tables keep items until erased.',
    });
    expect(findings(app).filter((f) => f.startsWith('EphemeraRT-DynamoDBTableTTL'))).toEqual([]);
    expect(findings(app)).toHaveLength(DEFAULT_FINDINGS.length - 2);
  });
});

describe('RetentionTransportChecks as a CDK validation plugin', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-rt-'));
  });
  afterEach(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  function appWithPack(context: Record<string, unknown> = {}): { app: App; stack: Stack } {
    const app = new App({ outdir, context });
    const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    Validations.of(app).addPlugins(new RetentionTransportChecks(app));
    return { app, stack };
  }

  interface Report {
    pluginReports: {
      pluginName: string;
      violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    }[];
  }

  function readReport(): Report {
    return JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  }

  test('synth fails on a finding and names the rule', () => {
    const { app, stack } = appWithPack();
    new sns.Topic(stack, 'Topic');
    expect(() => app.synth()).toThrow(/EphemeraRT-SNSTopicCMK/);
  });

  test('the validation report lists the findings; an acknowledged one is not among them', () => {
    const { app, stack } = appWithPack({ '@aws-cdk/core:failSynthOnValidationErrors': false });
    const key = new kms.Key(stack, 'Key');
    const config = new s3.Bucket(stack, 'Config', {
      encryptionKey: key,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
    });
    Validations.of(config).acknowledge({
      id: 'EphemeraRT-S3BucketExpiration',
      reason: 'Holds the trust-store bundle until it is replaced.',
    });
    new sqs.Queue(stack, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
    });
    app.synth();

    const plugin = readReport().pluginReports.find((r) => r.pluginName === 'EphemeraRT');
    const reported = plugin?.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`),
    );
    expect(reported).toEqual(['EphemeraRT-SQSQueueRetention Test/Queue/Resource']);
  });

  test('a clean app synthesizes', () => {
    const { app, stack } = appWithPack();
    secureStack(stack);
    expect(() => app.synth()).not.toThrow();
  });
});
