import { Annotations, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeInlinePolicy, acknowledgeShortLogRetention } from './private/acknowledgements';
import {
  parseIpv4Cidr,
  prefixFor,
  PUBLIC_SUBNET_PREFIX,
  vpcAddressesNeeded,
  VPC_CIDR_RULE,
  WORKLOAD_SUBNET_PREFIX,
} from './core/rules';
import { PropsValidator } from './private/validation';

export interface IsolatedNetworkProps {
  /**
   * Number of Availability Zones (1 to 6). More than 2 needs a stack with an
   * explicit account and region: without both, CDK knows of only 2 AZs. One
   * zone suits a non-production stack without a load balancer (which needs
   * two): half the interface-endpoint cost, no zone redundancy.
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * IPv4 range of the VPC.
   * @default '10.40.0.0/16'
   */
  readonly cidr?: string;

  /** Key that encrypts the flow-log group (the project's logs key). */
  readonly logsKey: kms.IKey;

  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * Add public subnets with an internet gateway, for an internet-facing load
   * balancer only. Workloads stay in isolated subnets with no route out.
   * @default false
   */
  readonly publicIngress?: boolean;

  /**
   * Give workloads a route to the internet through NAT gateways, for a model
   * upstream outside AWS. Adds a warning annotation: traffic then leaves the VPC.
   * @default false
   */
  readonly allowInternetEgress?: boolean;

  /**
   * What happens to the flow-log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Interface endpoints every Ephemera deployment uses. */
const INTERFACE_ENDPOINTS: ReadonlyArray<[string, ec2.InterfaceVpcEndpointAwsService]> = [
  ['Kms', ec2.InterfaceVpcEndpointAwsService.KMS],
  ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
  ['Sqs', ec2.InterfaceVpcEndpointAwsService.SQS],
  ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
  ['Sts', ec2.InterfaceVpcEndpointAwsService.STS],
  ['BedrockRuntime', ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME],
];

/**
 * A VPC whose workloads reach AWS services only through VPC endpoints (P9):
 * isolated subnets in 2+ AZs, no internet gateway and no NAT by default,
 * gateway endpoints for S3 and DynamoDB and interface endpoints for KMS,
 * CloudWatch Logs, SQS, Secrets Manager, STS and Bedrock runtime, each with a
 * policy limited to principals (and, where the service has account-owned
 * resources, resources) of this account; flow logs to an encrypted log group
 * with bounded retention.
 */
export class IsolatedNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  /** Subnets where functions run. */
  public readonly workloadSubnets: ec2.SubnetSelection;
  /** The flow-log group. */
  public readonly flowLogGroup: logs.LogGroup;
  /** Interface endpoints by service name (`Kms`, `Logs`, `Sqs`, ...). */
  public readonly interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpoint> = {};

  constructor(scope: Construct, id: string, props: IsolatedNetworkProps) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    const cidr = props.cidr ?? '10.40.0.0/16';
    new PropsValidator('IsolatedNetwork')
      .integer('maxAzs', maxAzs, 1, 6)
      .rule('cidr', cidr, VPC_CIDR_RULE, { showValue: true })
      .throwIfInvalid();

    const knownAzs = Stack.of(this).availabilityZones.length;
    new PropsValidator('IsolatedNetwork')
      .check(
        maxAzs <= knownAzs,
        `maxAzs is ${maxAzs} but the stack knows only ${knownAzs} Availability Zones: give the stack an explicit account and region (env) to use more than ${knownAzs}`,
      )
      .throwIfInvalid();

    const allowEgress = props.allowInternetEgress ?? false;
    const publicIngress = props.publicIngress ?? false;
    const needed = vpcAddressesNeeded(maxAzs, publicIngress || allowEgress);
    const prefix = parseIpv4Cidr(cidr)?.prefix ?? 0;
    new PropsValidator('IsolatedNetwork')
      .check(
        2 ** (32 - prefix) >= needed,
        `cidr /${prefix} is too small for ${maxAzs} Availability Zones${publicIngress || allowEgress ? ' with public subnets' : ''}: each zone takes a /${WORKLOAD_SUBNET_PREFIX}${publicIngress || allowEgress ? ` and a /${PUBLIC_SUBNET_PREFIX}` : ''}, so use /${prefixFor(needed)} or larger (a smaller prefix number)`,
      )
      .throwIfInvalid();
    const workloadType = allowEgress
      ? ec2.SubnetType.PRIVATE_WITH_EGRESS
      : ec2.SubnetType.PRIVATE_ISOLATED;
    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      { name: 'workload', subnetType: workloadType, cidrMask: WORKLOAD_SUBNET_PREFIX },
    ];
    if (publicIngress || allowEgress) {
      subnetConfiguration.push({
        name: 'ingress',
        subnetType: ec2.SubnetType.PUBLIC,
        cidrMask: PUBLIC_SUBNET_PREFIX,
        // Only load balancers live here; nothing gets a public IP by default.
        mapPublicIpOnLaunch: false,
      });
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs,
      natGateways: allowEgress ? maxAzs : 0,
      subnetConfiguration,
      // Closing the default security group needs a custom resource; no
      // resource in this stack uses the default group.
      restrictDefaultSecurityGroup: false,
      gatewayEndpoints: {},
    });
    this.workloadSubnets = { subnetType: workloadType };
    if (allowEgress) {
      Annotations.of(this).addWarningV2(
        'ephemera:internet-egress',
        'allowInternetEgress is on: functions can reach the internet through NAT gateways, ' +
          'so traffic to the model upstream leaves the VPC (P9). Prefer an upstream inside the VPC.',
      );
    }

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.logsKey,
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
      maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
    });

    const account = Stack.of(this).account;
    const thisAccountOnly = (withResourceAccount: boolean) =>
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['*'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'aws:PrincipalAccount': account,
            ...(withResourceAccount ? { 'aws:ResourceAccount': account } : {}),
          },
        },
      });

    for (const [name, service] of [
      ['S3', ec2.GatewayVpcEndpointAwsService.S3],
      ['DynamoDb', ec2.GatewayVpcEndpointAwsService.DYNAMODB],
    ] as const) {
      const endpoint = this.vpc.addGatewayEndpoint(name, {
        service,
        subnets: [this.workloadSubnets],
      });
      endpoint.addToPolicy(thisAccountOnly(true));
    }

    for (const [name, service] of INTERFACE_ENDPOINTS) {
      // HTTPS from inside the VPC only; the CIDR is a literal so rule packs can read it.
      const securityGroup = new ec2.SecurityGroup(this, `${name}EndpointSg`, {
        vpc: this.vpc,
        description: `Ephemera ${name} endpoint: HTTPS from the VPC`,
        allowAllOutbound: false,
      });
      securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.workloadSubnets,
        privateDnsEnabled: true,
        securityGroups: [securityGroup],
        open: false,
      });
      // Foundation models and STS have no account-owned resource to match.
      endpoint.addToPolicy(thisAccountOnly(name !== 'BedrockRuntime' && name !== 'Sts'));
      this.interfaceEndpoints[name] = endpoint;
    }

    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    const defaultSg =
      'No resource in this stack uses the VPC default security group (every ENI has its own group); closing it needs a Lambda-backed custom resource, so it is enforced at account level (Security Hub EC2.2) instead.';
    Validations.of(this.vpc).acknowledge(
      { id: 'HIPAA.Security-VPCDefaultSecurityGroupClosed', reason: defaultSg },
      { id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason: defaultSg },
      { id: 'PCI.DSS.321-VPCDefaultSecurityGroupClosed', reason: defaultSg },
    );
    const igwRoute =
      'Public subnets exist only when the API is internet-facing (frontDoor public or both) or NAT egress was configured, and hold only the load balancer and NAT gateways; workload subnets have no route to the internet gateway.';
    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (!route) continue;
      Validations.of(route).acknowledge(
        { id: 'HIPAA.Security-VPCNoUnrestrictedRouteToIGW', reason: igwRoute },
        { id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: igwRoute },
        { id: 'PCI.DSS.321-VPCNoUnrestrictedRouteToIGW', reason: igwRoute },
      );
    }
    acknowledgeShortLogRetention(this.flowLogGroup);
    const flowLogRole = this.vpc.node.tryFindChild('FlowLog')?.node.tryFindChild('IAMRole');
    if (flowLogRole) acknowledgeInlinePolicy(flowLogRole, 'the VPC flow log delivery role');
  }
}
