/**
 * The receipt queue: between the deletion worker, which sends the id of each
 * job it closes with a signed receipt, and the receipt webhook, which reads
 * the job and delivers the receipt. A message is `{"deletion_id":"del_..."}`
 * and nothing else (no receipt, no customer hash): what waits in the queue or
 * its dead-letter queue is a job id, which the receipt is read back from.
 */

import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isDeletionId } from './deletion-job';

export interface ReceiptQueue {
  /** Queues the id of a job that is done with a signed receipt. */
  send(deletionId: string): Promise<void>;
}

/** Longest body a receipt message can have (the id is 26 characters); anything longer is malformed. */
const MAX_BODY_LENGTH = 256;

/** The message body for a job id. */
export function receiptMessageBody(deletionId: string): string {
  if (!isDeletionId(deletionId)) throw new Error('receiptMessageBody: not a deletion id');
  return JSON.stringify({ deletion_id: deletionId });
}

/**
 * The job id of a receipt message, or undefined when the body is anything
 * but a JSON object whose one member is `deletion_id` holding a job id.
 */
export function parseReceiptMessageBody(body: unknown): string | undefined {
  if (typeof body !== 'string' || body.length === 0 || body.length > MAX_BODY_LENGTH) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== 'deletion_id') return undefined;
  const id = (parsed as { deletion_id: unknown }).deletion_id;
  return isDeletionId(id) ? id : undefined;
}

export function sqsReceiptQueue(sqs: SQSClient, queueUrl: string): ReceiptQueue {
  return {
    async send(deletionId) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: receiptMessageBody(deletionId) }),
      );
    },
  };
}
