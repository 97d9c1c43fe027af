/**
 * Local mode's deletion queue (`local/in-memory-deletion-queue.ts`), on fake timers: when a
 * delivery the worker reports as failed comes again. Without a hint it waits
 * the visibility timeout (local mode: the worker's lease, as SQS's outlasts
 * it in AWS); `visibleAgainIn` brings it forward to when the job is free,
 * never sooner than the retry delay nor later than the visibility timeout.
 */

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
  localJobQueue,
  type LocalJobQueueOptions,
} from '../../local/in-memory-deletion-queue';
import { LEASE_MS } from '../../lambda/deletion-worker/job-store';

type Answer = 'ok' | 'failed' | 'throw';

/** A queue whose consumer answers from `answers` in turn and notes when each delivery came. */
function harness(answers: Answer[], options: LocalJobQueueOptions = {}) {
  const deliveries: { at: number; id: string; receive: number }[] = [];
  const started = Date.now();
  const queue = localJobQueue(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const record = event.Records[0];
    deliveries.push({
      at: Date.now() - started,
      id: record.body,
      receive: Number(record.attributes.ApproximateReceiveCount),
    });
    const answer = answers.shift() ?? 'ok';
    if (answer === 'throw') throw new Error('worker crashed');
    return {
      batchItemFailures: answer === 'failed' ? [{ itemIdentifier: record.messageId }] : [],
    };
  }, options);
  return { queue, deliveries };
}

const SECOND = 1000;

beforeEach(() => jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
afterEach(() => jest.useRealTimers());

test("by default a failed delivery stays invisible for the worker's lease", async () => {
  expect(DEFAULT_VISIBILITY_TIMEOUT_SECONDS * 1000).toBe(LEASE_MS);
  const { queue, deliveries } = harness(['failed', 'ok']);
  await queue.send('del_a', 0);
  await jest.advanceTimersByTimeAsync(LEASE_MS - 1);
  expect(deliveries).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(deliveries.map((d) => [d.at, d.receive])).toEqual([
    [0, 1],
    [LEASE_MS, 2],
  ]);
  await queue.stop();
});

test('delivers after the delay, once, when the worker succeeds', async () => {
  const { queue, deliveries } = harness(['ok']);
  await queue.send('del_a', 3);
  await jest.advanceTimersByTimeAsync(2_999);
  expect(deliveries).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(deliveries).toEqual([{ at: 3_000, id: 'del_a', receive: 1 }]);
  await jest.advanceTimersByTimeAsync(3_600 * SECOND);
  expect(deliveries).toHaveLength(1);
  await queue.stop();
});

test('without a hint, a failed or thrown delivery comes again only after the visibility timeout', async () => {
  const { queue, deliveries } = harness(['failed', 'throw', 'ok'], {
    visibilityTimeoutSeconds: 900,
  });
  await queue.send('del_a', 0);
  await jest.advanceTimersByTimeAsync(0);
  expect(deliveries).toHaveLength(1);
  // Not after the old 5 seconds, nor at any moment before the lease could have run out.
  await jest.advanceTimersByTimeAsync(900 * SECOND - 1);
  expect(deliveries).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(deliveries.map((d) => [d.at, d.receive])).toEqual([
    [0, 1],
    [900 * SECOND, 2],
  ]);
  await jest.advanceTimersByTimeAsync(900 * SECOND);
  expect(deliveries.map((d) => [d.at, d.receive])).toEqual([
    [0, 1],
    [900 * SECOND, 2],
    [1_800 * SECOND, 3],
  ]);
  await jest.advanceTimersByTimeAsync(3_600 * SECOND);
  expect(deliveries).toHaveLength(3);
  await queue.stop();
});

test('a job that is free again (lease released) is retried after the retry delay', async () => {
  const asked: string[] = [];
  const { queue, deliveries } = harness(['failed', 'ok'], {
    visibilityTimeoutSeconds: 900,
    retryDelaySeconds: 5,
    visibleAgainIn: async (id) => {
      asked.push(id);
      return 0;
    },
  });
  await queue.send('del_a', 0);
  await jest.advanceTimersByTimeAsync(4_999);
  expect(deliveries).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(deliveries.map((d) => [d.at, d.receive])).toEqual([
    [0, 1],
    [5_000, 2],
  ]);
  expect(asked).toEqual(['del_a']);
  await queue.stop();
});

test('a job whose lease is still held comes again when the lease could have run out', async () => {
  const { queue, deliveries } = harness(['failed', 'ok'], {
    visibilityTimeoutSeconds: 900,
    visibleAgainIn: async () => 120_500,
  });
  await queue.send('del_a', 0);
  await jest.advanceTimersByTimeAsync(120_499);
  expect(deliveries).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(deliveries.map((d) => d.at)).toEqual([0, 120_500]);
  await queue.stop();
});

test.each([
  ['longer than the visibility timeout', async () => 3_600 * SECOND, 900 * SECOND],
  ['unknown', async () => undefined, 900 * SECOND],
  [
    'unreadable',
    async () => {
      throw new Error('store down');
    },
    900 * SECOND,
  ],
  ['not a number', async () => Number.NaN, 900 * SECOND],
  ['shorter than the retry delay', async () => 10, 5 * SECOND],
])(
  'a hint that is %s is kept within the retry delay and the visibility timeout',
  async (_what, hint: () => Promise<number | undefined>, expected) => {
    const { queue, deliveries } = harness(['failed', 'ok'], {
      visibilityTimeoutSeconds: 900,
      retryDelaySeconds: 5,
      visibleAgainIn: hint,
    });
    await queue.send('del_a', 0);
    await jest.advanceTimersByTimeAsync(expected - 1);
    expect(deliveries).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(deliveries.map((d) => d.at)).toEqual([0, expected]);
    await queue.stop();
  },
);

test('after maxReceives failed deliveries the job id is set aside', async () => {
  const dead: string[] = [];
  const { queue, deliveries } = harness(['failed', 'failed', 'failed'], {
    visibilityTimeoutSeconds: 10,
    maxReceives: 3,
    onDeadLetter: (id) => dead.push(id),
  });
  await queue.send('del_a', 0);
  await jest.advanceTimersByTimeAsync(60 * SECOND);
  expect(deliveries.map((d) => [d.at, d.receive])).toEqual([
    [0, 1],
    [10 * SECOND, 2],
    [20 * SECOND, 3],
  ]);
  expect(dead).toEqual(['del_a']);
  expect(queue.deadLetters).toEqual(['del_a']);
  await queue.stop();
});

test('stop drops what is pending', async () => {
  const { queue, deliveries } = harness(['failed'], { visibilityTimeoutSeconds: 10 });
  await queue.send('del_a', 0);
  await queue.send('del_b', 30);
  await jest.advanceTimersByTimeAsync(0);
  await queue.stop();
  await jest.advanceTimersByTimeAsync(60 * SECOND);
  expect(deliveries.map((d) => d.id)).toEqual(['del_a']);
});
