/**
 * A pack that reads only the templates is run again only when a template, a
 * stack's environment or the pack's identity changed; the app runs
 * CloudFormation's own validator that way, and it still catches a bad
 * template.
 */
import * as fs from 'fs';
import {
  App,
  CfnResource,
  CloudFormationValidatePlugin,
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  Stack,
} from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { ReusedVerdict, verdictFile } from '../../lib/private/reused-verdict';
import { tempOutdir, validationContextOf } from '../support/ephemera-app';
import { defaultAppVerdict } from '../support/synths';

/** A pack that counts its runs and reports every resource of type `Test::Bad::Thing`. */
class CountingPack implements IPolicyValidationPlugin {
  public readonly name = 'Counting Pack';
  public runs = 0;
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.runs++;
    const violations = context.templatePaths.flatMap((file) => {
      const template = JSON.parse(fs.readFileSync(file, 'utf8'));
      return Object.entries(template.Resources ?? {})
        .filter(([, r]) => (r as { Type: string }).Type === 'Test::Bad::Thing')
        .map(([id]) => ({
          ruleName: 'no-bad-things',
          description: 'a bad thing',
          violatingResources: [{ resourceLogicalId: id, templatePath: file, locations: [] }],
        }));
    });
    return { success: violations.length === 0, violations };
  }
}

function contextFor(outdir: string, region = 'eu-west-1'): IPolicyValidationContext {
  const stack = new Stack(new App({ outdir }), 'Subject', { env: { region } });
  new CfnResource(stack, 'Thing', { type: 'Test::Bad::Thing' });
  return validationContextOf(stack);
}

describe('ReusedVerdict', () => {
  test('same templates and identity: one run, the stored report is returned', () => {
    const outdir = tempOutdir();
    const pack = new CountingPack();
    const first = new ReusedVerdict(pack, ['v1']).validate(contextFor(outdir));
    const second = new ReusedVerdict(pack, ['v1']).validate(contextFor(outdir));
    expect(pack.runs).toBe(1);
    expect(second).toEqual(first);
    expect(first.violations[0].violatingResources[0].resourceLogicalId).toBe('Thing');
    expect(fs.existsSync(verdictFile(outdir, 'Counting Pack'))).toBe(true);
  });

  test('a new identity, another region or a changed template runs the pack again', () => {
    const outdir = tempOutdir();
    const pack = new CountingPack();
    const context = contextFor(outdir);
    new ReusedVerdict(pack, ['v1']).validate(context);
    new ReusedVerdict(pack, ['v2']).validate(context);
    expect(pack.runs).toBe(2);
    new ReusedVerdict(pack, ['v2']).validate(contextFor(outdir, 'eu-central-1'));
    expect(pack.runs).toBe(3);
    const [templatePath] = context.templatePaths;
    const template = JSON.parse(fs.readFileSync(templatePath, 'utf8'));
    template.Resources.Another = { Type: 'Test::Bad::Thing' };
    fs.writeFileSync(templatePath, JSON.stringify(template));
    const changed = new ReusedVerdict(pack, ['v2']).validate(context);
    expect(pack.runs).toBe(4);
    expect(changed.violations.map((v) => v.violatingResources[0].resourceLogicalId)).toEqual([
      'Thing',
      'Another',
    ]);
  });

  test('a damaged store is recomputed, not trusted', () => {
    const outdir = tempOutdir();
    const pack = new CountingPack();
    fs.writeFileSync(verdictFile(outdir, 'Counting Pack'), '{"key":');
    const report = new ReusedVerdict(pack, ['v1']).validate(contextFor(outdir));
    expect(pack.runs).toBe(1);
    expect(report.success).toBe(false);
  });

  test("CloudFormation's validator, reused, still reports a bad template", () => {
    const outdir = tempOutdir();
    const app = new App({ outdir });
    const stack = new Stack(app, 'Subject', { env: { region: 'eu-west-1' } });
    new CfnResource(stack, 'Bucket', {
      type: 'AWS::S3::Bucket',
      properties: { NotAProperty: true },
    });
    const context = validationContextOf(stack);
    const report = new ReusedVerdict(new CloudFormationValidatePlugin(), ['test']).validate(
      context,
    );
    expect(JSON.stringify(report.violations)).toContain('NotAProperty');
  });
});

describe('the app', () => {
  test("registers CloudFormation's validator itself, reused across re-synths", () => {
    // The app as configured in cdk.json (in eu-west-1), synthesized once per
    // run with every rule pack (test/support/synths.ts).
    const { value, outdir } = defaultAppVerdict();
    const { plugins, summary } = value;
    expect(plugins).toContain('CloudFormation Validate');
    expect(summary.findings).toEqual([]);
    expect(summary.plugins.map((p) => p.name)).toContain('CloudFormation Validate');
    expect(fs.existsSync(verdictFile(outdir, 'CloudFormation Validate'))).toBe(true);
    expect(fs.existsSync(verdictFile(outdir, 'cdk-validator-cfnguard'))).toBe(true);
  });

  test('builtinCloudFormationValidation: false leaves it out', () => {
    const { plugins } = buildApp({ outdir: tempOutdir(), builtinCloudFormationValidation: false });
    expect(plugins).not.toContain('CloudFormation Validate');
  });
});
