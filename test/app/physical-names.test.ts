/**
 * Two Ephemera stacks side by side (staging next to production) in one
 * account and region: every name that must be unique there (KMS aliases, log
 * groups, roles, functions, tables, buckets, queues, topics, export names,
 * ...) derives from the stack, so nothing is named twice, and the
 * account-wide API Gateway setting is created by one stack only.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { testApp } from '../support/ephemera-app';

/**
 * Top-level properties that name a resource in its account and region (or
 * wider). Deliberately left out, because their scope is narrower: an inline
 * policy's `PolicyName` (unique per role), a stage's `StageName` (per API), an
 * index's or attribute's name (per table), a metric's name and namespace (not
 * a resource), and an interface endpoint's `ServiceName` (the AWS service it
 * reaches, not a name it takes).
 */
const NAME_PROPERTIES = [
  'AliasName',
  'LogGroupName',
  'RoleName',
  'ManagedPolicyName',
  'InstanceProfileName',
  'Name',
  'FunctionName',
  'TableName',
  'BucketName',
  'QueueName',
  'TopicName',
  'AlarmName',
  'DashboardName',
  'RuleName',
  'StateMachineName',
  'SecretName',
  'ParameterName',
  'GroupName',
  'LoadBalancerName',
  'TargetGroupName',
  'KeyName',
  'DomainName',
  'RepositoryName',
  'UsagePlanName',
  'WebACLName',
  'ClusterName',
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
];

/** Pseudo parameters that are the same for every stack of an account and region. */
const SHARED_PSEUDO = new Set([
  'AWS::Region',
  'AWS::AccountId',
  'AWS::Partition',
  'AWS::URLSuffix',
]);

/**
 * Whether a name's value is fixed for the account and region: a literal, or
 * built only from literals and shared pseudo parameters. A name that refers to
 * the stack (`AWS::StackName`, `AWS::StackId`) or to one of its resources is
 * unique to the stack.
 */
function isFixed(value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'number') return true;
  if (Array.isArray(value)) return value.every(isFixed);
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if ('Ref' in node) return SHARED_PSEUDO.has(node.Ref as string);
    if ('Fn::GetAtt' in node || 'Fn::ImportValue' in node) return false;
    return Object.values(node).every(isFixed);
  }
  return true;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** `Type.Property = value` for every fixed physical name of a template. */
function fixedNames(template: Record<string, unknown>): string[] {
  const names: string[] = [];
  for (const r of Object.values(template.Resources as Resources)) {
    for (const prop of NAME_PROPERTIES) {
      const value = r.Properties?.[prop];
      if (value !== undefined && isFixed(value)) {
        names.push(`${r.Type}.${prop} = ${JSON.stringify(value)}`);
      }
    }
  }
  const outputs = (template.Outputs ?? {}) as Record<string, { Export?: { Name?: unknown } }>;
  for (const [id, output] of Object.entries(outputs)) {
    const name = output.Export?.Name;
    if (name !== undefined && isFixed(name)) {
      names.push(`Output ${id} ExportName = ${JSON.stringify(name)}`);
    }
  }
  return names;
}

/** Names that appear in more than one of the templates. */
function repeated(templates: Array<Record<string, unknown>>): string[] {
  const seen = new Map<string, number>();
  for (const t of templates) {
    for (const name of new Set(fixedNames(t))) seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  return [...seen.entries()].filter(([, n]) => n > 1).map(([name]) => name);
}

/** Production and staging in one app, same account and region, with `context` and per-stack `config`. */
function prodAndStaging(
  context: Record<string, unknown>,
  staging: Record<string, unknown> = {},
): { prod: EphemeraStack; stagingStack: EphemeraStack; templates: Array<Record<string, unknown>> } {
  const app = testApp({ context });
  const env = { region: 'eu-west-1', account: '111111111111' };
  const prod = new EphemeraStack(app, 'EphemeraProd', { env });
  const stagingStack = new EphemeraStack(app, 'EphemeraStaging', {
    env,
    config: { ...prod.config, ...staging },
  });
  const templates = [prod, stagingStack].map((s) => Template.fromStack(s).toJSON());
  return { prod, stagingStack, templates };
}

describe('two Ephemera stacks in one account and region', () => {
  test('the check sees a fixed name twice, and not a name built from the stack', () => {
    const alias = (name: unknown) => ({
      Resources: { A: { Type: 'AWS::KMS::Alias', Properties: { AliasName: name } } },
    });
    const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
    expect(repeated([alias('alias/x/logs'), alias('alias/x/logs')])).toEqual([
      'AWS::KMS::Alias.AliasName = "alias/x/logs"',
    ]);
    const regional = join('alias/', { Ref: 'AWS::Region' }, '/logs');
    expect(repeated([alias(regional), alias(regional)])).toHaveLength(1);
    const perStack = join('alias/', { Ref: 'AWS::StackName' }, '/logs');
    expect(repeated([alias(perStack), alias(perStack)])).toEqual([]);
    expect(repeated([alias('alias/a/logs'), alias('alias/b/logs')])).toEqual([]);
    const exported = (name: string) => ({
      Resources: {},
      Outputs: { Out: { Value: 'v', Export: { Name: name } } },
    });
    expect(repeated([exported('Shared'), exported('Shared')])).toEqual([
      'Output Out ExportName = "Shared"',
    ]);
  });

  test('with the load balancer (and a receipt webhook): no physical name twice', () => {
    const { prod, stagingStack, templates } = prodAndStaging({
      receiptWebhookUrl: 'https://receipts.example.com/ephemera',
    });
    expect(repeated(templates)).toEqual([]);
    // The aliases, which used to be fixed, now carry the stack name.
    const aliases = templates.map((t) =>
      Object.values(t.Resources as Resources)
        .filter((r) => r.Type === 'AWS::KMS::Alias')
        .map((r) => r.Properties!.AliasName as string)
        .sort(),
    );
    expect(aliases[0]).toContain('alias/ephemeraprod/metadata');
    expect(aliases[1]).toContain('alias/ephemerastaging/metadata');
    expect(aliases[0]).toHaveLength(6);
    expect([prod.stackName, stagingStack.stackName]).toEqual(['EphemeraProd', 'EphemeraStaging']);
  });

  test('with the streaming front door: no physical name twice, and one account setting (staging uses existing)', () => {
    const { templates } = prodAndStaging(
      {
        frontDoorKind: 'api-gateway',
        frontDoor: 'both',
        apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
        accessLogs: true,
      },
      { apiGatewayAccountRole: 'existing' },
    );
    expect(repeated(templates)).toEqual([]);
    const accounts = templates.map(
      (t) =>
        Object.values(t.Resources as Resources).filter((r) => r.Type === 'AWS::ApiGateway::Account')
          .length,
    );
    expect(accounts).toEqual([1, 0]);
  });
});
