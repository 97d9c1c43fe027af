import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import { createAllowlistLogger } from '../../../lambda/shared/allowlist-logger';
import { imageKey } from '../../../lambda/shared/image-key';
import {
  DELETE_FAILED_MESSAGE,
  LIST_FAILED_MESSAGE,
  SWEEP_LOG_SCHEMA,
  type SweeperDeps,
  type TimeBudget,
  createHandler,
} from '../../../lambda/image-sweeper/sweep';

const BUCKET = 'image-bucket';
const NOW_MS = 1_700_000_000_500;
const NOW_S = Math.floor(NOW_MS / 1000);
/** Appears in every S3 error the mocks return; must never reach a log line or error. */
const CANARY = 'CANARY-s3-error-text-7f3a';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });

/** Key of an image that expires `offsetSeconds` from NOW (negative: already due). */
function key(offsetSeconds: number, id: string): string {
  return imageKey(new Date((NOW_S + offsetSeconds) * 1000), id, 'png');
}

function dueKeys(count: number, prefix = 'due'): string[] {
  // Spread over distinct expiries; zero-padded index keeps ids in order within one second.
  return Array.from({ length: count }, (_, i) =>
    key(-100_000 + Math.floor(i / 10), `${prefix}${String(i).padStart(6, '0')}`),
  );
}

/**
 * An in-memory bucket behind the mock: ListObjectsV2 pages through the sorted
 * keys like S3 (continuation token = last key returned), DeleteObjects removes
 * them unless `failKeys` names them.
 */
function fakeBucket(initial: string[], failKeys: ReadonlySet<string> = new Set()): Set<string> {
  const objects = new Set(initial);
  s3Mock.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const prefix = input.Prefix ?? '';
    const after = input.ContinuationToken ?? '';
    const all = [...objects]
      .filter((k) => k.startsWith(prefix) && k > after)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const maxKeys = input.MaxKeys ?? 1000;
    const page = all.slice(0, maxKeys);
    const isTruncated = all.length > maxKeys;
    return {
      Contents: page.length > 0 ? page.map((Key) => ({ Key })) : undefined,
      KeyCount: page.length,
      IsTruncated: isTruncated,
      NextContinuationToken: isTruncated ? page[page.length - 1] : undefined,
    };
  });
  s3Mock.on(DeleteObjectsCommand).callsFake((input: DeleteObjectsCommandInput) => {
    const errors: { Key: string; Code: string; Message: string }[] = [];
    for (const { Key } of input.Delete?.Objects ?? []) {
      if (Key === undefined) continue;
      if (failKeys.has(Key)) {
        errors.push({ Key, Code: 'AccessDenied', Message: `${CANARY} ${Key}` });
      } else {
        objects.delete(Key);
      }
    }
    return errors.length > 0 ? { Errors: errors } : {};
  });
  return objects;
}

interface Harness {
  lines: string[];
  run: (context?: TimeBudget) => ReturnType<ReturnType<typeof createHandler>>;
}

function harness(overrides: Partial<SweeperDeps> = {}): Harness {
  const lines: string[] = [];
  const handler = createHandler({
    s3,
    bucketName: BUCKET,
    now: () => new Date(NOW_MS),
    logger: createAllowlistLogger('sweep', SWEEP_LOG_SCHEMA, (line) => lines.push(line)),
    ...overrides,
  });
  return { lines, run: (context) => handler({ source: 'aws.events' }, context) };
}

const plenty: TimeBudget = { getRemainingTimeInMillis: () => 300_000 };

function deleteBatches(): string[][] {
  return s3Mock
    .commandCalls(DeleteObjectsCommand)
    .map((call) => (call.args[0].input.Delete?.Objects ?? []).map((o) => o.Key as string));
}

function onlyLine(lines: string[]): Record<string, unknown> {
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

beforeEach(() => {
  s3Mock.reset();
});

describe('image sweeper', () => {
  test('empty bucket: one list call, nothing deleted, one line of zeros', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });
    const { lines, run } = harness();

    await expect(run(plenty)).resolves.toEqual({
      listed: 0,
      deleted: 0,
      failed: 0,
      malformed: 0,
      durationMs: 0,
      truncated: false,
      lagSeconds: 0,
    });

    const calls = s3Mock.commandCalls(ListObjectsV2Command);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      Bucket: BUCKET,
      Prefix: 'images/',
      ContinuationToken: undefined,
      MaxKeys: 1000,
    });
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(onlyLine(lines)).toEqual({
      event: 'sweep',
      listed: 0,
      deleted: 0,
      failed: 0,
      malformed: 0,
      duration_ms: 0,
      truncated: false,
      lag_seconds: 0,
      errors: 0,
      completed: 1,
    });
  });

  test('follows continuation tokens across pages and deletes every due key', async () => {
    const due = dueKeys(2500);
    const future = [key(1, 'future1'), key(3600, 'future2')];
    const bucket = fakeBucket([...due, ...future]);
    const { lines, run } = harness();

    const summary = await run(plenty);

    expect([...bucket].sort()).toEqual([...future].sort());
    const listCalls = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(listCalls.map((i) => i.ContinuationToken)).toEqual([undefined, due[999], due[1999]]);
    expect(listCalls.every((i) => i.Prefix === 'images/' && i.Bucket === BUCKET)).toBe(true);
    expect(summary).toMatchObject({ listed: 2501, deleted: 2500, failed: 0, truncated: false });
    expect(onlyLine(lines)).toMatchObject({ listed: 2501, deleted: 2500, truncated: false });
  });

  test('deletes in Quiet batches of at most 1000 keys, in key order', async () => {
    const due = dueKeys(2001);
    fakeBucket(due);
    const { run } = harness({ listPageSize: 700 });

    await run(plenty);

    const batches = deleteBatches();
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 1]);
    expect(batches.flat()).toEqual(due);
    for (const call of s3Mock.commandCalls(DeleteObjectsCommand)) {
      expect(call.args[0].input.Bucket).toBe(BUCKET);
      expect(call.args[0].input.Delete?.Quiet).toBe(true);
    }
  });

  test('stops listing at the first key whose expiry is in the future', async () => {
    const due = dueKeys(3);
    const firstFuture = key(1, 'later');
    s3Mock
      .on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [...due, firstFuture, key(2, 'later2')].map((Key) => ({ Key })),
        IsTruncated: true,
        NextContinuationToken: 'token-2',
      })
      .rejects(new Error('the next page must not be requested'));
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const { lines, run } = harness();

    const summary = await run(plenty);

    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(1);
    expect(deleteBatches()).toEqual([due]);
    expect(summary).toMatchObject({ listed: 4, deleted: 3, failed: 0, truncated: false });
    expect(onlyLine(lines)).toMatchObject({ listed: 4, deleted: 3 });
  });

  test('a key expiring in the current second is due, the next second is not', async () => {
    const bucket = fakeBucket([key(0, 'now'), key(1, 'next')]);
    const { run } = harness();

    await run(plenty);

    expect([...bucket]).toEqual([key(1, 'next')]);
  });

  test('skips and counts malformed keys under the prefix without deleting them', async () => {
    const malformed = [
      'images/!oops',
      'images/0000000001/bad id.png',
      'images/0000000002/x.gif',
      'images/000000003/short.png',
    ];
    const due = dueKeys(2);
    const bucket = fakeBucket([...malformed, ...due, key(60, 'future')]);
    const { lines, run } = harness();

    const summary = await run(plenty);

    expect(deleteBatches().flat()).toEqual(due);
    expect([...bucket].sort()).toEqual([...malformed, key(60, 'future')].sort());
    expect(summary).toMatchObject({ listed: 7, deleted: 2, malformed: 4, failed: 0 });
    expect(onlyLine(lines)).toMatchObject({ malformed: 4, deleted: 2 });
  });

  test('counts per-key failures, logs counts only, then throws a fixed message', async () => {
    const due = dueKeys(1500);
    const failing = new Set([due[3], due[1200]]);
    const bucket = fakeBucket(due, failing);
    const { lines, run } = harness();

    const error = await run(plenty).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(DELETE_FAILED_MESSAGE);
    expect((error as Error).message).not.toContain(CANARY);
    expect([...bucket].sort()).toEqual([...failing].sort());
    const line = onlyLine(lines);
    expect(line).toEqual({
      event: 'sweep',
      listed: 1500,
      deleted: 1498,
      failed: 2,
      malformed: 0,
      duration_ms: 0,
      truncated: false,
      // The oldest key left behind, due[3], expired 100,000 s ago.
      lag_seconds: 100_000,
      errors: 2,
      completed: 1,
    });
    expect(lines[0]).not.toContain(CANARY);
    expect(lines[0]).not.toContain('AccessDenied');
  });

  test('a failed DeleteObjects request counts its whole batch, stops the run and throws', async () => {
    fakeBucket(dueKeys(2500));
    s3Mock.on(DeleteObjectsCommand).rejects(new Error(`${CANARY} service unavailable`));
    const { lines, run } = harness();

    await expect(run(plenty)).rejects.toThrow(new Error(DELETE_FAILED_MESSAGE));

    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(1);
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    expect(onlyLine(lines)).toMatchObject({ deleted: 0, failed: 1000, truncated: true });
    expect(lines[0]).not.toContain(CANARY);
  });

  test('a failed list request is logged and turned into a fixed error', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(new Error(`${CANARY} access denied`));
    const { lines, run } = harness();

    const error = await run(plenty).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect((error as Error).message).toBe(LIST_FAILED_MESSAGE);
    expect(String((error as Error).stack)).not.toContain(CANARY);
    expect((error as Error & { cause?: unknown }).cause).toBeUndefined();
    expect(onlyLine(lines)).toMatchObject({ listed: 0, deleted: 0, truncated: true });
    expect(lines[0]).not.toContain(CANARY);
  });

  test('keys already batched are still deleted when a later page cannot be listed', async () => {
    const due = dueKeys(5);
    s3Mock
      .on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: due.map((Key) => ({ Key })),
        IsTruncated: true,
        NextContinuationToken: 't',
      })
      .rejects(new Error(CANARY));
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const { lines, run } = harness();

    await expect(run(plenty)).rejects.toThrow(LIST_FAILED_MESSAGE);

    expect(deleteBatches()).toEqual([due]);
    expect(onlyLine(lines)).toMatchObject({ listed: 5, deleted: 5, truncated: true });
  });

  test('stops when the remaining time runs low and leaves the rest for the next run', async () => {
    const due = dueKeys(3000);
    const bucket = fakeBucket(due);
    const remaining = [60_000, 9_999];
    let checks = 0;
    const context: TimeBudget = {
      getRemainingTimeInMillis: () => remaining[Math.min(checks++, remaining.length - 1)],
    };
    const { lines, run } = harness();

    const summary = await run(context);

    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(1);
    expect(deleteBatches().map((b) => b.length)).toEqual([1000]);
    expect(bucket.size).toBe(2000);
    expect(summary).toMatchObject({ deleted: 1000, failed: 0, truncated: true });
    expect(onlyLine(lines)).toMatchObject({ deleted: 1000, truncated: true });
  });

  test('does nothing but log when the time is already low at the start', async () => {
    fakeBucket(dueKeys(10));
    const { lines, run } = harness();

    await run({ getRemainingTimeInMillis: () => 5_000 });

    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
    expect(onlyLine(lines)).toMatchObject({ listed: 0, deleted: 0, truncated: true });
  });

  test('runs without a Lambda context (local mode) until nothing is due', async () => {
    const bucket = fakeBucket([...dueKeys(1200), key(5, 'f')]);
    const { run } = harness();

    await expect(run()).resolves.toMatchObject({ deleted: 1200, truncated: false });
    expect(bucket.size).toBe(1);
  });

  test('stops after maxDeletesPerRun deletions', async () => {
    const due = dueKeys(2500);
    const bucket = fakeBucket(due);
    const { lines, run } = harness({ maxDeletesPerRun: 1500 });

    const summary = await run(plenty);

    expect(deleteBatches().map((b) => b.length)).toEqual([1000, 500]);
    expect(bucket.size).toBe(1000);
    expect(summary).toMatchObject({ deleted: 1500, truncated: true });
    expect(onlyLine(lines)).toMatchObject({ deleted: 1500, truncated: true });
  });

  test('is not truncated when the cap equals exactly what is due', async () => {
    fakeBucket([...dueKeys(1500), key(10, 'f')]);
    const { run } = harness({ maxDeletesPerRun: 1500 });

    await expect(run(plenty)).resolves.toMatchObject({ deleted: 1500, truncated: false });
  });

  test('the log line holds only schema fields and never a key or id', async () => {
    const due = dueKeys(20, 'secretid');
    fakeBucket(
      [...due, 'images/-malformed-secretid' /* sorts before digits */, key(9, 'secretidfuture')],
      new Set([due[0]]),
    );
    let t = NOW_MS;
    const { lines, run } = harness({ now: () => new Date((t += 250)) });

    await expect(run(plenty)).rejects.toThrow(DELETE_FAILED_MESSAGE);

    const line = onlyLine(lines);
    expect(Object.keys(line).sort()).toEqual(['event', ...Object.keys(SWEEP_LOG_SCHEMA)].sort());
    expect(line).toEqual({
      event: 'sweep',
      listed: 22,
      deleted: 19,
      failed: 1,
      malformed: 1,
      duration_ms: 250,
      truncated: false,
      lag_seconds: 100_001,
      errors: 1,
      completed: 1,
    });
    expect(lines[0]).not.toMatch(/images|secretid|png/);
  });

  test('rejects invalid dependencies at creation', () => {
    expect(() =>
      createHandler({ s3, bucketName: '', maxDeletesPerRun: 0, listPageSize: 1001 }),
    ).toThrow(
      'Invalid image sweeper dependencies: bucketName is required; maxDeletesPerRun must be a positive whole number; listPageSize must be a whole number from 1 to 1000',
    );
    expect(() => createHandler({ s3, bucketName: BUCKET, minRemainingMillis: -1 })).toThrow(
      'Invalid image sweeper dependencies: minRemainingMillis must be a non-negative number',
    );
  });
});

describe('how far behind the sweep is (SweepLagSeconds) and its metrics', () => {
  test('a cap that leaves due images reports the age past expiry of the oldest one left', async () => {
    const due = dueKeys(30);
    fakeBucket(due);
    const { lines, run } = harness({ maxDeletesPerRun: 25 });
    const summary = await run(plenty);
    // due[25] is the oldest left: it expired 100,000 - floor(25 / 10) = 99,998 s ago.
    expect(summary).toMatchObject({ deleted: 25, truncated: true, lagSeconds: 99_998 });
    expect(onlyLine(lines)).toMatchObject({ lag_seconds: 99_998, completed: 1, errors: 0 });
  });

  test('a failed DeleteObjects request leaves its batch: the lag is its oldest key', async () => {
    fakeBucket(dueKeys(10));
    s3Mock.on(DeleteObjectsCommand).rejects(new Error('throttled'));
    const { lines, run } = harness();
    await expect(run(plenty)).rejects.toThrow(DELETE_FAILED_MESSAGE);
    expect(onlyLine(lines)).toMatchObject({ lag_seconds: 100_000, errors: 10, completed: 1 });
  });

  test('a failed listing reports an error and no lag, and does not count as completed', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(new Error(`${CANARY} denied`));
    const { lines, run } = harness();
    await expect(run(plenty)).rejects.toThrow(LIST_FAILED_MESSAGE);
    const line = onlyLine(lines);
    expect(line).toMatchObject({ errors: 1, completed: 0 });
    expect(line).not.toHaveProperty('lag_seconds');
  });

  test('stopping for lack of time before seeing what comes next leaves the lag unknown', async () => {
    fakeBucket(dueKeys(10));
    const { lines, run } = harness();
    await run({ getRemainingTimeInMillis: () => 1 });
    expect(onlyLine(lines)).toMatchObject({ truncated: true, completed: 0 });
    expect(onlyLine(lines)).not.toHaveProperty('lag_seconds');
  });

  /**
   * Runs the handler with its default logger (the sweep line with its embedded
   * metrics, to stdout) and returns what it wrote and what it threw.
   */
  async function runWithDefaultLogger(): Promise<{ written: string[]; error: unknown }> {
    const written: string[] = [];
    const stdout = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    let error: unknown;
    try {
      const handler = createHandler({ s3, bucketName: BUCKET, now: () => new Date(NOW_MS) });
      await handler({}, plenty);
    } catch (e: unknown) {
      error = e;
    } finally {
      stdout.mockRestore();
    }
    return { written, error };
  }

  /** The `_aws` block of a sweep line that carries the named metrics. */
  function emfBlock(metricNames: string[]): Record<string, unknown> {
    const units: Record<string, string> = {
      SweepLagSeconds: 'Seconds',
      ImagesSwept: 'Count',
      SweepErrors: 'Count',
      SweepsCompleted: 'Count',
    };
    return {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'Ephemera',
          Dimensions: [['ImageBucket']],
          Metrics: metricNames.map((Name) => ({ Name, Unit: units[Name] })),
        },
      ],
    };
  }

  test('the default logger publishes the metrics in embedded metric format, under the bucket dimension', async () => {
    fakeBucket([...dueKeys(3), key(60, 'future')]);
    const { written, error } = await runWithDefaultLogger();
    expect(error).toBeUndefined();
    expect(written).toHaveLength(1);
    const line = JSON.parse(written[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      event: 'sweep',
      deleted: 3,
      ImageBucket: BUCKET,
      SweepLagSeconds: 0,
      ImagesSwept: 3,
      SweepErrors: 0,
      SweepsCompleted: 1,
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'Ephemera',
            Dimensions: [['ImageBucket']],
            Metrics: [
              { Name: 'SweepLagSeconds', Unit: 'Seconds' },
              { Name: 'ImagesSwept', Unit: 'Count' },
              { Name: 'SweepErrors', Unit: 'Count' },
              { Name: 'SweepsCompleted', Unit: 'Count' },
            ],
          },
        ],
      },
    });
    expect(written[0]).not.toMatch(/secretid|png|due0/);
  });

  test('a failed listing publishes an error and no completed sweep, and no lag value at all', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(new Error(`${CANARY} access denied`));
    const { written, error } = await runWithDefaultLogger();
    expect((error as Error).message).toBe(LIST_FAILED_MESSAGE);
    expect(written).toHaveLength(1);
    const line = JSON.parse(written[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      event: 'sweep',
      ImageBucket: BUCKET,
      ImagesSwept: 0,
      SweepErrors: 1,
      SweepsCompleted: 0,
      // Only the metrics whose value is known: no SweepLagSeconds, not even 0,
      // so the lag alarm keeps its state and the stalled alarm counts the miss.
      _aws: emfBlock(['ImagesSwept', 'SweepErrors', 'SweepsCompleted']),
    });
    expect(line).not.toHaveProperty('SweepLagSeconds');
    expect(line).not.toHaveProperty('lag_seconds');
    expect(written[0]).not.toContain(CANARY);
  });

  test('a failed deletion publishes the lag it leaves, its errors and a completed sweep', async () => {
    const due = dueKeys(3);
    fakeBucket([...due, key(60, 'future')], new Set([due[0]]));
    const { written, error } = await runWithDefaultLogger();
    expect((error as Error).message).toBe(DELETE_FAILED_MESSAGE);
    expect(written).toHaveLength(1);
    const line = JSON.parse(written[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      event: 'sweep',
      ImageBucket: BUCKET,
      // due[0], left behind, expired 100,000 s ago.
      SweepLagSeconds: 100_000,
      ImagesSwept: 2,
      SweepErrors: 1,
      SweepsCompleted: 1,
      _aws: emfBlock(['SweepLagSeconds', 'ImagesSwept', 'SweepErrors', 'SweepsCompleted']),
    });
    expect(written[0]).not.toContain(CANARY);
    expect(written[0]).not.toMatch(/AccessDenied|png|due0/);
  });
});
