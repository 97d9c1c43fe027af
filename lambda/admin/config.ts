/**
 * The admin handler's configuration, read once at cold start through its
 * contract (lib/core/env/admin.ts).
 */

import { adminEnv } from '../../lib/core/env/admin';
import type { Env, EnvValues } from '../../lib/core/handler-env';

/** The admin handler's configuration: its contract's values. */
export type AdminConfig = EnvValues<typeof adminEnv.vars>;

export function parseAdminConfig(env: Env): AdminConfig {
  return adminEnv.read(env);
}
