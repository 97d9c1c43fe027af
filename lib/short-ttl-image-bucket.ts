import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { acknowledgeWildcardResource } from './private/acknowledgements';
import { newMinimisedBucket } from './private/minimised-bucket';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import { PropsValidator } from './private/validation';
import { settingDefault, settingRange } from './core/handler-env';
import { imageSweeperEnv } from './core/env/image-sweeper';
import { viaService } from './private/kms-statements';

/** Prefix of every image key: `images/<expiry epoch seconds>/<id>.<ext>`. */
export const IMAGE_KEY_PREFIX = 'images/';

/** Namespace of the metrics the sweeper publishes (with dimension `ImageBucket`). */
export const EPHEMERA_METRIC_NAMESPACE = 'Ephemera';

/** How many sweep intervals an image may outlive its TTL before the lag alarm fires. */
export const SWEEP_LAG_ALARM_INTERVALS = 3;

/**
 * The `FunctionDefaults` are the sweeper's: its network (it reaches S3
 * through a gateway endpoint), logs, and 1 reserved concurrent execution
 * (with `reserveConcurrency`; overlapping sweeps are harmless: deletes are
 * idempotent); `alarms` takes the sweeper's alarms (images outliving their
 * TTL, the sweeper not completing).
 */
export interface ShortTtlImageBucketProps extends FunctionDefaults {
  /** Key that encrypts the images (the project's images key). */
  readonly encryptionKey: kms.IKey;

  /**
   * How long a generated image is kept (5 minutes to 24 hours).
   * @default Duration.hours(1)
   */
  readonly ttl?: Duration;

  /**
   * How often the sweeper deletes images whose TTL has passed (1 to 60 minutes).
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;

  /**
   * What happens to the bucket and the sweeper's log group when the stack is
   * deleted. The lifecycle rule empties the bucket within a day either way.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What other constructs need of an image bucket: where images go, the key
 * they are encrypted with, how long they are kept, and the two grants. A
 * `ShortTtlImageBucket`, or one in another stack imported with
 * `ShortTtlImageBucket.fromShortTtlImageBucketAttributes`.
 */
export interface IShortTtlImageBucket extends IConstruct {
  /** The bucket the images are written to. */
  readonly bucket: s3.IBucket;
  /** The key the images are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /** How long an image is kept. */
  readonly ttl: Duration;

  /**
   * Grants exactly what a writer of images needs: put an image object and
   * read it back (the presigned URL is signed with the grantee's credentials),
   * plus the images key for those two operations through S3 only. No list,
   * no delete, nothing outside the image prefix.
   */
  grantPutAndPresign(grantee: iam.IGrantable): iam.Grant;

  /**
   * Grants deleting image objects (erasure): `s3:DeleteObject` under the image
   * prefix, which DeleteObjects needs for each key. No list, no read.
   */
  grantDeleteImages(grantee: iam.IGrantable): iam.Grant;
}

/** An image bucket defined elsewhere (another stack, another app). */
export interface ShortTtlImageBucketAttributes {
  /** Name of the bucket. */
  readonly bucketName: string;
  /** ARN of the key the images are encrypted with. */
  readonly encryptionKeyArn: string;
  /** The bucket's image TTL (the gateway tells clients when a URL expires). */
  readonly ttl: Duration;
}

/** The grants, shared by a bucket defined here and an imported one. */
abstract class ShortTtlImageBucketBase extends Construct implements IShortTtlImageBucket {
  public abstract readonly bucket: s3.IBucket;
  public abstract readonly encryptionKey: kms.IKey;
  public abstract readonly ttl: Duration;

  public grantPutAndPresign(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${IMAGE_KEY_PREFIX}*`)],
    });
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resourceArns: [this.encryptionKey.keyArn],
        conditions: viaService(this, 's3'),
      }),
    );
    this.acknowledgeImagePrefix(
      grantee,
      'Image keys are random per image; the wildcard covers only the images/ prefix of the image bucket, for s3:PutObject and s3:GetObject (presigned URLs).',
    );
    return grant;
  }

  public grantDeleteImages(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:DeleteObject'],
      resourceArns: [this.bucket.arnForObjects(`${IMAGE_KEY_PREFIX}*`)],
    });
    this.acknowledgeImagePrefix(
      grantee,
      'Image keys are random per image; the wildcard covers only the images/ prefix of the image bucket, for s3:DeleteObject (erasure).',
    );
    return grant;
  }

  /** The grantee's wildcard over the image prefix is this grant's doing: acknowledged on the grantee. */
  protected acknowledgeImagePrefix(grantee: iam.IGrantable, reason: string): void {
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    acknowledgeWildcardResource(
      principal,
      this.bucket.arnForObjects(`${IMAGE_KEY_PREFIX}*`),
      reason,
    );
  }
}

/**
 * The one place request-derived content is stored (P2): generated images
 * asked for by URL. SSE-KMS with the images key and a bucket key, all public
 * access blocked, TLS 1.2+ only, owner-enforced objects, no versioning and no
 * replication (so a deleted image is gone), a lifecycle rule that expires
 * objects and aborts uploads after 1 day (the backstop), and a sweeper on a
 * schedule that deletes each image once its TTL has passed. Image keys begin
 * with their expiry time, so the sweeper lists only what is due.
 */
export class ShortTtlImageBucket extends ShortTtlImageBucketBase {
  /**
   * Refers to an image bucket defined elsewhere, for a gateway or an erasure
   * worker in another stack. Grants add to the grantee's policy only: neither
   * the bucket's policy nor the key's policy changes.
   */
  public static fromShortTtlImageBucketAttributes(
    scope: Construct,
    id: string,
    attrs: ShortTtlImageBucketAttributes,
  ): IShortTtlImageBucket {
    class Import extends ShortTtlImageBucketBase {
      public readonly bucket = s3.Bucket.fromBucketName(this, 'Bucket', attrs.bucketName);
      public readonly encryptionKey = kms.Key.fromKeyArn(this, 'Key', attrs.encryptionKeyArn);
      public readonly ttl = attrs.ttl;
    }
    return new Import(scope, id);
  }

  public readonly bucket: s3.Bucket;
  public readonly sweeper: HardenedFunction;
  public readonly schedule: events.Rule;
  /** The key the images are encrypted with. */
  public readonly encryptionKey: kms.IKey;
  /** The image TTL, for the gateway's configuration. */
  public readonly ttl: Duration;
  /** How often the sweeper runs. */
  public readonly sweepInterval: Duration;
  /**
   * Fires when an image has outlived its TTL by more than three sweep
   * intervals (the sweeper falls behind or keeps failing to delete).
   */
  public readonly sweepLagAlarm: cloudwatch.Alarm;
  /** Fires when no sweep has completed for three sweep intervals (not running, or cannot list). */
  public readonly sweepStalledAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ShortTtlImageBucketProps) {
    super(scope, id);
    // The `imageTtlMinutes` configuration key's default and bounds.
    const ttlMinutes = settingRange('imageTtlMinutes');
    this.ttl = props.ttl ?? Duration.minutes(settingDefault('imageTtlMinutes'));
    this.encryptionKey = props.encryptionKey;
    const sweepInterval = (this.sweepInterval = props.sweepInterval ?? Duration.minutes(5));
    new PropsValidator('ShortTtlImageBucket')
      .duration('ttl', this.ttl, Duration.minutes(ttlMinutes.min), Duration.minutes(ttlMinutes.max))
      .duration('sweepInterval', sweepInterval, Duration.minutes(1), Duration.minutes(60))
      .check(
        Token.isUnresolved(sweepInterval.toSeconds()) || sweepInterval.toSeconds() % 60 === 0,
        `sweepInterval must be a whole number of minutes (got ${sweepInterval.toSeconds()} seconds)`,
      )
      .throwIfInvalid();

    this.bucket = newMinimisedBucket(this, 'Bucket', {
      encryptionKey: props.encryptionKey,
      expiration: Duration.days(1),
      lifecycleRuleId: 'ttl-backstop',
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      reasons: {
        noAccessLogs:
          'Generated images must leave no trace past their TTL (P2): server access logs would copy image keys and requester IPs into a second, longer-lived store. Object access is audited with CloudTrail S3 data events instead.',
        noVersions:
          'Generated images must disappear after their TTL (P2): versions or replicas would keep deleted images beyond the sweeper and the erasure path.',
      },
    });

    this.sweeper = new HardenedFunction(this, 'Sweeper', {
      ...functionBasics(props),
      handlerName: 'image-sweeper',
      trigger: FunctionTrigger.SCHEDULE,
      description: 'Ephemera: deletes generated images whose TTL has passed',
      timeout: Duration.minutes(2),
      memorySize: 256,
      // One sweep at a time, where the account allows a reservation. Without
      // one, sweeps overlap only when one outlives the interval (timeout
      // 2 minutes, interval 1 to 60) or EventBridge delivers an event twice,
      // and that is harmless: both list the same due keys and delete them;
      // deleting a key already gone succeeds, so nothing fails and nothing is
      // kept longer. At worst ImagesSwept counts an image twice; the lag and
      // completed metrics (a maximum and a sum of at least 1) stay right.
      reservedConcurrentExecutions: 1,
      environment: imageSweeperEnv.write({ bucketName: this.bucket.bucketName }),
    });
    const fn = this.sweeper.function;
    // Least privilege: list only the image prefix, delete only image objects.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${IMAGE_KEY_PREFIX}*`] } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObject'],
        resources: [this.bucket.arnForObjects(`${IMAGE_KEY_PREFIX}*`)],
      }),
    );

    this.schedule = new events.Rule(this, 'SweepSchedule', {
      description: 'Ephemera: run the image sweeper',
      schedule: events.Schedule.rate(sweepInterval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });

    const intervalSeconds = sweepInterval.toSeconds();
    this.sweepLagAlarm = new cloudwatch.Alarm(this, 'SweepLagAlarm', {
      alarmDescription: `Ephemera images: an image has outlived its TTL by more than ${SWEEP_LAG_ALARM_INTERVALS} sweep intervals (P2); the sweeper is behind or failing to delete`,
      metric: this.metricSweepLag(),
      threshold: SWEEP_LAG_ALARM_INTERVALS * intervalSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // A period without a lag value (the sweeper did not run, could not list, or
      // ran out of time) keeps the alarm's state: no OK to the incident topic
      // while the sweeper is failing. Silence is the stalled alarm's to report.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.sweepStalledAlarm = new cloudwatch.Alarm(this, 'SweepStalledAlarm', {
      alarmDescription: `Ephemera images: no sweep has completed for ${SWEEP_LAG_ALARM_INTERVALS} sweep intervals, so expired images are not being deleted (P2)`,
      metric: this.metricSweepsCompleted(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: SWEEP_LAG_ALARM_INTERVALS,
      datapointsToAlarm: SWEEP_LAG_ALARM_INTERVALS,
      // A sweeper that does not run publishes nothing: silence is a failure.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    props.alarms.addAlarm(this.sweepLagAlarm);
    props.alarms.addAlarm(this.sweepStalledAlarm);

    this.acknowledgeFindings();
  }

  /** A metric the sweeper publishes for this bucket, per sweep interval by default. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: EPHEMERA_METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { ImageBucket: this.bucket.bucketName },
      period: this.sweepInterval,
      ...props,
    });
  }

  /**
   * How long past its expiry the oldest due image left behind by a sweep is
   * (0 when a sweep leaves none). Maximum per period.
   */
  public metricSweepLag(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('SweepLagSeconds', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Sweeps that could list what was due. Sum per period. */
  public metricSweepsCompleted(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('SweepsCompleted', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Images deleted by the sweeper. Sum per period. */
  public metricImagesSwept(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ImagesSwept', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Failed deletions and failed listings. Sum per period. */
  public metricSweepErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('SweepErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  private acknowledgeFindings(): void {
    this.acknowledgeImagePrefix(
      this.sweeper.role,
      'Image keys are random per image; the wildcard covers only the images/ prefix of this one bucket, for s3:DeleteObject (the sweeper).',
    );
  }
}
