import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, NagPackProps, NagRuleCompliance } from 'cdk-nag';
import { IConstruct } from 'constructs';
import {
  DynamoDBTableCMK,
  LogGroupCMK,
  S3BucketCMK,
  SNSTopicCMK,
  SQSQueueCMK,
  SecretCMK,
} from './encryption-rules';
import {
  APIGatewayNoBodyLogging,
  APIGatewayStageThrottling,
  APIGatewayTLSPolicy,
} from './rest-api-rules';
import {
  DynamoDBTableTTL,
  LogGroupRetention,
  S3BucketExpiration,
  SQSQueueRetention,
  SecretRotation,
} from './retention-rules';
import {
  ALBDropInvalidHeaders,
  ALBListenerACMCertificate,
  ALBListenerHTTPRedirect,
  ELBListenerTLSPolicy,
  S3BucketTLSOnly,
} from './transport-rules';

/** One rule of the pack: its id suffix, the check, and the words shown on a finding. */
export interface RetentionTransportRule {
  /** Suffix of the rule id; the full id is `EphemeraRT-<suffix>`. */
  readonly suffix: string;
  /** The check, a pure function of one resource. */
  readonly rule: (node: CfnResource) => NagRuleCompliance;
  /** Why the rule was triggered. */
  readonly info: string;
  /** Why the rule exists. */
  readonly explanation: string;
}

const ACKNOWLEDGE =
  'If the resource is meant to be this way, acknowledge the finding on it with ' +
  'Validations.of(construct).acknowledge({ id, reason }).';

/** The rules of the EphemeraRT pack, in the order they are applied. */
export const RETENTION_TRANSPORT_RULES: readonly RetentionTransportRule[] = [
  // Retention
  {
    suffix: 'LogGroupRetention',
    rule: LogGroupRetention,
    info: 'The log group has no RetentionInDays, so its log events never expire.',
    explanation:
      'Logs are kept only as long as they are needed. Set a retention period (logs.LogGroup retention) so that CloudWatch Logs deletes events after a bounded time.',
  },
  {
    suffix: 'S3BucketExpiration',
    rule: S3BucketExpiration,
    info: 'The S3 bucket has no enabled, unfiltered lifecycle rule that expires objects (and, if versioned, noncurrent versions).',
    explanation: `Objects must disappear after a bounded time. Add a lifecycle rule with status Enabled, no prefix, tag or size filter, and ExpirationInDays or ExpirationDate; for a versioned bucket also NoncurrentVersionExpiration. A bucket that holds "until replaced" configuration can be acknowledged with the reason. ${ACKNOWLEDGE}`,
  },
  {
    suffix: 'SQSQueueRetention',
    rule: SQSQueueRetention,
    info: 'The SQS queue does not set MessageRetentionPeriod explicitly.',
    explanation:
      'State how long unconsumed messages are kept (sqs.Queue retentionPeriod), so that the retention of queued data is a reviewed decision rather than the 4-day service default.',
  },
  {
    suffix: 'DynamoDBTableTTL',
    rule: DynamoDBTableTTL,
    info: 'The DynamoDB table does not have Time to Live enabled with an attribute name.',
    explanation: `Items must expire after a bounded time. Enable TTL (timeToLiveAttribute) and write an expiry time on every item. ${ACKNOWLEDGE}`,
  },
  {
    suffix: 'SecretRotation',
    rule: SecretRotation,
    info: 'The secret has no AWS::SecretsManager::RotationSchedule with a schedule in the same stack.',
    explanation: `A secret value must not live forever. Add a rotation schedule (secret.addRotationSchedule) with automaticallyAfter greater than zero or a schedule expression. The check only sees RotationSchedule resources in the same stack whose SecretId refers to this secret (directly, through a SecretTargetAttachment, or by its literal name). ${ACKNOWLEDGE}`,
  },
  // Encryption under customer managed keys
  {
    suffix: 'S3BucketCMK',
    rule: S3BucketCMK,
    info: 'The S3 bucket is not encrypted with aws:kms or aws:kms:dsse under a customer managed KMS key.',
    explanation:
      'Data at rest is encrypted under a key whose policy, rotation and deletion the owner controls. Set encryption KMS (or DSSE) and encryptionKey to a customer managed kms.Key; SSE-S3 and alias/aws/s3 do not count.',
  },
  {
    suffix: 'DynamoDBTableCMK',
    rule: DynamoDBTableCMK,
    info: 'The DynamoDB table is not encrypted under a customer managed KMS key (SSEEnabled, SSEType KMS and a key; for a global table, a key on every replica).',
    explanation:
      'Data at rest is encrypted under a key whose policy, rotation and deletion the owner controls. Use TableEncryption.CUSTOMER_MANAGED (Table) or TableEncryptionV2.customerManagedKey (TableV2); the AWS owned and AWS managed keys do not count.',
  },
  {
    suffix: 'LogGroupCMK',
    rule: LogGroupCMK,
    info: 'The log group has no KmsKeyId naming a customer managed KMS key.',
    explanation:
      'Log data at rest is encrypted under a key whose policy, rotation and deletion the owner controls. Set encryptionKey on the log group and allow the CloudWatch Logs service principal in the key policy.',
  },
  {
    suffix: 'SQSQueueCMK',
    rule: SQSQueueCMK,
    info: 'The SQS queue has no KmsMasterKeyId naming a customer managed KMS key.',
    explanation:
      'Queued data at rest is encrypted under a key whose policy, rotation and deletion the owner controls. Use QueueEncryption.KMS with encryptionMasterKey; SQS managed SSE and alias/aws/sqs do not count.',
  },
  {
    suffix: 'SNSTopicCMK',
    rule: SNSTopicCMK,
    info: 'The SNS topic has no KmsMasterKeyId naming a customer managed KMS key.',
    explanation:
      'Messages at rest in SNS are encrypted under a key whose policy, rotation and deletion the owner controls. Set masterKey to a customer managed kms.Key; alias/aws/sns does not count.',
  },
  {
    suffix: 'SecretCMK',
    rule: SecretCMK,
    info: 'The secret has no KmsKeyId naming a customer managed KMS key.',
    explanation:
      'Secret values are encrypted under a key whose policy, rotation and deletion the owner controls. Set encryptionKey on the secret; the default aws/secretsmanager key does not count.',
  },
  // Transport
  {
    suffix: 'S3BucketTLSOnly',
    rule: S3BucketTLSOnly,
    info: 'The S3 bucket has no bucket policy in the same stack that denies both aws:SecureTransport false and s3:TlsVersion below 1.2.',
    explanation:
      'Content must never travel over plain HTTP or TLS older than 1.2. Set enforceSSL: true and minimumTLSVersion: 1.2 on the bucket: each adds a Deny statement for every principal, on s3:*, for the bucket and its objects.',
  },
  {
    suffix: 'ELBListenerTLSPolicy',
    rule: ELBListenerTLSPolicy,
    info: 'The HTTPS/TLS listener has no SslPolicy, or one that accepts TLS below 1.2.',
    explanation:
      'Without SslPolicy, CloudFormation applies ELBSecurityPolicy-2016-08, which accepts TLS 1.0. Choose a policy whose minimum is TLS 1.2 or 1.3, for example SslPolicy.RECOMMENDED_TLS (ELBSecurityPolicy-TLS13-1-2-2021-06), a FIPS or post-quantum TLS13 variant, or SslPolicy.TLS13_13.',
  },
  {
    suffix: 'ALBListenerHTTPRedirect',
    rule: ALBListenerHTTPRedirect,
    info: 'The HTTP listener (or one of its listener rules) has an action that is not a redirect to HTTPS.',
    explanation:
      'A plain-HTTP listener may only redirect to HTTPS; forwarding or answering over HTTP exposes content in transit. Use redirectHTTP on the pattern, or addRedirect on the load balancer, and serve content from an HTTPS listener only.',
  },
  {
    suffix: 'ALBListenerACMCertificate',
    rule: ALBListenerACMCertificate,
    info: 'The HTTPS/TLS listener uses a certificate that is not from AWS Certificate Manager.',
    explanation:
      'ACM certificates are renewed automatically and their private keys never leave AWS (Control Tower CT.ELASTICLOADBALANCING.PR.2). Use an ACM certificate ARN, an acm.Certificate in the stack, or a parameter whose AllowedPattern admits only ACM ARNs.',
  },
  {
    suffix: 'ALBDropInvalidHeaders',
    rule: ALBDropInvalidHeaders,
    info: 'The application load balancer does not set routing.http.drop_invalid_header_fields.enabled to true.',
    explanation:
      'Headers with invalid names are dropped at the edge rather than passed to targets, closing a class of request-smuggling and header-injection tricks. Set dropInvalidHeaderFields: true.',
  },
  // API Gateway REST API front door
  {
    suffix: 'APIGatewayTLSPolicy',
    rule: APIGatewayTLSPolicy,
    info: 'The REST API or custom domain name has no enhanced TLS security policy (SecurityPolicy_TLS13_*, or a 2025 edge policy), or its EndpointAccessMode is not STRICT.',
    explanation:
      'Content must never travel over TLS older than 1.2, and TLS 1.3 is preferred. Without SecurityPolicy a regional or edge-optimized REST API uses the legacy TLS_1_0 policy, which accepts TLS 1.0 and 1.1; legacy TLS_1_2 keeps CBC cipher suites. Set SecurityPolicy to SecurityPolicy_TLS13_1_3_2025_09 (TLS 1.3 only) or another policy in TLS12_MINIMUM_API_GATEWAY_POLICIES, and EndpointAccessMode to STRICT, on the RestApi (through the L1: addPropertyOverride) and on every DomainName.',
  },
  {
    suffix: 'APIGatewayNoBodyLogging',
    rule: APIGatewayNoBodyLogging,
    info: 'The API Gateway stage (or deployment stage description) turns on data tracing, or its access log format mentions authorization or $input.',
    explanation:
      "Request and response bodies are customer content and must never be written to logs (P1). DataTraceEnabled writes full bodies to the CloudWatch execution log; $input in an access log format writes the body; any variable naming authorization (such as $context.requestOverride.header.Authorization) writes the Authorization header, which holds the caller's API key. Leave dataTraceEnabled off on deployOptions and methodOptions, and log only request metadata ($context.requestId, status, latency).",
  },
  {
    suffix: 'APIGatewayStageThrottling',
    rule: APIGatewayStageThrottling,
    info: 'The API Gateway stage has no stage-wide throttling: no MethodSettings entry for HttpMethod * and ResourcePath /* with positive ThrottlingBurstLimit and ThrottlingRateLimit.',
    explanation:
      'One client must not be able to exhaust the Lambda concurrency reserved for the gateway and starve everyone else. Set deployOptions.throttlingBurstLimit and throttlingRateLimit (CDK writes them as the * and /* method setting); limits on single methods or usage plans do not count.',
  },
];

/** Every rule id of the pack, e.g. `EphemeraRT-S3BucketTLSOnly`. */
export const RETENTION_TRANSPORT_RULE_IDS: readonly string[] = RETENTION_TRANSPORT_RULES.map(
  (r) => `EphemeraRT-${r.suffix}`,
);

/**
 * Ephemera's "retention and transport" cdk-nag pack (rule ids `EphemeraRT-*`):
 * stateful resources forget their data after a bounded time, data at rest is
 * encrypted under customer managed KMS keys, S3, load balancers and API
 * Gateway refuse plain HTTP and TLS below 1.2, and API Gateway stages log no
 * bodies and are throttled.
 *
 * ```ts
 * Validations.of(app).addPlugins(new RetentionTransportChecks(app));
 * ```
 *
 * Every finding is an error. A value that cannot be decided at synth time
 * (a parameter, an import, `Fn::If`) passes; a missing property fails.
 */
export class RetentionTransportChecks extends NagPack {
  public readonly name = 'EphemeraRT';
  public override readonly ruleIds: string[] = [...RETENTION_TRANSPORT_RULE_IDS];

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'EphemeraRT';
  }

  protected checkResource(node: CfnResource): void {
    for (const r of RETENTION_TRANSPORT_RULES) {
      this.applyRule({
        ruleSuffixOverride: r.suffix,
        info: r.info,
        explanation: r.explanation,
        level: NagMessageLevel.ERROR,
        rule: r.rule,
        node,
      });
    }
  }
}
