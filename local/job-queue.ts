/**
 * Local mode's deletion queue: what SQS and the event source mapping do in
 * AWS, in memory. A job id sent with a delay is delivered after it to the
 * worker as a one-record SQS event; a record the worker reports as failed (or
 * a worker that throws) is delivered again after the visibility timeout, up to
 * `maxReceives` times, then set aside as a dead letter, as the stack's
 * redrive policy does. Messages carry job ids only.
 *
 * Pending deliveries live in memory: local mode queues the jobs still open
 * in the deletion table again when it starts.
 */

import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { JobQueue } from '../lambda/shared/job-queue';

export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface LocalJobQueueOptions {
  /** Seconds before a failed delivery is tried again. @default 5 */
  readonly visibilityTimeoutSeconds?: number;
  /** Deliveries before a message is set aside. @default 5 (the stack's redrive policy) */
  readonly maxReceives?: number;
  /** Told when a message is set aside (its job id only). */
  readonly onDeadLetter?: (deletionId: string) => void;
}

export interface LocalJobQueue extends JobQueue {
  /** Job ids set aside after `maxReceives` failed deliveries. */
  readonly deadLetters: readonly string[];
  /** Resolves when nothing is pending or being delivered. */
  idle(): Promise<void>;
  /** Stops: pending deliveries are dropped, a delivery under way finishes. */
  stop(): Promise<void>;
}

export function localJobQueue(
  consumer: QueueConsumer,
  options: LocalJobQueueOptions = {},
): LocalJobQueue {
  const visibilityMs = (options.visibilityTimeoutSeconds ?? 5) * 1000;
  const maxReceives = options.maxReceives ?? 5;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const deadLetters: string[] = [];
  let stopped = false;

  function schedule(deletionId: string, delayMs: number, receives: number): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const delivery = deliver(deletionId, receives + 1).finally(() => running.delete(delivery));
      running.add(delivery);
    }, delayMs);
    timers.add(timer);
  }

  async function deliver(deletionId: string, receiveCount: number): Promise<void> {
    const messageId = randomUUID();
    let failed: boolean;
    try {
      const response = await consumer({
        Records: [
          {
            messageId,
            receiptHandle: randomUUID(),
            body: deletionId,
            attributes: {
              ApproximateReceiveCount: String(receiveCount),
              SentTimestamp: String(Date.now()),
              SenderId: 'local',
              ApproximateFirstReceiveTimestamp: String(Date.now()),
            },
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ephemera-local-deletions',
            awsRegion: 'us-east-1',
          },
        ],
      });
      failed = (response?.batchItemFailures ?? []).some((f) => f.itemIdentifier === messageId);
    } catch {
      failed = true;
    }
    if (!failed) return;
    if (receiveCount >= maxReceives) {
      deadLetters.push(deletionId);
      options.onDeadLetter?.(deletionId);
      return;
    }
    schedule(deletionId, visibilityMs, receiveCount);
  }

  return {
    deadLetters,
    async send(deletionId, delaySeconds) {
      schedule(deletionId, Math.max(0, Math.min(900, delaySeconds)) * 1000, 0);
    },
    async idle() {
      while (timers.size > 0 || running.size > 0) {
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}
