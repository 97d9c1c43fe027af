/**
 * The deletion worker's configuration, read once at cold start through its
 * contract (lib/core/env/deletion-worker.ts).
 */

import { deletionWorkerEnv } from '../../lib/core/env/deletion-worker';
import type { Env, EnvValues } from '../../lib/core/handler-env';

/** The deletion worker's configuration: its contract's values. */
export type WorkerConfig = EnvValues<typeof deletionWorkerEnv.vars>;

export function parseWorkerConfig(env: Env): WorkerConfig {
  return deletionWorkerEnv.read(env);
}
