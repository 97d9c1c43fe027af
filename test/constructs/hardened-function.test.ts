import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readComplianceReport } from '../../lib/compliance';
import {
  DATA_PROTECTION_IDENTIFIERS,
  FUNCTION_RUNTIME,
  FunctionTrigger,
  HardenedFunction,
  HardenedFunctionProps,
} from '../../lib/hardened-function';
import {
  expectThrowsExactly,
  logicalId,
  statementsOfRole,
  testKey,
  testStack,
  testVpc,
  VPC_ENI_STATEMENT,
} from '../support/stacks';
import { tempOutdir } from '../support/ephemera-app';

function build(props: Partial<HardenedFunctionProps> = {}) {
  const stack = testStack();
  const logsKey = testKey(stack, 'LogsKey');
  const fn = new HardenedFunction(stack, 'Fn', {
    handlerName: 'image-sweeper',
    trigger: FunctionTrigger.SCHEDULE,
    logsKey,
    vpc: testVpc(stack),
    ...props,
  });
  return { stack, logsKey, fn, template: Template.fromStack(stack) };
}

describe('HardenedFunction', () => {
  const { logsKey, fn, template } = build({ environment: { TABLE_NAME: 'usage' } });

  test('pinned Node.js 24 on arm64, no tracing, text logs to its own log group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 30,
      ReservedConcurrentExecutions: 10,
      TracingConfig: Match.absent(),
      LoggingConfig: { LogFormat: 'Text', LogGroup: { Ref: logicalId(fn.logGroup) } },
      Environment: { Variables: { TABLE_NAME: 'usage' } },
    });
  });

  test('the log group is encrypted with the logs key, kept 30 days, with no data-protection policy by default', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: { 'Fn::GetAtt': [logicalId(logsKey), 'Arn'] },
      RetentionInDays: 30,
      DataProtectionPolicy: Match.absent(),
    });
  });

  test('the role may only write to its own log group and manage its network interfaces', () => {
    expect(statementsOfRole(template, fn.role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [{ 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] }],
      },
      VPC_ENI_STATEMENT,
    ]);
  });

  test('dataProtection attaches a masking policy with every identifier', () => {
    const { template: t } = build({ dataProtection: true });
    const [group] = Object.values(t.findResources('AWS::Logs::LogGroup'));
    const policy = group.Properties.DataProtectionPolicy;
    expect(policy.Name).toBe('ephemera-image-sweeper-second-net');
    type Statement = { Operation: Record<string, unknown>; DataIdentifier: unknown[] };
    const audit = policy.Statement.find((s: Statement) => 'Audit' in s.Operation);
    const deidentify = policy.Statement.find((s: Statement) => 'Deidentify' in s.Operation);
    expect(deidentify.Operation.Deidentify).toEqual({ MaskConfig: {} });
    expect(JSON.stringify(deidentify.DataIdentifier)).toContain('data-identifier/EmailAddress');
    expect(deidentify.DataIdentifier).toHaveLength(DATA_PROTECTION_IDENTIFIERS.length);
    expect(audit.DataIdentifier).toEqual(deidentify.DataIdentifier);
  });
});

describe('HardenedFunction reserveConcurrency', () => {
  const acknowledged = (fn: HardenedFunction): string[] =>
    fn.function.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data as Record<string, string>))
      .map((id) => id.replace(/^Annotation::/, ''));
  const concurrencyRules = ['HIPAA.Security-LambdaConcurrency', 'NIST.800.53.R5-LambdaConcurrency'];

  test('by default the function reserves its concurrency, and nothing about it is acknowledged', () => {
    const { fn, template } = build({ reservedConcurrentExecutions: 3 });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
    for (const rule of concurrencyRules) expect(acknowledged(fn)).not.toContain(rule);
  });

  test('off: no reservation, and the HIPAA and NIST concurrency rules are acknowledged on the function only', () => {
    const { fn, template } = build({ reserveConcurrency: false, reservedConcurrentExecutions: 3 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: Match.absent(),
    });
    expect(acknowledged(fn)).toEqual(expect.arrayContaining(concurrencyRules));
    const reasons = fn.function.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .map((m) => JSON.stringify(m.data))
      .join(' ');
    expect(reasons).toContain('reserveConcurrency=false');
    expect(reasons).toContain('Lambda keeps 100 executions unreserved');
    for (const other of [fn.role, fn.logGroup]) {
      const ids = other.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.keys(m.data as Record<string, string>))
        .map((id) => id.replace(/^Annotation::/, ''));
      for (const rule of concurrencyRules) expect(ids).not.toContain(rule);
    }
  });
});

describe('HardenedFunction trigger', () => {
  test.each([
    [FunctionTrigger.SYNCHRONOUS, 'every failure is returned to the caller as the HTTP answer'],
    [FunctionTrigger.SCHEDULE, 'the next scheduled run repeats a failed one'],
    [FunctionTrigger.QUEUE, "whose redrive policy moves them to that queue's dead-letter queue"],
  ])(
    '%s: the missing DLQ is acknowledged on the function with the reason that trigger gives',
    (trigger, reason) => {
      const { fn } = build({ trigger });
      const acks = fn.function.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .map((m) => JSON.stringify(m.data));
      expect(acks.join(' ')).toContain('HIPAA.Security-LambdaDLQ');
      expect(acks.join(' ')).toContain('NIST.800.53.R5-LambdaDLQ');
      expect(acks.join(' ')).toContain(reason);
    },
  );
});

describe('HardenedFunction validation', () => {
  test('every problem is reported together', () => {
    expectThrowsExactly(
      () =>
        build({
          handlerName: '../gateway',
          memorySize: 64,
          reservedConcurrentExecutions: 0,
          timeout: Duration.minutes(16),
        }),
      'Invalid HardenedFunction props:\n' +
        "  - handlerName must be a folder name under lambda/ (got '../gateway')\n" +
        '  - memorySize must be an integer from 128 to 10240 (got 64)\n' +
        '  - reservedConcurrentExecutions must be an integer from 1 to 1000 (got 0)\n' +
        '  - timeout must be between 1 second and 15 minutes (got 16 minutes)',
    );
  });
});

describe('HardenedFunction runtime', () => {
  test('stays on FUNCTION_RUNTIME when aws-cdk-lib knows a newer Node.js runtime: AwsSolutions-L1 is acknowledged on the function', () => {
    // What a newer aws-cdk-lib brings: a runtime newer than the pinned one
    // (cdk-nag's AwsSolutions-L1 wants the newest one the library knows).
    new lambda.Runtime('nodejs99.x', lambda.RuntimeFamily.NODEJS);
    const app = new App({
      outdir: tempOutdir(),
      context: { '@aws-cdk/core:failSynthOnValidationErrors': false },
    });
    const stack = new Stack(app, 'Runtime', { env: { region: 'eu-west-1' } });
    const vpc = testVpc(stack);
    const fn = new HardenedFunction(stack, 'Fn', {
      handlerName: 'image-sweeper',
      trigger: FunctionTrigger.SCHEDULE,
      logsKey: testKey(stack, 'LogsKey'),
      vpc,
    });
    // A function of the consumer's own on the same runtime: the rule does fire.
    const own = new lambda.Function(stack, 'Own', {
      runtime: FUNCTION_RUNTIME,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
    });
    const pack = new AwsSolutionsChecks(app);
    Validations.of(app).addPlugins(pack);
    const { findings } = readComplianceReport(app.synth().directory, app, [pack.name]);
    const runtimeFindings = findings.filter((f) => f.rule === 'AwsSolutions-L1');
    expect(runtimeFindings.flatMap((f) => f.paths)).toEqual([`${own.node.path}/Resource`]);
    expect(JSON.stringify(fn.function.node.metadata)).toContain('AwsSolutions-L1');
    expect(JSON.stringify(fn.function.node.metadata)).toContain(
      `built and tested for ${FUNCTION_RUNTIME.name}`,
    );
    expect(FUNCTION_RUNTIME.name).toBe('nodejs24.x');
  });
});

describe('HardenedFunction metrics', () => {
  const { fn, stack } = build();

  test('errors and throttles of the function, summed over 5 minutes unless told otherwise', () => {
    for (const [metric, name] of [
      [fn.metricErrors(), 'Errors'],
      [fn.metricThrottles(), 'Throttles'],
    ] as const) {
      expect(metric.namespace).toBe('AWS/Lambda');
      expect(metric.metricName).toBe(name);
      expect(metric.period.toSeconds()).toBe(300);
      expect(metric.statistic).toBe('Sum');
      expect(stack.resolve(metric.dimensions)).toEqual({
        FunctionName: { Ref: logicalId(fn.function) },
      });
    }
    expect(fn.metricErrors({ period: Duration.minutes(1) }).period.toSeconds()).toBe(60);
  });
});
