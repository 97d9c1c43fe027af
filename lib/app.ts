import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, IPolicyValidationPlugin, Validations } from 'aws-cdk-lib';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import {
  compliancePlugins,
  ComplianceSummary,
  formatComplianceSummary,
  readComplianceReport,
} from './compliance';
import { isBackgroundPack, registerBackgroundPack, withBackgroundPacks } from './background-packs';
import { CloudFormationValidateInWorker } from './cfn-validate-worker';
import { formatDeploySummaries } from './private/cost-estimate';
import { reservedConcurrency } from './private/deploy-facts';
import { EphemeraStack } from './ephemera-stack';
import { checkContextKeys } from './known-names';
import { ReusedBackgroundVerdict } from './private/reused-verdict';

/**
 * The gate is ours (synthWithCompliance): CDK's own one trusts each plugin's
 * severities, which cfn-guard never sets, and it throws instead of reporting
 * under jest.
 */
export const REPORT_IN_APP = '@aws-cdk/core:failSynthOnValidationErrors';

/** The `context` of the project's cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const file = path.join(__dirname, '..', 'cdk.json');
  return (
    (JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ??
    {}
  );
}

/**
 * `-c key=value` / `--context key=value` pairs from a command line, as the CDK
 * CLI takes them, for `npm run synth -- -c key=value`.
 */
export function parseContextArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg !== '-c' && arg !== '--context') {
      throw new Error(`Unknown argument '${arg}': use -c key=value (or --context key=value)`);
    }
    const pair = argv[++i];
    const eq = pair?.indexOf('=') ?? -1;
    if (!pair || eq <= 0) throw new Error(`${arg} needs key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** What CloudFormation's validator verdict depends on besides the templates: its versions. */
const CFN_VALIDATE_IDENTITY = [
  packageVersion('aws-cdk-lib/package.json'),
  packageVersion('@aws/cloudformation-validate/package.json', require.resolve('aws-cdk-lib')),
];

function packageVersion(manifest: string, from?: string): string {
  const file = require.resolve(manifest, from ? { paths: [path.dirname(from)] } : undefined);
  return `${manifest}@${(JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version}`;
}

/** Region used when neither `-c region` nor CDK_DEFAULT_REGION is set. */
export const DEFAULT_REGION = 'us-east-1';

/**
 * Builds the Ephemera app: the stack from context, with every rule pack
 * registered. Any context key that is neither Ephemera's nor CDK's own is
 * refused (lib/known-names.ts), each named with the closest key. The region
 * decides the load balancer's log-delivery principal, so the stack always has
 * one: `-c region=...`, else the CLI's profile region, else DEFAULT_REGION.
 * The account stays unresolved unless given.
 */
export function buildApp(
  props: AppProps = {},
  overrides: Record<string, string> = {},
): {
  app: App;
  stack: EphemeraStack;
  plugins: string[];
} {
  const builtinValidation = props.builtinCloudFormationValidation ?? true;
  const app = new App({
    outdir: process.env.CDK_OUTDIR ?? 'cdk.out',
    ...props,
    // CloudFormation's own template validation runs as a registered plugin
    // instead (below), so that an unchanged re-synth reuses its verdict.
    builtinCloudFormationValidation: false,
    // cdk.json's context (feature flags and Ephemera's keys) also when the app
    // runs without the CDK CLI (`npm run synth`); the CLI's context, which
    // already holds cdk.json and `-c` values, takes precedence over it.
    context: { ...cdkJsonContext(), ...props.context },
    postCliContext: { ...props.postCliContext, ...overrides, [REPORT_IN_APP]: false },
  });
  // Every key, from wherever it came (cdk.json, -c, cdk.context.json), is
  // Ephemera's or CDK's own: a misspelt key is refused, not ignored.
  checkContextKeys(app);
  const region: string =
    app.node.tryGetContext('region') || process.env.CDK_DEFAULT_REGION || DEFAULT_REGION;
  const account: string | undefined =
    app.node.tryGetContext('account') || process.env.CDK_DEFAULT_ACCOUNT || undefined;
  const stack = new EphemeraStack(app, app.node.tryGetContext('stackName') || 'Ephemera', {
    env: { region, account },
    description: 'Ephemera: zero-retention, OpenAI-compatible inference API',
  });
  // The packs that read only the templates (cfn-guard, CloudFormation's own
  // validator) work in worker threads while the main thread runs the others
  // (./background-packs); the reports stay in the order the packs are listed.
  const packs: IPolicyValidationPlugin[] = compliancePlugins(app);
  if (builtinValidation) {
    packs.push(
      new ReusedBackgroundVerdict(new CloudFormationValidateInWorker(), CFN_VALIDATE_IDENTITY),
    );
  }
  packs.filter(isBackgroundPack).forEach((p) => registerBackgroundPack(app, p));
  Validations.of(app).addPlugins(...packs);
  const plugins = packs.map((p) => p.name);
  return { app, stack, plugins };
}

/**
 * Synthesizes an app whose rule packs are registered and reads the verdict.
 * `summary.findings` lists every unacknowledged finding.
 */
export function synthWithCompliance(
  app: App,
  plugins: string[] = [],
): { assembly: CloudAssembly; summary: ComplianceSummary } {
  const assembly = withBackgroundPacks(app, () => app.synth());
  return { assembly, summary: readComplianceReport(assembly.directory, app, plugins) };
}

/**
 * What `npm run synth` does: synthesize, write the one-screen summary and the
 * deploy summary (fixed monthly cost, per-request cost, reserved concurrency),
 * and return the exit code (1 when any finding is left unacknowledged).
 */
export function synthAndReport(app: App, plugins: string[], write: (text: string) => void): number {
  const { assembly, summary } = synthWithCompliance(app, plugins);
  write(formatComplianceSummary(summary, assembly.directory) + '\n');
  write(formatDeploySummaries(assembly.stacks, reservedConcurrency) + '\n');
  return summary.findings.length > 0 ? 1 : 0;
}
