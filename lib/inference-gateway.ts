import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { IConfigBucket } from './config-bucket';
import { restrictLoadBalancerInvoke } from './private/load-balancer-permission';
import { gatewayBundle } from './handler-bundle';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import type { IMetadataStore } from './metadata-store';
import type { IShortTtlImageBucket } from './short-ttl-image-bucket';
import { bedrockReach, residencyProblems, stackRegionProblem } from './core/bedrock-regions';
import { bedrockModelProblems, DEFAULT_MODELS, parseModels, type ModelSpec } from './core/models';
import { checkUpstreamBaseUrl } from './core/upstream-url';
import { REGION_LIST_RULE } from './core/rules';
import { PropsValidator } from './private/validation';
import { generateMacStatement, keyViaService } from './private/kms-statements';
import { upstreamTimeoutMs } from './core/request-deadlines';
import { gatewayEnv, type GatewaySettings } from './core/env/gateway';
import { settingDefault } from './core/handler-env';

export type { GatewaySettings };

/** A model the gateway offers (prices in millionths of a US dollar). */
export type GatewayModel = ModelSpec;
export { DEFAULT_MODELS };

/** Whether chat messages may carry `https://` image URLs for the upstream to fetch. */
export type RemoteImageUrls = 'deny' | 'allow';

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
 * Paths the listener forwards to the gateway: all of them, so every answer
 * (a 404 for an unknown path included) has the contract's error shape and
 * X-Ephemera-Retention header. Routes of later functions (the admin API) take
 * rules with a higher priority (a lower number than GATEWAY_RULE_PRIORITY).
 */
export const GATEWAY_PATHS = ['/*'];

/** The latency alarm fires when p99 latency exceeds this share of the timeout, in percent. */
export const LATENCY_ALARM_PERCENT = 80;

/** Priority of the gateway's listener rule: the catch-all, last. */
export const GATEWAY_RULE_PRIORITY = 1000;

export interface InferenceGatewayProps extends FunctionDefaults {
  /**
   * The HTTPS listener the gateway answers behind (a load balancer: one body
   * per answer, at most 1 MB). A gateway needs a way in: this, or
   * `responseStreaming` and a `StreamingFrontDoor`; with neither the
   * construct throws (nothing could reach the gateway).
   * @default - no load balancer: front the gateway with a `StreamingFrontDoor` (needs `responseStreaming`)
   */
  readonly listener?: elbv2.IApplicationListener;
  /**
   * Answer through Lambda response streaming (the `streamHandler` entry
   * point), for a `StreamingFrontDoor` (`gateway: <this InferenceGateway>`):
   * chunks reach the client as the model produces them. A load balancer
   * cannot invoke such a function, so this and `listener` exclude each
   * other; one of the two is required.
   * @default - false: the gateway answers behind `listener`
   */
  readonly responseStreaming?: boolean;
  /** The tables: API keys (read one by id) and usage records (write). */
  readonly store: IMetadataStore;
  /** Where images asked for by URL are kept for their TTL. */
  readonly images: IShortTtlImageBucket;
  /** HMAC_256 key for keyed hashes of API key secrets and customer ids. */
  readonly hmacKey: kms.IKey;
  /** @default { kind: 'bedrock' } */
  readonly upstream?: GatewayUpstream;
  /** @default DEFAULT_MODELS */
  readonly models?: GatewayModel[];
  /**
   * Data residency: the regions prompts may be processed in. A Bedrock model
   * that can route outside them (a cross-region inference profile whose
   * geography reaches further, any `global.` profile, an application
   * inference profile) is refused at synth.
   * @default - no restriction
   */
  readonly allowedRegions?: string[];
  /**
   * `deny`: image parts of chat messages must be `data:` URLs (a 400 says
   * why); `allow`: `https://` image URLs are passed to the upstream, which
   * fetches them from inside the VPC.
   * @default 'deny'
   */
  readonly remoteImageUrls?: RemoteImageUrls;
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
   * Most concurrent requests (reserved concurrency, with `reserveConcurrency`;
   * without it the gateway shares the account's unreserved pool, and with the
   * streaming front door the stage's throttling still bounds the requests
   * that reach it).
   * @default 50
   */
  readonly maxConcurrency?: number;
  /**
   * The configuration keys the gateway receives as they are
   * (`GatewaySettings`, declared by the gateway's environment contract in
   * lib/core/env/gateway.ts; an `EphemeraConfig`'s `settings` fits): each is
   * checked by its configuration rule and written to the gateway's
   * environment.
   * @default - each key's default in the configuration schema (docs/configuration.md)
   */
  readonly settings?: GatewaySettings;
  /**
   * The config bucket holding the outbound trust store: the upstream call
   * trusts what it says (public CAs plus uploaded ones by default).
   * @default - no trust store: the upstream call trusts the public CAs only
   */
  readonly configBucket?: IConfigBucket;
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
  public readonly handler: HardenedFunction;
  /** The load balancer's target group, when the gateway is behind one (`listener`). */
  public readonly targetGroup?: elbv2.ApplicationTargetGroup;
  public readonly timeout: Duration;
  /** Whether the function answers through response streaming (a `StreamingFrontDoor`). */
  public readonly responseStreaming: boolean;
  /** Fires when the handler itself fails. */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** Fires when requests are throttled at the reserved concurrency. */
  public readonly throttlesAlarm: cloudwatch.Alarm;
  /** Fires when the slowest requests come close to the timeout. */
  public readonly latencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: InferenceGatewayProps) {
    super(scope, id);
    this.timeout = props.timeout ?? Duration.minutes(5);
    this.responseStreaming = props.responseStreaming ?? false;
    const models = props.models ?? [...DEFAULT_MODELS];
    const upstream = props.upstream ?? { kind: 'bedrock' };
    const retentionDays = props.metadataRetentionDays ?? settingDefault('metadataRetentionDays');
    const settings = gatewayEnv.fromSettings(props.settings);
    // The same checks the gateway runs at cold start, so a list it would
    // refuse fails here instead of failing every request after deploy.
    const modelProblems: string[] = [];
    parseModels(JSON.stringify(models), modelProblems, 'models');
    const region = Token.isUnresolved(Stack.of(this).region) ? undefined : Stack.of(this).region;
    // The function handles prompts in the stack's region, whatever the upstream.
    const regionProblem = stackRegionProblem(props.allowedRegions ?? [], region);
    if (upstream.kind === 'bedrock' && modelProblems.length === 0) {
      modelProblems.push(...bedrockModelProblems(models));
      modelProblems.push(...residencyProblems(models, props.allowedRegions ?? [], region));
    }
    const baseUrl =
      upstream.kind === 'openai-compatible' ? checkUpstreamBaseUrl(upstream.baseUrl) : undefined;
    const remoteImageUrls = props.remoteImageUrls ?? gatewayEnv.vars.remoteImageUrls.fallback;
    const validator = new PropsValidator('InferenceGateway');
    for (const { key, rule } of gatewayEnv.settingRules) {
      const value: unknown = settings[key];
      const problem = Token.isUnresolved(value) ? undefined : rule.check(value);
      validator.check(problem === undefined, `${key} ${problem} (got ${JSON.stringify(value)})`);
    }
    const retentionRange = gatewayEnv.vars.metadataRetentionDays.range;
    if (models.length > 0) for (const problem of modelProblems) validator.check(false, problem);
    validator
      .duration('timeout', this.timeout, Duration.seconds(30), Duration.minutes(15))
      .integer('metadataRetentionDays', retentionDays, retentionRange.min, retentionRange.max)
      .integer('maxConcurrency', props.maxConcurrency, 1, 1000)
      .check(models.length > 0, 'models must name at least one model')
      .check(
        !(this.responseStreaming && props.listener),
        'listener and responseStreaming exclude each other: a load balancer cannot invoke a streaming function (use a StreamingFrontDoor)',
      )
      .check(
        this.responseStreaming || props.listener !== undefined,
        'listener or responseStreaming is required, or nothing can reach the gateway: pass listener (the HTTPS listener of a TlsLoadBalancer), or set responseStreaming: true and pass the InferenceGateway to a StreamingFrontDoor as its gateway',
      )
      .rule('allowedRegions', props.allowedRegions, REGION_LIST_RULE)
      .check(regionProblem === undefined, regionProblem ?? '')
      .check(
        baseUrl === undefined || baseUrl.ok,
        `upstream.baseUrl ${baseUrl && !baseUrl.ok ? baseUrl.problem : ''}`,
      )
      .check(
        remoteImageUrls === 'deny' || remoteImageUrls === 'allow',
        "remoteImageUrls must be 'deny' or 'allow'",
      )
      .throwIfInvalid();

    const environment = gatewayEnv.write({
      usageTableName: props.store.usageTable.tableName,
      keyTableName: props.store.keyTable.tableName,
      imageBucketName: props.images.bucket.bucketName,
      imageKmsKeyArn: props.images.encryptionKey.keyArn,
      hmacKeyId: props.hmacKey.keyArn,
      configBucketName: props.configBucket?.bucket.bucketName,
      allowInsecureTrustAll: props.configBucket?.allowInsecureTrustAll,
      upstreamKind: upstream.kind,
      ...(baseUrl?.ok && upstream.kind === 'openai-compatible'
        ? { upstreamBaseUrl: baseUrl.url, upstreamSecretArn: upstream.credentials?.secretArn }
        : {}),
      models,
      imageTtlSeconds: props.images.ttl.toSeconds(),
      metadataRetentionDays: retentionDays,
      // Leave 15 s for the error answer and the usage record after an upstream timeout.
      upstreamTimeoutMs: upstreamTimeoutMs(this.timeout.toSeconds()),
      remoteImageUrls,
      ...settings,
    });

    this.handler = new HardenedFunction(this, 'Handler', {
      ...functionBasics(props),
      handlerName: 'gateway',
      trigger: FunctionTrigger.SYNCHRONOUS,
      description: 'Ephemera: OpenAI-compatible inference with zero retention',
      timeout: this.timeout,
      memorySize: 1024,
      reservedConcurrentExecutions: props.maxConcurrency ?? 50,
      environment,
      dataProtection: true,
      // One upstream kind per deployment: the other kind's client is left out
      // of the bundle (dead code once the kind is a constant).
      define: gatewayBundle(upstream.kind).define,
      bundleName: gatewayBundle(upstream.kind).name,
      entryPoint: this.responseStreaming ? 'streamHandler' : 'handler',
    });
    const fn = this.handler.function;
    this.grantLeastPrivilege(fn.role!, props, models, upstream);
    props.configBucket?.grantTrustRead(fn);

    if (props.listener) {
      this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
        targetType: elbv2.TargetType.LAMBDA,
        // Every value of a repeated header reaches the gateway (otherwise only
        // the last), so "the first customer_id wins" holds across headers.
        multiValueHeadersEnabled: true,
        targets: [new targets.LambdaTarget(fn)],
        healthCheck: { enabled: true, path: '/healthz', interval: Duration.minutes(1) },
      });
      new elbv2.ApplicationListenerRule(this, 'Routes', {
        listener: props.listener,
        priority: GATEWAY_RULE_PRIORITY,
        conditions: [elbv2.ListenerCondition.pathPatterns(GATEWAY_PATHS)],
        action: elbv2.ListenerAction.forward([this.targetGroup]),
      });
      restrictLoadBalancerInvoke(this.handler.function);
    }
    [this.errorsAlarm, this.throttlesAlarm, this.latencyAlarm] = this.newAlarms();
    for (const alarm of [this.errorsAlarm, this.throttlesAlarm, this.latencyAlarm]) {
      props.alarms.addAlarm(alarm);
    }
  }

  private grantLeastPrivilege(
    role: iam.IRole,
    props: InferenceGatewayProps,
    models: GatewayModel[],
    upstream: GatewayUpstream,
  ): void {
    const stack = Stack.of(this);
    const add = (s: iam.PolicyStatement) => role.addToPrincipalPolicy(s);
    props.store.grantAuthenticateAndRecordUsage(role);
    add(generateMacStatement(props.hmacKey));
    props.images.grantPutAndPresign(role);
    if (upstream.kind === 'bedrock') {
      for (const statement of bedrockStatements(stack, models)) add(statement);
    } else if (upstream.credentials) {
      upstream.credentials.grantRead(role);
      // grantRead adds nothing for an imported key: say it here, through
      // Secrets Manager only.
      const key = upstream.credentials.encryptionKey;
      if (key) {
        add(keyViaService(this, key, 'secretsmanager', ['kms:Decrypt']));
      }
    }
  }

  /**
   * Invocations that failed in the handler itself (an upstream's failure is an
   * answer, not an error). Sum over 5 minutes by default.
   */
  public metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.handler.metricErrors(props);
  }

  /** Requests refused at the reserved concurrency. Sum over 5 minutes by default. */
  public metricThrottles(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.handler.metricThrottles(props);
  }

  /**
   * How long a request takes in the gateway, upstream included (the Lambda
   * duration, in milliseconds). p99 over 5 minutes by default.
   */
  public metricLatency(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.handler.function.metricDuration({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.p(99),
      ...props,
    });
  }

  private newAlarms(): [cloudwatch.Alarm, cloudwatch.Alarm, cloudwatch.Alarm] {
    const errors = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'Ephemera gateway: invocations failed (the handler itself, not upstream errors)',
      metric: this.metricErrors(),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const throttles = new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmDescription: 'Ephemera gateway: requests throttled at the reserved concurrency',
      metric: this.metricThrottles(),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmDescription: `Ephemera gateway: the slowest 1% of requests took over ${LATENCY_ALARM_PERCENT}% of the timeout for 15 minutes; clients are close to a 504 (the upstream is slow or overloaded)`,
      metric: this.metricLatency(),
      threshold: Math.round(this.timeout.toMilliseconds() * (LATENCY_ALARM_PERCENT / 100)),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return [errors, throttles, latency];
  }
}

/**
 * `bedrock:InvokeModel` for exactly the regions each configured model can
 * reach: a foundation model in its region; a geographic inference profile,
 * plus its foundation model in each destination region of its geography, only
 * through that profile; a global profile as AWS documents it (the
 * region-less model ARN, only through that profile). Chat and image models
 * also get `bedrock:InvokeModelWithResponseStream` (ConverseStream, for
 * `stream: true`); embedding models, which are never streamed, do not.
 */
function bedrockStatements(stack: Stack, models: readonly GatewayModel[]): iam.PolicyStatement[] {
  const embedding = models.filter((m) => m.kind === 'embedding');
  const others = models.filter((m) => m.kind !== 'embedding');
  return [
    ...invokeStatements(stack, others, [
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
    ]),
    ...invokeStatements(stack, embedding, ['bedrock:InvokeModel']),
  ];
}

/** The statements of {@link bedrockStatements} for `models`, each with `actions`. */
function invokeStatements(
  stack: Stack,
  models: readonly GatewayModel[],
  actions: string[],
): iam.PolicyStatement[] {
  if (models.length === 0) return [];
  const region = Token.isUnresolved(stack.region) ? undefined : stack.region;
  const p = stack.partition;
  const direct = new Set<string>();
  const statements: iam.PolicyStatement[] = [];
  const profileArn = (profileId: string, at: string | undefined) =>
    `arn:${p}:bedrock:${at ?? stack.region}:${stack.account}:inference-profile/${profileId}`;
  const modelArn = (modelId: string, at: string) =>
    `arn:${p}:bedrock:${at}::foundation-model/${modelId}`;
  for (const m of models) {
    const reach = bedrockReach(m.upstreamId, region);
    switch (reach.kind) {
      case 'in-region':
        direct.add(modelArn(reach.modelId, reach.region ?? stack.region));
        break;
      case 'opaque':
        direct.add(reach.arn);
        break;
      case 'geographic': {
        const profile = profileArn(reach.profileId, reach.region);
        direct.add(profile);
        statements.push(
          new iam.PolicyStatement({
            actions,
            resources: reach.destinations.map((r) => modelArn(reach.modelId, r)),
            conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profile } },
          }),
        );
        break;
      }
      case 'global': {
        const profile = profileArn(reach.profileId, reach.region);
        direct.add(profile);
        statements.push(
          new iam.PolicyStatement({
            actions,
            resources: [modelArn(reach.modelId, reach.region ?? stack.region)],
            conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profile } },
          }),
          new iam.PolicyStatement({
            actions,
            resources: [`arn:${p}:bedrock:::foundation-model/${reach.modelId}`],
            conditions: {
              StringEquals: {
                'aws:RequestedRegion': 'unspecified',
                'bedrock:InferenceProfileArn': profile,
              },
            },
          }),
        );
        break;
      }
    }
  }
  return [new iam.PolicyStatement({ actions, resources: [...direct] }), ...statements];
}
