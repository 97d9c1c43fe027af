import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as elbv2Targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { TlsLoadBalancer } from './tls-load-balancer';
import { ENDPOINT_PRINCIPALS_RULE } from './core/rules';
import { PropsValidator } from './private/validation';

/** An AWS account id, or the ARN of an account root, IAM role or IAM user. */
export { ENDPOINT_PRINCIPAL_PATTERN } from './core/rules';

/** The ARN principal for an account id (its root, in `partition`) or an IAM ARN. */
export function endpointPrincipal(principal: string, partition = 'aws'): iam.ArnPrincipal {
  return new iam.ArnPrincipal(
    /^\d{12}$/.test(principal) ? `arn:${partition}:iam::${principal}:root` : principal,
  );
}

export interface PrivateFrontDoorProps {
  /** The load balancer to offer: its HTTPS listener on 443 becomes the target. */
  readonly loadBalancer: TlsLoadBalancer;

  /**
   * Who may create an interface endpoint to the service: AWS account ids or
   * ARNs of account roots, IAM roles or IAM users (never `*`).
   */
  readonly allowedPrincipals: string[];

  /**
   * Subnets of the Network Load Balancer.
   * @default - the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Every connection request from a consumer endpoint waits until the service
   * owner accepts it, even from an allowed principal.
   * @default true
   */
  readonly acceptanceRequired?: boolean;

  /**
   * A DNS name consumers' endpoints answer to (private DNS), such as the API's
   * own domain: clients in a consumer VPC call `https://<name>` and the
   * certificate of the listener matches. The service owner must prove the
   * domain is theirs with a TXT record (see `verificationZone`).
   * @default - no private DNS: consumers call their endpoint's DNS name
   */
  readonly privateDnsName?: string;

  /**
   * The public hosted zone of `privateDnsName`, where the TXT record that
   * proves ownership of the domain is created.
   * @default - no record: create the TXT record shown by the endpoint service yourself
   */
  readonly verificationZone?: route53.IHostedZone;

  /**
   * Deletion protection of the Network Load Balancer.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The API offered to other VPCs over AWS PrivateLink, without the internet
 * (P9): an internal Network Load Balancer passes TCP on 443 through to the
 * HTTPS listener of a `TlsLoadBalancer` (so TLS still ends at the ALB, with its
 * TLS 1.3 policy and certificate), and a VPC endpoint service offers the NLB
 * to the listed principals, each connection accepted by the service owner.
 *
 * Security groups: the NLB's group admits nothing directly (its inbound rules
 * are not applied to PrivateLink traffic, which the endpoint service's
 * allow-list and acceptance govern instead) and may send only to the ALB on
 * 443; the ALB's group admits the NLB on 443.
 */
export class PrivateFrontDoor extends Construct {
  public readonly networkLoadBalancer: elbv2.NetworkLoadBalancer;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly endpointService: ec2.VpcEndpointService;
  /** The service name consumers give when they create their interface endpoint. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: PrivateFrontDoorProps) {
    super(scope, id);
    new PropsValidator('PrivateFrontDoor')
      .check(
        props.allowedPrincipals.length > 0,
        'allowedPrincipals must name at least one AWS account id or IAM ARN: nobody could connect otherwise',
      )
      // A token is refused: an account id token would become an invalid ARN principal.
      .rule('allowedPrincipals', props.allowedPrincipals, ENDPOINT_PRINCIPALS_RULE, {
        tokens: 'refuse',
      })
      .check(
        props.verificationZone === undefined || props.privateDnsName !== undefined,
        'verificationZone needs privateDnsName',
      )
      .throwIfInvalid();

    const alb = props.loadBalancer;
    const vpc = alb.loadBalancer.vpc!;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Ephemera PrivateLink NLB: TCP 443 to the load balancer only',
      allowAllOutbound: false,
    });
    this.networkLoadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      internetFacing: false,
      crossZoneEnabled: true,
      deletionProtection: props.deletionProtection ?? true,
      securityGroups: [this.securityGroup],
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
    });
    this.networkLoadBalancer.connections.allowTo(
      alb.loadBalancer,
      ec2.Port.tcp(443),
      'PrivateLink NLB to the HTTPS listener',
    );

    const listener = this.networkLoadBalancer.addListener('Tcp', {
      port: 443,
      protocol: elbv2.Protocol.TCP,
    });
    listener.addTargets('Alb', {
      port: 443,
      protocol: elbv2.Protocol.TCP,
      targets: [new elbv2Targets.AlbListenerTarget(alb.httpsListener)],
      healthCheck: {
        protocol: elbv2.Protocol.HTTPS,
        path: '/healthz',
        healthyHttpCodes: '200',
      },
    });

    this.endpointService = new ec2.VpcEndpointService(this, 'EndpointService', {
      vpcEndpointServiceLoadBalancers: [this.networkLoadBalancer],
      acceptanceRequired: props.acceptanceRequired ?? true,
      allowedPrincipals: props.allowedPrincipals.map((p) =>
        endpointPrincipal(p, Stack.of(this).partition),
      ),
    });
    this.serviceName = this.endpointService.vpcEndpointServiceName;

    if (props.privateDnsName) {
      // The L2 names its resource after itself, so it is not the default child.
      const cfn = this.endpointService.node.children.find(
        (c): c is ec2.CfnVPCEndpointService => c instanceof ec2.CfnVPCEndpointService,
      )!;
      cfn.addPropertyOverride('PrivateDnsName', props.privateDnsName);
      if (props.verificationZone) {
        new route53.TxtRecord(this, 'DomainVerification', {
          zone: props.verificationZone,
          // The verification name under the zone (a parent domain of the private DNS name counts).
          recordName: cfn.attrPrivateDnsNameConfigurationName,
          values: [cfn.attrPrivateDnsNameConfigurationValue],
        });
      }
    }
    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    const tcpPassThrough =
      'The NLB passes TCP through unopened so that TLS ends at the Application Load Balancer behind it, whose HTTPS listener holds the ACM certificate and a TLS 1.3 policy; a TLS listener here would decrypt and re-encrypt every request in a second place.';
    const listener = this.networkLoadBalancer.node.findChild('Tcp');
    Validations.of(listener).acknowledge(
      { id: 'HIPAA.Security-ELBv2ACMCertificateRequired', reason: tcpPassThrough },
      { id: 'NIST.800.53.R5-ELBv2ACMCertificateRequired', reason: tcpPassThrough },
      { id: 'PCI.DSS.321-ELBv2ACMCertificateRequired', reason: tcpPassThrough },
    );
    const noLogs =
      'NLB access logs exist only for TLS listeners; this one passes TCP through. Requests are recorded behind it by the usage log (metadata only, CMK-encrypted, erasable), and connections by the VPC flow logs.';
    Validations.of(this.networkLoadBalancer).acknowledge(
      { id: 'AwsSolutions-ELB2', reason: noLogs },
      { id: 'HIPAA.Security-ELBLoggingEnabled', reason: noLogs },
      { id: 'NIST.800.53.R5-ELBLoggingEnabled', reason: noLogs },
      { id: 'PCI.DSS.321-ELBLoggingEnabled', reason: noLogs },
      { id: 'cdk-validator-cfnguard::elbv2_logging_enabled_check', reason: noLogs },
    );
  }
}
