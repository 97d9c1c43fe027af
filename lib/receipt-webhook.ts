import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  consumeStatement,
  deadLetterAlarm,
  deadLetterMetric,
  grantSendToQueue,
  newJobQueues,
} from './deletion-job-queues';
import type { IConfigBucket } from './config-bucket';
import { webhookUrlProblem } from './core/webhook-url';
import type { ReceiptQueueTarget } from './customer-erasure';
import { keyViaService } from './private/kms-statements';
import {
  FunctionDefaults,
  FunctionTrigger,
  functionBasics,
  HardenedFunction,
} from './hardened-function';
import type { IMetadataStore } from './metadata-store';
import { PropsValidator } from './private/validation';
import { receiptWebhookEnv } from './core/env/receipt-webhook';

export interface ReceiptWebhookProps extends FunctionDefaults {
  /**
   * Subnets of the function. They need a route to the receiver: isolated
   * subnets reach only what is inside (or peered with) the VPC; a receiver on
   * the internet needs subnets with egress (`allowInternetEgress`).
   * @default - the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The tables: each receipt is read back from the deletion-job table. */
  readonly store: IMetadataStore;
  /** Key of the receipt queue and its dead-letter queue (the project's queues key). */
  readonly queuesKey: kms.IKey;
  /**
   * Where every signed receipt is POSTed: `https://host[:port][/path]`, no
   * credentials, query or fragment (it is stored in the template and the
   * function's environment; the receiver authenticates receipts by their
   * KMS signature).
   */
  readonly url: string;
  /**
   * The config bucket whose trust store outbound TLS honours (read access to
   * the trust object only).
   * @default - no trust store: the public CA roots only
   */
  readonly configBucket?: IConfigBucket;
  /**
   * Deliveries of one receipt before its job id moves to the dead-letter
   * queue (1 to 20). Attempts are `RECEIPT_RETRY_INTERVAL` apart: the default
   * retries for about 20 minutes.
   * @default 8
   */
  readonly maxAttempts?: number;
}

/** How long a job id waits in the receipt queue at most. */
export const RECEIPT_QUEUE_RETENTION = Duration.days(4);
/** How long a job id whose receipt was never delivered stays in the dead-letter queue. */
export const RECEIPT_DLQ_RETENTION = Duration.days(14);
/** The webhook function's timeout (one delivery times out after 10 seconds). */
export const RECEIPT_WEBHOOK_TIMEOUT = Duration.seconds(30);
/**
 * The time between two deliveries of a receipt that failed (the queue's
 * visibility timeout): six times the function's timeout, as Lambda advises
 * for SQS sources.
 */
export const RECEIPT_RETRY_INTERVAL = Duration.seconds(RECEIPT_WEBHOOK_TIMEOUT.toSeconds() * 6);
/** Default deliveries before the dead-letter queue. */
export const DEFAULT_RECEIPT_MAX_ATTEMPTS = 8;

/**
 * The deletion-receipt webhook (promise P7): a queue of job ids (encrypted
 * with the queues key, TLS only) that the deletion worker feeds as it closes
 * each job, and a function that reads each job's signed receipt from the
 * deletion table and POSTs it to `url`, honouring the deployment's trust
 * store. A delivery that fails is retried every `RECEIPT_RETRY_INTERVAL`; after
 * `maxAttempts` the job id moves to the dead-letter queue (job ids only, no
 * receipt), which raises an alarm; redrive it once the receiver is fixed.
 *
 * The function may read deletion jobs (GetItem), consume its queue and read
 * the trust object: nothing else. It is reserved 2 concurrent executions
 * (with `reserveConcurrency`).
 */
export class ReceiptWebhook extends Construct implements ReceiptQueueTarget {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly handler: HardenedFunction;
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReceiptWebhookProps) {
    super(scope, id);
    const maxAttempts = props.maxAttempts ?? DEFAULT_RECEIPT_MAX_ATTEMPTS;
    const urlProblem = Token.isUnresolved(props.url) ? undefined : webhookUrlProblem(props.url);
    new PropsValidator('ReceiptWebhook')
      // Content-free: the message never repeats the URL.
      .check(urlProblem === undefined, `url ${urlProblem}`)
      .integer('maxAttempts', maxAttempts, 1, 20)
      .throwIfInvalid();
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = newJobQueues(this, {
      encryptionKey: props.queuesKey,
      retention: RECEIPT_QUEUE_RETENTION,
      deadLetterRetention: RECEIPT_DLQ_RETENTION,
      visibilityTimeout: RECEIPT_RETRY_INTERVAL,
      maxReceiveCount: maxAttempts,
      removalPolicy,
      deadLetterReason:
        'This is the dead-letter queue of the receipt queue; a job id whose receipt could not be delivered lands here, raises an alarm and waits for an operator to redrive it.',
    }));

    this.handler = new HardenedFunction(this, 'Handler', {
      ...functionBasics(props),
      handlerName: 'receipt-webhook',
      trigger: FunctionTrigger.QUEUE,
      description: 'Ephemera: delivers signed erasure receipts to the receipt webhook',
      timeout: RECEIPT_WEBHOOK_TIMEOUT,
      memorySize: 256,
      reservedConcurrentExecutions: 2,
      environment: receiptWebhookEnv.write({
        deletionTableName: props.store.deletionTable.tableName,
        webhookUrl: props.url,
        configBucketName: props.configBucket?.bucket.bucketName,
        allowInsecureTrustAll: props.configBucket?.allowInsecureTrustAll,
      }),
      removalPolicy,
    });
    // The mapping itself (not addEventSource, whose grant adds kms:Decrypt
    // without the through-SQS condition): failures reported per message, and
    // no more pollers than the reserved concurrency (so throttling never
    // uses up a receipt's attempts).
    new lambda.EventSourceMapping(this, 'FromQueue', {
      target: this.handler.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: 10,
      maxConcurrency: 2,
      reportBatchItemFailures: true,
    });
    this.grantLeastPrivilege(props);

    this.deadLetterAlarm = deadLetterAlarm(
      this,
      this.metricUndeliveredReceipts(),
      'Ephemera erasure: a signed receipt could not be delivered to the receipt webhook after every attempt; its job id is in the dead-letter queue: fix the receiver, then redrive it',
    );
    props.alarms.addAlarm(this.deadLetterAlarm);
  }

  /** The receipt queue's URL (for the deletion worker's environment). */
  public get queueUrl(): string {
    return this.queue.queueUrl;
  }

  /** Job ids whose receipt could not be delivered (dead-letter queue). Maximum over 5 minutes by default. */
  public metricUndeliveredReceipts(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return deadLetterMetric(this.deadLetterQueue, props);
  }

  /** Lets a principal queue job ids for delivery (the deletion worker): send only, key through SQS only. */
  public grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return grantSendToQueue(this.queue, grantee);
  }

  private grantLeastPrivilege(props: ReceiptWebhookProps): void {
    const role = this.handler.role;
    const add = (statement: iam.PolicyStatement) => role.addToPrincipalPolicy(statement);
    props.store.grantReadDeletionJobs(role);
    add(consumeStatement(this.queue));
    add(keyViaService(this, props.queuesKey, 'sqs', ['kms:Decrypt']));
    props.configBucket?.grantTrustRead(role);
  }
}
