import { CfnOutput, CfnParameter, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EphemeraConfig, type EphemeraStackProps, readConfig } from './config';

export type { EphemeraStackProps } from './config';
import { stackRegionProblem } from './core/bedrock-regions';
import { RECEIPT_STORES, type ReceiptExclusion } from './core/receipt-scope';
import { AdminApi } from './admin-api';
import { addApiKeyOutputs } from './api-key-outputs';
import { ConfigBucket } from './config-bucket';
import { PrivateFrontDoor } from './private-front-door';
import { ReceiptWebhook } from './receipt-webhook';
import { CustomerErasure } from './customer-erasure';
import { DataKeys } from './data-keys';
import { IncidentResponse } from './incident-response';
import { FunctionDefaults } from './hardened-function';
import { GatewayUpstream, InferenceGateway } from './inference-gateway';
import { IsolatedNetwork } from './isolated-network';
import { checkStackProps } from './known-names';
import { MetadataStore } from './metadata-store';
import { ShortTtlImageBucket } from './short-ttl-image-bucket';
import {
  API_STAGE_NAME,
  ApiAccessLogFields,
  ApiEndpointAccess,
  StreamingFrontDoor,
  type StreamingFrontDoorProps,
} from './streaming-front-door';
import { TlsLoadBalancer } from './tls-load-balancer';
import { Watchdog } from './watchdog';

/**
 * The whole Ephemera deployment: keys, network, stores, load balancer and
 * incident response, configured from `cdk.json` context. Synthesizes with no
 * AWS account and no network (no context lookups).
 */
export class EphemeraStack extends Stack {
  public readonly config: EphemeraConfig;
  public readonly keys: DataKeys;
  public readonly network: IsolatedNetwork;
  public readonly store: MetadataStore;
  public readonly images: ShortTtlImageBucket;
  /** The TLS load balancer (frontDoorKind `alb`). */
  public readonly frontDoor?: TlsLoadBalancer;
  /** The PrivateLink path to `frontDoor` (frontDoorKind `alb`, frontDoor `private` or `both`). */
  public readonly privateFrontDoor?: PrivateFrontDoor;
  /** The public REST API (frontDoorKind `api-gateway`, frontDoor `public` or `both`). */
  public readonly streamingFrontDoor?: StreamingFrontDoor;
  /** The private REST API (frontDoorKind `api-gateway`, frontDoor `private` or `both`). */
  public readonly privateStreamingFrontDoor?: StreamingFrontDoor;
  public readonly configBucket: ConfigBucket;
  /** Delivers each erasure receipt to `receiptWebhookUrl`, when one is configured. */
  public readonly receiptWebhook?: ReceiptWebhook;
  public readonly incidents: IncidentResponse;
  public readonly gateway: InferenceGateway;
  public readonly erasure: CustomerErasure;
  public readonly admin: AdminApi;
  public readonly watchdog: Watchdog;
  /**
   * What every construct that creates a function is given (network, logs
   * key and retention, concurrency switch, removal policy, alarms), built
   * once from the configuration: pass it to a function construct of your own
   * in this stack to run it as Ephemera's run.
   */
  public readonly functionDefaults: FunctionDefaults;

  constructor(scope: Construct, id: string, props: EphemeraStackProps = {}) {
    // Names TypeScript does not check (JavaScript callers) are refused, not ignored.
    super(scope, id, checkStackProps(props));
    const config = (this.config = props.config ?? readConfig(this));
    this.checkRegion(config);
    const alb = config.frontDoorKind === 'alb';

    // Aliases are account-wide names: `alias/<stack name in lower case>/...`.
    this.keys = new DataKeys(this, 'DataKeys', {
      rotationPeriod: Duration.days(config.keyRotationDays),
      removalPolicy: config.removalPolicy,
    });
    this.network = this.isolatedNetwork(config);
    this.incidents = new IncidentResponse(this, 'Incidents', {
      encryptionKey: this.keys.queuesKey,
      watchedKeys: this.keys.allKeys,
      alarmEmails: config.alarmEmails,
    });
    const functions = (this.functionDefaults = {
      vpc: this.network.vpc,
      vpcSubnets: this.network.workloadSubnets,
      logsKey: this.keys.logsKey,
      logRetention: config.logRetention,
      reserveConcurrency: config.reserveConcurrency,
      removalPolicy: config.removalPolicy,
      alarms: this.incidents,
    });
    this.store = new MetadataStore(this, 'MetadataStore', {
      encryptionKey: this.keys.metadataKey,
      removalPolicy: config.removalPolicy,
    });
    this.images = new ShortTtlImageBucket(this, 'Images', {
      ...functions,
      encryptionKey: this.keys.imagesKey,
      ttl: config.imageTtl,
      sweepInterval: config.imageSweepInterval,
    });
    this.configBucket = new ConfigBucket(this, 'Config', {
      encryptionKey: this.keys.metadataKey,
      allowInsecureTrustAll: config.allowInsecureTrustAll,
      removalPolicy: config.removalPolicy,
    });
    if (alb) {
      this.frontDoor = this.loadBalancer(config);
      if (config.frontDoor !== 'public') {
        this.privateFrontDoor = this.privateLinkFrontDoor(config, this.frontDoor);
      }
    }
    const shared = { ...functions, store: this.store, configBucket: this.configBucket };
    this.gateway = new InferenceGateway(this, 'Gateway', {
      ...shared,
      listener: this.frontDoor?.httpsListener,
      responseStreaming: !alb,
      images: this.images,
      hmacKey: this.keys.hmacKey,
      upstream: this.upstream(config),
      models: config.models,
      allowedRegions: config.allowedRegions,
      remoteImageUrls: config.remoteImageUrls,
      metadataRetentionDays: config.metadataRetentionDays,
      timeout: config.gatewayTimeout,
      maxConcurrency: config.gatewayMaxConcurrency,
      // The keys the gateway takes as they are (its contract: lib/core/env/gateway.ts).
      settings: config.settings,
    });
    if (config.receiptWebhookUrl) {
      this.receiptWebhook = new ReceiptWebhook(this, 'ReceiptWebhook', {
        ...shared,
        queuesKey: this.keys.queuesKey,
        url: config.receiptWebhookUrl,
      });
    }
    this.erasure = new CustomerErasure(this, 'Erasure', {
      ...functions,
      store: this.store,
      queuesKey: this.keys.queuesKey,
      signingKey: this.keys.signingKey,
      images: this.images,
      receiptExcludes: this.accessLogExclusions(config),
      receiptQueue: this.receiptWebhook,
      gatewayTimeout: config.gatewayTimeout,
    });
    this.admin = new AdminApi(this, 'Admin', {
      ...shared,
      listener: this.frontDoor?.httpsListener,
      hmacKey: this.keys.hmacKey,
      erasure: this.erasure,
      metadataRetentionDays: config.metadataRetentionDays,
      maxKeyAge: Duration.days(config.maxKeyAgeDays),
      gatewayTimeout: config.gatewayTimeout,
    });
    this.watchdog = new Watchdog(this, 'Watchdog', shared);

    if (!alb) {
      if (config.frontDoor !== 'private') this.streamingFrontDoor = this.publicApi(config);
      if (config.frontDoor !== 'public') this.privateStreamingFrontDoor = this.privateApi(config);
    }
    if (this.frontDoor) this.loadBalancerRecordAndOutputs(config, this.frontDoor);
    this.addOutputs();
  }

  /** The VPC, with the acknowledgement of internet egress when the configuration opts in. */
  private isolatedNetwork(config: EphemeraConfig): IsolatedNetwork {
    const network = new IsolatedNetwork(this, 'Network', {
      maxAzs: config.maxAzs,
      cidr: config.vpcCidr,
      logsKey: this.keys.logsKey,
      flowLogRetention: config.logRetention,
      // API Gateway is reached outside the VPC: the VPC needs no public subnets for it.
      publicIngress: config.frontDoor !== 'private' && config.frontDoorKind === 'alb',
      allowInternetEgress: config.allowInternetEgress,
      removalPolicy: config.removalPolicy,
    });
    if (config.allowInternetEgress) {
      // The operator opted in through configuration; the summary still shows
      // the warning, with this reason, on every synth.
      Validations.of(network).acknowledge({
        id: 'ephemera:internet-egress',
        reason:
          'allowInternetEgress=true was set in the configuration for a model upstream outside AWS; traffic to it leaves the VPC through NAT.',
      });
    }
    return network;
  }

  /** Access logs hold URLs and client IPs that erasure cannot reach: every receipt says so. */
  private accessLogExclusions(config: EphemeraConfig): ReceiptExclusion[] {
    if (!config.accessLogs) return [];
    return [
      {
        store:
          config.frontDoorKind === 'alb'
            ? RECEIPT_STORES.loadBalancerAccessLogs
            : RECEIPT_STORES.apiGatewayAccessLogs,
        retentionDays: config.accessLogRetentionDays,
      },
    ];
  }

  /** The stack's outputs other than the endpoints': what operators and the keys CLI read. */
  private addOutputs(): void {
    new CfnOutput(this, 'ConfigBucketName', { value: this.configBucket.bucket.bucketName });
    // What the keys CLI reads (`ephemera-keys --stack <this stack>`).
    addApiKeyOutputs(this, { keyTable: this.store.keyTable, hmacKey: this.keys.hmacKey });
    new CfnOutput(this, 'ImageBucketName', { value: this.images.bucket.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.incidents.topic.topicArn });
    new CfnOutput(this, 'ReceiptSigningKeyId', {
      value: this.keys.signingKey.keyArn,
      description: 'Verifies erasure receipts: aws kms get-public-key --key-id <this>',
    });
  }

  /** The TLS load balancer. */
  private loadBalancer(config: EphemeraConfig): TlsLoadBalancer {
    const internetFacing = config.frontDoor !== 'private';
    return new TlsLoadBalancer(this, 'FrontDoor', {
      vpc: this.network.vpc,
      // An internal load balancer sits with the workloads (isolated, or
      // private-with-egress when allowInternetEgress is on).
      vpcSubnets: internetFacing ? undefined : this.network.workloadSubnets,
      certificate: this.certificate(config),
      internetFacing,
      tlsVersions: config.tlsVersions,
      fips: config.fips,
      httpRedirect: config.httpRedirect,
      // Private: only the PrivateLink NLB, plus any ranges configured.
      allowedCidrs: config.allowedCidrs ?? (internetFacing ? undefined : []),
      webAclArn: config.webAclArn,
      accessLogs: config.accessLogs,
      accessLogRetention: Duration.days(config.accessLogRetentionDays),
      // Longer than the longest request, so a slow completion is not cut off.
      idleTimeout: config.gatewayTimeout.plus(Duration.seconds(10)),
      removalPolicy: config.removalPolicy,
    });
  }

  /** The PrivateLink path to the load balancer (frontDoor `private` or `both`). */
  private privateLinkFrontDoor(
    config: EphemeraConfig,
    loadBalancer: TlsLoadBalancer,
  ): PrivateFrontDoor {
    return new PrivateFrontDoor(this, 'PrivateFrontDoor', {
      loadBalancer,
      vpcSubnets: this.network.workloadSubnets,
      allowedPrincipals: config.endpointServicePrincipals,
      privateDnsName: config.domainName,
      verificationZone:
        config.domainName && config.hostedZoneId ? this.hostedZone(config) : undefined,
    });
  }

  /** The load balancer's DNS record (public only) and the outputs that name its endpoints. */
  private loadBalancerRecordAndOutputs(
    config: EphemeraConfig,
    loadBalancer: TlsLoadBalancer,
  ): void {
    const internetFacing = config.frontDoor !== 'private';
    // A private front door publishes no public record: consumers resolve the
    // name through their endpoint's private DNS.
    if (config.domainName && config.hostedZoneId && internetFacing) {
      new route53.ARecord(this, 'ApiRecord', {
        zone: this.hostedZone(config),
        recordName: config.domainName,
        target: route53.RecordTarget.fromAlias(
          new route53Targets.LoadBalancerTarget(loadBalancer.loadBalancer),
        ),
      });
    }
    new CfnOutput(this, 'ApiEndpoint', {
      value: `https://${config.domainName ?? loadBalancer.loadBalancer.loadBalancerDnsName}`,
    });
    if (this.privateFrontDoor) {
      new CfnOutput(this, 'EndpointServiceName', {
        value: this.privateFrontDoor.serviceName,
        description:
          'Consumers create an interface VPC endpoint to this service; accept each connection request (aws ec2 accept-vpc-endpoint-connections)',
      });
    }
  }

  /** What the public and private REST APIs share (frontDoorKind api-gateway). */
  private apiProps(config: EphemeraConfig): StreamingFrontDoorProps {
    return {
      // The constructs themselves: the integration's timeout is the gateway's own.
      gateway: this.gateway,
      admin: this.admin,
      logsKey: this.keys.logsKey,
      // One account setting per stack, shared by the public and private APIs.
      accountRole: config.apiGatewayAccountRole,
      tlsVersions: config.tlsVersions,
      fips: config.fips,
      webAclArn: config.webAclArn,
      // The stage admits no more at once than the gateway's reserved concurrency.
      throttlingBurstLimit: config.gatewayMaxConcurrency,
      throttlingRateLimit: config.gatewayMaxConcurrency,
      accessLogFields: config.accessLogs
        ? ApiAccessLogFields.WITH_CLIENT
        : ApiAccessLogFields.METADATA,
      accessLogRetention: config.accessLogs
        ? (config.accessLogRetentionDays as logs.RetentionDays)
        : config.logRetention,
      removalPolicy: config.removalPolicy,
    };
  }

  /** The public REST API, on the custom domain when one is configured. */
  private publicApi(config: EphemeraConfig): StreamingFrontDoor {
    const api = new StreamingFrontDoor(this, 'StreamingFrontDoor', {
      ...this.apiProps(config),
      access: ApiEndpointAccess.PUBLIC,
      domain: config.domainName
        ? { domainName: config.domainName, certificate: this.certificate(config) }
        : undefined,
      allowedCidrs: config.allowedCidrs,
    });
    if (api.domainName && config.hostedZoneId) {
      new route53.ARecord(this, 'ApiRecord', {
        zone: this.hostedZone(config),
        recordName: config.domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.ApiGatewayDomain(api.domainName)),
      });
    }
    new CfnOutput(this, 'ApiEndpoint', {
      value: api.url,
      description: 'The API base URL: OpenAI clients use <this>v1',
    });
    return api;
  }

  /** The private REST API, reached through the callers' execute-api VPC endpoints. */
  private privateApi(config: EphemeraConfig): StreamingFrontDoor {
    const api = new StreamingFrontDoor(this, 'PrivateStreamingFrontDoor', {
      ...this.apiProps(config),
      access: ApiEndpointAccess.PRIVATE,
      vpcEndpointIds: config.apiVpcEndpointIds,
    });
    new CfnOutput(this, 'PrivateApiId', {
      value: api.api.restApiId,
      description: `Callers with private DNS on their execute-api endpoint use https://<this>.execute-api.<region>.amazonaws.com/${API_STAGE_NAME}/v1; otherwise https://<this>-<vpce id>.execute-api.<region>.amazonaws.com/${API_STAGE_NAME}/v1`,
    });
    return api;
  }

  private upstream(config: EphemeraConfig): GatewayUpstream {
    const u = config.upstream;
    if (u.kind === 'bedrock') return u;
    return {
      kind: u.kind,
      baseUrl: u.baseUrl,
      // The complete ARN (so the IAM grant matches the secret exactly) and, for
      // a secret under a customer-managed key, that key (so the grant includes
      // kms:Decrypt through Secrets Manager).
      credentials: u.secretArn
        ? secretsmanager.Secret.fromSecretAttributes(this, 'UpstreamSecret', {
            secretCompleteArn: u.secretArn,
            encryptionKey: u.secretKmsKeyArn
              ? kms.Key.fromKeyArn(this, 'UpstreamSecretKey', u.secretKmsKeyArn)
              : undefined,
          })
        : undefined,
    };
  }

  private checkRegion(config: EphemeraConfig): void {
    const problem = stackRegionProblem(
      config.allowedRegions,
      Token.isUnresolved(this.region) ? undefined : this.region,
    );
    if (problem) throw new Error(problem);
  }

  private zone?: route53.IHostedZone;
  private hostedZone(config: EphemeraConfig): route53.IHostedZone {
    this.zone ??= route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: config.hostedZoneId!,
      zoneName: config.hostedZoneName!,
    });
    return this.zone;
  }

  /**
   * The listener certificate: an existing one by ARN; else a new DNS-validated
   * certificate when a domain and hosted zone are configured; else a
   * CloudFormation parameter the deployer must fill in, so that synth needs no
   * account and no lookup.
   */
  private certificate(config: EphemeraConfig): acm.ICertificate {
    if (config.certificateArn) {
      return acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn);
    }
    if (config.domainName && config.hostedZoneId) {
      return new acm.Certificate(this, 'Certificate', {
        domainName: config.domainName,
        validation: acm.CertificateValidation.fromDns(this.hostedZone(config)),
      });
    }
    const param = new CfnParameter(this, 'CertificateArn', {
      type: 'String',
      description:
        'ARN of the ACM certificate for the HTTPS listener (or set certificateArn in cdk.json)',
      allowedPattern: '^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$',
      constraintDescription: 'must be an ACM certificate ARN',
    });
    return acm.Certificate.fromCertificateArn(this, 'Certificate', param.valueAsString);
  }
}
