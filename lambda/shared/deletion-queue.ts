/**
 * The deletion queue: it carries deletion job ids and nothing else (no
 * customer id, not even its hash). SQS in AWS; local mode plugs in its own.
 */

import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface JobQueue {
  /** Queues a job id, delivered after `delaySeconds` (0-900). */
  send(deletionId: string, delaySeconds: number): Promise<void>;
}

export function sqsJobQueue(sqs: SQSClient, queueUrl: string): JobQueue {
  return {
    async send(deletionId, delaySeconds) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: deletionId,
          DelaySeconds: Math.max(0, Math.min(900, Math.floor(delaySeconds))),
        }),
      );
    },
  };
}
