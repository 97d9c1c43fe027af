import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { newMinimisedBucket } from './private/minimised-bucket';
import { CIDR_LIST_RULE, WEB_ACL_ARN_RULE } from './core/rules';
import { PropsValidator } from './private/validation';

/** Which TLS versions the HTTPS listener accepts. */
export enum TlsVersions {
  /** TLS 1.3 preferred, TLS 1.2 accepted (P5). */
  TLS_1_2_AND_1_3 = 'tls1.2+1.3',
  /** TLS 1.3 only: clients without TLS 1.3 cannot connect. */
  TLS_1_3_ONLY = 'tls1.3',
}

/** The ELB security policy for a TLS choice, with or without FIPS 140 modules. */
export function sslPolicyFor(versions: TlsVersions, fips: boolean): elbv2.SslPolicy {
  if (versions === TlsVersions.TLS_1_3_ONLY) {
    return fips ? elbv2.SslPolicy.FIPS_TLS13_13 : elbv2.SslPolicy.TLS13_13;
  }
  return fips ? elbv2.SslPolicy.FIPS_TLS13_12 : elbv2.SslPolicy.RECOMMENDED_TLS;
}

/** Body of the listener's default answer until a target is added. */
export const NOT_FOUND_BODY = JSON.stringify({
  error: {
    message: 'No route for this path',
    type: 'invalid_request_error',
    param: null,
    code: null,
  },
});

export interface TlsLoadBalancerProps {
  readonly vpc: ec2.IVpc;

  /** Certificate of the HTTPS listener. */
  readonly certificate: acm.ICertificate;

  /**
   * Subnets of the load balancer.
   * @default - public subnets when internet-facing, otherwise isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Reachable from the internet (needs public subnets) or only inside the VPC.
   * @default false
   */
  readonly internetFacing?: boolean;

  /**
   * TLS versions accepted by the HTTPS listener.
   * @default TlsVersions.TLS_1_2_AND_1_3
   */
  readonly tlsVersions?: TlsVersions;

  /**
   * Use the FIPS variant of the security policy.
   * @default false
   */
  readonly fips?: boolean;

  /**
   * Open port 80 and answer every request there with a permanent redirect to HTTPS.
   * @default false - port 80 is not opened at all
   */
  readonly httpRedirect?: boolean;

  /**
   * CIDR ranges allowed to connect. An internal load balancer may take an
   * empty list: then no range is admitted, only what is added through
   * `securityGroup` or `loadBalancer.connections` (a `PrivateFrontDoor`'s NLB).
   * @default - anywhere (0.0.0.0/0) when internet-facing, otherwise the VPC's CIDR
   */
  readonly allowedCidrs?: string[];

  /**
   * Idle timeout of connections; must exceed the longest completion.
   * @default Duration.seconds(60)
   */
  readonly idleTimeout?: Duration;

  /**
   * Write load-balancer access logs to a bucket of their own. They record every
   * request's URL with its query string and the client's IP address, in a
   * bucket only SSE-S3 can encrypt and that customer erasure does not reach;
   * the gateway's usage records (metadata only, erasable) are Ephemera's record
   * of every request. Turn them on only if your team wants that store.
   * @default false
   */
  readonly accessLogs?: boolean;

  /**
   * How long access logs are kept when `accessLogs` is on (1 to 400 days).
   * @default Duration.days(30)
   */
  readonly accessLogRetention?: Duration;

  /**
   * ARN of an AWS WAFv2 web ACL (REGIONAL) to associate with the load balancer.
   * @default - no web ACL
   */
  readonly webAclArn?: string;

  /**
   * Deletion protection of the load balancer.
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * What happens to the access-log bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An Application Load Balancer that speaks TLS 1.2+ only (P5): an HTTPS
 * listener with a TLS 1.3 policy, port 80 absent or a permanent redirect,
 * invalid header fields dropped, desync mitigation `strictest`, deletion
 * protection, and access logs to a dedicated bucket with bounded retention.
 *
 * The access-log bucket uses SSE-S3: ALB access logs can only be delivered
 * to buckets encrypted with S3-managed keys. It is the one store not under a
 * project CMK, and it holds request metadata only (no bodies).
 */
export class TlsLoadBalancer extends Construct {
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly httpsListener: elbv2.ApplicationListener;
  public readonly securityGroup: ec2.SecurityGroup;
  /** The access-log bucket, when `accessLogs` is on. */
  public readonly accessLogBucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: TlsLoadBalancerProps) {
    super(scope, id);
    const idleTimeout = props.idleTimeout ?? Duration.seconds(60);
    const accessLogRetention = props.accessLogRetention ?? Duration.days(30);
    const internetFacing = props.internetFacing ?? false;
    new PropsValidator('TlsLoadBalancer')
      .duration('idleTimeout', idleTimeout, Duration.seconds(1), Duration.seconds(4000))
      .duration('accessLogRetention', accessLogRetention, Duration.days(1), Duration.days(400))
      .rule('allowedCidrs', props.allowedCidrs, CIDR_LIST_RULE)
      .check(
        props.allowedCidrs === undefined || props.allowedCidrs.length > 0 || !internetFacing,
        'allowedCidrs must not be empty for an internet-facing load balancer (omit it for the default)',
      )
      .rule('webAclArn', props.webAclArn, WEB_ACL_ARN_RULE)
      .throwIfInvalid();

    if (props.accessLogs) {
      this.accessLogBucket = newMinimisedBucket(this, 'AccessLogs', {
        expiration: accessLogRetention,
        lifecycleRuleId: 'access-log-retention',
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        reasons: {
          noAccessLogs:
            'This bucket receives the load balancer access logs; logging access to it would recurse, and its lifecycle rule bounds retention.',
          noVersions:
            'Access logs expire by lifecycle rule (bounded retention); versions or replicas would keep them past that period.',
        },
      });
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Ephemera load balancer: HTTPS in',
      allowAllOutbound: false,
    });
    const cidrs = props.allowedCidrs ?? [internetFacing ? '0.0.0.0/0' : props.vpc.vpcCidrBlock];
    for (const cidr of cidrs) {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS');
      if (props.httpRedirect) {
        this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), 'HTTP redirect');
      }
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? {
        subnetType: internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_ISOLATED,
      },
      internetFacing,
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: elbv2.DesyncMitigationMode.STRICTEST,
      deletionProtection: props.deletionProtection ?? true,
      idleTimeout,
      http2Enabled: true,
    });
    if (this.accessLogBucket) this.loadBalancer.logAccessLogs(this.accessLogBucket);

    this.httpsListener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      sslPolicy: sslPolicyFor(
        props.tlsVersions ?? TlsVersions.TLS_1_2_AND_1_3,
        props.fips ?? false,
      ),
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: NOT_FOUND_BODY,
      }),
    });

    if (props.httpRedirect) {
      const redirect = this.loadBalancer.addListener('HttpRedirect', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({
          protocol: 'HTTPS',
          port: '443',
          permanent: true,
        }),
      });
      const redirectOnly =
        'Port 80 only answers with a permanent redirect to HTTPS (EphemeraRT-ALBListenerHTTPRedirect checks it); it serves no content, and a plain-HTTP listener cannot hold a certificate.';
      Validations.of(redirect).acknowledge(
        { id: 'HIPAA.Security-ELBv2ACMCertificateRequired', reason: redirectOnly },
        { id: 'NIST.800.53.R5-ELBv2ACMCertificateRequired', reason: redirectOnly },
        { id: 'PCI.DSS.321-ELBv2ACMCertificateRequired', reason: redirectOnly },
      );
    }

    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.loadBalancer.loadBalancerArn,
        webAclArn: props.webAclArn,
      });
    }
    this.acknowledgeFindings(internetFacing, cidrs, props);
  }

  private acknowledgeFindings(
    internetFacing: boolean,
    cidrs: string[],
    props: TlsLoadBalancerProps,
  ): void {
    if (this.accessLogBucket) {
      const sseS3 =
        'ALB access logs can only be delivered to buckets encrypted with SSE-S3 (AES-256); SSE-KMS is not supported for this destination. The logs hold request metadata, never bodies.';
      Validations.of(this.accessLogBucket).acknowledge(
        { id: 'HIPAA.Security-S3DefaultEncryptionKMS', reason: sseS3 },
        { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: sseS3 },
        { id: 'PCI.DSS.321-S3DefaultEncryptionKMS', reason: sseS3 },
        { id: 'EphemeraRT-S3BucketCMK', reason: sseS3 },
        { id: 'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check', reason: sseS3 },
      );
    } else {
      const noAccessLogs =
        'Access logs are off by default (prop accessLogs): they would record every URL with its query string and every client IP in a bucket that only SSE-S3 can encrypt and that customer erasure cannot reach. The usage log (metadata only, CMK-encrypted, erasable) records every request instead.';
      Validations.of(this.loadBalancer).acknowledge(
        { id: 'AwsSolutions-ELB2', reason: noAccessLogs },
        { id: 'HIPAA.Security-ELBLoggingEnabled', reason: noAccessLogs },
        { id: 'NIST.800.53.R5-ELBLoggingEnabled', reason: noAccessLogs },
        { id: 'PCI.DSS.321-ELBLoggingEnabled', reason: noAccessLogs },
        { id: 'cdk-validator-cfnguard::elbv2_logging_enabled_check', reason: noAccessLogs },
      );
    }
    if (!internetFacing && props.allowedCidrs === undefined && Token.isUnresolved(cidrs[0])) {
      // The default rule of an internal load balancer names the VPC's CIDR
      // block by reference, which the rule packs cannot resolve at synth.
      const vpcOnly =
        "Internal load balancer: inbound traffic on 443 only, from the VPC's own CIDR block (a reference the rule packs cannot resolve at synth, so they read it as unrestricted); nothing outside the VPC can reach it.";
      Validations.of(this.securityGroup).acknowledge(
        { id: 'AwsSolutions-EC23', reason: vpcOnly },
        ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].flatMap((pack) => [
          { id: `${pack}-EC2RestrictedCommonPorts`, reason: vpcOnly },
          { id: `${pack}-EC2RestrictedSSH`, reason: vpcOnly },
        ]),
      );
    }
    if (internetFacing && cidrs.includes('0.0.0.0/0')) {
      Validations.of(this.securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'The public front door (frontDoor=public) serves an API to the internet on 443 only; every request is authenticated by API key at the gateway.',
      });
    }
    if (!props.webAclArn) {
      const noWaf =
        "No web ACL was configured (prop webAclArn): requests are authenticated by API key and bounded by the gateway's concurrency (its reservation, or the account's limit); platform teams attach their own WAF through webAclArn.";
      Validations.of(this.loadBalancer).acknowledge(
        { id: 'NIST.800.53.R5-ALBWAFEnabled', reason: noWaf },
        { id: 'PCI.DSS.321-ALBWAFEnabled', reason: noWaf },
      );
    }
  }
}
