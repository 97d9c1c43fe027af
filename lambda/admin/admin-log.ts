/**
 * The admin API's log line: one per request, metadata only (the allowlist
 * logger writes nothing else). No field can name a customer, not even by its
 * keyed hash: an erasure is named by its deletion id, so nothing here outlives
 * the erasure it records.
 */

import {
  createAllowlistLogger,
  ID_PATTERNS,
  type AllowlistLogger,
  type LineSink,
  type LogSchema,
} from '../shared/allowlist-logger';
import { TRUST_MODES } from '../shared/trust/trust-document';
import { USAGE_AUTH_FAILURES, USAGE_ERROR_TYPES, USAGE_METHODS } from '../shared/usage-record';
import { ADMIN_ROUTE_TABLE, type AdminRoute } from './routes';

/** The route names a log line may hold: the route table's, then `unmatched`. */
export const ADMIN_ROUTES: readonly (AdminRoute | 'unmatched')[] = [
  ...ADMIN_ROUTE_TABLE.map((row) => row.name),
  'unmatched',
];

export const ADMIN_LOG_SCHEMA = {
  request_id: ID_PATTERNS.token,
  timestamp: ID_PATTERNS.timestamp,
  api_key_id: ID_PATTERNS.token,
  route: { kind: 'enum', values: ADMIN_ROUTES },
  method: { kind: 'enum', values: USAGE_METHODS },
  status: { kind: 'int', min: 100, max: 599 },
  latency_ms: { kind: 'int', min: 0 },
  error_type: { kind: 'enum', values: USAGE_ERROR_TYPES },
  auth_failure: { kind: 'enum', values: USAGE_AUTH_FAILURES },
  deletion_id: ID_PATTERNS.token,
  /** The API key a key route acted on (public id). */
  target_key_id: ID_PATTERNS.token,
  /** How many records or keys a listing returned. */
  result_count: { kind: 'int', min: 0 },
  /** The outbound trust mode a trust route read or set (never the certificates themselves). */
  trust_mode: { kind: 'enum', values: TRUST_MODES },
  /** How many uploaded certificates the trust store holds after a trust route. */
  certificate_count: { kind: 'int', min: 0 },
  /** True when a trust route replaced a stored document that did not decode (`?repair=true`). */
  trust_repaired: { kind: 'bool' },
} as const satisfies LogSchema;

export type AdminLogRecord = { -readonly [K in keyof typeof ADMIN_LOG_SCHEMA]?: unknown };

export function createAdminLogger(sink?: LineSink): AllowlistLogger<typeof ADMIN_LOG_SCHEMA> {
  return createAllowlistLogger('admin', ADMIN_LOG_SCHEMA, sink);
}
