import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { IConfigBucket } from './config-bucket';
import { TRUST_EXPIRY_WARNING_DAYS } from './core/config-objects';
import { EPHEMERA_METRIC_NAMESPACE } from './short-ttl-image-bucket';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import type { IMetadataStore } from './metadata-store';
import { PropsValidator } from './private/validation';
import { watchdogEnv } from './core/env/watchdog';

export interface WatchdogProps extends FunctionDefaults {
  /** The tables it counts in: open deletion jobs, and API keys near expiry. */
  readonly store: IMetadataStore;
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
}

/**
 * The watchdog: every hour it counts erasure jobs still open past
 * `overdueAfter` and live API keys within `keyExpiryWarning` of expiry, and
 * publishes both as metrics that alarms watch. It reads ids and dates only: a
 * query of the sparse index of open jobs, and a scan of key expiry dates.
 * One run at a time (1 reserved concurrent execution, with
 * `reserveConcurrency`; an overlapping run is harmless: it only counts).
 */
export class Watchdog extends Construct {
  public readonly handler: HardenedFunction;
  public readonly overdueJobsAlarm: cloudwatch.Alarm;
  public readonly expiringKeysAlarm: cloudwatch.Alarm;
  /** Outbound TLS verification is off (`insecure_trust_all`); with `configBucket` only. */
  public readonly insecureTrustAlarm?: cloudwatch.Alarm;
  /** An uploaded trust certificate expires within 30 days; with `configBucket` only. */
  public readonly expiringCertificatesAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WatchdogProps) {
    super(scope, id);
    // The defaults and bounds are the handler's (its contract, lib/core/env/watchdog.ts).
    const { overdueHours, keyWarningDays } = watchdogEnv.vars;
    const overdueAfter = props.overdueAfter ?? Duration.hours(overdueHours.fallback);
    const keyExpiryWarning = props.keyExpiryWarning ?? Duration.days(keyWarningDays.fallback);
    new PropsValidator('Watchdog')
      .duration(
        'overdueAfter',
        overdueAfter,
        Duration.hours(overdueHours.range.min),
        Duration.hours(overdueHours.range.max),
      )
      .duration(
        'keyExpiryWarning',
        keyExpiryWarning,
        Duration.days(keyWarningDays.range.min),
        Duration.days(keyWarningDays.range.max),
      )
      .throwIfInvalid();

    this.handler = new HardenedFunction(this, 'Handler', {
      ...functionBasics(props),
      handlerName: 'watchdog',
      trigger: FunctionTrigger.SCHEDULE,
      description: 'Ephemera: counts overdue erasure jobs and API keys near expiry',
      timeout: Duration.minutes(2),
      memorySize: 256,
      // One run at a time, where the account allows a reservation. Without
      // one, two runs overlap only if EventBridge delivers an event twice (a
      // run times out after 2 minutes; the schedule is hourly), and that is
      // harmless: a run only reads (COUNT queries and scans, the trust store)
      // and publishes counts, which the alarms read as the hour's maximum.
      reservedConcurrentExecutions: 1,
      environment: watchdogEnv.write({
        deletionTableName: props.store.deletionTable.tableName,
        keyTableName: props.store.keyTable.tableName,
        deployment: Stack.of(this).stackName,
        overdueHours: Math.floor(overdueAfter.toHours()),
        keyWarningDays: Math.floor(keyExpiryWarning.toDays()),
        configBucketName: props.configBucket?.bucket.bucketName,
      }),
    });
    const role = this.handler.role;
    props.store.grantCountOpenJobsAndKeys(role);
    new events.Rule(this, 'Schedule', {
      description: 'Ephemera: run the watchdog',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 0 })],
    });

    this.overdueJobsAlarm = new cloudwatch.Alarm(this, 'OverdueJobsAlarm', {
      alarmDescription: `Ephemera erasure: a deletion job is still open ${overdueAfter.toHours()} hours after it was requested (the promise is 24 hours)`,
      metric: this.metricOverdueDeletionJobs(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.expiringKeysAlarm = new cloudwatch.Alarm(this, 'ExpiringKeysAlarm', {
      alarmDescription: `Ephemera keys: an API key expires within ${keyExpiryWarning.toDays()} days; rotate or replace it`,
      metric: this.metricKeysExpiringSoon(),
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
        metric: this.metricInsecureTrustAll(),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.expiringCertificatesAlarm = new cloudwatch.Alarm(this, 'ExpiringCertificatesAlarm', {
        alarmDescription: `Ephemera trust store: an uploaded certificate expires within ${TRUST_EXPIRY_WARNING_DAYS} days (or has expired); upload its successor with PUT /v1/trust/certificates`,
        metric: this.metricTrustCertificatesExpiringSoon(),
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

  /** Deletion jobs still open past `overdueAfter` (maximum per hour). */
  public metricOverdueDeletionJobs(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('OverdueDeletionJobs', props);
  }

  /** Live API keys within `keyExpiryWarning` of expiry (maximum per hour). */
  public metricKeysExpiringSoon(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('KeysExpiringSoon', props);
  }

  /** 1 while outbound TLS verification is off (`insecure_trust_all`); with `configBucket` only. */
  public metricInsecureTrustAll(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('InsecureTrustAll', props);
  }

  /** Uploaded trust certificates expiring within 30 days; with `configBucket` only. */
  public metricTrustCertificatesExpiringSoon(
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metric('TrustCertificatesExpiringSoon', props);
  }
}
