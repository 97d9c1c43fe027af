/**
 * The checks of `npm run preflight`: read-only questions to the target
 * account and region, each answered with one result (PASS, FAIL with the fix,
 * WARN or SKIP). They take the SDK clients and the facts of the synthesized
 * template (./facts.ts) and never create or change anything: every call is a
 * Get, List or Describe, and IAM_ACTIONS lists the permissions they need.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  BedrockClient,
  GetFoundationModelAvailabilityCommand,
  GetInferenceProfileCommand,
  ListFoundationModelsCommand,
  type FoundationModelSummary,
} from '@aws-sdk/client-bedrock';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { bedrockReach, geographicReach } from '../../lib/core/bedrock-regions';
import { LAMBDA_UNRESERVED_MINIMUM } from '../../lib/private/deploy-facts';
import { call, errorCode, explain, messageOf, oneLine } from './aws-errors';
import {
  API_GATEWAY_ACCOUNT_ROLE_KEY,
  DEFAULT_BOOTSTRAP_QUALIFIER,
  type PreflightFacts,
} from './facts';

export type Status = 'PASS' | 'FAIL' | 'WARN' | 'SKIP';

/** One line of the report. `ok` is false for a FAIL only. */
export interface CheckResult {
  readonly name: string;
  readonly status: Status;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do about a FAIL (or a WARN). */
  readonly fix?: string;
}

const result =
  (status: Status) =>
  (name: string, detail: string, fix?: string): CheckResult => ({
    name,
    status,
    ok: status !== 'FAIL',
    detail: oneLine(detail, 400),
    ...(fix === undefined ? {} : { fix: oneLine(fix, 400) }),
  });
export const pass = result('PASS');
export const fail = result('FAIL');
export const warn = result('WARN');
export const skip = result('SKIP');

/**
 * Every IAM action the checks call, for the caller's policy (docs/deploy.md
 * lists exactly these). All read-only; `sts:GetCallerIdentity` needs no grant.
 */
export const IAM_ACTIONS: readonly string[] = [
  'sts:GetCallerIdentity',
  'cloudformation:DescribeStacks',
  'cloudformation:ListStackResources',
  'ssm:GetParameter',
  'lambda:GetAccountSettings',
  'lambda:GetFunctionConcurrency',
  'apigateway:GET',
  'bedrock:ListFoundationModels',
  'bedrock:GetFoundationModelAvailability',
  'bedrock:GetInferenceProfile',
  'ec2:DescribeRegions',
  'acm:DescribeCertificate',
  'route53:GetHostedZone',
  'servicequotas:GetServiceQuota',
  'servicequotas:GetAWSDefaultServiceQuota',
  'ec2:DescribeVpcs',
  'ec2:DescribeAddresses',
  'ec2:DescribeNetworkInterfaces',
  'kms:ListKeys',
];

/** The SDK clients the checks use (Bedrock and ACM per region: a model or certificate ARN may name another). */
export interface PreflightClients {
  readonly sts: STSClient;
  readonly cloudformation: CloudFormationClient;
  readonly ssm: SSMClient;
  readonly lambda: LambdaClient;
  readonly apiGateway: APIGatewayClient;
  readonly bedrock: (region: string) => BedrockClient;
  readonly acm: (region: string) => ACMClient;
  readonly route53: Route53Client;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ec2: EC2Client;
  readonly kms: KMSClient;
}

/** The stack as it is now, if it exists: its resources by logical id. */
export interface StackState {
  readonly exists: boolean;
  /** False when the stack could not be read (then everything counts as new). */
  readonly known: boolean;
  readonly status?: string;
  readonly resources: ReadonlyMap<string, { readonly type: string; readonly physicalId?: string }>;
}

export const UNKNOWN_STACK: StackState = { exists: false, known: false, resources: new Map() };

export interface CheckContext {
  readonly facts: PreflightFacts;
  readonly clients: PreflightClients;
  /** The caller's account. */
  readonly account: string;
  readonly stack: StackState;
  readonly now: Date;
}

/** Runs a check; any error becomes its FAIL line (the missing permission, never a stack trace). */
async function guard(
  name: string,
  check: () => Promise<CheckResult | CheckResult[]>,
): Promise<CheckResult[]> {
  try {
    const r = await check();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    const { detail, fix } = explain(err);
    return [fail(name, detail, fix)];
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------- credentials

/**
 * Who the caller is. A FAIL stops the other checks (they would all fail the
 * same way, or check another account than the one configured).
 */
export async function checkCredentials(
  sts: STSClient,
  configuredAccount: string | undefined,
): Promise<{ result: CheckResult; account?: string }> {
  const name = 'credentials';
  try {
    const id = await call('sts:GetCallerIdentity', () =>
      sts.send(new GetCallerIdentityCommand({})),
    );
    const account = id.Account ?? '';
    if (configuredAccount && configuredAccount !== account) {
      return {
        result: fail(
          name,
          `the credentials are for account ${account}, but the configuration targets account ${configuredAccount}`,
          `use credentials for account ${configuredAccount} (--profile), or change -c account`,
        ),
      };
    }
    return {
      result: pass(name, `account ${account} as ${id.Arn ?? 'an unnamed principal'}`),
      account,
    };
  } catch (err) {
    const { detail, fix } = explain(err);
    return { result: fail(name, detail, fix) };
  }
}

// ---------------------------------------------------------------------- stack

/** States CloudFormation cannot update from. */
const UNUPDATABLE: Record<string, string> = {
  DELETE_FAILED: 'its deletion failed',
  UPDATE_ROLLBACK_FAILED: 'an update failed and so did its rollback',
};

/** States of a failed first deploy: `cdk deploy` deletes the stack and creates it again. */
const FAILED_CREATION: Record<string, string> = {
  ROLLBACK_COMPLETE: 'its first deploy failed and was rolled back',
  ROLLBACK_FAILED: 'its first deploy failed and so did the rollback',
};

/** Whether the stack exists and can be deployed to now, and what it holds (for counting what is new). */
export async function checkStack(
  cloudformation: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<{ result: CheckResult; state: StackState }> {
  const name = 'stack';
  try {
    let status: string | undefined;
    try {
      const out = await call('cloudformation:DescribeStacks', () =>
        cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
      );
      status = out.Stacks?.[0]?.StackStatus;
    } catch (err) {
      if (errorCode(err) === 'ValidationError' && /does not exist/.test(messageOf(err))) {
        return {
          result: pass(name, `${stackName} does not exist in ${region} yet: the deploy creates it`),
          state: { exists: false, known: true, resources: new Map() },
        };
      }
      throw err;
    }
    const resources = new Map<string, { type: string; physicalId?: string }>();
    let token: string | undefined;
    do {
      const page = await call('cloudformation:ListStackResources', () =>
        cloudformation.send(
          new ListStackResourcesCommand({ StackName: stackName, NextToken: token }),
        ),
      );
      for (const r of page.StackResourceSummaries ?? []) {
        if (r.LogicalResourceId && r.ResourceType) {
          resources.set(r.LogicalResourceId, {
            type: r.ResourceType,
            physicalId: r.PhysicalResourceId,
          });
        }
      }
      token = page.NextToken;
    } while (token);
    const s = status ?? 'UNKNOWN';
    if (Object.hasOwn(FAILED_CREATION, s)) {
      // Nothing of it survives the re-creation but what it retained, which
      // the usage counts already see: everything in the template is new.
      return {
        result: warn(
          name,
          `${stackName} is ${s}: ${FAILED_CREATION[s]}; cdk deploy deletes it and creates it again, and resources it retained stay behind`,
          `read why it failed first: aws cloudformation describe-stack-events --stack-name ${stackName} --region ${region}${s === 'ROLLBACK_FAILED' ? '; if cdk deploy cannot delete it, delete it yourself' : ''}`,
        ),
        state: { exists: true, known: true, status, resources: new Map() },
      };
    }
    const state: StackState = { exists: true, known: true, status, resources };
    if (Object.hasOwn(UNUPDATABLE, s)) {
      const fix =
        s === 'UPDATE_ROLLBACK_FAILED'
          ? `continue the rollback: aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}`
          : `delete it again (resources it retains stay): aws cloudformation delete-stack --stack-name ${stackName} --region ${region}`;
      return {
        result: fail(
          name,
          `${stackName} is ${s}: ${UNUPDATABLE[s]}, so CloudFormation cannot update it`,
          fix,
        ),
        state,
      };
    }
    if (s.endsWith('_IN_PROGRESS') && s !== 'REVIEW_IN_PROGRESS') {
      return {
        result: fail(
          name,
          `${stackName} is ${s}: another operation is still running`,
          'wait for it to finish, then run preflight again',
        ),
        state,
      };
    }
    return {
      result: pass(
        name,
        `${stackName} exists (${s}, ${plural(resources.size, 'resource')}): the deploy updates it`,
      ),
      state,
    };
  } catch (err) {
    const { detail, fix } = explain(err);
    return { result: fail(name, detail, fix), state: UNKNOWN_STACK };
  }
}

/** The template's resources among `logicalIds` that the stack does not hold yet. */
function newOnes(ctx: CheckContext, logicalIds: readonly string[]): string[] {
  return logicalIds.filter((id) => !ctx.stack.resources.has(id));
}

// ------------------------------------------------------------------ bootstrap

/** The CDK bootstrap stack is there, and at least as new as the template's assets need. */
export async function checkBootstrap(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'bootstrap';
  return guard(name, async () => {
    const { template, region, bootstrapQualifier } = ctx.facts;
    if (template.bootstrapParameter === undefined && template.minBootstrapVersion === undefined) {
      return skip(
        name,
        'the template reads no bootstrap version (its synthesizer needs no bootstrap stack)',
      );
    }
    const parameter = template.bootstrapParameter ?? `/cdk-bootstrap/${bootstrapQualifier}/version`;
    const qualifier =
      /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(parameter)?.[1] ?? bootstrapQualifier;
    const env = `aws://${ctx.account}/${region}`;
    const command = `npx cdk bootstrap ${env}${qualifier === DEFAULT_BOOTSTRAP_QUALIFIER ? '' : ` --qualifier ${qualifier}`}`;
    let value: string | undefined;
    try {
      const out = await call('ssm:GetParameter', () =>
        ctx.clients.ssm.send(new GetParameterCommand({ Name: parameter })),
      );
      value = out.Parameter?.Value;
    } catch (err) {
      if (errorCode(err) === 'ParameterNotFound') {
        return fail(name, `${env} is not bootstrapped: no SSM parameter ${parameter}`, command);
      }
      throw err;
    }
    const version = Number(value);
    if (!Number.isInteger(version)) {
      return fail(name, `${parameter} holds no version number`, `bootstrap again: ${command}`);
    }
    const min = template.minBootstrapVersion;
    if (min === undefined) {
      return pass(name, `version ${version} (${parameter}); the template names no minimum`);
    }
    if (version < min) {
      return fail(
        name,
        `version ${version} (${parameter}) is older than the version ${min} the template needs`,
        `upgrade it with the project's CDK CLI: ${command}`,
      );
    }
    return pass(name, `version ${version} (${parameter}); the template needs ${min} or later`);
  });
}

// --------------------------------------------------------------------- lambda

/** The configuration key that turns the functions' reserved concurrency off. */
export const RESERVE_CONCURRENCY_KEY = 'reserveConcurrency';

/** The account can give the stack's functions their reserved concurrency and still keep 100 unreserved. */
export async function checkLambdaConcurrency(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'lambda-concurrency';
  return guard(name, async () => {
    const { reservations, unresolvedReservations } = ctx.facts.template;
    const total = reservations.reduce((s, r) => s + r.reserved, 0);
    const settings = await call('lambda:GetAccountSettings', () =>
      ctx.clients.lambda.send(new GetAccountSettingsCommand({})),
    );
    const limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
    const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? limit;
    const unresolved =
      unresolvedReservations.length > 0
        ? `; not counted (not a number in the template): ${unresolvedReservations.join(', ')}`
        : '';
    if (total === 0) {
      return pass(
        name,
        `the stack reserves no concurrency; the account's limit is ${limit}${unresolved}`,
      );
    }
    // On an update the stack's current reservations are already taken from
    // the unreserved pool: only the increase is new.
    let needed = 0;
    for (const r of reservations) {
      const existing = ctx.stack.resources.get(r.logicalId);
      let current = 0;
      if (existing?.physicalId && existing.type === 'AWS::Lambda::Function') {
        const out = await call('lambda:GetFunctionConcurrency', () =>
          ctx.clients.lambda.send(
            new GetFunctionConcurrencyCommand({ FunctionName: existing.physicalId }),
          ),
        );
        current = out.ReservedConcurrentExecutions ?? 0;
      }
      needed += Math.max(0, r.reserved - current);
    }
    const what = `the stack reserves ${total} concurrent executions${needed === total ? '' : ` (${needed} more than now)`}`;
    const shortfall = needed + LAMBDA_UNRESERVED_MINIMUM - unreserved;
    if (shortfall > 0) {
      return fail(
        name,
        `${what}, but the account has ${unreserved} unreserved of its limit ${limit}, and Lambda keeps ${LAMBDA_UNRESERVED_MINIMUM} unreserved: ${shortfall} short${unresolved}`,
        `ask for a Lambda "Concurrent executions" quota (L-B99A9384) of at least ${limit + shortfall} in Service Quotas, or deploy with -c ${RESERVE_CONCURRENCY_KEY}=false`,
      );
    }
    return pass(
      name,
      `${what} of ${unreserved} unreserved (limit ${limit}); ${unreserved - needed} stay unreserved, at least ${LAMBDA_UNRESERVED_MINIMUM} needed${unresolved}`,
    );
  });
}

// ---------------------------------------------------------------- API Gateway

/**
 * The REST API's access log needs API Gateway's account-wide CloudWatch Logs
 * role; the stack sets it only when configured to.
 */
export async function checkApiGatewayRole(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'apigateway-cloudwatch-role';
  const { config, template, region } = ctx.facts;
  if (config.frontDoorKind !== 'api-gateway') {
    return [skip(name, `frontDoorKind is ${config.frontDoorKind}: no REST API`)];
  }
  return guard(name, async () => {
    const account = await call('apigateway:GET', () =>
      ctx.clients.apiGateway.send(new GetAccountCommand({})),
    );
    const current = account.cloudwatchRoleArn;
    if (template.createsApiGatewayAccount) {
      const scope = `an account-wide setting for every REST API in ${region}`;
      return current
        ? warn(
            name,
            `the stack replaces the account's API Gateway CloudWatch role ${current} with its own (${scope})`,
            `to keep the current role, deploy with -c ${API_GATEWAY_ACCOUNT_ROLE_KEY}=existing`,
          )
        : pass(name, `not set yet; the stack sets it (${scope})`);
    }
    if (current) return pass(name, `set: ${current} (the REST API's access log uses it)`);
    const configured =
      config.apiGatewayAccountRole === 'existing'
        ? `${API_GATEWAY_ACCOUNT_ROLE_KEY} is existing, but `
        : '';
    return fail(
      name,
      `${configured}the account has no API Gateway CloudWatch role in ${region}, which the REST API's access log needs`,
      `deploy with -c ${API_GATEWAY_ACCOUNT_ROLE_KEY}=create (the stack sets it), or set one: aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<arn of a role apigateway.amazonaws.com may assume, with AmazonAPIGatewayPushToCloudWatchLogs> --region ${region}`,
    );
  });
}

// -------------------------------------------------------------------- Bedrock

const OUTPUT_MODALITY = { chat: 'TEXT', image: 'IMAGE', embedding: 'EMBEDDING' } as const;

/** Per-run caches, so several models share one ListFoundationModels and one DescribeRegions. */
interface BedrockMemo {
  readonly models: Map<string, Promise<FoundationModelSummary[]>>;
  regions?: Promise<Map<string, string>>;
}

function foundationModels(ctx: CheckContext, memo: BedrockMemo, region: string) {
  let p = memo.models.get(region);
  if (!p) {
    p = call('bedrock:ListFoundationModels', () =>
      ctx.clients.bedrock(region).send(new ListFoundationModelsCommand({})),
    ).then((out) => out.modelSummaries ?? []);
    memo.models.set(region, p);
  }
  return p;
}

/** Each region's opt-in status (`opt-in-not-required`, `opted-in`, `not-opted-in`). */
function regionStatuses(ctx: CheckContext, memo: BedrockMemo) {
  memo.regions ??= call('ec2:DescribeRegions', () =>
    ctx.clients.ec2.send(new DescribeRegionsCommand({ AllRegions: true })),
  ).then(
    (out) => new Map((out.Regions ?? []).map((r) => [r.RegionName ?? '', r.OptInStatus ?? ''])),
  );
  return memo.regions;
}

/** Model access for the account: FAIL when not granted, WARN while pending. */
async function modelAccess(
  ctx: CheckContext,
  region: string,
  modelId: string,
): Promise<{ status: Status; text: string; fix?: string }> {
  const a = await call('bedrock:GetFoundationModelAvailability', () =>
    ctx.clients.bedrock(region).send(new GetFoundationModelAvailabilityCommand({ modelId })),
  );
  const fix = `enable access to ${modelId} in the Bedrock console (Model access) in ${region}`;
  const problems: string[] = [];
  if (a.regionAvailability === 'NOT_AVAILABLE') problems.push(`not available in ${region}`);
  if (a.authorizationStatus === 'NOT_AUTHORIZED') problems.push('not authorized for this account');
  if (a.entitlementAvailability === 'NOT_AVAILABLE') problems.push('no entitlement');
  const agreement = a.agreementAvailability?.status;
  if (agreement === 'NOT_AVAILABLE' || agreement === 'ERROR')
    problems.push(`agreement ${agreement}`);
  if (problems.length > 0)
    return { status: 'FAIL', text: `no model access (${problems.join(', ')})`, fix };
  if (agreement === 'PENDING')
    return {
      status: 'WARN',
      text: 'model access pending (agreement PENDING)',
      fix: 'wait for the agreement, then run preflight again',
    };
  return { status: 'PASS', text: 'model access granted' };
}

function regionOfArn(arn: string | undefined): string | undefined {
  return arn?.split(':')[3] || undefined;
}

/** The geography whose profiles a region can call (`eu` for eu-west-1), for the fix text. */
function geographyOf(region: string): string | undefined {
  return geographicReach()
    .map((g) => g.prefix)
    .find((prefix) => {
      const reach = bedrockReach(`${prefix}.model`, region);
      return reach.kind === 'geographic' && reach.sources.includes(region);
    });
}

/** Each configured model exists in the region, can be called there, and the account has access to it. */
export async function checkBedrockModels(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'bedrock-model';
  const { config } = ctx.facts;
  if (config.upstream !== 'bedrock') {
    return [skip(name, `upstream is ${config.upstream}: no Bedrock model to check`)];
  }
  const memo: BedrockMemo = { models: new Map() };
  const lines = await Promise.all(
    config.models.map((m) => guard(name, () => checkOneModel(ctx, memo, m))),
  );
  return lines.flat();
}

async function checkOneModel(
  ctx: CheckContext,
  memo: BedrockMemo,
  model: PreflightFacts['config']['models'][number],
): Promise<CheckResult> {
  const name = 'bedrock-model';
  const { region, config } = ctx.facts;
  const label =
    model.id === model.upstreamId ? model.upstreamId : `${model.id} (${model.upstreamId})`;
  const reach = bedrockReach(model.upstreamId, region);
  const line = (status: Status, text: string, fix?: string) =>
    result(status)(name, `${label}: ${text}`, fix);

  if (reach.kind === 'in-region') {
    const where = reach.region ?? region;
    const found = (await foundationModels(ctx, memo, where)).find(
      (s) => s.modelId === reach.modelId,
    );
    if (!found) {
      const geo = geographyOf(where);
      return line(
        'FAIL',
        `Bedrock offers no foundation model ${reach.modelId} in ${where}`,
        `pick a model from aws bedrock list-foundation-models --region ${where}${geo ? `, or a cross-region profile such as ${geo}.${reach.modelId} if allowedRegions permits` : ''}`,
      );
    }
    const wanted = OUTPUT_MODALITY[model.kind];
    if (!(found.outputModalities ?? []).includes(wanted)) {
      return line(
        'FAIL',
        `configured as kind ${model.kind}, but the model outputs ${(found.outputModalities ?? []).join(', ') || 'nothing listed'}`,
        `set kind to match the model, or pick a model with ${wanted} output`,
      );
    }
    if (!(found.inferenceTypesSupported ?? []).includes('ON_DEMAND')) {
      const geo = geographyOf(where);
      return line(
        'FAIL',
        `not offered on demand in ${where} (only ${(found.inferenceTypesSupported ?? []).join(', ') || 'no inference type'})`,
        geo
          ? `call it through an inference profile: upstreamId ${geo}.${reach.modelId} (check allowedRegions)`
          : 'call it through an inference profile (aws bedrock list-inference-profiles)',
      );
    }
    const access = await modelAccess(ctx, where, reach.modelId);
    const legacy = found.modelLifecycle?.status === 'LEGACY';
    const status: Status = access.status === 'PASS' && legacy ? 'WARN' : access.status;
    const text = `offered on demand in ${where}${legacy ? ' (LEGACY: AWS will retire it)' : ''}; ${access.text}`;
    return line(
      status,
      text,
      access.fix ?? (legacy ? 'plan a move to its successor model' : undefined),
    );
  }

  if (reach.kind === 'opaque' && !reach.arn.includes(':application-inference-profile/')) {
    return line('SKIP', `${reach.what}: not checked`);
  }

  // An inference profile: system-defined (geographic or global) or an application profile.
  const identifier = reach.kind === 'opaque' ? reach.arn : reach.profileId;
  const source =
    reach.kind === 'opaque' ? (regionOfArn(reach.arn) ?? region) : (reach.region ?? region);
  let profile;
  try {
    profile = await call('bedrock:GetInferenceProfile', () =>
      ctx.clients
        .bedrock(source)
        .send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: identifier })),
    );
  } catch (err) {
    if (
      errorCode(err) === 'ResourceNotFoundException' ||
      errorCode(err) === 'ValidationException'
    ) {
      return line(
        'FAIL',
        `no inference profile ${identifier} in ${source}`,
        `pick one from aws bedrock list-inference-profiles --region ${source}`,
      );
    }
    throw err;
  }
  if (profile.status !== 'ACTIVE') {
    return line(
      'FAIL',
      `inference profile is ${profile.status ?? 'not active'}`,
      'pick an ACTIVE profile',
    );
  }
  const destinations = [
    ...new Set(
      (profile.models ?? []).map((m) => regionOfArn(m.modelArn)).filter((r): r is string => !!r),
    ),
  ].sort();
  const routes = `routes to ${destinations.join(', ') || 'no listed region'}`;
  // The gateway's IAM policy names the regions lib/core/bedrock-regions.ts knows.
  if (reach.kind === 'geographic') {
    const unknown = destinations.filter((r) => !reach.destinations.includes(r));
    if (unknown.length > 0) {
      return line(
        'FAIL',
        `the profile ${routes}; ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} missing from the ${reach.geography}. destinations in lib/core/bedrock-regions.ts, so the gateway's IAM policy would refuse those requests`,
        `add ${unknown.join(', ')} to the ${reach.geography} geography in lib/core/bedrock-regions.ts, or use the in-region model id ${reach.modelId}`,
      );
    }
  }
  if (config.allowedRegions.length > 0) {
    const outside = destinations.filter((r) => !config.allowedRegions.includes(r));
    if (outside.length > 0) {
      return line(
        'FAIL',
        `the profile ${routes}; ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside allowedRegions (${config.allowedRegions.join(', ')})`,
        'use an in-region model id, or allow those regions',
      );
    }
  }
  const statuses = await regionStatuses(ctx, memo);
  const disabled = destinations.filter((r) => statuses.get(r) === 'not-opted-in');
  const modelId = reach.kind === 'opaque' ? undefined : reach.modelId;
  const access = modelId
    ? await modelAccess(ctx, source, modelId)
    : { status: 'PASS' as Status, text: 'model access not checked (application profile)' };
  if (access.status !== 'PASS')
    return line(access.status, `profile ACTIVE, ${routes}; ${access.text}`, access.fix);
  if (disabled.length > 0) {
    return line(
      'WARN',
      `profile ACTIVE, ${routes}; ${disabled.join(', ')} ${disabled.length === 1 ? 'is' : 'are'} not enabled in this account, and an SCP may deny regions too`,
      `enable ${disabled.join(', ')} (Account settings, AWS Regions), or check that requests routed there succeed`,
    );
  }
  return line('PASS', `profile ACTIVE, ${routes}; ${access.text}`);
}

// --------------------------------------------------------- certificate, zone

function covers(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  if (p === n) return true;
  if (!p.startsWith('*.')) return false;
  const parent = p.slice(1);
  return (
    n.endsWith(parent) && n.length > parent.length && !n.slice(0, -parent.length).includes('.')
  );
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The configured certificate is ISSUED, in the stack's account and region, and names the domain. */
export async function checkCertificate(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'certificate';
  const { config, template, region } = ctx.facts;
  if (config.frontDoorKind === 'api-gateway' && !config.domainName) {
    return [
      skip(
        name,
        'no custom domain: API Gateway serves its execute-api name with its own certificate',
      ),
    ];
  }
  if (!config.certificateArn) {
    if (template.createsCertificate) {
      return [
        pass(
          name,
          `the stack requests a DNS-validated certificate for ${config.domainName ?? 'its domain'} (the deploy waits until it is issued)`,
        ),
      ];
    }
    if (template.certificateParameter) {
      return [
        skip(
          name,
          'the template takes the certificate at deploy (--parameters CertificateArn=...); set certificateArn to have it checked here',
        ),
      ];
    }
    return [skip(name, 'no certificate configured')];
  }
  const arn = config.certificateArn;
  return guard(name, async () => {
    const [, , , certRegion, certAccount] = arn.split(':');
    if (certRegion !== region) {
      return fail(
        name,
        `${arn} is in ${certRegion}, but the stack deploys to ${region}`,
        `request or import the certificate in ${region} and set certificateArn to it`,
      );
    }
    if (certAccount !== ctx.account) {
      return fail(
        name,
        `${arn} belongs to account ${certAccount}, not ${ctx.account}`,
        `request or import the certificate in account ${ctx.account}`,
      );
    }
    let cert;
    try {
      cert = (
        await call('acm:DescribeCertificate', () =>
          ctx.clients.acm(certRegion).send(new DescribeCertificateCommand({ CertificateArn: arn })),
        )
      ).Certificate;
    } catch (err) {
      if (errorCode(err) === 'ResourceNotFoundException') {
        return fail(
          name,
          `no certificate ${arn} in ${region}`,
          `check the ARN: aws acm list-certificates --region ${region}`,
        );
      }
      throw err;
    }
    const status = cert?.Status ?? 'UNKNOWN';
    if (status !== 'ISSUED') {
      const fix =
        status === 'PENDING_VALIDATION'
          ? 'complete its validation (the DNS records ACM asks for), or use an issued certificate'
          : 'request or import a new certificate and set certificateArn to it';
      return fail(name, `${arn} is ${status}, not ISSUED`, fix);
    }
    const names = [cert?.DomainName, ...(cert?.SubjectAlternativeNames ?? [])].filter(
      (n): n is string => !!n,
    );
    if (config.domainName && !names.some((n) => covers(n, config.domainName!))) {
      return fail(
        name,
        `${arn} names ${[...new Set(names)].join(', ')}, not ${config.domainName}`,
        `use a certificate for ${config.domainName}`,
      );
    }
    const notAfter = cert?.NotAfter;
    const expires = notAfter ? ` until ${notAfter.toISOString().slice(0, 10)}` : '';
    if (notAfter && notAfter.getTime() - ctx.now.getTime() < 30 * DAY_MS) {
      return warn(
        name,
        `ISSUED${expires}, which is less than 30 days away`,
        'renew or replace it before it expires',
      );
    }
    return pass(name, `ISSUED${expires} for ${cert?.DomainName ?? 'its domain'}`);
  });
}

/** The configured hosted zone exists, has the configured name, and is public. */
export async function checkHostedZone(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'hosted-zone';
  const { hostedZoneId, hostedZoneName } = ctx.facts.config;
  if (!hostedZoneId) return [skip(name, 'no hostedZoneId configured')];
  return guard(name, async () => {
    let zone;
    try {
      zone = (
        await call('route53:GetHostedZone', () =>
          ctx.clients.route53.send(new GetHostedZoneCommand({ Id: hostedZoneId })),
        )
      ).HostedZone;
    } catch (err) {
      if (errorCode(err) === 'NoSuchHostedZone') {
        return fail(
          name,
          `no hosted zone ${hostedZoneId} in account ${ctx.account}`,
          'check hostedZoneId: aws route53 list-hosted-zones',
        );
      }
      throw err;
    }
    const actual = (zone?.Name ?? '').replace(/\.$/, '').toLowerCase();
    const wanted = (hostedZoneName ?? '').replace(/\.$/, '').toLowerCase();
    if (actual !== wanted) {
      return fail(
        name,
        `${hostedZoneId} is ${actual || 'unnamed'}, not ${wanted}`,
        `set hostedZoneName to ${actual}, or hostedZoneId to the zone of ${wanted}`,
      );
    }
    if (zone?.Config?.PrivateZone) {
      return fail(
        name,
        `${hostedZoneId} (${actual}) is a private zone: certificate validation and the API's record need a public one`,
        `use the public hosted zone of ${actual}`,
      );
    }
    return pass(name, `${hostedZoneId} is the public zone ${actual}`);
  });
}

// --------------------------------------------------------------------- quotas

/** A quota's value: the applied one, else AWS's default. */
async function quotaValue(
  ctx: CheckContext,
  serviceCode: string,
  quotaCode: string,
): Promise<number> {
  const sq = ctx.clients.serviceQuotas;
  try {
    const out = await call('servicequotas:GetServiceQuota', () =>
      sq.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode })),
    );
    if (out.Quota?.Value !== undefined) return out.Quota.Value;
  } catch (err) {
    if (errorCode(err) !== 'NoSuchResourceException') throw err;
  }
  const out = await call('servicequotas:GetAWSDefaultServiceQuota', () =>
    sq.send(
      new GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }),
    ),
  );
  return out.Quota?.Value ?? 0;
}

interface QuotaSpec {
  readonly name: string;
  /** What is counted, singular and plural ("VPC", "VPCs"). */
  readonly one: string;
  readonly many: string;
  readonly serviceCode: string;
  readonly quotaCode: string;
  readonly quotaName: string;
  /** The template's resources of this kind (logical ids). */
  readonly resources: readonly string[];
  /** The current usage in the region, or undefined when the quota is per new resource (per VPC). */
  readonly usage?: () => Promise<number>;
  readonly per?: string;
}

async function checkQuota(ctx: CheckContext, q: QuotaSpec): Promise<CheckResult[]> {
  const adds = newOnes(ctx, q.resources).length;
  if (q.resources.length === 0) return [skip(q.name, `the stack creates no ${q.many}`)];
  if (adds === 0)
    return [pass(q.name, `the stack's ${plural(q.resources.length, q.one, q.many)} exist already`)];
  return guard(q.name, async () => {
    const quota = await quotaValue(ctx, q.serviceCode, q.quotaCode);
    const used = q.usage ? await q.usage() : 0;
    const after = used + adds;
    const where = q.per ?? ctx.facts.region;
    const detail = q.usage
      ? `${used} of ${quota} ${q.many} in use in ${where}, the stack adds ${adds}`
      : `the stack creates ${plural(adds, q.one, q.many)} ${where}, quota ${quota}`;
    if (after > quota) {
      return fail(
        q.name,
        detail,
        `ask for "${q.quotaName}" (Service Quotas ${q.serviceCode} ${q.quotaCode}) of at least ${after}${q.usage ? `, or remove unused ${q.many}` : ''}`,
      );
    }
    return pass(q.name, detail);
  });
}

async function countVpcs(ctx: CheckContext): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await call('ec2:DescribeVpcs', () =>
      ctx.clients.ec2.send(new DescribeVpcsCommand({ NextToken: token, MaxResults: 1000 })),
    );
    n += page.Vpcs?.length ?? 0;
    token = page.NextToken;
  } while (token);
  return n;
}

async function countAddresses(ctx: CheckContext): Promise<number> {
  const out = await call('ec2:DescribeAddresses', () =>
    ctx.clients.ec2.send(
      new DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] }),
    ),
  );
  return out.Addresses?.length ?? 0;
}

/**
 * Load balancers of one type in the region, counted from their network
 * interfaces (each carries the description `ELB net/<name>/<id>` or
 * `ELB app/<name>/<id>`), so no Elastic Load Balancing client is needed.
 */
async function countLoadBalancers(ctx: CheckContext, kind: 'net' | 'app'): Promise<number> {
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const page = await call('ec2:DescribeNetworkInterfaces', () =>
      ctx.clients.ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'description', Values: [`ELB ${kind}/*`] }],
          NextToken: token,
          MaxResults: 1000,
        }),
      ),
    );
    for (const eni of page.NetworkInterfaces ?? []) {
      if (eni.Description) names.add(eni.Description);
    }
    token = page.NextToken;
  } while (token);
  return names.size;
}

/** VPCs, interface endpoints (per VPC), Elastic IPs and load balancers against their quotas. */
export async function checkNetworkQuotas(ctx: CheckContext): Promise<CheckResult[]> {
  const t = ctx.facts.template;
  const endpointsPerVpc = Object.values(t.interfaceEndpointsByVpc).reduce<readonly string[]>(
    (most, ids) => (ids.length > most.length ? ids : most),
    [],
  );
  const specs: QuotaSpec[] = [
    {
      name: 'vpc-quota',
      one: 'VPC',
      many: 'VPCs',
      serviceCode: 'vpc',
      quotaCode: 'L-F678F1CE',
      quotaName: 'VPCs per Region',
      resources: t.vpcs,
      usage: () => countVpcs(ctx),
    },
    {
      name: 'interface-endpoint-quota',
      one: 'interface endpoint',
      many: 'interface endpoints',
      serviceCode: 'vpc',
      quotaCode: 'L-29B6F2EB',
      quotaName: 'Interface and Gateway Load Balancer endpoints per VPC',
      resources: endpointsPerVpc,
      per: 'in its VPC',
    },
    {
      name: 'eip-quota',
      one: 'Elastic IP',
      many: 'Elastic IPs',
      serviceCode: 'ec2',
      quotaCode: 'L-0263D0A3',
      quotaName: 'EC2-VPC Elastic IPs',
      resources: t.elasticIps,
      usage: () => countAddresses(ctx),
    },
    {
      name: 'nlb-quota',
      one: 'network load balancer',
      many: 'network load balancers',
      serviceCode: 'elasticloadbalancing',
      quotaCode: 'L-69A177A2',
      quotaName: 'Network Load Balancers per Region',
      resources: t.networkLoadBalancers,
      usage: () => countLoadBalancers(ctx, 'net'),
    },
    {
      name: 'alb-quota',
      one: 'application load balancer',
      many: 'application load balancers',
      serviceCode: 'elasticloadbalancing',
      quotaCode: 'L-53DA6B97',
      quotaName: 'Application Load Balancers per Region',
      resources: t.applicationLoadBalancers,
      usage: () => countLoadBalancers(ctx, 'app'),
    },
  ];
  const lines: CheckResult[] = [];
  for (const spec of specs) lines.push(...(await checkQuota(ctx, spec)));
  return lines;
}

// ------------------------------------------------------------------------ KMS

/** The default quota of KMS keys per account and region. */
export const KMS_KEY_QUOTA_DEFAULT = 100_000;

/** Keys in the region plus the stack's new ones stay under the KMS key quota. */
export async function checkKmsKeys(ctx: CheckContext): Promise<CheckResult[]> {
  const name = 'kms-keys';
  const adds = newOnes(ctx, ctx.facts.template.kmsKeys).length;
  return guard(name, async () => {
    let keys = 0;
    let marker: string | undefined;
    do {
      const page = await call('kms:ListKeys', () =>
        ctx.clients.kms.send(new ListKeysCommand({ Limit: 1000, Marker: marker })),
      );
      keys += page.Keys?.length ?? 0;
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    const quota = await quotaValue(ctx, 'kms', 'L-C2F1777E');
    const detail = `${keys} keys in ${ctx.facts.region} (AWS managed keys included), the stack adds ${adds}, quota ${quota}`;
    if (keys + adds > quota) {
      return fail(
        name,
        detail,
        `schedule unused keys for deletion, or ask for "Customer managed keys" (Service Quotas kms L-C2F1777E) of at least ${keys + adds}`,
      );
    }
    return pass(name, detail);
  });
}

// --------------------------------------------------------------------- runner

/** Every check after credentials and stack, in report order. */
export async function runChecks(ctx: CheckContext): Promise<CheckResult[]> {
  const groups = await Promise.all([
    checkBootstrap(ctx),
    checkLambdaConcurrency(ctx),
    checkApiGatewayRole(ctx),
    checkBedrockModels(ctx),
    checkCertificate(ctx),
    checkHostedZone(ctx),
    checkNetworkQuotas(ctx),
    checkKmsKeys(ctx),
  ]);
  return groups.flat();
}

/** The names of the checks runChecks reports, for the SKIP lines when credentials fail. */
export const CHECK_NAMES: readonly string[] = [
  'bootstrap',
  'lambda-concurrency',
  'apigateway-cloudwatch-role',
  'bedrock-model',
  'certificate',
  'hosted-zone',
  'vpc-quota',
  'interface-endpoint-quota',
  'eip-quota',
  'nlb-quota',
  'alb-quota',
  'kms-keys',
];

/**
 * The whole preflight after the facts are known: credentials, the stack, then
 * every check. Without usable credentials the rest are SKIP lines.
 */
export async function preflight(
  facts: PreflightFacts,
  clients: PreflightClients,
  identity: { result: CheckResult; account?: string },
  now: Date = new Date(),
): Promise<CheckResult[]> {
  if (!identity.result.ok || identity.account === undefined) {
    return [
      identity.result,
      ...['stack', ...CHECK_NAMES].map((n) => skip(n, 'not checked: the credentials check failed')),
    ];
  }
  const stack = await checkStack(clients.cloudformation, facts.stackName, facts.region);
  const ctx: CheckContext = { facts, clients, account: identity.account, stack: stack.state, now };
  return [identity.result, stack.result, ...(await runChecks(ctx))];
}
