/**
 * A handler's environment. Each handler reads its own through its contract
 * in lib/core/env (the mechanism: lib/core/handler-env.ts), which collects
 * every problem into one error at cold start.
 */
export type { Env } from '../../lib/core/handler-env';
