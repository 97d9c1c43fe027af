import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { viaService } from './private/kms-statements';

/**
 * The SQS queues that carry deletion-job ids (the deletion queue of
 * `CustomerErasure`, the receipt queue of `ReceiptWebhook`): job ids only,
 * never content. Handler side: `lambda/shared/deletion-queue.ts`; local
 * mode: `local/in-memory-deletion-queue.ts`.
 */

/** A queue of deletion-job ids and the dead-letter queue behind it. */
export interface JobQueues {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

export interface JobQueuesProps {
  /** Key of both queues (the project's queues key). */
  readonly encryptionKey: kms.IKey;
  /** How long a job id waits in the queue. */
  readonly retention: Duration;
  /** How long a job id waits in the dead-letter queue. */
  readonly deadLetterRetention: Duration;
  /** How long a received message stays hidden: the time between attempts. */
  readonly visibilityTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  readonly removalPolicy: RemovalPolicy;
  /** What the dead-letter queue is for, told to reviewers (it has no dead-letter queue itself). */
  readonly deadLetterReason: string;
}

/**
 * `Queue` and `DeadLetterQueue` in `scope`: both under the queues key,
 * TLS-only, with bounded retention; the rule packs' "DLQ without a DLQ"
 * findings acknowledged on the dead-letter queue.
 */
export function newJobQueues(scope: Construct, props: JobQueuesProps): JobQueues {
  const common = {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.encryptionKey,
    enforceSSL: true,
    removalPolicy: props.removalPolicy,
  };
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    ...common,
    retentionPeriod: props.deadLetterRetention,
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    ...common,
    retentionPeriod: props.retention,
    visibilityTimeout: props.visibilityTimeout,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  Validations.of(deadLetterQueue).acknowledge(
    { id: 'AwsSolutions-SQS3', reason: props.deadLetterReason },
    { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: props.deadLetterReason },
  );
  return { queue, deadLetterQueue };
}

/** Messages waiting in a dead-letter queue (the largest count over 5 minutes by default). */
export function deadLetterMetric(
  deadLetterQueue: sqs.IQueue,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return deadLetterQueue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(5),
    statistic: cloudwatch.Stats.MAXIMUM,
    ...props,
  });
}

/** An alarm on anything in a dead-letter queue, given its `deadLetterMetric`. */
export function deadLetterAlarm(
  scope: Construct,
  metric: cloudwatch.IMetric,
  description: string,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'DeadLetterAlarm', {
    alarmDescription: description,
    metric,
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** Send only to `queue`, and its key only through SQS. */
export function grantSendToQueue(queue: sqs.IQueue, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['sqs:SendMessage'],
    resourceArns: [queue.queueArn],
  });
  const key = queue.encryptionMasterKey;
  if (key) {
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resourceArns: [key.keyArn],
        conditions: viaService(queue, 'sqs'),
      }),
    );
  }
  return grant;
}

/** What an SQS event source's function needs on `queue` (its key is granted separately). */
export function consumeStatement(queue: sqs.IQueue): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
    ],
    resources: [queue.queueArn],
  });
}
