/**
 * Configuration of the image sweeper, read once at cold start through its
 * contract (lib/core/env/image-sweeper.ts).
 */

import { imageSweeperEnv } from '../../lib/core/env/image-sweeper';
import type { Env, EnvValues } from '../../lib/core/handler-env';

const { maxDeletesPerRun } = imageSweeperEnv.vars;

/** Default cap on deletions attempted in one run. */
export const DEFAULT_MAX_DELETES_PER_RUN = maxDeletesPerRun.fallback;

/** Upper bound accepted for MAX_DELETES_PER_RUN. */
export const MAX_MAX_DELETES_PER_RUN = maxDeletesPerRun.range.max;

/** The sweeper's configuration: its contract's values. */
export type SweeperConfig = EnvValues<typeof imageSweeperEnv.vars>;

/**
 * Reads and validates the sweeper's environment. Collects every problem and
 * throws once, naming the variables and the allowed values.
 */
export function readSweeperConfig(env: Env): SweeperConfig {
  return imageSweeperEnv.read(env);
}
