/**
 * `npm run preflight`: each check passing and failing with the exact line a
 * user sees, an AccessDenied, the CLI's exit codes, and that no check ever
 * sends a write API. The SDK answers below are shaped like the real ones
 * (recorded from the APIs' documented responses); the template facts are fed
 * directly, except for one in-process synth of the default configuration.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ACMClient,
  DescribeCertificateCommand,
  ResourceNotFoundException as AcmNotFound,
} from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  BedrockClient,
  GetFoundationModelAvailabilityCommand,
  GetInferenceProfileCommand,
  ListFoundationModelsCommand,
  ResourceNotFoundException as BedrockNotFound,
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
import { GetHostedZoneCommand, NoSuchHostedZone, Route53Client } from '@aws-sdk/client-route-53';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createAwsClients,
  main,
  parsePreflightArgs,
  UsageError,
  type MainDeps,
} from '../../bin/preflight';
import {
  checkApiGatewayRole,
  checkBedrockModels,
  checkBootstrap,
  checkCertificate,
  checkCredentials,
  checkHostedZone,
  checkKmsKeys,
  checkLambdaConcurrency,
  checkNetworkQuotas,
  checkStack,
  IAM_ACTIONS,
  type CheckContext,
  type CheckResult,
  type StackState,
} from '../../bin/preflight/checks';
import {
  minBootstrapVersion,
  synthesizeFacts,
  templateFacts,
  templateFileFacts,
  type ConfigFacts,
  type PreflightFacts,
  type TemplateFacts,
} from '../../bin/preflight/facts';
import { formatLine } from '../../bin/preflight/report';

const ROOT = path.join(__dirname, '..', '..');
const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;
const ZONE = 'Z0123456789ABCDEFGHIJ';
const NOW = new Date('2026-09-01T00:00:00Z');
const DOCS = 'docs/deploy.md, "Before you deploy"';

// ------------------------------------------------------------------ the mocks

const mocks = {
  sts: mockClient(STSClient),
  cloudformation: mockClient(CloudFormationClient),
  ssm: mockClient(SSMClient),
  lambda: mockClient(LambdaClient),
  apiGateway: mockClient(APIGatewayClient),
  bedrock: mockClient(BedrockClient),
  acm: mockClient(ACMClient),
  route53: mockClient(Route53Client),
  serviceQuotas: mockClient(ServiceQuotasClient),
  ec2: mockClient(EC2Client),
  kms: mockClient(KMSClient),
};
const clients = createAwsClients(REGION);

/** Every command any test sent, for the read-only assertion at the end. */
const sent = new Set<string>();
afterEach(() => {
  for (const m of Object.values(mocks)) {
    for (const c of m.calls()) sent.add((c.args[0] as object).constructor.name);
  }
});
beforeEach(() => {
  for (const m of Object.values(mocks)) m.reset();
});

/** An error as the SDK raises it for an error code it has no class for. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

const accessDenied = (action: string) =>
  awsError(
    'AccessDeniedException',
    `User: arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice is not authorized to perform: ${action}`,
  );

// ---------------------------------------------------------- recorded answers

// As the API answers: it lists modalities and inference types (VIDEO, INFERENCE_PROFILE) that
// the SDK's enums do not name yet.
const MODEL_SUMMARIES = [
  {
    modelArn: `arn:aws:bedrock:${REGION}::foundation-model/amazon.nova-lite-v1:0`,
    modelId: 'amazon.nova-lite-v1:0',
    modelName: 'Nova Lite',
    providerName: 'Amazon',
    inputModalities: ['TEXT', 'IMAGE', 'VIDEO'],
    outputModalities: ['TEXT'],
    responseStreamingSupported: true,
    customizationsSupported: [],
    inferenceTypesSupported: ['ON_DEMAND', 'INFERENCE_PROFILE'],
    modelLifecycle: { status: 'ACTIVE' },
  },
  {
    modelArn: `arn:aws:bedrock:${REGION}::foundation-model/amazon.nova-canvas-v1:0`,
    modelId: 'amazon.nova-canvas-v1:0',
    modelName: 'Nova Canvas',
    providerName: 'Amazon',
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['IMAGE'],
    customizationsSupported: [],
    inferenceTypesSupported: ['ON_DEMAND'],
    modelLifecycle: { status: 'ACTIVE' },
  },
  {
    modelArn: `arn:aws:bedrock:${REGION}::foundation-model/amazon.titan-embed-text-v2:0`,
    modelId: 'amazon.titan-embed-text-v2:0',
    modelName: 'Titan Text Embeddings V2',
    providerName: 'Amazon',
    inputModalities: ['TEXT'],
    outputModalities: ['EMBEDDING'],
    responseStreamingSupported: false,
    customizationsSupported: [],
    inferenceTypesSupported: ['ON_DEMAND'],
    modelLifecycle: { status: 'ACTIVE' },
  },
  {
    modelArn: `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0`,
    modelId: 'anthropic.claude-sonnet-4-20250514-v1:0',
    modelName: 'Claude Sonnet 4',
    providerName: 'Anthropic',
    inputModalities: ['TEXT', 'IMAGE'],
    outputModalities: ['TEXT'],
    inferenceTypesSupported: ['INFERENCE_PROFILE'],
    modelLifecycle: { status: 'ACTIVE' },
  },
  {
    modelArn: `arn:aws:bedrock:${REGION}::foundation-model/amazon.titan-text-express-v1`,
    modelId: 'amazon.titan-text-express-v1',
    modelName: 'Titan Text G1 - Express',
    providerName: 'Amazon',
    outputModalities: ['TEXT'],
    inferenceTypesSupported: ['ON_DEMAND'],
    modelLifecycle: { status: 'LEGACY' },
  },
] as unknown as FoundationModelSummary[];

const AVAILABLE = {
  agreementAvailability: { status: 'AVAILABLE' as const },
  authorizationStatus: 'AUTHORIZED' as const,
  entitlementAvailability: 'AVAILABLE' as const,
  regionAvailability: 'AVAILABLE' as const,
};

const EU_PROFILE = {
  inferenceProfileName: 'EU Nova Lite',
  inferenceProfileArn: `arn:aws:bedrock:${REGION}:${ACCOUNT}:inference-profile/eu.amazon.nova-lite-v1:0`,
  inferenceProfileId: 'eu.amazon.nova-lite-v1:0',
  status: 'ACTIVE' as const,
  type: 'SYSTEM_DEFINED' as const,
  models: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3'].map((r) => ({
    modelArn: `arn:aws:bedrock:${r}::foundation-model/amazon.nova-lite-v1:0`,
  })),
};

const QUOTAS: Record<string, number> = {
  'L-F678F1CE': 5, // VPCs per Region
  'L-29B6F2EB': 50, // Interface and Gateway Load Balancer endpoints per VPC
  'L-0263D0A3': 5, // EC2-VPC Elastic IPs
  'L-69A177A2': 50, // Network Load Balancers per Region
  'L-53DA6B97': 50, // Application Load Balancers per Region
  'L-C2F1777E': 100000, // Customer managed keys
};

/** The answers of a ready account: bootstrapped, 1000 concurrency, models enabled, room everywhere. */
function readyAccount(): void {
  mocks.sts.on(GetCallerIdentityCommand).resolves({
    UserId: 'AROAEXAMPLEID:alice',
    Account: ACCOUNT,
    Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`,
  });
  mocks.cloudformation
    .on(DescribeStacksCommand)
    .rejects(awsError('ValidationError', 'Stack with id Ephemera does not exist'));
  mocks.ssm.on(GetParameterCommand).resolves({
    Parameter: {
      Name: '/cdk-bootstrap/hnb659fds/version',
      Type: 'String',
      Value: '30',
      Version: 3,
    },
  });
  mocks.lambda.on(GetAccountSettingsCommand).resolves({
    AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
    AccountUsage: { FunctionCount: 12 },
  });
  mocks.apiGateway.on(GetAccountCommand).resolves({
    cloudwatchRoleArn: `arn:aws:iam::${ACCOUNT}:role/ApiGatewayCloudWatchLogs`,
    throttleSettings: { burstLimit: 5000, rateLimit: 10000 },
  });
  mocks.bedrock.on(ListFoundationModelsCommand).resolves({ modelSummaries: MODEL_SUMMARIES });
  mocks.bedrock.on(GetFoundationModelAvailabilityCommand).callsFake((input) => ({
    modelId: input.modelId,
    ...AVAILABLE,
  }));
  mocks.bedrock.on(GetInferenceProfileCommand).resolves(EU_PROFILE);
  mocks.ec2.on(DescribeRegionsCommand).resolves({
    Regions: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3', 'eu-south-1'].map((r) => ({
      RegionName: r,
      Endpoint: `ec2.${r}.amazonaws.com`,
      OptInStatus: r === 'eu-south-1' ? 'not-opted-in' : 'opt-in-not-required',
    })),
  });
  mocks.acm.on(DescribeCertificateCommand).resolves({
    Certificate: {
      CertificateArn: CERT,
      DomainName: 'api.example.com',
      SubjectAlternativeNames: ['api.example.com'],
      Status: 'ISSUED',
      Type: 'AMAZON_ISSUED',
      NotAfter: new Date('2027-06-01T23:59:59Z'),
    },
  });
  mocks.route53.on(GetHostedZoneCommand).resolves({
    HostedZone: {
      Id: `/hostedzone/${ZONE}`,
      Name: 'example.com.',
      CallerReference: 'ref',
      Config: { PrivateZone: false },
      ResourceRecordSetCount: 4,
    },
    DelegationSet: { NameServers: ['ns-1.awsdns-01.org'] },
  });
  mocks.serviceQuotas.on(GetServiceQuotaCommand).callsFake((input) => ({
    Quota: {
      ServiceCode: input.ServiceCode,
      QuotaCode: input.QuotaCode,
      Value: QUOTAS[input.QuotaCode],
    },
  }));
  mocks.ec2.on(DescribeVpcsCommand).resolves({
    Vpcs: [{ VpcId: 'vpc-0default', IsDefault: true, CidrBlock: '172.31.0.0/16' }],
  });
  mocks.ec2.on(DescribeAddressesCommand).resolves({ Addresses: [] });
  mocks.ec2.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
  mocks.kms.on(ListKeysCommand).resolves({
    Keys: [1, 2, 3].map((i) => ({
      KeyId: `0000000${i}-aaaa-bbbb-cccc-dddddddddddd`,
      KeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0000000${i}-aaaa-bbbb-cccc-dddddddddddd`,
    })),
    Truncated: false,
  });
}

// ------------------------------------------------------------------- the facts

const TEMPLATE: TemplateFacts = {
  bootstrapParameter: '/cdk-bootstrap/hnb659fds/version',
  minBootstrapVersion: 6,
  reservations: [
    { logicalId: 'ImagesSweeperFunction67605F33', reserved: 1 },
    { logicalId: 'GatewayHandlerFunctionE9350DC1', reserved: 50 },
    { logicalId: 'ErasureWorkerFunctionEB8F61A6', reserved: 5 },
    { logicalId: 'AdminHandlerFunction94672740', reserved: 10 },
    { logicalId: 'WatchdogHandlerFunctionB9B499A3', reserved: 1 },
  ],
  unresolvedReservations: [],
  createsApiGatewayAccount: false,
  createsCertificate: false,
  certificateParameter: false,
  vpcs: ['NetworkVpc7FB7348F'],
  interfaceEndpointsByVpc: {
    NetworkVpc7FB7348F: ['Kms', 'Logs', 'Sqs', 'SecretsManager', 'Sts', 'BedrockRuntime'],
  },
  elasticIps: [],
  networkLoadBalancers: [],
  applicationLoadBalancers: ['FrontDoorLoadBalancer6A458C90'],
  kmsKeys: ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'],
};

const CONFIG: ConfigFacts = {
  frontDoor: 'public',
  frontDoorKind: 'alb',
  upstream: 'bedrock',
  models: [
    { id: 'amazon.nova-lite-v1:0', upstreamId: 'amazon.nova-lite-v1:0', kind: 'chat' },
    { id: 'amazon.nova-canvas-v1:0', upstreamId: 'amazon.nova-canvas-v1:0', kind: 'image' },
    {
      id: 'amazon.titan-embed-text-v2:0',
      upstreamId: 'amazon.titan-embed-text-v2:0',
      kind: 'embedding',
    },
  ],
  allowedRegions: [],
  certificateArn: CERT,
  domainName: 'api.example.com',
  hostedZoneId: ZONE,
  hostedZoneName: 'example.com',
};

function facts(
  config: Partial<ConfigFacts> = {},
  template: Partial<TemplateFacts> = {},
): PreflightFacts {
  return {
    stackName: 'Ephemera',
    region: REGION,
    source: 'synthesized',
    bootstrapQualifier: 'hnb659fds',
    template: { ...TEMPLATE, ...template },
    config: { ...CONFIG, ...config },
  };
}

const NEW_STACK: StackState = { exists: false, known: true, resources: new Map() };

function ctx(f: PreflightFacts = facts(), stack: StackState = NEW_STACK): CheckContext {
  return { facts: f, clients, account: ACCOUNT, stack, now: NOW };
}

const lines = (results: CheckResult[]) => results.map(formatLine);

// ---------------------------------------------------------------------- facts

describe('facts', () => {
  test('the default configuration, synthesized in-process', () => {
    const f = synthesizeFacts({ region: REGION });
    expect(f.stackName).toBe('Ephemera');
    expect(f.region).toBe(REGION);
    expect(f.bootstrapQualifier).toBe('hnb659fds');
    const t = f.template;
    expect(t.bootstrapParameter).toBe('/cdk-bootstrap/hnb659fds/version');
    expect(t.minBootstrapVersion).toBe(6);
    // The gateway reserves gatewayMaxConcurrency (50 in cdk.json).
    expect(t.reservations.find((r) => r.logicalId.startsWith('GatewayHandler'))?.reserved).toBe(50);
    expect(t.unresolvedReservations).toEqual([]);
    expect(t.vpcs).toHaveLength(1);
    const endpoints = Object.values(t.interfaceEndpointsByVpc);
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0].length).toBeGreaterThanOrEqual(6);
    expect(t.networkLoadBalancers).toEqual([]);
    expect(t.kmsKeys.length).toBeGreaterThan(0);
    // The default front door: a REST API, which needs no certificate and sets the account role.
    expect(t.applicationLoadBalancers).toEqual([]);
    expect(t.certificateParameter).toBe(false);
    expect(t.createsApiGatewayAccount).toBe(true);
    expect(f.config.frontDoorKind).toBe('api-gateway');
    expect(f.config.upstream).toBe('bedrock');
    expect(f.config.models.map((m) => m.upstreamId)).toEqual([
      'amazon.nova-lite-v1:0',
      'amazon.nova-canvas-v1:0',
      'amazon.titan-embed-text-v2:0',
    ]);
  });

  test('frontDoorKind alb: the load balancer, its certificate parameter, no account role', () => {
    const f = synthesizeFacts({ region: REGION, frontDoorKind: 'alb' });
    expect(f.template.applicationLoadBalancers).toHaveLength(1);
    expect(f.template.certificateParameter).toBe(true);
    expect(f.template.createsApiGatewayAccount).toBe(false);
    expect(f.config.frontDoorKind).toBe('alb');
  });

  test('an unknown context key is refused, synthesized or from a template', () => {
    const refusal =
      "Unknown context key 'frontdoor': did you mean 'frontDoor'? (see docs/configuration.md)";
    expect(() => synthesizeFacts({ region: REGION, frontdoor: 'private' })).toThrow(refusal);
    expect(() =>
      templateFileFacts(path.join(ROOT, 'package.json'), { frontdoor: 'private' }, REGION),
    ).toThrow(refusal);
  });

  test('the minimum bootstrap version is one above the highest version the rule refuses', () => {
    const rule = (versions: string[]) => ({
      Rules: {
        CheckBootstrapVersion: {
          Assertions: [
            {
              Assert: {
                'Fn::Not': [{ 'Fn::Contains': [versions, { Ref: 'BootstrapVersion' }] }],
              },
              AssertDescription: 'CDK bootstrap stack version 6 required.',
            },
          ],
        },
      },
    });
    expect(minBootstrapVersion(rule(['1', '2', '3', '4', '5']))).toBe(6);
    expect(minBootstrapVersion(rule(['1', '2', '3', '4', '5', '6', '7', '8']))).toBe(9);
    expect(minBootstrapVersion({})).toBeUndefined();
  });

  test('a template: network load balancers, Elastic IPs, API Gateway account, a custom qualifier', () => {
    const t = templateFacts({
      Parameters: {
        BootstrapVersion: {
          Type: 'AWS::SSM::Parameter::Value<String>',
          Default: '/cdk-bootstrap/custom123/version',
        },
      },
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        Eip1: { Type: 'AWS::EC2::EIP' },
        Nlb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'network' } },
        Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {} },
        Gw: {
          Type: 'AWS::EC2::VPCEndpoint',
          Properties: { VpcEndpointType: 'Gateway', VpcId: { Ref: 'Vpc' } },
        },
        If: {
          Type: 'AWS::EC2::VPCEndpoint',
          Properties: { VpcEndpointType: 'Interface', VpcId: { Ref: 'Vpc' } },
        },
        Account: { Type: 'AWS::ApiGateway::Account' },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: { ReservedConcurrentExecutions: { Ref: 'P' } },
        },
      },
    });
    expect(t.bootstrapParameter).toBe('/cdk-bootstrap/custom123/version');
    expect(t.elasticIps).toEqual(['Eip1']);
    expect(t.networkLoadBalancers).toEqual(['Nlb']);
    expect(t.applicationLoadBalancers).toEqual(['Alb']);
    expect(t.interfaceEndpointsByVpc).toEqual({ Vpc: ['If'] });
    expect(t.createsApiGatewayAccount).toBe(true);
    expect(t.unresolvedReservations).toEqual(['Fn']);
  });

  test('--template: the template from the file, the configuration from cdk.json and -c', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-preflight-test-'));
    try {
      const file = path.join(dir, 'Ephemera.template.json');
      fs.writeFileSync(file, JSON.stringify({ Resources: { V: { Type: 'AWS::EC2::VPC' } } }));
      const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:upstream-token-AbCdEf`;
      const f = templateFileFacts(
        file,
        {
          region: REGION,
          '@aws-cdk/core:bootstrapQualifier': 'custom123',
          upstream: 'openai-compatible',
          upstreamBaseUrl: 'https://llm.internal.example.com/v1',
          upstreamSecretArn: secret,
        },
        REGION,
      );
      expect(f.source).toBe(file);
      expect(f.bootstrapQualifier).toBe('custom123');
      expect(f.template.vpcs).toEqual(['V']);
      expect(f.config.upstream).toBe('openai-compatible');
      // Never a secret's ARN or the upstream's address in what the checks see.
      expect(JSON.stringify(f)).not.toContain('upstream-token');
      expect(JSON.stringify(f)).not.toContain('llm.internal');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- credentials

describe('credentials and stack', () => {
  test('credentials: who the caller is', async () => {
    readyAccount();
    const { result, account } = await checkCredentials(clients.sts, undefined);
    expect(account).toBe(ACCOUNT);
    expect(formatLine(result)).toBe(
      `PASS credentials: account ${ACCOUNT} as arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`,
    );
  });

  test('credentials: another account than the configured one', async () => {
    readyAccount();
    const { result, account } = await checkCredentials(clients.sts, '222222222222');
    expect(account).toBeUndefined();
    expect(formatLine(result)).toBe(
      `FAIL credentials: the credentials are for account ${ACCOUNT}, but the configuration targets account 222222222222 | fix: use credentials for account 222222222222 (--profile), or change -c account`,
    );
  });

  test('credentials: expired', async () => {
    mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    const { result } = await checkCredentials(clients.sts, undefined);
    expect(formatLine(result)).toBe(
      'FAIL credentials: no valid AWS credentials (ExpiredToken) | fix: sign in (aws sso login, or set AWS_PROFILE or --profile) and run preflight again',
    );
  });

  test('stack: a first deploy', async () => {
    readyAccount();
    const { result, state } = await checkStack(clients.cloudformation, 'Ephemera', REGION);
    expect(formatLine(result)).toBe(
      'PASS stack: Ephemera does not exist in eu-west-1 yet: the deploy creates it',
    );
    expect(state).toEqual({ exists: false, known: true, resources: new Map() });
  });

  test('stack: an update reads what the stack holds', async () => {
    mocks.cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Ephemera', StackStatus: 'UPDATE_COMPLETE', CreationTime: NOW }],
    });
    mocks.cloudformation
      .on(ListStackResourcesCommand)
      .resolvesOnce({
        StackResourceSummaries: [
          {
            LogicalResourceId: 'NetworkVpc7FB7348F',
            PhysicalResourceId: 'vpc-0abc',
            ResourceType: 'AWS::EC2::VPC',
            ResourceStatus: 'CREATE_COMPLETE',
            LastUpdatedTimestamp: NOW,
          },
        ],
        NextToken: 'page2',
      })
      .resolvesOnce({
        StackResourceSummaries: [
          {
            LogicalResourceId: 'GatewayHandlerFunctionE9350DC1',
            PhysicalResourceId: 'Ephemera-GatewayHandlerFunction-AbC123',
            ResourceType: 'AWS::Lambda::Function',
            ResourceStatus: 'CREATE_COMPLETE',
            LastUpdatedTimestamp: NOW,
          },
        ],
      });
    const { result, state } = await checkStack(clients.cloudformation, 'Ephemera', REGION);
    expect(formatLine(result)).toBe(
      'PASS stack: Ephemera exists (UPDATE_COMPLETE, 2 resources): the deploy updates it',
    );
    expect([...state.resources.keys()]).toEqual([
      'NetworkVpc7FB7348F',
      'GatewayHandlerFunctionE9350DC1',
    ]);
  });

  test('stack: ROLLBACK_COMPLETE is deleted and created again by cdk deploy', async () => {
    mocks.cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Ephemera', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: NOW }],
    });
    mocks.cloudformation.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        {
          LogicalResourceId: 'DataKeysMetadataKey',
          PhysicalResourceId: 'key-1',
          ResourceType: 'AWS::KMS::Key',
          ResourceStatus: 'DELETE_SKIPPED',
          LastUpdatedTimestamp: NOW,
        },
      ],
    });
    const { result, state } = await checkStack(clients.cloudformation, 'Ephemera', REGION);
    expect(formatLine(result)).toBe(
      'WARN stack: Ephemera is ROLLBACK_COMPLETE: its first deploy failed and was rolled back; cdk deploy deletes it and creates it again, and resources it retained stay behind | fix: read why it failed first: aws cloudformation describe-stack-events --stack-name Ephemera --region eu-west-1',
    );
    // Everything in the template counts as new.
    expect(state.resources.size).toBe(0);
  });

  test('stack: UPDATE_ROLLBACK_FAILED cannot be updated', async () => {
    mocks.cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Ephemera', StackStatus: 'UPDATE_ROLLBACK_FAILED', CreationTime: NOW }],
    });
    mocks.cloudformation.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    const { result } = await checkStack(clients.cloudformation, 'Ephemera', REGION);
    expect(formatLine(result)).toBe(
      'FAIL stack: Ephemera is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback, so CloudFormation cannot update it | fix: continue the rollback: aws cloudformation continue-update-rollback --stack-name Ephemera --region eu-west-1',
    );
  });
});

// ----------------------------------------------------------------- bootstrap

describe('bootstrap', () => {
  test('passes: new enough', async () => {
    readyAccount();
    expect(lines(await checkBootstrap(ctx()))).toEqual([
      'PASS bootstrap: version 30 (/cdk-bootstrap/hnb659fds/version); the template needs 6 or later',
    ]);
    expect(mocks.ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({
      Name: '/cdk-bootstrap/hnb659fds/version',
    });
  });

  test('fails: too old', async () => {
    mocks.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    expect(lines(await checkBootstrap(ctx()))).toEqual([
      `FAIL bootstrap: version 5 (/cdk-bootstrap/hnb659fds/version) is older than the version 6 the template needs | fix: upgrade it with the project's CDK CLI: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1`,
    ]);
  });

  test('fails: not bootstrapped (with a custom qualifier)', async () => {
    mocks.ssm
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ message: 'Parameter not found', $metadata: {} }));
    const f = facts({}, { bootstrapParameter: '/cdk-bootstrap/custom123/version' });
    expect(lines(await checkBootstrap(ctx(f)))).toEqual([
      `FAIL bootstrap: aws://${ACCOUNT}/eu-west-1 is not bootstrapped: no SSM parameter /cdk-bootstrap/custom123/version | fix: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1 --qualifier custom123`,
    ]);
  });

  test('AccessDenied names the missing permission', async () => {
    mocks.ssm.on(GetParameterCommand).rejects(accessDenied('ssm:GetParameter'));
    expect(lines(await checkBootstrap(ctx()))).toEqual([
      `FAIL bootstrap: access denied: the caller may not call ssm:GetParameter | fix: allow ssm:GetParameter for the caller (every action preflight needs: ${DOCS})`,
    ]);
  });
});

// -------------------------------------------------------------------- Lambda

describe('lambda-concurrency', () => {
  test('passes: room for the reservations and the 100 Lambda keeps', async () => {
    readyAccount();
    expect(lines(await checkLambdaConcurrency(ctx()))).toEqual([
      'PASS lambda-concurrency: the stack reserves 67 concurrent executions of 1000 unreserved (limit 1000); 933 stay unreserved, at least 100 needed',
    ]);
  });

  test('fails: a new account with a limit of 10', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    expect(lines(await checkLambdaConcurrency(ctx()))).toEqual([
      'FAIL lambda-concurrency: the stack reserves 67 concurrent executions, but the account has 10 unreserved of its limit 10, and Lambda keeps 100 unreserved: 157 short | fix: ask for a Lambda "Concurrent executions" quota (L-B99A9384) of at least 167 in Service Quotas, or deploy with -c reserveConcurrency=false',
    ]);
  });

  test('an update counts only the increase over what the functions reserve now', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 200, UnreservedConcurrentExecutions: 120 },
    });
    mocks.lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'Ephemera-Gateway-AbC' })
      .resolves({ ReservedConcurrentExecutions: 50 });
    const stack: StackState = {
      exists: true,
      known: true,
      status: 'UPDATE_COMPLETE',
      resources: new Map([
        [
          'GatewayHandlerFunctionE9350DC1',
          { type: 'AWS::Lambda::Function', physicalId: 'Ephemera-Gateway-AbC' },
        ],
      ]),
    };
    expect(lines(await checkLambdaConcurrency(ctx(facts(), stack)))).toEqual([
      'PASS lambda-concurrency: the stack reserves 67 concurrent executions (17 more than now) of 120 unreserved (limit 200); 103 stay unreserved, at least 100 needed',
    ]);
  });

  test('passes with nothing reserved (reserveConcurrency=false)', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    expect(lines(await checkLambdaConcurrency(ctx(facts({}, { reservations: [] }))))).toEqual([
      "PASS lambda-concurrency: the stack reserves no concurrency; the account's limit is 10",
    ]);
  });
});

// ---------------------------------------------------------------- API Gateway

describe('apigateway-cloudwatch-role', () => {
  const apiGateway = (template: Partial<TemplateFacts> = {}) =>
    facts({ frontDoorKind: 'api-gateway' }, template);

  test('skipped with the load balancer', async () => {
    expect(lines(await checkApiGatewayRole(ctx()))).toEqual([
      'SKIP apigateway-cloudwatch-role: frontDoorKind is alb: no REST API',
    ]);
    expect(mocks.apiGateway.calls()).toHaveLength(0);
  });

  test('passes: the account has one', async () => {
    readyAccount();
    expect(lines(await checkApiGatewayRole(ctx(apiGateway())))).toEqual([
      `PASS apigateway-cloudwatch-role: set: arn:aws:iam::${ACCOUNT}:role/ApiGatewayCloudWatchLogs (the REST API's access log uses it)`,
    ]);
  });

  test('fails: none set and the stack does not set it', async () => {
    mocks.apiGateway.on(GetAccountCommand).resolves({ throttleSettings: { rateLimit: 10000 } });
    const existing = facts({ frontDoorKind: 'api-gateway', apiGatewayAccountRole: 'existing' });
    expect(lines(await checkApiGatewayRole(ctx(existing)))).toEqual([
      "FAIL apigateway-cloudwatch-role: apiGatewayAccountRole is existing, but the account has no API Gateway CloudWatch role in eu-west-1, which the REST API's access log needs | fix: deploy with -c apiGatewayAccountRole=create (the stack sets it), or set one: aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<arn of a role apigateway.amazonaws.com may assume, with AmazonAPIGatewayPushToCloudWatchLogs> --region eu-west-1",
    ]);
  });

  test('the stack sets it: account-wide', async () => {
    mocks.apiGateway.on(GetAccountCommand).resolves({});
    expect(
      lines(await checkApiGatewayRole(ctx(apiGateway({ createsApiGatewayAccount: true })))),
    ).toEqual([
      'PASS apigateway-cloudwatch-role: not set yet; the stack sets it (an account-wide setting for every REST API in eu-west-1)',
    ]);
  });

  test('the stack replaces an existing one: a warning', async () => {
    readyAccount();
    expect(
      lines(await checkApiGatewayRole(ctx(apiGateway({ createsApiGatewayAccount: true })))),
    ).toEqual([
      `WARN apigateway-cloudwatch-role: the stack replaces the account's API Gateway CloudWatch role arn:aws:iam::${ACCOUNT}:role/ApiGatewayCloudWatchLogs with its own (an account-wide setting for every REST API in eu-west-1) | fix: to keep the current role, deploy with -c apiGatewayAccountRole=existing`,
    ]);
  });

  test('AccessDenied names apigateway:GET', async () => {
    mocks.apiGateway.on(GetAccountCommand).rejects(awsError('AccessDeniedException', 'denied'));
    expect(lines(await checkApiGatewayRole(ctx(apiGateway())))).toEqual([
      `FAIL apigateway-cloudwatch-role: access denied: the caller may not call apigateway:GET | fix: allow apigateway:GET for the caller (every action preflight needs: ${DOCS})`,
    ]);
  });
});

// -------------------------------------------------------------------- Bedrock

describe('bedrock-model', () => {
  test('passes: each default model is offered on demand and enabled', async () => {
    readyAccount();
    expect(lines(await checkBedrockModels(ctx()))).toEqual([
      'PASS bedrock-model: amazon.nova-lite-v1:0: offered on demand in eu-west-1; model access granted',
      'PASS bedrock-model: amazon.nova-canvas-v1:0: offered on demand in eu-west-1; model access granted',
      'PASS bedrock-model: amazon.titan-embed-text-v2:0: offered on demand in eu-west-1; model access granted',
    ]);
    // One list for all three models.
    expect(mocks.bedrock.commandCalls(ListFoundationModelsCommand)).toHaveLength(1);
  });

  test('fails: not offered in the region', async () => {
    readyAccount();
    const f = facts({
      models: [{ id: 'chat', upstreamId: 'amazon.nova-pro-v1:0', kind: 'chat' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'FAIL bedrock-model: chat (amazon.nova-pro-v1:0): Bedrock offers no foundation model amazon.nova-pro-v1:0 in eu-west-1 | fix: pick a model from aws bedrock list-foundation-models --region eu-west-1, or a cross-region profile such as eu.amazon.nova-pro-v1:0 if allowedRegions permits',
    ]);
  });

  test('fails: no model access', async () => {
    readyAccount();
    mocks.bedrock.on(GetFoundationModelAvailabilityCommand).resolves({
      modelId: 'amazon.nova-lite-v1:0',
      agreementAvailability: { status: 'NOT_AVAILABLE' },
      authorizationStatus: 'AUTHORIZED',
      entitlementAvailability: 'NOT_AVAILABLE',
      regionAvailability: 'AVAILABLE',
    });
    const f = facts({ models: [CONFIG.models[0]] });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'FAIL bedrock-model: amazon.nova-lite-v1:0: offered on demand in eu-west-1; no model access (no entitlement, agreement NOT_AVAILABLE) | fix: enable access to amazon.nova-lite-v1:0 in the Bedrock console (Model access) in eu-west-1',
    ]);
  });

  test('fails: only through an inference profile', async () => {
    readyAccount();
    const id = 'anthropic.claude-sonnet-4-20250514-v1:0';
    const f = facts({ models: [{ id: 'sonnet', upstreamId: id, kind: 'chat' }] });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      `FAIL bedrock-model: sonnet (${id}): not offered on demand in eu-west-1 (only INFERENCE_PROFILE) | fix: call it through an inference profile: upstreamId eu.${id} (check allowedRegions)`,
    ]);
  });

  test('fails: the kind does not match the model', async () => {
    readyAccount();
    const f = facts({
      models: [{ id: 'img', upstreamId: 'amazon.nova-lite-v1:0', kind: 'image' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'FAIL bedrock-model: img (amazon.nova-lite-v1:0): configured as kind image, but the model outputs TEXT | fix: set kind to match the model, or pick a model with IMAGE output',
    ]);
  });

  test('warns: a legacy model', async () => {
    readyAccount();
    const f = facts({
      models: [{ id: 'old', upstreamId: 'amazon.titan-text-express-v1', kind: 'chat' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'WARN bedrock-model: old (amazon.titan-text-express-v1): offered on demand in eu-west-1 (LEGACY: AWS will retire it); model access granted | fix: plan a move to its successor model',
    ]);
  });

  test('passes: a cross-region profile whose destinations are allowed', async () => {
    readyAccount();
    const f = facts({
      models: [{ id: 'lite', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
      allowedRegions: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3'],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'PASS bedrock-model: lite (eu.amazon.nova-lite-v1:0): profile ACTIVE, routes to eu-central-1, eu-north-1, eu-west-1, eu-west-3; model access granted',
    ]);
    expect(mocks.bedrock.commandCalls(GetInferenceProfileCommand)[0].args[0].input).toEqual({
      inferenceProfileIdentifier: 'eu.amazon.nova-lite-v1:0',
    });
  });

  test('fails: a destination outside allowedRegions', async () => {
    readyAccount();
    const f = facts({
      models: [{ id: 'lite', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
      allowedRegions: ['eu-west-1', 'eu-central-1'],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'FAIL bedrock-model: lite (eu.amazon.nova-lite-v1:0): the profile routes to eu-central-1, eu-north-1, eu-west-1, eu-west-3; eu-north-1, eu-west-3 are outside allowedRegions (eu-west-1, eu-central-1) | fix: use an in-region model id, or allow those regions',
    ]);
  });

  test("fails: a destination the gateway's IAM policy does not name", async () => {
    readyAccount();
    mocks.bedrock.on(GetInferenceProfileCommand).resolves({
      ...EU_PROFILE,
      models: [
        ...EU_PROFILE.models,
        { modelArn: 'arn:aws:bedrock:eu-central-3::foundation-model/amazon.nova-lite-v1:0' },
      ],
    });
    const f = facts({
      models: [{ id: 'lite', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      "FAIL bedrock-model: lite (eu.amazon.nova-lite-v1:0): the profile routes to eu-central-1, eu-central-3, eu-north-1, eu-west-1, eu-west-3; eu-central-3 is missing from the eu. destinations in lib/core/bedrock-regions.ts, so the gateway's IAM policy would refuse those requests | fix: add eu-central-3 to the eu geography in lib/core/bedrock-regions.ts, or use the in-region model id amazon.nova-lite-v1:0",
    ]);
  });

  test('warns: a destination the account has not enabled', async () => {
    readyAccount();
    mocks.bedrock.on(GetInferenceProfileCommand).resolves({
      ...EU_PROFILE,
      models: [
        ...EU_PROFILE.models,
        { modelArn: 'arn:aws:bedrock:eu-south-1::foundation-model/amazon.nova-lite-v1:0' },
      ],
    });
    const f = facts({
      models: [{ id: 'lite', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'WARN bedrock-model: lite (eu.amazon.nova-lite-v1:0): profile ACTIVE, routes to eu-central-1, eu-north-1, eu-south-1, eu-west-1, eu-west-3; eu-south-1 is not enabled in this account, and an SCP may deny regions too | fix: enable eu-south-1 (Account settings, AWS Regions), or check that requests routed there succeed',
    ]);
  });

  test('fails: no such profile', async () => {
    readyAccount();
    mocks.bedrock
      .on(GetInferenceProfileCommand)
      .rejects(new BedrockNotFound({ message: 'Inference profile not found', $metadata: {} }));
    const f = facts({
      models: [{ id: 'x', upstreamId: 'eu.amazon.nova-micro-v9:0', kind: 'chat' }],
    });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      'FAIL bedrock-model: x (eu.amazon.nova-micro-v9:0): no inference profile eu.amazon.nova-micro-v9:0 in eu-west-1 | fix: pick one from aws bedrock list-inference-profiles --region eu-west-1',
    ]);
  });

  test('skipped with an OpenAI-compatible upstream', async () => {
    expect(lines(await checkBedrockModels(ctx(facts({ upstream: 'openai-compatible' }))))).toEqual([
      'SKIP bedrock-model: upstream is openai-compatible: no Bedrock model to check',
    ]);
    expect(mocks.bedrock.calls()).toHaveLength(0);
  });

  test('AccessDenied names bedrock:ListFoundationModels', async () => {
    mocks.bedrock
      .on(ListFoundationModelsCommand)
      .rejects(accessDenied('bedrock:ListFoundationModels'));
    const f = facts({ models: [CONFIG.models[0]] });
    expect(lines(await checkBedrockModels(ctx(f)))).toEqual([
      `FAIL bedrock-model: access denied: the caller may not call bedrock:ListFoundationModels | fix: allow bedrock:ListFoundationModels for the caller (every action preflight needs: ${DOCS})`,
    ]);
  });
});

// ------------------------------------------------------ certificate and zone

describe('certificate and hosted-zone', () => {
  test('certificate passes: ISSUED for the domain', async () => {
    readyAccount();
    expect(lines(await checkCertificate(ctx()))).toEqual([
      'PASS certificate: ISSUED until 2027-06-01 for api.example.com',
    ]);
  });

  test('certificate fails: still pending validation', async () => {
    mocks.acm.on(DescribeCertificateCommand).resolves({
      Certificate: {
        CertificateArn: CERT,
        DomainName: 'api.example.com',
        Status: 'PENDING_VALIDATION',
      },
    });
    expect(lines(await checkCertificate(ctx()))).toEqual([
      `FAIL certificate: ${CERT} is PENDING_VALIDATION, not ISSUED | fix: complete its validation (the DNS records ACM asks for), or use an issued certificate`,
    ]);
  });

  test('certificate fails: another region', async () => {
    const arn = CERT.replace(REGION, 'us-east-1');
    expect(lines(await checkCertificate(ctx(facts({ certificateArn: arn }))))).toEqual([
      `FAIL certificate: ${arn} is in us-east-1, but the stack deploys to eu-west-1 | fix: request or import the certificate in eu-west-1 and set certificateArn to it`,
    ]);
    expect(mocks.acm.calls()).toHaveLength(0);
  });

  test('certificate fails: it does not name the domain', async () => {
    mocks.acm.on(DescribeCertificateCommand).resolves({
      Certificate: {
        CertificateArn: CERT,
        DomainName: 'example.com',
        SubjectAlternativeNames: ['example.com', '*.internal.example.com'],
        Status: 'ISSUED',
      },
    });
    expect(lines(await checkCertificate(ctx()))).toEqual([
      `FAIL certificate: ${CERT} names example.com, *.internal.example.com, not api.example.com | fix: use a certificate for api.example.com`,
    ]);
  });

  test('certificate fails: no such certificate', async () => {
    mocks.acm
      .on(DescribeCertificateCommand)
      .rejects(new AcmNotFound({ message: 'Could not find certificate', $metadata: {} }));
    expect(lines(await checkCertificate(ctx()))).toEqual([
      `FAIL certificate: no certificate ${CERT} in eu-west-1 | fix: check the ARN: aws acm list-certificates --region eu-west-1`,
    ]);
  });

  test('certificate: a wildcard covers one label; a parameter at deploy is skipped', async () => {
    mocks.acm.on(DescribeCertificateCommand).resolves({
      Certificate: { CertificateArn: CERT, DomainName: '*.example.com', Status: 'ISSUED' },
    });
    expect(lines(await checkCertificate(ctx()))).toEqual([
      'PASS certificate: ISSUED for *.example.com',
    ]);
    const atDeploy = facts(
      { certificateArn: undefined, domainName: undefined },
      { certificateParameter: true },
    );
    expect(lines(await checkCertificate(ctx(atDeploy)))).toEqual([
      'SKIP certificate: the template takes the certificate at deploy (--parameters CertificateArn=...); set certificateArn to have it checked here',
    ]);
  });

  test('hosted zone passes: public, with the configured name', async () => {
    readyAccount();
    expect(lines(await checkHostedZone(ctx()))).toEqual([
      `PASS hosted-zone: ${ZONE} is the public zone example.com`,
    ]);
  });

  test('hosted zone fails: another name, a private zone, no zone', async () => {
    mocks.route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: ZONE,
        Name: 'example.org.',
        CallerReference: 'r',
        Config: { PrivateZone: false },
      },
    });
    expect(lines(await checkHostedZone(ctx()))).toEqual([
      `FAIL hosted-zone: ${ZONE} is example.org, not example.com | fix: set hostedZoneName to example.org, or hostedZoneId to the zone of example.com`,
    ]);
    mocks.route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: ZONE,
        Name: 'example.com.',
        CallerReference: 'r',
        Config: { PrivateZone: true },
      },
    });
    expect(lines(await checkHostedZone(ctx()))).toEqual([
      `FAIL hosted-zone: ${ZONE} (example.com) is a private zone: certificate validation and the API's record need a public one | fix: use the public hosted zone of example.com`,
    ]);
    mocks.route53
      .on(GetHostedZoneCommand)
      .rejects(new NoSuchHostedZone({ message: 'No hosted zone found', $metadata: {} }));
    expect(lines(await checkHostedZone(ctx()))).toEqual([
      `FAIL hosted-zone: no hosted zone ${ZONE} in account ${ACCOUNT} | fix: check hostedZoneId: aws route53 list-hosted-zones`,
    ]);
  });
});

// --------------------------------------------------------------------- quotas

describe('quotas', () => {
  test('pass: room for what the stack creates', async () => {
    readyAccount();
    expect(lines(await checkNetworkQuotas(ctx()))).toEqual([
      'PASS vpc-quota: 1 of 5 VPCs in use in eu-west-1, the stack adds 1',
      'PASS interface-endpoint-quota: the stack creates 6 interface endpoints in its VPC, quota 50',
      'SKIP eip-quota: the stack creates no Elastic IPs',
      'SKIP nlb-quota: the stack creates no network load balancers',
      'PASS alb-quota: 0 of 50 application load balancers in use in eu-west-1, the stack adds 1',
    ]);
  });

  test('fail: five VPCs already, and Elastic IPs for NAT gateways', async () => {
    readyAccount();
    mocks.ec2.on(DescribeVpcsCommand).resolves({
      Vpcs: [1, 2, 3, 4, 5].map((i) => ({ VpcId: `vpc-${i}` })),
    });
    mocks.ec2.on(DescribeAddressesCommand).resolves({
      Addresses: [1, 2, 3, 4].map((i) => ({ AllocationId: `eipalloc-${i}`, Domain: 'vpc' })),
    });
    const f = facts({}, { elasticIps: ['NatEip1', 'NatEip2'] });
    expect(lines(await checkNetworkQuotas(ctx(f)))).toEqual([
      'FAIL vpc-quota: 5 of 5 VPCs in use in eu-west-1, the stack adds 1 | fix: ask for "VPCs per Region" (Service Quotas vpc L-F678F1CE) of at least 6, or remove unused VPCs',
      'PASS interface-endpoint-quota: the stack creates 6 interface endpoints in its VPC, quota 50',
      'FAIL eip-quota: 4 of 5 Elastic IPs in use in eu-west-1, the stack adds 2 | fix: ask for "EC2-VPC Elastic IPs" (Service Quotas ec2 L-0263D0A3) of at least 6, or remove unused Elastic IPs',
      'SKIP nlb-quota: the stack creates no network load balancers',
      'PASS alb-quota: 0 of 50 application load balancers in use in eu-west-1, the stack adds 1',
    ]);
  });

  test('load balancers are counted from their network interfaces; a default quota when none is applied', async () => {
    readyAccount();
    mocks.ec2
      .on(DescribeNetworkInterfacesCommand, {
        Filters: [{ Name: 'description', Values: ['ELB net/*'] }],
      })
      .resolves({
        NetworkInterfaces: [
          { NetworkInterfaceId: 'eni-1', Description: 'ELB net/other/50dc6c495c0c9188' },
          { NetworkInterfaceId: 'eni-2', Description: 'ELB net/other/50dc6c495c0c9188' },
          { NetworkInterfaceId: 'eni-3', Description: 'ELB net/more/0123456789abcdef' },
        ],
      });
    mocks.serviceQuotas
      .on(GetServiceQuotaCommand, { QuotaCode: 'L-69A177A2' })
      .rejects(new NoSuchResourceException({ message: 'not applied', $metadata: {} }));
    mocks.serviceQuotas
      .on(GetAWSDefaultServiceQuotaCommand)
      .resolves({ Quota: { QuotaCode: 'L-69A177A2', Value: 50 } });
    const f = facts({}, { networkLoadBalancers: ['PrivateFrontDoorNlb'] });
    const nlb = (await checkNetworkQuotas(ctx(f))).find((r) => r.name === 'nlb-quota')!;
    expect(formatLine(nlb)).toBe(
      'PASS nlb-quota: 2 of 50 network load balancers in use in eu-west-1, the stack adds 1',
    );
  });

  test('an update adds only what the stack does not hold yet', async () => {
    readyAccount();
    const stack: StackState = {
      exists: true,
      known: true,
      status: 'UPDATE_COMPLETE',
      resources: new Map([
        ['NetworkVpc7FB7348F', { type: 'AWS::EC2::VPC', physicalId: 'vpc-0abc' }],
      ]),
    };
    const vpc = (await checkNetworkQuotas(ctx(facts(), stack)))[0];
    expect(formatLine(vpc)).toBe("PASS vpc-quota: the stack's 1 VPC exist already");
    expect(mocks.ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
  });

  test('AccessDenied on the quota names servicequotas:GetServiceQuota', async () => {
    readyAccount();
    mocks.serviceQuotas
      .on(GetServiceQuotaCommand)
      .rejects(accessDenied('servicequotas:GetServiceQuota'));
    const vpc = (await checkNetworkQuotas(ctx()))[0];
    expect(formatLine(vpc)).toBe(
      `FAIL vpc-quota: access denied: the caller may not call servicequotas:GetServiceQuota | fix: allow servicequotas:GetServiceQuota for the caller (every action preflight needs: ${DOCS})`,
    );
  });

  test('kms-keys: pages through ListKeys', async () => {
    readyAccount();
    mocks.kms
      .on(ListKeysCommand)
      .resolvesOnce({
        Keys: Array.from({ length: 1000 }, (_, i) => ({ KeyId: `k${i}` })),
        Truncated: true,
        NextMarker: 'm1',
      })
      .resolvesOnce({ Keys: [{ KeyId: 'last' }], Truncated: false });
    expect(lines(await checkKmsKeys(ctx()))).toEqual([
      'PASS kms-keys: 1001 keys in eu-west-1 (AWS managed keys included), the stack adds 6, quota 100000',
    ]);
    expect(mocks.kms.commandCalls(ListKeysCommand)[1].args[0].input).toEqual({
      Limit: 1000,
      Marker: 'm1',
    });
  });

  test('kms-keys: fails at the quota', async () => {
    readyAccount();
    mocks.serviceQuotas
      .on(GetServiceQuotaCommand, { QuotaCode: 'L-C2F1777E' })
      .resolves({ Quota: { Value: 5 } });
    expect(lines(await checkKmsKeys(ctx()))).toEqual([
      'FAIL kms-keys: 3 keys in eu-west-1 (AWS managed keys included), the stack adds 6, quota 5 | fix: schedule unused keys for deletion, or ask for "Customer managed keys" (Service Quotas kms L-C2F1777E) of at least 9',
    ]);
  });
});

// ------------------------------------------------------------------------ CLI

describe('the CLI', () => {
  function deps(overrides: Partial<MainDeps> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const d: MainDeps = {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      cdkContext: () => ({ region: '', account: '' }),
      defaultRegion: async () => REGION,
      createClients: () => clients,
      loadFacts: () => facts(),
      now: () => NOW,
      ...overrides,
    };
    return { d, out, err };
  }

  test('a ready account: every line, exit code 0', async () => {
    readyAccount();
    const { d, out } = deps();
    expect(await main([], d)).toBe(0);
    expect(out).toEqual([
      `Preflight of stack Ephemera in ${ACCOUNT}, eu-west-1 (template: synthesized)`,
      `PASS credentials: account ${ACCOUNT} as arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`,
      'PASS stack: Ephemera does not exist in eu-west-1 yet: the deploy creates it',
      'PASS bootstrap: version 30 (/cdk-bootstrap/hnb659fds/version); the template needs 6 or later',
      'PASS lambda-concurrency: the stack reserves 67 concurrent executions of 1000 unreserved (limit 1000); 933 stay unreserved, at least 100 needed',
      'SKIP apigateway-cloudwatch-role: frontDoorKind is alb: no REST API',
      'PASS bedrock-model: amazon.nova-lite-v1:0: offered on demand in eu-west-1; model access granted',
      'PASS bedrock-model: amazon.nova-canvas-v1:0: offered on demand in eu-west-1; model access granted',
      'PASS bedrock-model: amazon.titan-embed-text-v2:0: offered on demand in eu-west-1; model access granted',
      'PASS certificate: ISSUED until 2027-06-01 for api.example.com',
      `PASS hosted-zone: ${ZONE} is the public zone example.com`,
      'PASS vpc-quota: 1 of 5 VPCs in use in eu-west-1, the stack adds 1',
      'PASS interface-endpoint-quota: the stack creates 6 interface endpoints in its VPC, quota 50',
      'SKIP eip-quota: the stack creates no Elastic IPs',
      'SKIP nlb-quota: the stack creates no network load balancers',
      'PASS alb-quota: 0 of 50 application load balancers in use in eu-west-1, the stack adds 1',
      'PASS kms-keys: 3 keys in eu-west-1 (AWS managed keys included), the stack adds 6, quota 100000',
      '13 passed, 0 failed, 0 warnings, 3 skipped: ready for cdk deploy',
    ]);
  });

  test('a failing check: exit code 1', async () => {
    readyAccount();
    mocks.lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    const { d, out } = deps();
    expect(await main(['--region', REGION], d)).toBe(1);
    expect(out.filter((l) => l.startsWith('FAIL'))).toHaveLength(1);
    expect(out[out.length - 1]).toBe(
      '12 passed, 1 failed, 0 warnings, 3 skipped: fix the FAIL lines before cdk deploy',
    );
  });

  test('AccessDenied everywhere: FAIL lines naming each permission, no stack trace', async () => {
    mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: 'arn' });
    const denying: Array<{ onAnyCommand(): { rejects(error: Error): unknown } }> = [
      mocks.cloudformation,
      mocks.ssm,
      mocks.lambda,
      mocks.bedrock,
      mocks.acm,
      mocks.route53,
      mocks.serviceQuotas,
      mocks.ec2,
      mocks.kms,
    ];
    for (const m of denying) {
      m.onAnyCommand().rejects(awsError('AccessDeniedException', 'not authorized'));
    }
    mocks.ec2.onAnyCommand().rejects(awsError('UnauthorizedOperation', 'You are not authorized'));
    const { d, out } = deps();
    expect(await main([], d)).toBe(1);
    const fails = out.filter((l) => l.startsWith('FAIL'));
    expect(fails.map((l) => /may not call (\S+) \|/.exec(l)?.[1])).toEqual([
      'cloudformation:DescribeStacks',
      'ssm:GetParameter',
      'lambda:GetAccountSettings',
      'bedrock:ListFoundationModels',
      'bedrock:ListFoundationModels',
      'bedrock:ListFoundationModels',
      'acm:DescribeCertificate',
      'route53:GetHostedZone',
      'servicequotas:GetServiceQuota',
      'servicequotas:GetServiceQuota',
      'servicequotas:GetServiceQuota',
      'kms:ListKeys',
    ]);
    expect(out.join('\n')).not.toMatch(/\n\s+at /);
  });

  test('no credentials: the rest is skipped, exit code 1', async () => {
    mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(
        awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      );
    const { d, out } = deps();
    expect(await main([], d)).toBe(1);
    expect(out[1]).toBe(
      'FAIL credentials: no valid AWS credentials (CredentialsProviderError) | fix: sign in (aws sso login, or set AWS_PROFILE or --profile) and run preflight again',
    );
    expect(out[2]).toBe('SKIP stack: not checked: the credentials check failed');
    expect(out[out.length - 1]).toBe(
      '0 passed, 1 failed, 0 warnings, 13 skipped: fix the FAIL lines before cdk deploy',
    );
  });

  test('a configuration that does not synthesize: a FAIL line without the secret, exit code 1', async () => {
    readyAccount();
    const { d, out } = deps({
      loadFacts: (req) =>
        templateFileFacts(path.join(ROOT, 'package.json'), req.overrides, req.region),
    });
    const code = await main(
      [
        '-c',
        'upstream=openai-compatible',
        '-c',
        'upstreamBaseUrl=https://user:hunter2@llm.example.com',
      ],
      d,
    );
    expect(code).toBe(1);
    expect(out[2]).toMatch(
      /^FAIL synth: the app does not synthesize: Invalid Ephemera configuration/,
    );
    expect(out[2]).toContain(
      '| fix: fix the configuration (docs/configuration.md), then run preflight again',
    );
    expect(out.join('\n')).not.toContain('hunter2');
  });

  test("the region: --region, else -c region, else cdk.json, else the profile's", async () => {
    readyAccount();
    const seen: string[] = [];
    const run = async (argv: string[], cdk: Record<string, unknown> = {}) => {
      const { d } = deps({
        cdkContext: () => cdk,
        createClients: (region) => {
          seen.push(region);
          return clients;
        },
        loadFacts: (req) => {
          seen.push(`synth ${req.overrides.region} ${req.overrides.account}`);
          return facts();
        },
      });
      await main(argv, d);
    };
    await run(['--region', 'eu-central-1']);
    await run(['-c', 'region=eu-north-1']);
    await run([], { region: 'eu-west-3' });
    await run([]);
    expect(seen).toEqual([
      'eu-central-1',
      `synth eu-central-1 ${ACCOUNT}`,
      'eu-north-1',
      `synth eu-north-1 ${ACCOUNT}`,
      'eu-west-3',
      `synth eu-west-3 ${ACCOUNT}`,
      REGION,
      `synth ${REGION} ${ACCOUNT}`,
    ]);
  });

  test('usage errors: exit code 2; --help: 0', async () => {
    const bad = deps();
    expect(await main(['--bogus'], bad.d)).toBe(2);
    expect(bad.err[0]).toMatch(/^error: Unknown option '--bogus'/);
    const pair = deps();
    expect(await main(['-c', 'novalue'], pair.d)).toBe(2);
    expect(pair.err[0]).toBe("error: -c needs key=value (got 'novalue')");
    const help = deps();
    expect(await main(['--help'], help.d)).toBe(0);
    expect(help.out[0]).toMatch(/^Usage: npm run preflight --/);
    expect(() => parsePreflightArgs(['--region', 'eu-west-1', '-c', 'region=us-east-1'])).toThrow(
      UsageError,
    );
    expect(parsePreflightArgs(['-c', 'a=b=c', '--context', 'x=1', '--profile', 'p'])).toEqual({
      help: false,
      context: { a: 'b=c', x: '1' },
      region: undefined,
      profile: 'p',
      template: undefined,
    });
  });
});

// ------------------------------------------------------------------ read-only

describe('read-only', () => {
  /** Every command a check may send: Get, List and Describe only. */
  const READ_ONLY = new Set([
    'GetCallerIdentityCommand',
    'DescribeStacksCommand',
    'ListStackResourcesCommand',
    'GetParameterCommand',
    'GetAccountSettingsCommand',
    'GetFunctionConcurrencyCommand',
    'GetAccountCommand',
    'ListFoundationModelsCommand',
    'GetFoundationModelAvailabilityCommand',
    'GetInferenceProfileCommand',
    'DescribeRegionsCommand',
    'DescribeCertificateCommand',
    'GetHostedZoneCommand',
    'GetServiceQuotaCommand',
    'GetAWSDefaultServiceQuotaCommand',
    'DescribeVpcsCommand',
    'DescribeAddressesCommand',
    'DescribeNetworkInterfacesCommand',
    'ListKeysCommand',
  ]);

  test('the commands every test above sent are a subset of the read-only allowlist', () => {
    expect(sent.size).toBeGreaterThan(10);
    expect([...sent].filter((c) => !READ_ONLY.has(c))).toEqual([]);
    expect([...READ_ONLY].filter((c) => !/^(Get|List|Describe)[A-Za-z]+Command$/.test(c))).toEqual(
      [],
    );
  });

  test('the checks import no other SDK command', () => {
    const source = fs.readFileSync(path.join(ROOT, 'bin/preflight/checks.ts'), 'utf8');
    const imported = [...source.matchAll(/\b([A-Z][A-Za-z]+Command)\b/g)].map((m) => m[1]);
    expect([...new Set(imported)].filter((c) => !READ_ONLY.has(c))).toEqual([]);
  });

  test('IAM_ACTIONS are the actions the checks call, and docs/deploy.md lists exactly them', () => {
    const source = fs.readFileSync(path.join(ROOT, 'bin/preflight/checks.ts'), 'utf8');
    const called = new Set(
      [...source.matchAll(/call\(\s*'([a-z0-9-]+:[A-Za-z]+)'/g)].map((m) => m[1]),
    );
    expect([...called].sort()).toEqual([...IAM_ACTIONS].sort());
    const docs = fs.readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Before you deploy: npm run preflight'));
    const policy = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(policy).toBeDefined();
    const actions = (
      JSON.parse(policy!) as { Statement: Array<{ Action: string[] }> }
    ).Statement.flatMap((s) => s.Action);
    expect([...actions].sort()).toEqual([...IAM_ACTIONS].sort());
  });
});
