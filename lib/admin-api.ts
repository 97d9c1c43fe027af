import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as targets from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { adminEnv } from './core/env/admin';
import { settingDefault } from './core/handler-env';
import type { IConfigBucket } from './config-bucket';
import { ADMIN_PATH_PATTERNS, listenerRulePatterns } from './core/routes';
import type { ICustomerErasure } from './customer-erasure';
import { restrictLoadBalancerInvoke } from './private/load-balancer-permission';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import type { IMetadataStore } from './metadata-store';
import { PropsValidator } from './private/validation';
import { generateMacStatement } from './private/kms-statements';
import { erasureQueueDelaySeconds } from './core/request-deadlines';

/** Priority of the admin API's listener rule: before the gateway's catch-all. */
export const ADMIN_RULE_PRIORITY = 100;

export interface AdminApiProps extends FunctionDefaults {
  /**
   * The HTTPS listener the admin API answers behind (the gateway's).
   * @default - no load balancer: add the function to a `StreamingFrontDoor` (`admin`)
   */
  readonly listener?: elbv2.IApplicationListener;
  /** The tables: API keys, usage records (read only), deletion jobs. */
  readonly store: IMetadataStore;
  /** HMAC_256 key for keyed hashes of API key secrets and customer ids. */
  readonly hmacKey: kms.IKey;
  /** Where erasure jobs go. */
  readonly erasure: ICustomerErasure;
  /**
   * The config bucket holding the outbound trust store, which the trust
   * routes (`/v1/trust...`) read and replace.
   * @default - no trust store: the trust routes answer 404
   */
  readonly configBucket?: IConfigBucket;

  /**
   * How long usage records are kept (for the retention header).
   * @default 30
   */
  readonly metadataRetentionDays?: number;
  /**
   * Longest life of an API key created over HTTP (1 to 365 days).
   * @default Duration.days(90)
   */
  readonly maxKeyAge?: Duration;
  /**
   * The gateway's longest request: a deletion job waits this long plus a
   * tenth (30 s for 5 minutes) in the queue, so every record of a request
   * that started before the erasure exists when the worker looks (the worker
   * waits out the rest when that is over SQS's 15-minute delay).
   * @default Duration.minutes(5)
   */
  readonly gatewayTimeout?: Duration;
}

/**
 * The admin API (promises P7, P8): erasure requests and their signed receipts,
 * log queries and API keys over HTTP, for `admin`-scope keys only. A Lambda
 * function behind the same HTTPS listener as the gateway, on its own paths.
 * Its role can read and write deletion jobs, queue them, query the usage
 * table by customer or request id, and manage keys; it cannot touch images
 * and cannot delete usage records. It is reserved 10 concurrent executions
 * (with `reserveConcurrency`).
 */
export class AdminApi extends Construct {
  public readonly handler: HardenedFunction;
  /** The load balancer's target group, when the admin API is behind one (`listener`). */
  public readonly targetGroup?: elbv2.ApplicationTargetGroup;
  public readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    // The defaults and bounds are the configuration's (through the handler's contract).
    const { metadataRetentionDays: retention, maxKeyAgeDays } = adminEnv.vars;
    const retentionDays = props.metadataRetentionDays ?? settingDefault('metadataRetentionDays');
    const maxKeyAge = props.maxKeyAge ?? Duration.days(maxKeyAgeDays.fallback);
    const gatewayTimeout = props.gatewayTimeout ?? Duration.minutes(5);
    new PropsValidator('AdminApi')
      .integer('metadataRetentionDays', retentionDays, retention.range.min, retention.range.max)
      .duration(
        'maxKeyAge',
        maxKeyAge,
        Duration.days(maxKeyAgeDays.range.min),
        Duration.days(maxKeyAgeDays.range.max),
      )
      .duration('gatewayTimeout', gatewayTimeout, Duration.seconds(30), Duration.minutes(15))
      .check(
        maxKeyAge.toSeconds() % 86_400 === 0,
        `maxKeyAge must be a whole number of days (got ${maxKeyAge.toSeconds()} seconds)`,
      )
      .throwIfInvalid();

    this.handler = new HardenedFunction(this, 'Handler', {
      ...functionBasics(props),
      handlerName: 'admin',
      trigger: FunctionTrigger.SYNCHRONOUS,
      description: 'Ephemera: admin API (erasure, logs, keys)',
      timeout: Duration.seconds(30),
      memorySize: 512,
      reservedConcurrentExecutions: 10,
      environment: adminEnv.write({
        keyTableName: props.store.keyTable.tableName,
        usageTableName: props.store.usageTable.tableName,
        deletionTableName: props.store.deletionTable.tableName,
        deletionQueueUrl: props.erasure.queueUrl,
        hmacKeyId: props.hmacKey.keyArn,
        metadataRetentionDays: retentionDays,
        maxKeyAgeDays: maxKeyAge.toDays(),
        deletionDelaySeconds: erasureQueueDelaySeconds(gatewayTimeout.toSeconds()),
        configBucketName: props.configBucket?.bucket.bucketName,
        allowInsecureTrustAll: props.configBucket?.allowInsecureTrustAll,
      }),
      dataProtection: true,
    });
    this.grantLeastPrivilege(props);

    if (props.listener) this.targetGroup = this.behindListener(props.listener);

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'Ephemera admin API: invocations failed (the handler itself)',
      metric: this.metricErrors(),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alarms.addAlarm(this.errorsAlarm);
  }

  /** A target group for the function, and the listener rules that route the admin paths to it. */
  private behindListener(listener: elbv2.IApplicationListener): elbv2.ApplicationTargetGroup {
    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      targetType: elbv2.TargetType.LAMBDA,
      targets: [new targets.LambdaTarget(this.handler.function)],
      multiValueHeadersEnabled: true,
    });
    // A listener rule takes at most 5 path patterns: one rule per 5, in order.
    listenerRulePatterns(ADMIN_PATH_PATTERNS).forEach((patterns, n) => {
      new elbv2.ApplicationListenerRule(this, n === 0 ? 'Routes' : `Routes${n + 1}`, {
        listener,
        priority: ADMIN_RULE_PRIORITY + n,
        conditions: [elbv2.ListenerCondition.pathPatterns(patterns)],
        action: elbv2.ListenerAction.forward([targetGroup]),
      });
    });
    restrictLoadBalancerInvoke(this.handler.function);
    return targetGroup;
  }

  /** Invocations that failed in the handler itself. Sum over 5 minutes by default. */
  public metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.handler.metricErrors(props);
  }

  private grantLeastPrivilege(props: AdminApiProps): void {
    const role = this.handler.role;
    const add = (statement: iam.PolicyStatement) => role.addToPrincipalPolicy(statement);
    props.store.grantKeyAdminAndErasureRequests(role);
    add(generateMacStatement(props.hmacKey));
    props.erasure.grantSendJobs(role);
    props.configBucket?.grantTrustReadWrite(role);
  }
}
