/**
 * Configuration of the image sweeper, read once at cold start.
 */

/** Default cap on deletions attempted in one run. */
export const DEFAULT_MAX_DELETES_PER_RUN = 50_000;

/** Upper bound accepted for MAX_DELETES_PER_RUN. */
export const MAX_MAX_DELETES_PER_RUN = 10_000_000;

export interface SweeperConfig {
  /** Bucket that holds the images (IMAGE_BUCKET_NAME). */
  readonly bucketName: string;
  /** Deletions attempted per run before the rest is left to the next run (MAX_DELETES_PER_RUN). */
  readonly maxDeletesPerRun: number;
}

/** S3 bucket naming rules (general purpose buckets): 3-63 chars, lower case, digits, `.`, `-`. */
const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads and validates the sweeper's environment. Collects every problem and
 * throws once, naming the variables and the allowed values.
 */
export function readSweeperConfig(
  env: Readonly<Record<string, string | undefined>>,
): SweeperConfig {
  const problems: string[] = [];

  const bucketName = env.IMAGE_BUCKET_NAME ?? '';
  if (bucketName === '') {
    problems.push('IMAGE_BUCKET_NAME is required');
  } else if (!BUCKET_NAME_PATTERN.test(bucketName) || bucketName.includes('..')) {
    problems.push('IMAGE_BUCKET_NAME must be a valid S3 bucket name (3-63 of a-z, 0-9, ., -)');
  }

  let maxDeletesPerRun = DEFAULT_MAX_DELETES_PER_RUN;
  const rawMax = env.MAX_DELETES_PER_RUN;
  if (rawMax !== undefined && rawMax !== '') {
    const parsed = /^\d{1,9}$/.test(rawMax) ? Number(rawMax) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > MAX_MAX_DELETES_PER_RUN) {
      problems.push(
        `MAX_DELETES_PER_RUN must be a whole number from 1 to ${MAX_MAX_DELETES_PER_RUN} (default ${DEFAULT_MAX_DELETES_PER_RUN})`,
      );
    } else {
      maxDeletesPerRun = parsed;
    }
  }

  if (problems.length > 0) {
    throw new Error(`Invalid image sweeper configuration: ${problems.join('; ')}`);
  }
  return { bucketName, maxDeletesPerRun };
}
