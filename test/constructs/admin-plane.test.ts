/**
 * The admin plane in the default stack: the admin API behind the same
 * listener, the deletion queue and worker, the watchdog; each role holds
 * exactly what its function needs, and every alarm reaches the incident topic.
 */

import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ADMIN_RULE_PRIORITY } from '../../lib/admin-api';
import { ADMIN_PATH_PATTERNS } from '../../lib/core/routes';
import { GATEWAY_RULE_PRIORITY } from '../../lib/inference-gateway';
import { defaultStack } from '../support/ephemera-app';
import { adminInStack } from '../support/gateway-fixture';
import {
  expectThrowsExactly,
  logicalId,
  statementsOfRole,
  testStack,
  VPC_ENI_STATEMENT,
} from '../support/stacks';

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

describe('the admin listener rules at the limit of 5 path values per rule', () => {
  // The admin API with other paths: lib/core/routes mocked in a registry of its own.
  let patterns: readonly string[] = [];
  let adminRules: () => string[][] = () => [];
  jest.isolateModules(() => {
    jest.doMock('../../lib/core/routes', () => ({
      ...jest.requireActual('../../lib/core/routes'),
      get ADMIN_PATH_PATTERNS() {
        return patterns;
      },
    }));
    /* eslint-disable @typescript-eslint/no-require-imports -- modules of the mocking registry */
    const { Template } =
      require('aws-cdk-lib/assertions') as typeof import('aws-cdk-lib/assertions');
    const fixture =
      require('../support/gateway-fixture') as typeof import('../support/gateway-fixture');
    const support = require('../support/stacks') as typeof import('../support/stacks');
    /* eslint-enable @typescript-eslint/no-require-imports */
    adminRules = () => {
      const stack = support.testStack();
      fixture.adminInStack(stack);
      return Object.values(
        Template.fromStack(stack).findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
      )
        .filter((r) => r.Properties.Priority < GATEWAY_RULE_PRIORITY)
        .sort((a, b) => a.Properties.Priority - b.Properties.Priority)
        .map((r) => r.Properties.Conditions[0].PathPatternConfig.Values as string[]);
    };
  });
  jest.dontMock('../../lib/core/routes');
  const paths = (n: number) => Array.from({ length: n }, (_, i) => `/v1/admin${i}`);

  test('five paths fit one rule', () => {
    patterns = paths(5);
    expect(adminRules()).toEqual([paths(5)]);
  });

  test('a sixth path makes a second rule; no rule holds more than five', () => {
    patterns = paths(6);
    const rules = adminRules();
    expect(rules).toEqual([paths(5), [paths(6)[5]]]);
    for (const rule of rules) expect(rule.length).toBeLessThanOrEqual(5);
  });
});

describe('the admin plane in the default stack', () => {
  const { stack, template } = defaultStack();
  const id = (c: Parameters<typeof logicalId>[0]) => logicalId(c);
  const via = (service: string) => ({
    StringEquals: { 'kms:ViaService': `${service}.eu-west-1.amazonaws.com` },
  });
  const usageIndex = {
    'Fn::Join': ['', [getAtt(id(stack.store.usageTable)), '/index/by_customer']],
  };

  test('frontDoorKind alb: the admin API answers its own paths on the HTTPS listener, before the gateway catch-all', () => {
    const alb = defaultStack({ context: { frontDoorKind: 'alb' } });
    expect(ADMIN_RULE_PRIORITY).toBeLessThan(GATEWAY_RULE_PRIORITY);
    // At most 5 patterns per rule: the admin's rules, in priority order, hold every pattern once.
    const rules = Object.values(
      alb.template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
    ).filter((r) => r.Properties.Priority < GATEWAY_RULE_PRIORITY);
    rules.sort((a, b) => a.Properties.Priority - b.Properties.Priority);
    expect(rules.map((r) => r.Properties.Priority)).toEqual([
      ADMIN_RULE_PRIORITY,
      ADMIN_RULE_PRIORITY + 1,
    ]);
    for (const rule of rules) {
      expect(rule.Properties).toMatchObject({
        ListenerArn: { Ref: expect.stringMatching(/FrontDoor/) },
        Actions: [expect.objectContaining({ Type: 'forward' })],
      });
      expect(rule.Properties.Conditions[0].PathPatternConfig.Values.length).toBeLessThanOrEqual(5);
    }
    expect(
      rules.flatMap((r) => r.Properties.Conditions[0].PathPatternConfig.Values as string[]),
    ).toEqual([...ADMIN_PATH_PATTERNS]);
    alb.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'lambda',
      Targets: [{ Id: getAtt(logicalId(alb.stack.admin.handler.function)) }],
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'lambda.multi_value_headers.enabled', Value: 'true' },
      ]),
    });
  });

  test('the admin role: keys, one usage record or the customer index, deletion jobs, the queue; no image, no delete', () => {
    const statements = statementsOfRole(template, stack.admin.handler.role);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: LOGS, Resource: [getAtt(id(stack.admin.handler.logGroup))] },
      VPC_ENI_STATEMENT,
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
        Resource: [getAtt(id(stack.store.keyTable))],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [getAtt(id(stack.store.usageTable))],
      },
      { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: [usageIndex] },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: [getAtt(id(stack.store.deletionTable))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: via('dynamodb'),
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateMac'],
        Resource: [getAtt(id(stack.keys.hmacKey))],
        Condition: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
      },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [getAtt(id(stack.erasure.queue))] },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.queuesKey))],
        Condition: via('sqs'),
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: [
          { 'Fn::Join': ['', [getAtt(id(stack.configBucket.bucket)), '/trust/trust-store.json']] },
        ],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: via('s3'),
      },
    ]);
    const actions = statements.flatMap((s) => s.Action);
    // S3: the trust store object only, never an image.
    const s3Resources = statements
      .filter((s) => (s.Action as string[]).some((a) => a.startsWith('s3:')))
      .flatMap((s) => s.Resource);
    expect(s3Resources).toEqual([
      { 'Fn::Join': ['', [getAtt(id(stack.configBucket.bucket)), '/trust/trust-store.json']] },
    ]);
    for (const forbidden of ['s3:DeleteObject', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  test('the worker role: the customer index, deleting usage records and images, its jobs, signing receipts', () => {
    expect(statementsOfRole(template, stack.erasure.worker.role)).toEqual([
      { Effect: 'Allow', Action: LOGS, Resource: [getAtt(id(stack.erasure.worker.logGroup))] },
      VPC_ENI_STATEMENT,
      { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: [usageIndex] },
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
        Resource: [getAtt(id(stack.store.usageTable))],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: [getAtt(id(stack.store.deletionTable))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: via('dynamodb'),
      },
      {
        Effect: 'Allow',
        Action: ['kms:Sign'],
        Resource: [getAtt(id(stack.keys.signingKey))],
        Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      },
      {
        Effect: 'Allow',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
        ],
        Resource: [getAtt(id(stack.erasure.queue))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.queuesKey))],
        Condition: via('sqs'),
      },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject'],
        Resource: [{ 'Fn::Join': ['', [getAtt(id(stack.images.bucket)), '/images/*']] }],
      },
    ]);
  });

  test('the watchdog role reads open-job keys and key expiry dates only', () => {
    expect(statementsOfRole(template, stack.watchdog.handler.role)).toEqual([
      { Effect: 'Allow', Action: LOGS, Resource: [getAtt(id(stack.watchdog.handler.logGroup))] },
      VPC_ENI_STATEMENT,
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [{ 'Fn::Join': ['', [getAtt(id(stack.store.deletionTable)), '/index/pending']] }],
      },
      { Effect: 'Allow', Action: ['dynamodb:Scan'], Resource: [getAtt(id(stack.store.keyTable))] },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: via('dynamodb'),
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [
          { 'Fn::Join': ['', [getAtt(id(stack.configBucket.bucket)), '/trust/trust-store.json']] },
        ],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: via('s3'),
      },
    ]);
  });

  test('the deletion queue: job ids only, queues key, TLS only, 4 days, a 14-day dead-letter queue after 5 tries', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: getAtt(id(stack.keys.queuesKey)),
      MessageRetentionPeriod: 4 * 86_400,
      VisibilityTimeout: 5400,
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(id(stack.erasure.deadLetterQueue)),
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: getAtt(id(stack.keys.queuesKey)),
      MessageRetentionPeriod: 14 * 86_400,
    });
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      },
      2,
    );
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(id(stack.erasure.queue)),
      FunctionName: { Ref: id(stack.erasure.worker.function) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          SIGNING_KEY_ID: getAtt(id(stack.keys.signingKey)),
          RECEIPT_EXCLUDES: 'usage-table-point-in-time-recovery:1',
          ERASURE_WAIT_SECONDS: '330',
        }),
      },
    });
  });

  test('alarms reach the incident topic: backlog over an hour, anything dead-lettered, jobs open 12 h, keys expiring in 7 days', () => {
    const topic = { Ref: id(stack.incidents.topic) };
    for (const [metric, threshold, extra] of [
      ['ApproximateAgeOfOldestMessage', 3600, {}],
      ['ApproximateNumberOfMessagesVisible', 0, {}],
      ['OverdueDeletionJobs', 0, { Namespace: 'Ephemera', Period: 3600 }],
      ['KeysExpiringSoon', 0, { Namespace: 'Ephemera', Period: 3600 }],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topic],
        ...extra,
      });
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: getAtt(id(stack.watchdog.handler.function)) })],
    });
  });

  test("the watchdog's alarms watch its named metrics, hourly maxima for this deployment", () => {
    const w = stack.watchdog;
    const named: Array<
      [string, ReturnType<typeof w.metric>, Parameters<typeof id>[0] | undefined]
    > = [
      ['OverdueDeletionJobs', w.metricOverdueDeletionJobs(), w.overdueJobsAlarm],
      ['KeysExpiringSoon', w.metricKeysExpiringSoon(), w.expiringKeysAlarm],
      ['InsecureTrustAll', w.metricInsecureTrustAll(), w.insecureTrustAlarm],
      [
        'TrustCertificatesExpiringSoon',
        w.metricTrustCertificatesExpiringSoon(),
        w.expiringCertificatesAlarm,
      ],
    ];
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    for (const [name, metric, alarm] of named) {
      expect([metric.metricName, metric.statistic, metric.period.toSeconds()]).toEqual([
        name,
        'Maximum',
        3600,
      ]);
      expect(alarms[id(alarm!)].Properties).toMatchObject({
        MetricName: name,
        Namespace: metric.namespace,
        Statistic: 'Maximum',
        Period: 3600,
      });
    }
  });

  test('the admin API is told the stack-wide key age and waits out the longest request before erasing', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MAX_KEY_AGE_DAYS: '90',
          DELETION_DELAY_SECONDS: '330',
          DELETION_QUEUE_URL: { Ref: id(stack.erasure.queue) },
        }),
      },
    });
  });
});

describe('receipts say what erasure does not reach', () => {
  test('with accessLogs on (frontDoorKind alb), every receipt names point-in-time recovery and the load-balancer access logs', () => {
    const { template } = defaultStack({ context: { frontDoorKind: 'alb', accessLogs: true } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RECEIPT_EXCLUDES: 'usage-table-point-in-time-recovery:1,load-balancer-access-logs:30',
        }),
      },
    });
  });
});

describe('AdminApi validation', () => {
  test('bad props are reported together', () => {
    expectThrowsExactly(
      () => adminInStack(testStack(), { metadataRetentionDays: 0, maxKeyAge: Duration.hours(1) }),
      'Invalid AdminApi props:\n' +
        '  - metadataRetentionDays must be an integer from 1 to 3650 (got 0)\n' +
        '  - maxKeyAge must be between 1 day and 365 days (got 1 hour)\n' +
        '  - maxKeyAge must be a whole number of days (got 3600 seconds)',
    );
  });
});
