import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import {
  consumeStatement,
  deadLetterAlarm,
  deadLetterMetric,
  grantSendToQueue,
  newJobQueues,
} from './deletion-job-queues';
import { erasureWaitSeconds } from './core/request-deadlines';
import {
  isExclusion,
  MAX_EXCLUSIONS,
  POINT_IN_TIME_RECOVERY_DAYS,
  RECEIPT_STORES,
  type ReceiptExclusion,
} from './core/receipt-scope';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import type { IMetadataStore } from './metadata-store';
import type { IShortTtlImageBucket } from './short-ttl-image-bucket';
import { PropsValidator } from './private/validation';
import { deletionWorkerEnv } from './core/env/deletion-worker';

export interface CustomerErasureProps extends FunctionDefaults {
  /** The tables: usage records (by the customer index) and deletion jobs. */
  readonly store: IMetadataStore;
  /** Key of the deletion queue and its dead-letter queue (the project's queues key). */
  readonly queuesKey: kms.IKey;
  /** The ECC_NIST_P256 key that signs receipts. */
  readonly signingKey: kms.IKey;
  /** The image bucket whose images the worker deletes. */
  readonly images: IShortTtlImageBucket;
  /**
   * Other stores the erasure does not reach, named in every receipt with how
   * many days they keep what they hold (for example
   * `{ store: 'load-balancer-access-logs', retentionDays: 30 }` when the load
   * balancer keeps access logs). The usage table's point-in-time recovery is
   * named on its own (see `usageTableRecoveryDays`).
   * @default - none
   */
  readonly receiptExcludes?: ReceiptExclusion[];
  /**
   * The recovery period, in days, of the usage table's point-in-time recovery:
   * an erased record can be restored from it for that long, so every receipt
   * names it. 0 for a table without point-in-time recovery. The default is
   * the recovery period `MetadataStore` sets.
   * @default 1
   */
  readonly usageTableRecoveryDays?: number;
  /**
   * Where the worker sends the id of every job it closes with a signed
   * receipt (a `ReceiptWebhook`): the worker is told the queue's URL and may
   * send to it.
   * @default - none: receipts are only returned by the admin API
   */
  readonly receiptQueue?: ReceiptQueueTarget;
  /**
   * The gateway's longest request. A job starts only once this, plus a tenth
   * (30 s for 5 minutes), has passed since the erasure was asked for, so the
   * records of requests in flight then are erased too.
   * @default Duration.minutes(5)
   */
  readonly gatewayTimeout?: Duration;
}

/** A queue that takes the ids of jobs closed with a signed receipt (`ReceiptWebhook`). */
export interface ReceiptQueueTarget {
  readonly queueUrl: string;
  /** Lets a principal send job ids to the queue. */
  grantEnqueue(grantee: iam.IGrantable): iam.Grant;
}

/**
 * What the admin API needs of the erasure path: the queue deletion jobs go
 * to, and the right to send to it. A `CustomerErasure`, or one in another
 * stack imported with `CustomerErasure.fromCustomerErasureAttributes`.
 */
export interface ICustomerErasure extends IConstruct {
  /** URL of the deletion queue (job ids only). */
  readonly queueUrl: string;
  /** Lets a principal queue deletion jobs: send only, key through SQS only. */
  grantSendJobs(grantee: iam.IGrantable): iam.Grant;
}

/** An erasure path defined elsewhere (another stack, another app). */
export interface CustomerErasureAttributes {
  /** ARN of the deletion queue. */
  readonly queueArn: string;
  /** ARN of the key the deletion queue is encrypted with (the project's queues key). */
  readonly queueKeyArn: string;
}

/** How long a job id waits in the queue at most (SQS keeps messages 4 days). */
export const DELETION_QUEUE_RETENTION = Duration.days(4);
/** How long a job that kept failing stays in the dead-letter queue. */
export const DELETION_DLQ_RETENTION = Duration.days(14);
/** The worker's timeout: a job longer than this is handed on through the queue. */
export const DELETION_WORKER_TIMEOUT = Duration.minutes(15);
/** Deliveries before a job id moves to the dead-letter queue. */
export const DELETION_MAX_RECEIVES = 5;

/**
 * Erasure by customer (promise P7): the deletion queue (job ids only,
 * encrypted with the queues key, TLS only, a dead-letter queue that keeps
 * longer), and the worker it feeds, which erases every usage record and image
 * tagged with a customer's hash and signs a receipt. Alarms fire when a job id
 * has waited over an hour, and when anything lands in the dead-letter queue.
 *
 * The worker may query the usage table's customer index, delete usage records
 * and image objects, update deletion jobs and sign with the signing key (and,
 * with `receiptQueue`, send job ids to it): nothing else. It is reserved 5
 * concurrent executions (with `reserveConcurrency`).
 */
export class CustomerErasure extends Construct implements ICustomerErasure {
  /** Refers to the erasure path of another stack, for an admin API there. */
  public static fromCustomerErasureAttributes(
    scope: Construct,
    id: string,
    attrs: CustomerErasureAttributes,
  ): ICustomerErasure {
    class Import extends Construct implements ICustomerErasure {
      private readonly queue = sqs.Queue.fromQueueAttributes(this, 'Queue', {
        queueArn: attrs.queueArn,
        keyArn: attrs.queueKeyArn,
      });
      public readonly queueUrl = this.queue.queueUrl;
      public grantSendJobs(grantee: iam.IGrantable): iam.Grant {
        return grantSendToQueue(this.queue, grantee);
      }
    }
    return new Import(scope, id);
  }

  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly worker: HardenedFunction;
  public readonly backlogAlarm: cloudwatch.Alarm;
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: CustomerErasureProps) {
    super(scope, id);
    const recoveryDays = props.usageTableRecoveryDays ?? POINT_IN_TIME_RECOVERY_DAYS;
    const excludes: ReceiptExclusion[] = [
      ...(recoveryDays > 0
        ? [{ store: RECEIPT_STORES.pointInTimeRecovery, retentionDays: recoveryDays }]
        : []),
      ...(props.receiptExcludes ?? []),
    ];
    new PropsValidator('CustomerErasure')
      .check(
        Number.isInteger(recoveryDays) && recoveryDays >= 0 && recoveryDays <= 35,
        'usageTableRecoveryDays must be a whole number from 0 to 35',
      )
      .check(
        (props.receiptExcludes ?? []).every(isExclusion) &&
          excludes.length <= MAX_EXCLUSIONS &&
          new Set(excludes.map((e) => e.store)).size === excludes.length,
        `receiptExcludes must be up to ${MAX_EXCLUSIONS - 1} distinct stores, each named with lowercase letters, digits and - and kept 1-3653 days`,
      )
      .throwIfInvalid();
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = newJobQueues(this, {
      encryptionKey: props.queuesKey,
      retention: DELETION_QUEUE_RETENTION,
      deadLetterRetention: DELETION_DLQ_RETENTION,
      // Six times the worker's timeout, as Lambda advises for SQS sources.
      visibilityTimeout: Duration.seconds(DELETION_WORKER_TIMEOUT.toSeconds() * 6),
      maxReceiveCount: DELETION_MAX_RECEIVES,
      removalPolicy,
      deadLetterReason:
        'This is the dead-letter queue of the deletion queue; a job id that lands here raises an alarm and waits for an operator to redrive it.',
    }));

    this.worker = new HardenedFunction(this, 'Worker', {
      ...functionBasics(props),
      handlerName: 'deletion-worker',
      trigger: FunctionTrigger.QUEUE,
      description: 'Ephemera: erases usage records and images by customer, signs receipts',
      timeout: DELETION_WORKER_TIMEOUT,
      memorySize: 512,
      reservedConcurrentExecutions: 5,
      environment: deletionWorkerEnv.write({
        usageTableName: props.store.usageTable.tableName,
        deletionTableName: props.store.deletionTable.tableName,
        imageBucketName: props.images.bucket.bucketName,
        signingKeyId: props.signingKey.keyArn,
        deletionQueueUrl: this.queue.queueUrl,
        excludes,
        erasureWaitSeconds: erasureWaitSeconds(
          (props.gatewayTimeout ?? Duration.minutes(5)).toSeconds(),
        ),
        receiptQueueUrl: props.receiptQueue?.queueUrl,
      }),
      removalPolicy,
    });
    // The mapping itself (not addEventSource, whose grant adds kms:Decrypt
    // without the through-SQS condition): one job per invocation, failures
    // reported per message.
    new lambda.EventSourceMapping(this, 'FromQueue', {
      target: this.worker.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: 1,
      reportBatchItemFailures: true,
    });
    this.grantLeastPrivilege(props);

    this.backlogAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      alarmDescription:
        'Ephemera erasure: a deletion job id has waited in the queue for over an hour (P7: erasure within 24 hours)',
      metric: this.metricOldestJobAge(),
      threshold: 3600,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = deadLetterAlarm(
      this,
      this.metricFailedJobs(),
      'Ephemera erasure: a deletion job kept failing and is in the dead-letter queue; fix the cause and redrive it',
    );
    props.alarms.addAlarm(this.backlogAlarm);
    props.alarms.addAlarm(this.deadLetterAlarm);
  }

  /**
   * How long the oldest deletion job has waited in the queue, in seconds
   * (P7: a job must finish within 24 hours). Maximum over 5 minutes by default.
   */
  public metricOldestJobAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** Deletion jobs in the dead-letter queue. Maximum over 5 minutes by default. */
  public metricFailedJobs(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return deadLetterMetric(this.deadLetterQueue, props);
  }

  /** URL of the deletion queue. */
  public get queueUrl(): string {
    return this.queue.queueUrl;
  }

  /** Lets a principal queue deletion jobs (the admin API): send only, key through SQS only. */
  public grantSendJobs(grantee: iam.IGrantable): iam.Grant {
    return grantSendToQueue(this.queue, grantee);
  }

  private grantLeastPrivilege(props: CustomerErasureProps): void {
    const role = this.worker.role;
    const add = (statement: iam.PolicyStatement) => role.addToPrincipalPolicy(statement);
    props.store.grantEraseCustomer(role);
    add(
      new iam.PolicyStatement({
        actions: ['kms:Sign'],
        resources: [props.signingKey.keyArn],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      }),
    );
    add(consumeStatement(this.queue));
    this.grantSendJobs(role);
    props.images.grantDeleteImages(role);
    props.receiptQueue?.grantEnqueue(role);
  }
}
