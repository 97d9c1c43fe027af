/**
 * Which paths each handler serves, for the front doors: the admin API's
 * paths (the gateway serves every other one, so unknown paths get the
 * contract's 404).
 */

/** Path patterns of the admin API (`*` matches the rest of the path). */
export const ADMIN_PATH_PATTERNS = [
  '/v1/user_data',
  '/v1/user_data/*',
  '/v1/logs',
  '/v1/keys',
  '/v1/keys/*',
  '/v1/trust',
  '/v1/trust/*',
] as const;
