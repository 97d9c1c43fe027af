import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { IConfigBucket } from './config-bucket';
import { TRUST_EXPIRY_WARNING_DAYS } from './core/config-objects';
import { DELETION_PENDING_INDEX } from './core/tables';
import { EPHEMERA_METRIC_NAMESPACE } from './short-ttl-image-bucket';
import { IAlarmSink } from './incident-response';
import { FunctionTrigger, RetentionFunction } from './retention-functions';
import { PropsValidator } from './validation';
import { keyViaService } from './kms-statements';

export interface WatchdogProps {
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's isolated subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly deletionTable: dynamodb.ITable;
  readonly keyTable: dynamodb.ITable;
  /** Key of the tables (the project's metadata key). */
  readonly metadataKey: kms.IKey;
  readonly logsKey: kms.IKey;
  /** Where the watchdog's alarms go. */
  readonly alarms: IAlarmSink;
  /**
   * An erasure job still open this long after it was requested raises an
   * alarm (the promise is 24 hours), 1 to 24 hours.
   * @default Duration.hours(12)
   */
  readonly overdueAfter?: Duration;
  /**
   * A live API key this close to its expiry raises an alarm (1 to 90 days).
   * @default Duration.days(7)
   */
  readonly keyExpiryWarning?: Duration;
  /**
   * The config bucket holding the outbound trust store: each run also
   * reports whether `insecure_trust_all` is on and how many uploaded
   * certificates expire within 30 days, and an alarm watches each.
   * @default - no trust-store checks
   */
  readonly configBucket?: IConfigBucket;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserve concurrency for the function (1). Off in an account whose Lambda
   * concurrency limit leaves no room for reservations: it then shares the
   * account's unreserved pool (an overlapping run is harmless: it only counts).
   * @default true
   */
  readonly reserveConcurrency?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The watchdog: every hour it counts erasure jobs still open past
 * `overdueAfter` and live API keys within `keyExpiryWarning` of expiry, and
 * publishes both as metrics that alarms watch. It reads ids and dates only: a
 * query of the sparse index of open jobs, and a scan of key expiry dates.
 */
export class Watchdog extends Construct {
  public readonly handler: RetentionFunction;
  public readonly overdueJobsAlarm: cloudwatch.Alarm;
  public readonly expiringKeysAlarm: cloudwatch.Alarm;
  /** Outbound TLS verification is off (`insecure_trust_all`); with `configBucket` only. */
  public readonly insecureTrustAlarm?: cloudwatch.Alarm;
  /** An uploaded trust certificate expires within 30 days; with `configBucket` only. */
  public readonly expiringCertificatesAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WatchdogProps) {
    super(scope, id);
    const overdueAfter = props.overdueAfter ?? Duration.hours(12);
    const keyExpiryWarning = props.keyExpiryWarning ?? Duration.days(7);
    new PropsValidator('Watchdog')
      .duration('overdueAfter', overdueAfter, Duration.hours(1), Duration.hours(24))
      .duration('keyExpiryWarning', keyExpiryWarning, Duration.days(1), Duration.days(90))
      .throwIfInvalid();

    this.handler = new RetentionFunction(this, 'Handler', {
      handlerName: 'watchdog',
      trigger: FunctionTrigger.SCHEDULE,
      description: 'Ephemera: counts overdue erasure jobs and API keys near expiry',
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      timeout: Duration.minutes(2),
      memorySize: 256,
      // One run at a time, where the account allows a reservation. Without
      // one, two runs overlap only if EventBridge delivers an event twice (a
      // run times out after 2 minutes; the schedule is hourly), and that is
      // harmless: a run only reads (COUNT queries and scans, the trust store)
      // and publishes counts, which the alarms read as the hour's maximum.
      reservedConcurrentExecutions: 1,
      reserveConcurrency: props.reserveConcurrency,
      environment: {
        DELETION_TABLE_NAME: props.deletionTable.tableName,
        KEY_TABLE_NAME: props.keyTable.tableName,
        DEPLOYMENT: Stack.of(this).stackName,
        OVERDUE_HOURS: String(Math.floor(overdueAfter.toHours())),
        KEY_WARNING_DAYS: String(Math.floor(keyExpiryWarning.toDays())),
        ...(props.configBucket ? { CONFIG_BUCKET_NAME: props.configBucket.bucket.bucketName } : {}),
      },
      removalPolicy: props.removalPolicy,
    });
    const role = this.handler.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.deletionTable.tableArn}/index/${DELETION_PENDING_INDEX}`],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [props.keyTable.tableArn] }),
    );
    role.addToPrincipalPolicy(keyViaService(this, props.metadataKey, 'dynamodb', ['kms:Decrypt']));
    new events.Rule(this, 'Schedule', {
      description: 'Ephemera: run the watchdog',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 0 })],
    });

    this.overdueJobsAlarm = new cloudwatch.Alarm(this, 'OverdueJobsAlarm', {
      alarmDescription: `Ephemera erasure: a deletion job is still open ${overdueAfter.toHours()} hours after it was requested (the promise is 24 hours)`,
      metric: this.metric('OverdueDeletionJobs'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.expiringKeysAlarm = new cloudwatch.Alarm(this, 'ExpiringKeysAlarm', {
      alarmDescription: `Ephemera keys: an API key expires within ${keyExpiryWarning.toDays()} days; rotate or replace it`,
      metric: this.metric('KeysExpiringSoon'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alarms.addAlarm(this.overdueJobsAlarm);
    props.alarms.addAlarm(this.expiringKeysAlarm);

    if (props.configBucket) {
      props.configBucket.grantTrustRead(role);
      this.insecureTrustAlarm = new cloudwatch.Alarm(this, 'InsecureTrustAlarm', {
        alarmDescription:
          'Ephemera trust store: outbound TLS verification is off (insecure_trust_all); set the mode back with PUT /v1/trust/mode',
        metric: this.metric('InsecureTrustAll'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.expiringCertificatesAlarm = new cloudwatch.Alarm(this, 'ExpiringCertificatesAlarm', {
        alarmDescription: `Ephemera trust store: an uploaded certificate expires within ${TRUST_EXPIRY_WARNING_DAYS} days (or has expired); upload its successor with PUT /v1/trust/certificates`,
        metric: this.metric('TrustCertificatesExpiringSoon'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      props.alarms.addAlarm(this.insecureTrustAlarm);
      props.alarms.addAlarm(this.expiringCertificatesAlarm);
    }
  }

  /** A metric the watchdog publishes (maximum per hour). */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: EPHEMERA_METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { Deployment: Stack.of(this).stackName },
      period: Duration.hours(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }
}
