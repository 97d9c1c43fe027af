/**
 * The admin API's route table: one row per route (method, path pattern, name
 * on the admin log line), matched by the shared router (`../shared/router`):
 * paths match exactly (no trailing slash); an `{id}` segment is passed to the
 * route as it is and checked there; a known path with another method is a 405
 * with `Allow`; paths over 512 characters are not found. The module that
 * answers each route is named in `./admin` (the compiler asks for one per
 * name); the front doors send the paths of `ADMIN_PATH_PATTERNS` here.
 */

import { createRouter, type RouteSpec } from '../shared/router';

export const ADMIN_ROUTE_TABLE = [
  { method: 'DELETE', path: '/v1/user_data', name: 'user_data_delete' },
  { method: 'GET', path: '/v1/user_data/deletions/{id}', name: 'deletion_status' },
  { method: 'GET', path: '/v1/logs', name: 'logs' },
  { method: 'POST', path: '/v1/keys', name: 'keys_create' },
  { method: 'GET', path: '/v1/keys', name: 'keys_list' },
  { method: 'POST', path: '/v1/keys/{id}/rotate', name: 'keys_rotate' },
  { method: 'DELETE', path: '/v1/keys/{id}', name: 'keys_revoke' },
  { method: 'GET', path: '/v1/trust', name: 'trust_get' },
  { method: 'PUT', path: '/v1/trust/certificates', name: 'trust_certs_put' },
  { method: 'GET', path: '/v1/trust/certificates', name: 'trust_certs_get' },
  { method: 'DELETE', path: '/v1/trust/certificates', name: 'trust_certs_delete' },
  { method: 'PUT', path: '/v1/trust/mode', name: 'trust_mode_put' },
  { method: 'GET', path: '/healthz', name: 'healthz' },
] as const satisfies readonly RouteSpec[];

export type AdminRoute = (typeof ADMIN_ROUTE_TABLE)[number]['name'];

export { ADMIN_PATH_PATTERNS } from '../../lib/core/routes';

/** Longer paths are not found (the ids the routes take are far shorter). */
const MAX_PATH_LENGTH = 512;

export const matchAdminRoute = createRouter<AdminRoute>(ADMIN_ROUTE_TABLE, {
  maxPathLength: MAX_PATH_LENGTH,
});
