/**
 * The full synths (every rule pack) that test files share through
 * ./shared-synth: each is done once per run, whichever file asks first, and
 * the others read its cloud assembly and compliance summary.
 */
import { buildApp, synthWithCompliance } from '../../lib/app';
import { cdkJsonContext, defaultStack } from './ephemera-app';
import { sharedSynth, Synthesized } from './shared-synth';

/** The compliance summary of a synth, as lib/app.ts reads it. */
export type ComplianceSummary = ReturnType<typeof synthWithCompliance>['summary'];

/** The default app and its verdict. */
export interface AppVerdict {
  /** The rule packs the app registered (buildApp's `plugins`). */
  readonly plugins: string[];
  readonly summary: ComplianceSummary;
}

/**
 * The app as configured in cdk.json, in eu-west-1, with every rule pack and
 * CloudFormation's own validator (as `npm run synth` runs it).
 */
export function defaultAppVerdict(): Synthesized<AppVerdict> {
  return sharedSynth('default app, cdk.json context, eu-west-1, every rule pack', (outdir) => {
    const { app, plugins } = buildApp({
      outdir,
      context: { ...cdkJsonContext(), region: 'eu-west-1' },
    });
    const { summary } = synthWithCompliance(app, plugins);
    return { plugins, summary };
  });
}

/**
 * A configuration variant (context over cdk.json's, in eu-west-1) with every
 * rule pack, handlers not bundled and without CloudFormation's validator.
 */
export function variantVerdict(overrides: Record<string, string>): Synthesized<AppVerdict> {
  return sharedSynth(`variant ${JSON.stringify(overrides)}, every rule pack`, (outdir) => {
    const { app, plugins } = buildApp(
      {
        outdir,
        context: { 'aws:cdk:bundling-stacks': [] },
        builtinCloudFormationValidation: false,
      },
      { region: 'eu-west-1', ...overrides },
    );
    const { summary } = synthWithCompliance(app, plugins);
    return { plugins, summary };
  });
}

/** The default Ephemera stack's template (no rule packs), and what of its configuration tests read. */
export interface StackTemplate {
  readonly template: Record<string, unknown>;
  readonly frontDoorKind: string;
}

/**
 * `defaultStack({ context })` (test/support/ephemera-app.ts: cdk.json's
 * context plus `context`, eu-west-1, handlers not bundled, no rule packs):
 * its template, synthesized once per run for the files that read only the
 * template. Read it with `Template.fromJSON`.
 */
export function defaultStackTemplate(context: Record<string, unknown> = {}): StackTemplate {
  return sharedSynth(`defaultStack ${JSON.stringify(context)}`, () => {
    const { stack, template } = defaultStack({ context });
    return {
      template: template.toJSON() as Record<string, unknown>,
      frontDoorKind: String(stack.config.frontDoorKind),
    };
  }).value;
}
