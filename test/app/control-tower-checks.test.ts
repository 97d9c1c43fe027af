/**
 * ControlTowerChecks gives cfn-guard only the Control Tower rules that select
 * a resource type present in the template. Proof that this loses nothing: on
 * the Ephemera stack plus careless resources of other kinds, its findings are
 * exactly those of the plugin run with every rule.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { IPolicyValidationContext, PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  applicableRuleFiles,
  controlTowerRuleFiles,
  ControlTowerChecks,
} from '../../lib/control-tower-checks';
import { CT_RULE_REPLACED_BY_EPHEMERA } from '../../lib/compliance';
import { verdictFile } from '../../lib/private/reused-verdict';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { testApp, validationContextOf } from '../support/ephemera-app';

function findings(report: PolicyValidationPluginReport): string[] {
  return report.violations
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.resourceLogicalId}`))
    .sort();
}

test('only the applicable rules run, with the same findings as every rule', () => {
  const app = testApp();
  const stack = new EphemeraStack(app, 'Ephemera', { env: { region: 'eu-west-1' } });
  new s3.Bucket(stack, 'CarelessBucket');
  new logs.LogGroup(stack, 'CarelessLogs', { retention: logs.RetentionDays.ONE_DAY });
  new sqs.Queue(stack, 'CarelessQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
  const context = validationContextOf(stack);

  const all = new CfnGuardValidator({
    controlTowerRulesEnabled: true,
    disabledRules: [CT_RULE_REPLACED_BY_EPHEMERA],
  }).validate(context) as PolicyValidationPluginReport;
  const selective = new ControlTowerChecks({
    disabledRules: [CT_RULE_REPLACED_BY_EPHEMERA],
  }).validate(context);

  expect(findings(all).length).toBeGreaterThan(5);
  expect(findings(selective)).toEqual(findings(all));
  expect(findings(selective).some((f) => f.includes('CarelessQueue'))).toBe(true);
});

test('a rule is skipped only when none of its resource types is present', () => {
  const total = controlTowerRuleFiles().length;
  expect(total).toBeGreaterThan(200);
  const forS3 = applicableRuleFiles(new Set(['AWS::S3::Bucket']), []);
  expect(forS3.length).toBeGreaterThan(5);
  expect(forS3.length).toBeLessThan(total);
  expect(
    forS3.every(
      (f) =>
        controlTowerRuleFiles().find((r) => r.file === f)!.types.size === 0 ||
        controlTowerRuleFiles()
          .find((r) => r.file === f)!
          .types.has('AWS::S3::Bucket'),
    ),
  ).toBe(true);
  expect(applicableRuleFiles(new Set(['AWS::S3::Bucket']), ['ct-s3-pr-1']).length).toBe(
    forS3.length - 1,
  );
});

test('an unknown disabled rule is refused', () => {
  expect(() => new ControlTowerChecks({ disabledRules: ['ct-nope-pr-1'] })).toThrow(
    'ControlTowerChecks: unknown disabledRules ct-nope-pr-1',
  );
});

describe('the verdict of an unchanged re-synth is reused', () => {
  function careless(): { context: IPolicyValidationContext; templatePath: string } {
    const app = testApp();
    const stack = new Stack(app, 'Careless', { env: { region: 'eu-west-1' } });
    new sqs.Queue(stack, 'CarelessQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const context = validationContextOf(stack);
    return { context, templatePath: context.templatePaths[0] };
  }

  afterEach(() => jest.restoreAllMocks());

  test('same templates: cfn-guard runs once, the findings are the same', () => {
    const { context, templatePath } = careless();
    const guard = jest.spyOn(CfnGuardValidator.prototype, 'validate');
    const first = new ControlTowerChecks().validate(context);
    const second = new ControlTowerChecks().validate(context);
    expect(guard).toHaveBeenCalledTimes(1);
    expect(findings(second)).toEqual(findings(first));
    expect(findings(first).some((f) => f.includes('CarelessQueue'))).toBe(true);
    expect(fs.existsSync(verdictFile(path.dirname(templatePath), 'cdk-validator-cfnguard'))).toBe(
      true,
    );
  });

  test('a changed template, or reuseVerdict off, runs cfn-guard again', () => {
    const { context, templatePath } = careless();
    const guard = jest.spyOn(CfnGuardValidator.prototype, 'validate');
    new ControlTowerChecks().validate(context);
    const template = JSON.parse(fs.readFileSync(templatePath, 'utf8'));
    template.Resources.SecondQueue = { Type: 'AWS::SQS::Queue', Properties: {} };
    fs.writeFileSync(templatePath, JSON.stringify(template));
    const changed = new ControlTowerChecks().validate(context);
    expect(guard).toHaveBeenCalledTimes(2);
    expect(findings(changed).some((f) => f.includes('SecondQueue'))).toBe(true);
    new ControlTowerChecks({ reuseVerdict: false }).validate(context);
    expect(guard).toHaveBeenCalledTimes(3);
  });

  test('an unreadable stored verdict is recomputed, not trusted', () => {
    const { context, templatePath } = careless();
    fs.writeFileSync(verdictFile(path.dirname(templatePath), 'cdk-validator-cfnguard'), '{oops');
    const guard = jest.spyOn(CfnGuardValidator.prototype, 'validate');
    const report = new ControlTowerChecks().validate(context);
    expect(guard).toHaveBeenCalledTimes(1);
    expect(report.success).toBe(false);
  });
});
