#!/usr/bin/env node
/**
 * The Ephemera app: reads the configuration from cdk.json context, builds the
 * stack, runs every rule pack, and fails when any finding is left
 * unacknowledged (including cfn-guard findings, which CDK alone would let
 * through once any acknowledgement exists). `npm run synth` and `cdk synth`
 * / `cdk deploy` all run this file.
 */
import { App } from 'aws-cdk-lib';
import { addCompliancePlugins, readComplianceReport } from '../lib/compliance';
import { EphemeraStack } from '../lib/ephemera-stack';
import { formatComplianceSummary } from './compliance-summary';

/** Region used when neither -c region nor CDK_DEFAULT_REGION is set. */
const DEFAULT_REGION = 'us-east-1';

function main(): void {
  const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
  // The region decides the load balancer's log-delivery principal, so the
  // stack always has one: -c region=..., else the CLI's profile region, else
  // the documented offline default. The account stays unresolved unless given.
  const region: string =
    app.node.tryGetContext('region') || process.env.CDK_DEFAULT_REGION || DEFAULT_REGION;
  const account: string | undefined =
    app.node.tryGetContext('account') || process.env.CDK_DEFAULT_ACCOUNT || undefined;
  new EphemeraStack(app, app.node.tryGetContext('stackName') || 'Ephemera', {
    env: { region, account },
    description: 'Ephemera: zero-retention, OpenAI-compatible inference API',
  });
  addCompliancePlugins(app);
  const assembly = app.synth();
  const summary = readComplianceReport(assembly.directory, app);
  // stderr: the CDK CLI reads nothing from the app's stdout, and users see stderr.
  process.stderr.write(formatComplianceSummary(summary, assembly.directory) + '\n');
  if (summary.findings.length > 0) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  // Synth-time errors (bad configuration, validation) hold no request data.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
