import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { IncidentResponse } from './incident-response';
import { RetentionFunction } from './retention-functions';
import { ShortTtlImageBucket } from './short-ttl-image-bucket';
import { parseModels } from '../lambda/gateway/config';
import { PropsValidator } from './validation';

/** A model the gateway offers (prices in millionths of a US dollar). */
export interface GatewayModel {
  /** Public model name, as clients send it. */
  readonly id: string;
  /** Model id at the upstream: a Bedrock model id or inference profile, or the upstream's name. */
  readonly upstreamId: string;
  readonly kind: 'chat' | 'image';
  /** @default 0 */
  readonly inputMicroUsdPer1kTokens?: number;
  /** @default 0 */
  readonly outputMicroUsdPer1kTokens?: number;
  /** @default 0 */
  readonly microUsdPerImage?: number;
}

/** Where the gateway sends inference. */
export type GatewayUpstream =
  | { readonly kind: 'bedrock' }
  | {
      readonly kind: 'openai-compatible';
      /** `https://...` base URL, e.g. a vLLM or TGI service inside the VPC. */
      readonly baseUrl: string;
      /** Secret holding the upstream's bearer token. @default - no credential */
      readonly credentials?: secretsmanager.ISecret;
    };

/**
 * Bedrock models offered when none are configured. The prices only feed the
 * cost field of usage records; they are examples: set your own contract's
 * prices in cdk.json (`models`).
 */
export const DEFAULT_MODELS: GatewayModel[] = [
  {
    id: 'amazon.nova-lite-v1:0',
    upstreamId: 'amazon.nova-lite-v1:0',
    kind: 'chat',
    inputMicroUsdPer1kTokens: 60,
    outputMicroUsdPer1kTokens: 240,
  },
  {
    id: 'amazon.nova-canvas-v1:0',
    upstreamId: 'amazon.nova-canvas-v1:0',
    kind: 'image',
    microUsdPerImage: 40_000,
  },
];

/**
 * Paths the listener forwards to the gateway: all of them, so every answer
 * (a 404 for an unknown path included) has the contract's error shape and
 * X-Ephemera-Retention header. Routes of later functions (the admin API) take
 * rules with a higher priority (a lower number than GATEWAY_RULE_PRIORITY).
 */
export const GATEWAY_PATHS = ['/*'];

/** Priority of the gateway's listener rule: the catch-all, last. */
export const GATEWAY_RULE_PRIORITY = 1000;

export interface InferenceGatewayProps {
  /** The HTTPS listener the gateway answers behind. */
  readonly listener: elbv2.IApplicationListener;
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's isolated subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly usageTable: dynamodb.ITable;
  readonly keyTable: dynamodb.ITable;
  /** Key of the tables (the project's metadata key). */
  readonly metadataKey: kms.IKey;
  readonly images: ShortTtlImageBucket;
  /** HMAC_256 key for keyed hashes of API key secrets and customer ids. */
  readonly hmacKey: kms.IKey;
  readonly logsKey: kms.IKey;
  /** @default { kind: 'bedrock' } */
  readonly upstream?: GatewayUpstream;
  /** @default DEFAULT_MODELS */
  readonly models?: GatewayModel[];
  /**
   * How long usage records are kept (1 to 3650 days).
   * @default 30
   */
  readonly metadataRetentionDays?: number;
  /**
   * How long one request may take, upstream included (30 s to 15 min). The
   * load balancer's idle timeout must be longer.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * Most concurrent requests (reserved concurrency).
   * @default 50
   */
  readonly maxConcurrency?: number;
  /** @default 4 */
  readonly maxImagesPerRequest?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Where the gateway's alarms go. @default - no alarms */
  readonly incidents?: IncidentResponse;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The request path (P1, P2, P4, P5, P8): a Lambda function behind the HTTPS
 * listener that authenticates, forwards to the model upstream and returns
 * the result, leaving one metadata record behind (and, for an image asked
 * for by URL, the image for its TTL). Its role can read one key record,
 * write usage records, put and presign images, compute MACs and invoke the
 * configured models: nothing else, so it can neither delete, scan nor read
 * any other table. Its log group has a CloudWatch Logs data-protection policy
 * as a second net behind the allowlist logger.
 */
export class InferenceGateway extends Construct {
  public readonly handler: RetentionFunction;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: InferenceGatewayProps) {
    super(scope, id);
    this.timeout = props.timeout ?? Duration.minutes(5);
    const models = props.models ?? DEFAULT_MODELS;
    const upstream = props.upstream ?? { kind: 'bedrock' };
    const retentionDays = props.metadataRetentionDays ?? 30;
    const maxImages = props.maxImagesPerRequest ?? 4;
    // The same checks the gateway runs at cold start, so a list it would
    // refuse fails here instead of failing every request after deploy.
    const modelProblems: string[] = [];
    parseModels(JSON.stringify(models), modelProblems, 'models');
    new PropsValidator('InferenceGateway')
      .duration('timeout', this.timeout, Duration.seconds(30), Duration.minutes(15))
      .integer('metadataRetentionDays', retentionDays, 1, 3650)
      .integer('maxConcurrency', props.maxConcurrency, 1, 1000)
      .integer('maxImagesPerRequest', maxImages, 1, 10)
      .check(models.length > 0, 'models must name at least one model')
      .check(modelProblems.length === 0 || models.length === 0, modelProblems.join('; '))
      .check(
        upstream.kind !== 'openai-compatible' ||
          /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(upstream.baseUrl),
        'upstream.baseUrl must be an https:// URL without query or fragment (TLS only, P5)',
      )
      .throwIfInvalid();

    const environment: Record<string, string> = {
      USAGE_TABLE_NAME: props.usageTable.tableName,
      KEY_TABLE_NAME: props.keyTable.tableName,
      IMAGE_BUCKET_NAME: props.images.bucket.bucketName,
      IMAGE_KMS_KEY_ARN: props.images.encryptionKey.keyArn,
      HMAC_KEY_ID: props.hmacKey.keyArn,
      UPSTREAM_KIND: upstream.kind,
      MODELS: JSON.stringify(models),
      IMAGE_TTL_SECONDS: String(props.images.ttl.toSeconds()),
      METADATA_RETENTION_DAYS: String(retentionDays),
      // Leave 15 s for the error answer and the usage record after an upstream timeout.
      UPSTREAM_TIMEOUT_MS: String(this.timeout.toMilliseconds() - 15_000),
      MAX_IMAGES_PER_REQUEST: String(maxImages),
    };
    if (upstream.kind === 'openai-compatible') {
      environment.UPSTREAM_BASE_URL = upstream.baseUrl.replace(/\/+$/, '');
      if (upstream.credentials) environment.UPSTREAM_SECRET_ARN = upstream.credentials.secretArn;
    }

    this.handler = new RetentionFunction(this, 'Handler', {
      handlerName: 'gateway',
      description: 'Ephemera: OpenAI-compatible inference with zero retention',
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      timeout: this.timeout,
      memorySize: 1024,
      reservedConcurrentExecutions: props.maxConcurrency ?? 50,
      environment,
      removalPolicy: props.removalPolicy,
      dataProtection: true,
    });
    const fn = this.handler.function;
    this.grantLeastPrivilege(fn.role!, props, models, upstream);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      targetType: elbv2.TargetType.LAMBDA,
      targets: [new targets.LambdaTarget(fn)],
      healthCheck: { enabled: true, path: '/healthz', interval: Duration.minutes(1) },
    });
    new elbv2.ApplicationListenerRule(this, 'Routes', {
      listener: props.listener,
      priority: GATEWAY_RULE_PRIORITY,
      conditions: [elbv2.ListenerCondition.pathPatterns(GATEWAY_PATHS)],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });

    this.restrictLoadBalancerPermission();
    if (props.incidents) this.addAlarms(props.incidents);
    this.acknowledgeFindings(props, models);
  }

  private grantLeastPrivilege(
    role: iam.IRole,
    props: InferenceGatewayProps,
    models: GatewayModel[],
    upstream: GatewayUpstream,
  ): void {
    const stack = Stack.of(this);
    const add = (s: iam.PolicyStatement) => role.addToPrincipalPolicy(s);
    add(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.keyTable.tableArn],
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.usageTable.tableArn],
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [props.metadataKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` },
        },
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['kms:GenerateMac'],
        resources: [props.hmacKey.keyArn],
        conditions: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
      }),
    );
    props.images.grantPutAndPresign(role);
    if (upstream.kind === 'bedrock') {
      add(
        new iam.PolicyStatement({
          actions: ['bedrock:InvokeModel'],
          resources: [...new Set(models.flatMap((m) => bedrockResourceArns(stack, m.upstreamId)))],
        }),
      );
    } else if (upstream.credentials) {
      upstream.credentials.grantRead(role);
      // grantRead adds nothing for an imported key: say it here, through
      // Secrets Manager only.
      const key = upstream.credentials.encryptionKey;
      if (key) {
        add(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [key.keyArn],
            conditions: {
              StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
            },
          }),
        );
      }
    }
  }

  /**
   * The load balancer's permission to invoke the function: limited to this
   * account's load balancers with SourceAccount. It cannot name the target
   * group (SourceArn): the target group registers the function only once the
   * permission exists, so each would wait for the other.
   */
  private restrictLoadBalancerPermission(): void {
    const permissions = this.handler.function.node
      .findAll()
      .filter(
        (c): c is lambda.CfnPermission =>
          c instanceof lambda.CfnPermission && c.principal === 'elasticloadbalancing.amazonaws.com',
      );
    for (const permission of permissions) {
      permission.sourceAccount = Stack.of(this).account;
      Validations.of(permission).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
        reason:
          'The permission is for the Elastic Load Balancing service principal and carries SourceAccount (this account, a pseudo-parameter the rule cannot read); a SourceArn naming the target group would be a dependency cycle, since the target group registers the function only after the permission exists.',
      });
    }
  }

  private addAlarms(incidents: IncidentResponse): void {
    const fn = this.handler.function;
    const errors = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'Ephemera gateway: invocations failed (the handler itself, not upstream errors)',
      metric: fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const throttles = new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmDescription: 'Ephemera gateway: requests throttled at the reserved concurrency',
      metric: fn.metricThrottles({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    incidents.addAlarm(errors);
    incidents.addAlarm(throttles);
  }

  private acknowledgeFindings(props: InferenceGatewayProps, models: GatewayModel[]): void {
    const fn = this.handler.function;
    const sync =
      'The load balancer invokes the gateway synchronously and gets every error as the HTTP answer; there is no asynchronous event to dead-letter, and a DLQ would be a place where request content could land (P1).';
    Validations.of(fn).acknowledge(
      { id: 'HIPAA.Security-LambdaDLQ', reason: sync },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: sync },
    );
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(props.images.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(this.handler.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/images/*]`,
      reason:
        'Image keys are random per image; the wildcard covers only the images/ prefix of the image bucket, for s3:PutObject and s3:GetObject (presigned URLs).',
    });
    for (const m of models) {
      if (!isInferenceProfile(m.upstreamId)) continue;
      Validations.of(this.handler.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${baseModelId(m.upstreamId)}]`,
        reason:
          'A cross-region inference profile routes to the same foundation model in any region of its geography; the wildcard is the region of one named model only.',
      });
    }
  }
}

const PROFILE_PREFIX = /^(us|eu|apac|us-gov|global|jp|au|ca)\./;

function isInferenceProfile(upstreamId: string): boolean {
  return PROFILE_PREFIX.test(upstreamId);
}

function baseModelId(upstreamId: string): string {
  return upstreamId.replace(PROFILE_PREFIX, '');
}

/** The resources `bedrock:InvokeModel` needs for one model id (or inference profile, or ARN). */
function bedrockResourceArns(stack: Stack, upstreamId: string): string[] {
  if (upstreamId.startsWith('arn:')) return [upstreamId];
  if (isInferenceProfile(upstreamId)) {
    return [
      `arn:${stack.partition}:bedrock:${stack.region}:${stack.account}:inference-profile/${upstreamId}`,
      `arn:${stack.partition}:bedrock:*::foundation-model/${baseModelId(upstreamId)}`,
    ];
  }
  return [`arn:${stack.partition}:bedrock:${stack.region}::foundation-model/${upstreamId}`];
}
