import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import { IAlarmSink, IncidentResponse } from '../../lib/incident-response';

/**
 * Test apps for construct tests: the context of `cdk.json` (feature flags and
 * the app's configuration keys), NodejsFunction bundling skipped, and CDK's
 * built-in CloudFormation validation off (it dominates synth time).
 */

/** The `context` block of cdk.json. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** The region of every test stack (the load balancer's log delivery needs a concrete one). */
export const TEST_REGION = 'eu-west-1';

/** A syntactically valid certificate ARN for listeners. */
export const TEST_CERTIFICATE_ARN =
  'arn:aws:acm:eu-west-1:111111111111:certificate/11111111-2222-3333-4444-555555555555';

const outdirs: string[] = [];
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const dir of outdirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh app with cdk.json's context plus `context`; its output goes to a temp dir removed after the file's tests. */
export function testApp(context: Record<string, unknown> = {}): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-construct-test-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
}

/** A stack in TEST_REGION (account unresolved) in a fresh test app. */
export function testStack(context: Record<string, unknown> = {}, id = 'Test'): Stack {
  return new Stack(testApp(context), id, { env: { region: TEST_REGION } });
}

/** A VPC of isolated subnets only (no internet gateway, no NAT), for functions under test. */
export function testVpc(stack: Stack, id = 'Vpc'): ec2.Vpc {
  return new ec2.Vpc(stack, id, {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    restrictDefaultSecurityGroup: false,
  });
}

/** An alarm sink notifying an imported topic, for constructs under test. */
export function testAlarmSink(stack: Stack): IAlarmSink {
  return IncidentResponse.sinkFor(
    sns.Topic.fromTopicArn(stack, 'AlarmTopic', `arn:aws:sns:${TEST_REGION}:111111111111:alarms`),
  );
}

/** A customer-managed key created in the stack, so templates reference it by GetAtt. */
export function testKey(stack: Stack, id: string): kms.Key {
  return new kms.Key(stack, id);
}

/** An imported certificate for listeners. */
export function testCertificate(scope: Stack): acm.ICertificate {
  return acm.Certificate.fromCertificateArn(scope, 'Certificate', TEST_CERTIFICATE_ARN);
}

/** The CloudFormation logical id of a construct (an L1, or an L2 through its default child). */
export function logicalId(construct: IConstruct): string {
  const stack = Stack.of(construct);
  const child = construct.node.defaultChild ?? construct;
  return stack.getLogicalId(child as CfnElement);
}

/** An IAM statement as it appears in a template, with one-element lists normalised to arrays. */
export interface RenderedStatement {
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: unknown[];
  readonly Condition?: unknown;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * Every statement that grants anything to `role`: statements of AWS::IAM::Policy
 * resources attached to it and of its inline policies. Fails if the role has
 * managed policies, since their content cannot be read from the template.
 */
export function statementsOfRole(template: Template, role: iam.IRole): RenderedStatement[] {
  const roleId = logicalId(role);
  const roles = template.findResources('AWS::IAM::Role');
  const roleResource = roles[roleId];
  if (!roleResource) throw new Error(`no AWS::IAM::Role ${roleId} in the template`);
  const props = roleResource.Properties ?? {};
  if (props.ManagedPolicyArns !== undefined) {
    throw new Error(
      `role ${roleId} has managed policies: ${JSON.stringify(props.ManagedPolicyArns)}`,
    );
  }
  const documents: Array<{ Statement: unknown[] }> = (props.Policies ?? []).map(
    (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument,
  );
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const attached = asArray(policy.Properties.Roles).some(
      (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }),
    );
    if (attached) documents.push(policy.Properties.PolicyDocument);
  }
  const managed = template.findResources('AWS::IAM::ManagedPolicy');
  for (const [id, policy] of Object.entries(managed)) {
    if (
      asArray(policy.Properties.Roles).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }),
      )
    ) {
      throw new Error(`role ${roleId} has customer-managed policy ${id}`);
    }
  }
  return documents.flatMap((d) =>
    d.Statement.map((s) => {
      const st = s as Record<string, unknown>;
      return {
        Effect: st.Effect as string,
        Action: asArray(st.Action).map(String).sort(),
        Resource: asArray(st.Resource),
        ...(st.Condition !== undefined ? { Condition: st.Condition } : {}),
      };
    }),
  );
}

/** Every action any statement of the role allows. */
export function actionsOfRole(template: Template, role: iam.IRole): string[] {
  return statementsOfRole(template, role)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => s.Action)
    .sort();
}

/** The statements of a key's policy in the template. */
export function keyPolicyStatements(
  template: Template,
  key: kms.IKey,
): Array<Record<string, unknown>> {
  const resource = template.findResources('AWS::KMS::Key')[logicalId(key)];
  if (!resource) throw new Error(`no AWS::KMS::Key ${logicalId(key)} in the template`);
  return resource.Properties.KeyPolicy.Statement;
}

/** Expects `fn` to throw an Error whose message is exactly `message`. */
export function expectThrowsExactly(fn: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as Error).message).toBe(message);
}

/** The statement every function in a VPC gets for its network interfaces, as rendered. */
export const VPC_ENI_STATEMENT = {
  Effect: 'Allow',
  Action: [
    'ec2:AssignPrivateIpAddresses',
    'ec2:CreateNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: ['*'],
} as const;
