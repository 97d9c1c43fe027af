/**
 * The watchdog's configuration, read once at cold start through its
 * contract (lib/core/env/watchdog.ts).
 */

import { watchdogEnv } from '../../lib/core/env/watchdog';
import type { Env, EnvValues } from '../../lib/core/handler-env';

/** The watchdog's configuration: its contract's values. */
export type WatchdogConfig = EnvValues<typeof watchdogEnv.vars>;

export function parseWatchdogConfig(env: Env): WatchdogConfig {
  return watchdogEnv.read(env);
}
