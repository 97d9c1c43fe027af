/**
 * The receipt webhook: a queue of job ids and its dead-letter queue under the
 * queues key, TLS only; the function fed by it with per-message failures; a
 * role that reads deletion jobs, consumes its queue and reads the trust
 * object, nothing else; an alarm on anything dead-lettered; the deletion
 * worker told the queue and allowed to send to it. Every rule pack passes.
 */

import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { compliancePlugins, readComplianceReport } from '../../lib/compliance';
import { ConfigBucket } from '../../lib/config-bucket';
import { CustomerErasure } from '../../lib/customer-erasure';
import { ShortTtlImageBucket } from '../../lib/short-ttl-image-bucket';
import {
  DEFAULT_RECEIPT_MAX_ATTEMPTS,
  RECEIPT_RETRY_INTERVAL,
  ReceiptWebhook,
  type ReceiptWebhookProps,
} from '../../lib/receipt-webhook';
import { tempOutdir } from '../support/ephemera-app';
import { erasureInStack, foundationInStack, groundInStack } from '../support/gateway-fixture';
import {
  expectThrowsExactly,
  logicalId,
  statementsOfRole,
  testStack,
  VPC_ENI_STATEMENT,
} from '../support/stacks';

const URL = 'https://receipts.example.com/hooks/ephemera';
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const via = (service: string) => ({
  StringEquals: { 'kms:ViaService': `${service}.eu-west-1.amazonaws.com` },
});

function build(
  stack: Stack,
  extra: Partial<ReceiptWebhookProps> = {},
  withBucket = true,
  beforeSynth: (webhook: ReceiptWebhook) => void = () => undefined,
) {
  const foundation = foundationInStack(stack);
  const { keys, network, store, incidents } = foundation;
  const config = withBucket
    ? new ConfigBucket(stack, 'Config', { encryptionKey: keys.metadataKey })
    : undefined;
  const webhook = new ReceiptWebhook(stack, 'Webhook', {
    vpc: network.vpc,
    store,
    queuesKey: keys.queuesKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    url: URL,
    configBucket: config,
    ...extra,
  });
  const erasure = erasureInStack(stack, { receiptQueue: webhook }, foundation);
  beforeSynth(webhook);
  return { ...foundation, config, webhook, erasure, template: Template.fromStack(stack) };
}

describe('the receipt webhook', () => {
  const stack = testStack();
  const { keys, store, incidents, config, webhook, erasure, template } = build(stack);
  const id = (c: Parameters<typeof logicalId>[0]) => logicalId(c);

  test('the queue: job ids under the queues key, TLS only, 4 days, retried every 3 minutes, 8 attempts, then a 14-day dead-letter queue', () => {
    expect(RECEIPT_RETRY_INTERVAL.toSeconds()).toBe(180);
    // Eight attempts three minutes apart: retried for 21 minutes.
    expect((DEFAULT_RECEIPT_MAX_ATTEMPTS - 1) * RECEIPT_RETRY_INTERVAL.toMinutes()).toBe(21);
    const queue = template.findResources('AWS::SQS::Queue')[id(webhook.queue)];
    expect(queue.Properties).toEqual({
      KmsMasterKeyId: getAtt(id(keys.queuesKey)),
      MessageRetentionPeriod: 4 * 86_400,
      VisibilityTimeout: 180,
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(id(webhook.deadLetterQueue)),
        maxReceiveCount: 8,
      },
    });
    expect(queue.DeletionPolicy).toBe('Retain');
    const dlq = template.findResources('AWS::SQS::Queue')[id(webhook.deadLetterQueue)];
    expect(dlq.Properties).toEqual({
      KmsMasterKeyId: getAtt(id(keys.queuesKey)),
      MessageRetentionPeriod: 14 * 86_400,
    });
    for (const q of [webhook.queue, webhook.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(q) }],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      });
    }
  });

  test('the function: fed by the queue with per-message failures, no more pollers than its reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(id(webhook.queue)),
      FunctionName: { Ref: id(webhook.handler.function) },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const fn = template.findResources('AWS::Lambda::Function')[id(webhook.handler.function)];
    expect(fn.Properties).toMatchObject({
      Timeout: 30,
      MemorySize: 256,
      ReservedConcurrentExecutions: 2,
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          DELETION_TABLE_NAME: { Ref: id(store.deletionTable) },
          RECEIPT_WEBHOOK_URL: URL,
          CONFIG_BUCKET_NAME: { Ref: id(config!.bucket) },
        },
      },
    });
    // The visibility timeout outlasts the function, as SQS event sources require.
    expect(RECEIPT_RETRY_INTERVAL.toSeconds()).toBeGreaterThanOrEqual(6 * 30);
  });

  test('the role: one deletion job at a time, its queue, the trust object; nothing else', () => {
    expect(statementsOfRole(template, webhook.handler.role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [getAtt(id(webhook.handler.logGroup))],
      },
      VPC_ENI_STATEMENT,
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [getAtt(id(store.deletionTable))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(keys.metadataKey))],
        Condition: via('dynamodb'),
      },
      {
        Effect: 'Allow',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        Resource: [getAtt(id(webhook.queue))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(keys.queuesKey))],
        Condition: via('sqs'),
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [{ 'Fn::Join': ['', [getAtt(id(config!.bucket)), '/trust/trust-store.json']] }],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(keys.metadataKey))],
        Condition: via('s3'),
      },
    ]);
  });

  test('an alarm on anything dead-lettered reaches the incident topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: id(incidents.topic) }],
      OKActions: [{ Ref: id(incidents.topic) }],
    });
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[id(webhook.deadLetterAlarm)];
    expect(alarm.Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [id(webhook.deadLetterQueue), 'QueueName'] } },
    ]);
  });

  test('the deletion worker is told the queue and may send to it (send only, key through SQS)', () => {
    const worker = template.findResources('AWS::Lambda::Function')[id(erasure.worker.function)];
    expect(worker.Properties.Environment.Variables).toMatchObject({
      RECEIPT_QUEUE_URL: { Ref: id(webhook.queue) },
    });
    const statements = statementsOfRole(template, erasure.worker.role);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: [getAtt(id(webhook.queue))],
    });
    const queueActions = statements
      .filter((s) => JSON.stringify(s.Resource).includes(id(webhook.queue)))
      .flatMap((s) => s.Action);
    expect(queueActions).toEqual(['sqs:SendMessage']);
  });
});

describe('options', () => {
  test('maxAttempts sets the receives before the dead-letter queue', () => {
    const { webhook, template } = build(testStack(), { maxAttempts: 3 });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    expect(webhook.queueUrl).toBe(webhook.queue.queueUrl);
  });

  test('without a config bucket: public CAs only, no S3 access', () => {
    const { webhook, template } = build(testStack(), {}, false);
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(webhook.handler.function)];
    expect(fn.Properties.Environment.Variables.CONFIG_BUCKET_NAME).toBeUndefined();
    const actions = statementsOfRole(template, webhook.handler.role).flatMap((s) => s.Action);
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
  });

  test('grantEnqueue gives any principal send and the key through SQS only', () => {
    const stack = testStack();
    const role = new iam.Role(stack, 'Sender', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const { webhook, keys, template } = build(stack, {}, true, (w) => w.grantEnqueue(role));
    expect(statementsOfRole(template, role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: [getAtt(logicalId(webhook.queue))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(logicalId(keys.queuesKey))],
        Condition: via('sqs'),
      },
    ]);
  });

  test('without a receipt queue, the worker has no RECEIPT_QUEUE_URL', () => {
    const stack = testStack();
    const erasure = erasureInStack(stack);
    const fn =
      Template.fromStack(stack).findResources('AWS::Lambda::Function')[
        logicalId(erasure.worker.function)
      ];
    expect(fn.Properties.Environment.Variables.RECEIPT_QUEUE_URL).toBeUndefined();
  });
});

describe('ReceiptWebhook validation', () => {
  const attempt = (extra: Partial<ReceiptWebhookProps>) => () => build(testStack(), extra);

  test('bad props are reported together, never repeating the URL', () => {
    expectThrowsExactly(
      attempt({ url: 'http://receipts.example.com/hook-canary', maxAttempts: 0 }),
      'Invalid ReceiptWebhook props:\n' +
        '  - url must be an https:// URL without credentials, query or fragment\n' +
        '  - maxAttempts must be an integer from 1 to 20 (got 0)',
    );
    expectThrowsExactly(
      attempt({ maxAttempts: 21 }),
      'Invalid ReceiptWebhook props:\n  - maxAttempts must be an integer from 1 to 20 (got 21)',
    );
  });

  test.each([
    'https://receipts.example.com/hook?token=secret-canary',
    'https://receipts.example.com/hook#secret-canary',
    'https://user:secret-canary@receipts.example.com/hook',
    'secret-canary',
    '',
  ])('%s is refused with a message that does not repeat it', (url) => {
    let message = '';
    try {
      build(testStack(), { url });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Invalid ReceiptWebhook props:\n {2}- url must/);
    expect(message).not.toContain('secret-canary');
    expect(message).not.toContain('receipts.example.com');
  });
});

test('every rule pack passes: each finding on the webhook avoided or acknowledged on its construct', () => {
  const app = new App({
    outdir: tempOutdir(),
    context: { '@aws-cdk/core:failSynthOnValidationErrors': false },
  });
  const stack = new Stack(app, 'Webhook', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  // What the webhook stands on in the stack (and the deletion worker that feeds it).
  const { keys, network, store, incidents } = groundInStack(stack);
  const webhook = new ReceiptWebhook(stack, 'Webhook', {
    vpc: network.vpc,
    store,
    queuesKey: keys.queuesKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    url: URL,
    configBucket: new ConfigBucket(stack, 'Config', { encryptionKey: keys.metadataKey }),
  });
  new CustomerErasure(stack, 'Erasure', {
    vpc: network.vpc,
    store,
    queuesKey: keys.queuesKey,
    signingKey: keys.signingKey,
    images: new ShortTtlImageBucket(stack, 'Images', {
      encryptionKey: keys.imagesKey,
      logsKey: keys.logsKey,
      alarms: incidents,
      vpc: network.vpc,
    }),
    logsKey: keys.logsKey,
    alarms: incidents,
    receiptQueue: webhook,
  });
  const plugins = compliancePlugins(app);
  Validations.of(app).addPlugins(...plugins);
  const assembly = app.synth();
  const summary = readComplianceReport(
    assembly.directory,
    app,
    plugins.map((p) => p.name),
  );
  expect(summary.plugins.map((p) => p.name)).toHaveLength(6);
  expect(summary.plugins.every((p) => !p.error)).toBe(true);
  expect(summary.findings).toEqual([]);
  // The acknowledgements on the webhook's own constructs: the dead-letter
  // queue's, and those every HardenedFunction carries.
  const own = summary.acknowledgements
    .filter((a) => a.path.startsWith(webhook.node.path + '/'))
    .map((a) => `${a.path.slice(webhook.node.path.length + 1)} ${a.rule}`)
    .sort();
  expect(own).toEqual(
    [
      'DeadLetterQueue AwsSolutions-SQS3',
      'DeadLetterQueue cdk-validator-cfnguard::sqs_dlq_check',
      // The runtime policy: every function stays on the runtime its bundle is built for.
      'Handler/Function AwsSolutions-L1',
      'Handler/Function HIPAA.Security-LambdaDLQ',
      'Handler/Function NIST.800.53.R5-LambdaDLQ',
      'Handler/LogGroup cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
      'Handler/Role AwsSolutions-IAM5[Resource::*]',
      'Handler/Role HIPAA.Security-IAMNoInlinePolicy',
      'Handler/Role NIST.800.53.R5-IAMNoInlinePolicy',
      'Handler/Role PCI.DSS.321-IAMNoInlinePolicy',
    ].sort(),
  );
});
