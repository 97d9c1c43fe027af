/**
 * What `npm run preflight` knows about the deployment before it asks AWS
 * anything: the facts of the synthesized template (what the stack creates,
 * what it reserves, which bootstrap version its assets need) and of the
 * configuration (front door, upstream, models, certificate, hosted zone).
 *
 * The template is synthesized in-process by the app's own `buildApp` (the same
 * stack `cdk deploy` deploys; NodejsFunction bundling and CloudFormation's own
 * validator skipped, since neither changes what is counted here), or read from
 * an existing `cdk.out/<stack>.template.json` with `--template`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Token } from 'aws-cdk-lib';
import { buildApp, cdkJsonContext } from '../../lib/app';
import { readConfig, type EphemeraConfig } from '../../lib/config';
import { checkContextKeys } from '../../lib/known-names';
import type { ModelKind } from '../../lib/core/models';
import type { UpstreamKind } from '../../lib/core/upstream-kinds';

/** The qualifier `cdk bootstrap` uses unless told otherwise. */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** The context key that sets another bootstrap qualifier. */
export const BOOTSTRAP_QUALIFIER_KEY = '@aws-cdk/core:bootstrapQualifier';

/** The context key that says who sets API Gateway's account-wide CloudWatch role. */
export const API_GATEWAY_ACCOUNT_ROLE_KEY = 'apiGatewayAccountRole';

/** The parts of a CloudFormation template read here. */
export interface CfnTemplate {
  readonly Parameters?: Record<string, { readonly Type?: string; readonly Default?: unknown }>;
  readonly Rules?: Record<string, { readonly Assertions?: ReadonlyArray<Record<string, unknown>> }>;
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
}

/** What the template creates and needs (logical ids, so an update can leave out what exists). */
export interface TemplateFacts {
  /** The SSM parameter the template reads the bootstrap version from, when it checks one. */
  readonly bootstrapParameter?: string;
  /** The lowest bootstrap version the template accepts (its `CheckBootstrapVersion` rule). */
  readonly minBootstrapVersion?: number;
  /** Functions with a reserved concurrency, and how much. */
  readonly reservations: ReadonlyArray<{ readonly logicalId: string; readonly reserved: number }>;
  /** Functions whose reservation is not a plain number (a parameter or an expression). */
  readonly unresolvedReservations: readonly string[];
  /** Whether the stack sets API Gateway's account-wide CloudWatch role (`AWS::ApiGateway::Account`). */
  readonly createsApiGatewayAccount: boolean;
  /** Whether the stack requests its own (DNS-validated) ACM certificate. */
  readonly createsCertificate: boolean;
  /** Whether the template takes the certificate as its `CertificateArn` parameter at deploy. */
  readonly certificateParameter: boolean;
  readonly vpcs: readonly string[];
  /** Interface endpoints, by the logical id of their VPC (the quota is per VPC). */
  readonly interfaceEndpointsByVpc: Readonly<Record<string, readonly string[]>>;
  readonly elasticIps: readonly string[];
  readonly networkLoadBalancers: readonly string[];
  readonly applicationLoadBalancers: readonly string[];
  readonly kmsKeys: readonly string[];
}

/** The configuration as the checks need it (no secrets: no upstream URL, no secret ARNs). */
export interface ConfigFacts {
  readonly frontDoor: string;
  readonly frontDoorKind: string;
  /** `create` or `existing` (see API_GATEWAY_ACCOUNT_ROLE_KEY), when the configuration has the key. */
  readonly apiGatewayAccountRole?: string;
  readonly upstream: UpstreamKind;
  readonly models: ReadonlyArray<{
    readonly id: string;
    readonly upstreamId: string;
    readonly kind: ModelKind;
  }>;
  readonly allowedRegions: readonly string[];
  readonly certificateArn?: string;
  readonly domainName?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
}

export interface PreflightFacts {
  readonly stackName: string;
  readonly region: string;
  /** The account the configuration names (`-c account`), if any. */
  readonly account?: string;
  /** Where the template came from: `synthesized`, or the file given with `--template`. */
  readonly source: string;
  readonly bootstrapQualifier: string;
  readonly template: TemplateFacts;
  readonly config: ConfigFacts;
}

const RESERVED_CONCURRENCY = 'ReservedConcurrentExecutions';

/** Reads the facts out of a synthesized template. */
export function templateFacts(template: CfnTemplate, requiredBootstrap?: number): TemplateFacts {
  const resources = Object.entries(template.Resources ?? {});
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type).map(([id]) => id);
  const reservations: Array<{ logicalId: string; reserved: number }> = [];
  const unresolvedReservations: string[] = [];
  for (const [id, r] of resources) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const value = r.Properties?.[RESERVED_CONCURRENCY];
    if (value === undefined) continue;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n))
      reservations.push({ logicalId: id, reserved: n });
    else unresolvedReservations.push(id);
  }
  const interfaceEndpointsByVpc: Record<string, string[]> = {};
  for (const [id, r] of resources) {
    if (r.Type !== 'AWS::EC2::VPCEndpoint' || r.Properties?.VpcEndpointType !== 'Interface') {
      continue;
    }
    const vpc = refOf(r.Properties?.VpcId) ?? '(imported VPC)';
    (interfaceEndpointsByVpc[vpc] ??= []).push(id);
  }
  const loadBalancers = resources.filter(
    ([, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  );
  const bootstrap = template.Parameters?.BootstrapVersion;
  return {
    bootstrapParameter: typeof bootstrap?.Default === 'string' ? bootstrap.Default : undefined,
    minBootstrapVersion: minBootstrapVersion(template) ?? requiredBootstrap,
    reservations,
    unresolvedReservations,
    createsApiGatewayAccount: ofType('AWS::ApiGateway::Account').length > 0,
    createsCertificate: ofType('AWS::CertificateManager::Certificate').length > 0,
    certificateParameter: template.Parameters?.CertificateArn !== undefined,
    vpcs: ofType('AWS::EC2::VPC'),
    interfaceEndpointsByVpc,
    elasticIps: ofType('AWS::EC2::EIP'),
    networkLoadBalancers: loadBalancers
      .filter(([, r]) => r.Properties?.Type === 'network')
      .map(([id]) => id),
    applicationLoadBalancers: loadBalancers
      .filter(([, r]) => (r.Properties?.Type ?? 'application') === 'application')
      .map(([id]) => id),
    kmsKeys: ofType('AWS::KMS::Key'),
  };
}

function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/**
 * The lowest bootstrap version the template accepts. CDK writes it as a rule
 * that refuses the versions below it:
 * `Fn::Not [Fn::Contains [["1", ..., "5"], Ref BootstrapVersion]]`, so the
 * minimum is one more than the highest refused version.
 */
export function minBootstrapVersion(template: CfnTemplate): number | undefined {
  const assertions = template.Rules?.CheckBootstrapVersion?.Assertions ?? [];
  let min: number | undefined;
  for (const a of assertions) {
    const not = (a.Assert as { 'Fn::Not'?: unknown[] } | undefined)?.['Fn::Not'];
    const contains = (not?.[0] as { 'Fn::Contains'?: unknown[] } | undefined)?.['Fn::Contains'];
    const refused = Array.isArray(contains?.[0]) ? (contains[0] as unknown[]) : [];
    const versions = refused.map(Number).filter((n) => Number.isInteger(n));
    if (versions.length > 0) min = Math.max(min ?? 0, Math.max(...versions) + 1);
    else if (typeof a.AssertDescription === 'string') {
      const m = /version (\d+) required/.exec(a.AssertDescription);
      if (m) min = Math.max(min ?? 0, Number(m[1]));
    }
  }
  return min;
}

/** The configuration facts, from the parsed configuration and the raw context. */
export function configFacts(
  config: EphemeraConfig,
  context: (key: string) => unknown,
): ConfigFacts {
  const role =
    context(API_GATEWAY_ACCOUNT_ROLE_KEY) ?? configValue(config, API_GATEWAY_ACCOUNT_ROLE_KEY);
  return {
    frontDoor: config.frontDoor,
    frontDoorKind: config.frontDoorKind,
    apiGatewayAccountRole: typeof role === 'string' && role !== '' ? role : undefined,
    upstream: config.upstream.kind,
    models: config.models.map((m) => ({ id: m.id, upstreamId: m.upstreamId, kind: m.kind })),
    allowedRegions: [...config.allowedRegions],
    certificateArn: config.certificateArn,
    domainName: config.domainName,
    hostedZoneId: config.hostedZoneId,
    hostedZoneName: config.hostedZoneName,
  };
}

function configValue(config: EphemeraConfig, key: string): unknown {
  return (config as unknown as Record<string, unknown>)[key];
}

function qualifierFrom(context: (key: string) => unknown): string {
  const q = context(BOOTSTRAP_QUALIFIER_KEY);
  return typeof q === 'string' && q !== '' ? q : DEFAULT_BOOTSTRAP_QUALIFIER;
}

/** A scratch cloud-assembly directory, removed when `fn` returns. */
function withOutdir<T>(fn: (outdir: string) => T): T {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-preflight-'));
  try {
    return fn(outdir);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Synthesizes the app as `cdk deploy` would (cdk.json's context, then
 * `overrides`, as `-c key=value` does) and reads the facts. Invalid
 * configuration throws the app's own message.
 */
export function synthesizeFacts(overrides: Record<string, string>): PreflightFacts {
  return withOutdir((outdir) => {
    const { app, stack } = buildApp(
      {
        outdir,
        builtinCloudFormationValidation: false,
        // Bundling the handlers changes asset hashes only, not what is counted here.
        context: { 'aws:cdk:bundling-stacks': [] },
      },
      overrides,
    );
    const artifact = app.synth().getStackArtifact(stack.artifactId);
    const context = (key: string) => app.node.tryGetContext(key) as unknown;
    return {
      stackName: stack.stackName,
      region: stack.region,
      account: Token.isUnresolved(stack.account) ? undefined : stack.account,
      source: 'synthesized',
      bootstrapQualifier: qualifierFrom(context),
      template: templateFacts(
        artifact.template as CfnTemplate,
        artifact.requiresBootstrapStackVersion,
      ),
      config: configFacts(stack.config, context),
    };
  });
}

/**
 * Reads the facts of an existing template (`--template`); the configuration
 * still comes from cdk.json's context and `overrides`, which should be those
 * the template was synthesized with.
 */
export function templateFileFacts(
  file: string,
  overrides: Record<string, string>,
  region: string,
): PreflightFacts {
  const template = JSON.parse(fs.readFileSync(file, 'utf8')) as CfnTemplate;
  return withOutdir((outdir) => {
    const app = new App({
      outdir,
      context: cdkJsonContext(),
      postCliContext: overrides,
    });
    // As the app does: a misspelt key is refused, not checked against its default.
    checkContextKeys(app);
    const context = (key: string) => app.node.tryGetContext(key) as unknown;
    const stackName = context('stackName');
    const account = context('account');
    return {
      stackName: typeof stackName === 'string' && stackName !== '' ? stackName : 'Ephemera',
      region,
      account: typeof account === 'string' && account !== '' ? account : undefined,
      source: file,
      bootstrapQualifier: qualifierFrom(context),
      template: templateFacts(template),
      config: configFacts(readConfig(app), context),
    };
  });
}
