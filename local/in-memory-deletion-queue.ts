/**
 * Local mode's deletion queue: what SQS and the event source mapping do in
 * AWS, in memory. A job id sent with a delay is delivered after it to the
 * worker as a one-record SQS event; a record the worker reports as failed (or
 * a worker that throws) is delivered again once it is visible again, up to
 * `maxReceives` times, then set aside as a dead letter, as the stack's
 * redrive policy does. Messages carry job ids only.
 *
 * Visibility, as in AWS, outlasts the worker's lease: a failed delivery is
 * visible again `visibilityTimeoutSeconds` after it ended (SQS counts from
 * the receive; counting from the end is never earlier), so a job whose lease
 * is still held is not handed to a worker that could only answer "busy".
 * `visibleAgainIn` shortens that wait, as a worker calling
 * ChangeMessageVisibility would: local mode tells it when the job's lease is
 * free (at once when the failed run released it), so a job that failed for a
 * passing reason is tried again after `retryDelaySeconds`.
 *
 * Pending deliveries live in memory: local mode queues the jobs still open
 * in the deletion table again when it starts.
 */

import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LEASE_MS } from '../lambda/deletion-worker/job-store';
import type { JobQueue } from '../lambda/shared/deletion-queue';

export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

/** The deletion worker's lease (15 minutes): as in AWS, a failed delivery stays invisible at least that long. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = LEASE_MS / 1000;
export const DEFAULT_RETRY_DELAY_SECONDS = 5;
export const DEFAULT_MAX_RECEIVES = 5;

export interface LocalJobQueueOptions {
  /**
   * Seconds a failed delivery stays invisible (counted from its end) unless
   * `visibleAgainIn` says sooner. Local mode sets the worker's lease.
   * @default 900
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * After a failed delivery: milliseconds until the job may be worked on
   * again (local mode: until the job's lease runs out; 0 when it is free).
   * The wait is kept between `retryDelaySeconds` and the visibility timeout;
   * undefined or a rejection leaves the visibility timeout.
   * @default - none: every failed delivery waits the visibility timeout
   */
  readonly visibleAgainIn?: (deletionId: string) => Promise<number | undefined>;
  /** The least a failed delivery waits, however soon the job is free. @default 5 */
  readonly retryDelaySeconds?: number;
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
  const visibilityMs =
    (options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS) * 1000;
  const retryMs = Math.min(
    visibilityMs,
    (options.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS) * 1000,
  );
  const maxReceives = options.maxReceives ?? DEFAULT_MAX_RECEIVES;
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

  /** How long a failed delivery stays invisible. */
  async function invisibleFor(deletionId: string): Promise<number> {
    if (!options.visibleAgainIn) return visibilityMs;
    let ms: number | undefined;
    try {
      ms = await options.visibleAgainIn(deletionId);
    } catch {
      return visibilityMs;
    }
    if (ms === undefined || !Number.isFinite(ms)) return visibilityMs;
    return Math.min(visibilityMs, Math.max(retryMs, Math.ceil(ms)));
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
    schedule(deletionId, await invisibleFor(deletionId), receiveCount);
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
