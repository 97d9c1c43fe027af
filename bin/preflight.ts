#!/usr/bin/env node
/**
 * `npm run preflight`: read-only checks of the target account and region
 * with the caller's credentials, before `cdk deploy`. One line per check
 * (PASS, FAIL with the fix, WARN, SKIP); exit code 1 when any check fails,
 * 2 on a usage error. It never creates or changes anything: the checks call
 * Get, List and Describe APIs only (bin/preflight/checks.ts, IAM_ACTIONS).
 *
 *   npm run preflight -- [-c key=value ...] [--region REGION] [--profile PROFILE] [--template FILE]
 *
 * The template is synthesized in-process from cdk.json's context plus the
 * `-c` values, exactly as `cdk deploy -c ...` would, or read from `--template`.
 */
import { parseArgs } from 'node:util';
import { ACMClient } from '@aws-sdk/client-acm';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Route53Client } from '@aws-sdk/client-route-53';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { cdkJsonContext, DEFAULT_REGION } from '../lib/app';
import { oneLine } from './preflight/aws-errors';
import { replaceSdkNodeWarning } from './node-support';
import {
  checkCredentials,
  fail,
  preflight,
  type CheckResult,
  type PreflightClients,
} from './preflight/checks';
import { synthesizeFacts, templateFileFacts, type PreflightFacts } from './preflight/facts';
import { formatLine, formatSummary } from './preflight/report';

export const USAGE = `Usage: npm run preflight -- [-c key=value ...] [--region REGION] [--profile PROFILE] [--template FILE]

Read-only checks of the target account and region before cdk deploy: one line
per check (PASS, FAIL with the fix, WARN, SKIP); exit code 1 when any fails.

  -c, --context key=value  a context value, as for cdk deploy (repeat)
  --region REGION          the region to check (default: -c region, cdk.json, the profile's, ${DEFAULT_REGION})
  --profile PROFILE        the AWS profile whose credentials to use (default: the SDK's)
  --template FILE          check this synthesized template instead of synthesizing one
                           (the configuration still comes from cdk.json and -c)
  -h, --help               this text
`;

/** A mistake in the command line (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface PreflightOptions {
  readonly help: boolean;
  readonly context: Record<string, string>;
  readonly region?: string;
  readonly profile?: string;
  readonly template?: string;
}

/** Parses the arguments after `npm run preflight --`. Throws UsageError. */
export function parsePreflightArgs(argv: readonly string[]): PreflightOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        context: { type: 'string', short: 'c', multiple: true },
        region: { type: 'string' },
        profile: { type: 'string' },
        template: { type: 'string' },
      },
    });
  } catch (err) {
    // Not `instanceof Error`: node's errors may come from another realm (jest).
    const raw = (err as { message?: unknown } | null)?.message;
    throw new UsageError(typeof raw === 'string' ? raw.split('\n')[0] : 'invalid arguments');
  }
  const { values } = parsed;
  const context: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-c needs key=value (got '${pair}')`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (
    values.region !== undefined &&
    context.region !== undefined &&
    values.region !== context.region
  ) {
    throw new UsageError(`--region ${values.region} and -c region=${context.region} disagree`);
  }
  return {
    help: values.help ?? false,
    context,
    region: values.region,
    profile: values.profile,
    template: values.template,
  };
}

export interface LoadFactsRequest {
  /** Context values on top of cdk.json's: the `-c` values, the region and the account. */
  readonly overrides: Record<string, string>;
  readonly region: string;
  readonly template?: string;
}

export interface MainDeps {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** cdk.json's context. */
  readonly cdkContext: () => Record<string, unknown>;
  /** The SDK's region for the profile (AWS_REGION, the profile's config), if any. */
  readonly defaultRegion: (profile?: string) => Promise<string | undefined>;
  readonly createClients: (region: string, profile?: string) => PreflightClients;
  readonly loadFacts: (request: LoadFactsRequest) => PreflightFacts;
  readonly now?: () => Date;
}

const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

/** Runs preflight; returns the exit code (0 ready, 1 a check failed, 2 usage error). */
export async function main(argv: readonly string[], deps: MainDeps): Promise<number> {
  let options: PreflightOptions;
  try {
    options = parsePreflightArgs(argv);
  } catch (err) {
    deps.err(`error: ${(err as Error).message}`);
    deps.err(USAGE);
    return 2;
  }
  if (options.help) {
    deps.out(USAGE);
    return 0;
  }
  const cdk = deps.cdkContext();
  const region =
    options.region ??
    nonEmpty(options.context.region) ??
    nonEmpty(cdk.region) ??
    (await deps.defaultRegion(options.profile)) ??
    DEFAULT_REGION;
  const clients = deps.createClients(region, options.profile);
  const configuredAccount = nonEmpty(options.context.account) ?? nonEmpty(cdk.account);
  const identity = await checkCredentials(clients.sts, configuredAccount);
  // The template as `cdk deploy` would synthesize it: the CLI resolves the
  // environment from the credentials.
  const account = configuredAccount ?? identity.account;
  const overrides = { ...options.context, region, ...(account ? { account } : {}) };

  let facts: PreflightFacts;
  try {
    facts = deps.loadFacts({ overrides, region, template: options.template });
  } catch (err) {
    const results: CheckResult[] = [
      identity.result,
      fail(
        'synth',
        `the app does not synthesize: ${oneLine((err as Error)?.message ?? String(err), 1000)}`,
        'fix the configuration (docs/configuration.md), then run preflight again',
      ),
    ];
    report(deps, `Preflight in ${account ?? 'an unknown account'}, ${region}`, results);
    return 1;
  }
  const results = await preflight(facts, clients, identity, deps.now?.() ?? new Date());
  report(
    deps,
    `Preflight of stack ${facts.stackName} in ${account ?? 'an unknown account'}, ${facts.region} (template: ${facts.source})`,
    results,
  );
  return results.some((r) => !r.ok) ? 1 : 0;
}

function report(deps: MainDeps, header: string, results: readonly CheckResult[]): void {
  deps.out(header);
  for (const r of results) deps.out(formatLine(r));
  deps.out(formatSummary(results));
}

/** Real SDK clients for `region` (Bedrock and ACM also for other regions an ARN names). */
export function createAwsClients(region: string, profile?: string): PreflightClients {
  const base = { region, maxAttempts: 3, ...(profile ? { profile } : {}) };
  const perRegion = <C>(make: (r: string) => C) => {
    const made = new Map<string, C>();
    return (r: string): C => {
      let c = made.get(r);
      if (!c) made.set(r, (c = make(r)));
      return c;
    };
  };
  return {
    sts: new STSClient(base),
    cloudformation: new CloudFormationClient(base),
    ssm: new SSMClient(base),
    lambda: new LambdaClient(base),
    apiGateway: new APIGatewayClient(base),
    bedrock: perRegion((r) => new BedrockClient({ ...base, region: r })),
    acm: perRegion((r) => new ACMClient({ ...base, region: r })),
    route53: new Route53Client(base),
    serviceQuotas: new ServiceQuotasClient(base),
    ec2: new EC2Client(base),
    kms: new KMSClient(base),
  };
}

/** The region the SDK would use for `profile`, or undefined when none is configured. */
export async function sdkDefaultRegion(profile?: string): Promise<string | undefined> {
  try {
    const region = await new STSClient(profile ? { profile } : {}).config.region();
    return region || undefined;
  } catch {
    return undefined;
  }
}

/** Facts from an in-process synth, or from `--template`. */
export function loadFacts(request: LoadFactsRequest): PreflightFacts {
  return request.template
    ? templateFileFacts(request.template, request.overrides, request.region)
    : synthesizeFacts(request.overrides);
}

if (require.main === module) {
  // Node < 22: this one line on stderr instead of the AWS SDK's seven-line warning.
  replaceSdkNodeWarning((line) => process.stderr.write(`${line}\n`));
  void main(process.argv.slice(2), {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    cdkContext: cdkJsonContext,
    defaultRegion: sdkDefaultRegion,
    createClients: createAwsClients,
    loadFacts,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A bug, not an AWS answer (the checks turn those into FAIL lines): one line, no trace.
      process.stderr.write(`error: ${oneLine(String((err as Error)?.message ?? err))}\n`);
      process.exitCode = 1;
    },
  );
}
