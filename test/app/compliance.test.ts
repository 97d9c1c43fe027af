/**
 * The compliance gate: the real app, with every rule pack, synthesizes with
 * zero unacknowledged findings; a bad resource makes the gate fail, including
 * a finding only cfn-guard reports (CDK itself lets those through once any
 * acknowledgement exists); and every acknowledgement names a rule and gives a
 * reason.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildApp, REPORT_IN_APP, synthAndReport, synthWithCompliance } from '../../lib/app';
import { cdkJsonContext, tempOutdir } from '../support/ephemera-app';
import { defaultAppVerdict } from '../support/synths';

function realApp() {
  return buildApp({ outdir: tempOutdir(), context: { ...cdkJsonContext(), region: 'eu-west-1' } });
}

describe('compliance gate', () => {
  test('the app as configured in cdk.json has zero unacknowledged findings', () => {
    // realApp() with every rule pack, synthesized once per run (test/support/synths.ts).
    const { summary } = defaultAppVerdict().value;
    expect(summary.findings).toEqual([]);
    expect(summary.plugins.map((p) => p.name).sort()).toEqual(
      [
        'AwsSolutions',
        'CloudFormation Validate',
        'EphemeraRT',
        'HIPAA.Security',
        'NIST.800.53.R5',
        'PCI.DSS.321',
        'cdk-validator-cfnguard',
      ].sort(),
    );
    expect(summary.plugins.every((p) => p.success && !p.error)).toBe(true);
    // Every acknowledgement names a rule and says why, on a construct below the stack.
    expect(summary.acknowledgements.length).toBeGreaterThan(20);
    // CDK itself acknowledges a few of its built-in CloudFormation checks
    // (CloudFormation-Validate::...); those are its business, not ours.
    const ours = summary.acknowledgements.filter(
      (a) => !a.rule.startsWith('CloudFormation-Validate::'),
    );
    for (const a of ours) {
      expect(a.reason.length).toBeGreaterThan(40);
      expect(a.path.split('/').length).toBeGreaterThan(2);
    }
  });

  test('an unencrypted, never-expiring bucket and log group fail the gate with exit code 1', () => {
    const { app, stack, plugins } = realApp();
    new s3.Bucket(stack, 'CarelessBucket', { encryption: s3.BucketEncryption.S3_MANAGED });
    new logs.LogGroup(stack, 'CarelessLogs', { retention: logs.RetentionDays.INFINITE });
    let output = '';
    const code = synthAndReport(app, plugins, (t) => (output += t));
    expect(code).toBe(1);
    for (const rule of [
      'EphemeraRT-S3BucketCMK',
      'EphemeraRT-S3BucketExpiration',
      'EphemeraRT-S3BucketTLSOnly',
      'EphemeraRT-LogGroupRetention',
      'EphemeraRT-LogGroupCMK',
      'AwsSolutions-S1',
      's3_bucket_versioning_enabled_check',
    ]) {
      expect(output).toContain(rule);
    }
    expect(output).toContain('Ephemera/CarelessBucket');
  });

  test('a finding only cfn-guard reports still fails the gate although CDK marks the plugin successful', () => {
    const app = new App({
      outdir: tempOutdir(),
      builtinCloudFormationValidation: false,
      context: { [REPORT_IN_APP]: false },
    });
    const stack = new Stack(app, 'GuardOnly', { env: { region: 'eu-west-1' } });
    // A log group with a short retention: Control Tower wants 365 days or more;
    // no cdk-nag pack objects to it. Something else is acknowledged, so CDK
    // computes the guard report's success from severities, which guard never sets.
    const group = new logs.LogGroup(stack, 'ShortLogs', { retention: logs.RetentionDays.ONE_WEEK });
    group.node.addMetadata('aws:cdk:acknowledged-rules', {
      'Annotation::SomethingElse': 'unrelated',
    });
    const guard = new CfnGuardValidator({ controlTowerRulesEnabled: true });
    Validations.of(app).addPlugins(guard);
    const { summary } = synthWithCompliance(app, [guard.name]);
    expect(summary.findings.map((f) => f.rule)).toContain(
      'cloudwatch_log_group_retention_period_check',
    );
  });
});
