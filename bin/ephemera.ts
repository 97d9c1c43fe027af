#!/usr/bin/env node
/**
 * The Ephemera app: reads the configuration from cdk.json context, builds the
 * stack, runs every rule pack, prints a one-screen compliance summary, and
 * exits non-zero when any finding is left unacknowledged (including
 * cfn-guard findings, which CDK alone lets through once any acknowledgement
 * exists). `npm run synth`, `cdk synth` and `cdk deploy` all run this file.
 */
import { buildApp, parseContextArgs, synthAndReport } from '../lib/app';

try {
  const { app, plugins } = buildApp({}, parseContextArgs(process.argv.slice(2)));
  // stderr: the CDK CLI shows it, and stdout stays free for tools.
  process.exitCode = synthAndReport(app, plugins, (text) => process.stderr.write(text));
} catch (e) {
  // Synth-time errors (bad configuration, failed validation) hold no request data.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
