/**
 * The packs the app runs in worker threads beside the others give the
 * reports they give in the main thread, word for word: CloudFormation's
 * validator (started with the tree's resource types or not, with a template
 * holding a type the tree did not name, and after being stopped) and the
 * Control Tower checks. The pack that begins them is in no report.
 */
import {
  App,
  CfnResource,
  CloudFormationValidatePlugin,
  IPolicyValidationContext,
  Stack,
} from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as fs from 'fs';
import * as path from 'path';
import {
  BACKGROUND_START_PACK,
  registerBackgroundPack,
  withBackgroundPacks,
} from '../../lib/background-packs';
import {
  CFN_VALIDATE_PLUGIN_NAME,
  CloudFormationValidateInWorker,
  treeResourceTypes,
} from '../../lib/cfn-validate-worker';
import { ControlTowerChecks } from '../../lib/control-tower-checks';
import { tempOutdir, validationContextOf } from '../support/ephemera-app';

/** An app whose template CloudFormation's validator finds fault with, and its context. */
function badTemplate(): { app: App; context: IPolicyValidationContext } {
  const app = new App({ outdir: tempOutdir(), builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Subject', { env: { region: 'eu-west-1' } });
  new CfnResource(stack, 'Bucket', {
    type: 'AWS::S3::Bucket',
    properties: { NotAProperty: true, BucketName: 'Not_A_Bucket_Name!' },
  });
  new CfnResource(stack, 'Queue', {
    type: 'AWS::SQS::Queue',
    properties: { MessageRetentionPeriod: 'forever' },
  });
  return { app, context: validationContextOf(stack) };
}

const inProcess = (context: IPolicyValidationContext) =>
  new CloudFormationValidatePlugin().validate(context);

test("the worker's report is the in-process validator's", () => {
  const { app, context } = badTemplate();
  const expected = inProcess(context);
  expect(expected.violations.length).toBeGreaterThan(0);
  expect(JSON.stringify(expected.violations)).toContain('NotAProperty');

  const plugin = new CloudFormationValidateInWorker();
  expect(plugin.name).toBe(CFN_VALIDATE_PLUGIN_NAME);
  expect(plugin.name).toBe(CloudFormationValidatePlugin.PLUGIN_NAME);
  try {
    plugin.start(app);
    plugin.begin(context);
    expect(plugin.validate(context)).toEqual(expected);
    // Asked again without begin: the worker validates again, same answer.
    expect(plugin.validate(context)).toEqual(expected);
  } finally {
    plugin.stop();
  }
  // Stopped (or never started): validated in this thread, same answer.
  expect(plugin.validate(context)).toEqual(expected);
});

test('a template type the tree did not name is still validated', () => {
  const { context } = badTemplate();
  // Started from an app that names only a bucket: the engine is rebuilt.
  const other = new App({ outdir: tempOutdir() });
  new CfnResource(new Stack(other, 'Other'), 'Bucket', { type: 'AWS::S3::Bucket' });
  expect(treeResourceTypes(other)).toEqual(['AWS::CDK::Metadata', 'AWS::S3::Bucket']);
  const plugin = new CloudFormationValidateInWorker();
  try {
    plugin.start(other);
    expect(plugin.validate(context)).toEqual(inProcess(context));
  } finally {
    plugin.stop();
  }
});

test('the pack that begins the background packs is in no report', () => {
  const outdir = tempOutdir();
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Subject', { env: { region: 'eu-west-1' } });
  new CfnResource(stack, 'Bucket', { type: 'AWS::S3::Bucket' });
  const begun: string[][] = [];
  const plugin = new CloudFormationValidateInWorker();
  const spy = jest.spyOn(plugin, 'begin').mockImplementation((context) => {
    begun.push(context.templatePaths);
  });
  const stop = jest.spyOn(plugin, 'stop');
  registerBackgroundPack(app, plugin);
  const assembly = withBackgroundPacks(app, () => app.synth());
  expect(spy).toHaveBeenCalledTimes(1);
  expect(stop).toHaveBeenCalled();
  expect(begun[0][0]).toContain(outdir);
  const report = fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8');
  expect(report).toContain('Validation Report');
  expect(report).not.toContain(BACKGROUND_START_PACK);
});

test("the Control Tower checks' report from the worker is the one from this thread", () => {
  const app = new App({ outdir: tempOutdir(), builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Subject', { env: { region: 'eu-west-1' } });
  // Control Tower wants 365 days of log retention or more.
  new logs.LogGroup(stack, 'ShortLogs', { retention: logs.RetentionDays.ONE_WEEK });
  const context = validationContextOf(stack);
  const expected = new ControlTowerChecks({ reuseVerdict: false }).validate(context);
  expect(JSON.stringify(expected.violations)).toContain(
    'cloudwatch_log_group_retention_period_check',
  );
  const checks = new ControlTowerChecks({ reuseVerdict: false });
  try {
    checks.start(app);
    checks.begin(context);
    expect(checks.validate(context)).toEqual(expected);
  } finally {
    checks.stop();
  }
});
