#!/usr/bin/env node
/**
 * The Ephemera app: reads the configuration from cdk.json context, builds the
 * stack, runs every rule pack, prints a one-screen compliance summary, and
 * exits non-zero when any finding is left unacknowledged (including
 * cfn-guard findings, which CDK alone lets through once any acknowledgement
 * exists). `npm run synth`, `cdk synth` and `cdk deploy` all run this file.
 */
import { buildApp, synthWithCompliance } from '../lib/app';
import { formatComplianceSummary } from './compliance-summary';

try {
  const { app, plugins } = buildApp();
  const { assembly, summary } = synthWithCompliance(app, plugins);
  // stderr: the CDK CLI shows it, and stdout stays free for tools.
  process.stderr.write(formatComplianceSummary(summary, assembly.directory) + '\n');
  if (summary.findings.length > 0) process.exitCode = 1;
} catch (e) {
  // Synth-time errors (bad configuration, failed validation) hold no request data.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
