/**
 * The image sweeper: deletes images whose TTL has passed (promise P2).
 *
 * Image keys sort by expiry (see `lambda/shared/image-key.ts`), so one run lists
 * the `images/` prefix from the start and stops at the first key that is not yet
 * due: the work grows with what is due, not with the size of the bucket. Due keys
 * are removed with DeleteObjects in batches of up to 1000. Keys under the prefix
 * that do not parse are skipped and counted; the bucket's lifecycle rule removes
 * them (and is the backstop for everything else).
 *
 * A run stops early, leaving the rest for the next run, when the invocation is
 * close to its timeout or after `maxDeletesPerRun` deletions. It writes exactly one
 * log line of counts, which also carries CloudWatch metrics (embedded metric
 * format, dimension `ImageBucket`): how far behind the sweep is
 * (`SweepLagSeconds`: how long past its expiry the oldest due image it left
 * behind is, 0 when it left none), `ImagesSwept`, `SweepErrors`, and
 * `SweepsCompleted` (1 when the run could list what was due). If anything
 * failed it then throws an error with a fixed message, so that the invocation
 * counts as failed; no S3 error text is ever logged or rethrown.
 */

import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';

import {
  type AllowlistLogger,
  createAllowlistLogger,
  type EmbeddedMetrics,
  type LogSchema,
} from '../shared/allowlist-logger';
import { IMAGE_KEY_PREFIX, parseImageKey } from '../shared/image-key';
import { DEFAULT_MAX_DELETES_PER_RUN } from './config';

/** The one line a run writes (event `sweep`): counts only, never a key. */
export const SWEEP_LOG_SCHEMA = {
  /** Keys examined (including the first not-yet-due key that ends the scan). */
  listed: { kind: 'int', min: 0 },
  /** Keys deleted. */
  deleted: { kind: 'int', min: 0 },
  /** Keys whose deletion failed (per-key errors, or a whole batch whose request failed). */
  failed: { kind: 'int', min: 0 },
  /** Keys under the prefix that are not image keys (left to the lifecycle rule). */
  malformed: { kind: 'int', min: 0 },
  /** Wall-clock time of the run. */
  duration_ms: { kind: 'int', min: 0 },
  /** True when the run stopped before reaching the end of what is due. */
  truncated: { kind: 'bool' },
  /** Seconds past its expiry of the oldest due image left behind (0: none left). */
  lag_seconds: { kind: 'int', min: 0 },
  /** Failed deletions, plus 1 when the bucket could not be listed. */
  errors: { kind: 'int', min: 0 },
  /** 1 when the run could list what was due, else 0. */
  completed: { kind: 'int', min: 0, max: 1 },
} as const satisfies LogSchema;

/** Namespace of Ephemera's own metrics. */
export const METRIC_NAMESPACE = 'Ephemera';
/** The dimension that tells deployments apart: the image bucket's name. */
export const SWEEP_METRIC_DIMENSION = 'ImageBucket';

/** The sweep line's metrics (see the construct's `metricSweepLag` and friends). */
export function sweepMetrics(bucketName: string): EmbeddedMetrics<typeof SWEEP_LOG_SCHEMA> {
  return {
    namespace: METRIC_NAMESPACE,
    dimensions: { [SWEEP_METRIC_DIMENSION]: bucketName },
    metrics: [
      { name: 'SweepLagSeconds', field: 'lag_seconds', unit: 'Seconds' },
      { name: 'ImagesSwept', field: 'deleted', unit: 'Count' },
      { name: 'SweepErrors', field: 'errors', unit: 'Count' },
      { name: 'SweepsCompleted', field: 'completed', unit: 'Count' },
    ],
  };
}

export type SweepLogger = AllowlistLogger<typeof SWEEP_LOG_SCHEMA>;

/** DeleteObjects accepts at most 1000 keys per request. */
export const DELETE_BATCH_SIZE = 1000;

/** A run stops starting new work when less than this much time is left. */
export const DEFAULT_MIN_REMAINING_MILLIS = 10_000;

/** Thrown (after logging) when some deletions failed. Fixed text, never S3's. */
export const DELETE_FAILED_MESSAGE = 'Image sweep failed: some images could not be deleted';

/** Thrown (after logging) when the bucket could not be listed. Fixed text, never S3's. */
export const LIST_FAILED_MESSAGE = 'Image sweep failed: the image bucket could not be listed';

export interface SweepSummary {
  readonly listed: number;
  readonly deleted: number;
  readonly failed: number;
  readonly malformed: number;
  readonly durationMs: number;
  readonly truncated: boolean;
  /** Seconds past its expiry of the oldest due image left behind; undefined when unknown (listing failed). */
  readonly lagSeconds?: number;
}

/** The part of the Lambda context the sweeper uses. */
export interface TimeBudget {
  getRemainingTimeInMillis(): number;
}

export interface SweeperDeps {
  /** S3 client (created once at module scope by the handler). */
  readonly s3: S3Client;
  /** Bucket that holds the images. */
  readonly bucketName: string;
  /** Clock. @default () => new Date() */
  readonly now?: () => Date;
  /** Logger for the run's line. @default the sweep line with its metrics, to stdout */
  readonly logger?: SweepLogger;
  /** Deletions attempted per run. @default 50000 */
  readonly maxDeletesPerRun?: number;
  /** Stop starting new work below this much remaining time. @default 10000 */
  readonly minRemainingMillis?: number;
  /** MaxKeys of each ListObjectsV2 page (1-1000). @default 1000 */
  readonly listPageSize?: number;
}

export type SweepHandler = (event?: unknown, context?: TimeBudget) => Promise<SweepSummary>;

/**
 * Builds the handler. `context` is the Lambda context; without one (local mode)
 * only `maxDeletesPerRun` limits a run.
 */
export function createHandler(deps: SweeperDeps): SweepHandler {
  const { s3, bucketName } = deps;
  const now = deps.now ?? (() => new Date());
  const maxDeletesPerRun = deps.maxDeletesPerRun ?? DEFAULT_MAX_DELETES_PER_RUN;
  const minRemainingMillis = deps.minRemainingMillis ?? DEFAULT_MIN_REMAINING_MILLIS;
  const listPageSize = deps.listPageSize ?? 1000;

  const problems: string[] = [];
  if (bucketName === '') problems.push('bucketName is required');
  if (!Number.isSafeInteger(maxDeletesPerRun) || maxDeletesPerRun < 1) {
    problems.push('maxDeletesPerRun must be a positive whole number');
  }
  if (!Number.isFinite(minRemainingMillis) || minRemainingMillis < 0) {
    problems.push('minRemainingMillis must be a non-negative number');
  }
  if (!Number.isSafeInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000) {
    problems.push('listPageSize must be a whole number from 1 to 1000');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid image sweeper dependencies: ${problems.join('; ')}`);
  }
  const logger =
    deps.logger ??
    createAllowlistLogger('sweep', SWEEP_LOG_SCHEMA, undefined, sweepMetrics(bucketName));

  return async (_event, context) => {
    const startedMs = now().getTime();
    let listed = 0;
    let deleted = 0;
    let failed = 0;
    let malformed = 0;
    let truncated = false;
    let listFailed = false;
    let batch: { key: string; expiresMs: number }[] = [];
    /** Expiry (ms) of the oldest due image known to be left behind. */
    let oldestLeftMs: number | undefined;
    const leftBehind = (expiresMs: number) => {
      oldestLeftMs = Math.min(oldestLeftMs ?? expiresMs, expiresMs);
    };

    const timeIsLow = (): boolean =>
      context !== undefined && context.getRemainingTimeInMillis() < minRemainingMillis;

    /** Deletes the pending batch. Returns false if the request itself failed. */
    const flush = async (): Promise<boolean> => {
      if (batch.length === 0) return true;
      const keys = batch;
      batch = [];
      try {
        const out = await s3.send(
          new DeleteObjectsCommand({
            Bucket: bucketName,
            Delete: { Objects: keys.map(({ key }) => ({ Key: key })), Quiet: true },
          }),
        );
        // Quiet mode reports only failures. Their codes and messages are not logged.
        const errors = Math.min(out.Errors?.length ?? 0, keys.length);
        failed += errors;
        deleted += keys.length - errors;
        for (const error of out.Errors ?? []) {
          const parsed = error.Key === undefined ? undefined : parseImageKey(error.Key);
          leftBehind(parsed ? parsed.expiresAtEpochSeconds * 1000 : keys[0].expiresMs);
        }
        return true;
      } catch {
        failed += keys.length;
        // Keys sort by expiry: the first is the oldest.
        leftBehind(keys[0].expiresMs);
        return false;
      }
    };

    /** True when the run stopped for lack of time without seeing what came next. */
    let stoppedUnseen = false;
    let continuationToken: string | undefined;
    scan: do {
      if (timeIsLow()) {
        truncated = true;
        stoppedUnseen = true;
        break;
      }
      let page: ListObjectsV2CommandOutput;
      try {
        page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucketName,
            Prefix: IMAGE_KEY_PREFIX,
            ContinuationToken: continuationToken,
            MaxKeys: listPageSize,
          }),
        );
      } catch {
        listFailed = true;
        truncated = true;
        break;
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        if (key === undefined) continue;
        listed++;
        const parsed = parseImageKey(key);
        if (!parsed) {
          malformed++;
          continue;
        }
        const expiresMs = parsed.expiresAtEpochSeconds * 1000;
        // Keys sort by expiry: nothing after the first future key is due.
        if (expiresMs > startedMs) break scan;
        if (deleted + failed + batch.length >= maxDeletesPerRun) {
          truncated = true;
          leftBehind(expiresMs);
          break scan;
        }
        batch.push({ key, expiresMs });
        if (batch.length >= DELETE_BATCH_SIZE) {
          if (!(await flush())) {
            truncated = true;
            break scan;
          }
          if (timeIsLow()) {
            truncated = true;
            stoppedUnseen = true;
            break scan;
          }
        }
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);

    if (!(await flush())) truncated = true;

    const endedMs = now().getTime();
    const durationMs = Math.max(0, Math.round(endedMs - startedMs));
    // Unknown when the listing failed, or when time ran out before the next key was seen.
    const lagKnown = !listFailed && !stoppedUnseen;
    const lagSeconds = lagKnown
      ? oldestLeftMs === undefined
        ? 0
        : Math.max(0, Math.floor((endedMs - oldestLeftMs) / 1000))
      : undefined;
    logger.write({
      listed,
      deleted,
      failed,
      malformed,
      duration_ms: durationMs,
      truncated,
      lag_seconds: lagSeconds,
      errors: failed + (listFailed ? 1 : 0),
      completed: lagKnown ? 1 : 0,
    });

    if (listFailed) throw new Error(LIST_FAILED_MESSAGE);
    if (failed > 0) throw new Error(DELETE_FAILED_MESSAGE);
    return {
      listed,
      deleted,
      failed,
      malformed,
      durationMs,
      truncated,
      ...(lagSeconds !== undefined ? { lagSeconds } : {}),
    };
  };
}
