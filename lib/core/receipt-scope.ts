/**
 * What an erasure receipt says it could not reach (promise P7). Every receipt
 * lists, in a signed field, each store that can still hold anything about
 * the customer after the job, with how long it keeps it:
 *
 * - the usage table's point-in-time recovery (continuous backups), for its
 *   recovery period: an erased record can be restored from it until then;
 * - the load balancer's or REST API's access logs, only where a team turned
 *   them on (`accessLogs`): they record full URLs and client IPs.
 *
 * Nothing else outlives an erasure: no log line holds a customer id or
 * anything derived from it. The construct writes the list into the worker's
 * environment with {@link encodeExclusions}; the worker reads it back with
 * {@link decodeExclusions}.
 */

/** One store outside the erasure's reach, and how long it keeps what it holds. */
export interface ReceiptExclusion {
  /** Lowercase letters, digits and `-`, 1-64 characters. */
  readonly store: string;
  /** Whole days, 1-3653. */
  readonly retentionDays: number;
}

/** The names receipts use for the stores Ephemera itself creates. */
export const RECEIPT_STORES = {
  pointInTimeRecovery: 'usage-table-point-in-time-recovery',
  loadBalancerAccessLogs: 'load-balancer-access-logs',
  apiGatewayAccessLogs: 'api-gateway-access-logs',
} as const;

/** The recovery period of every table's point-in-time recovery: the shortest DynamoDB allows. */
export const POINT_IN_TIME_RECOVERY_DAYS = 1;

/** Most exclusions a receipt lists. */
export const MAX_EXCLUSIONS = 10;

const STORE = /^[a-z0-9-]{1,64}$/;

/** Whether an exclusion is well formed. */
export function isExclusion(e: ReceiptExclusion): boolean {
  return (
    STORE.test(e.store) &&
    Number.isInteger(e.retentionDays) &&
    e.retentionDays >= 1 &&
    e.retentionDays <= 3653
  );
}

/** `store:days` pairs joined by `,` (the worker's `RECEIPT_EXCLUDES`). */
export function encodeExclusions(list: readonly ReceiptExclusion[]): string {
  return list.map((e) => `${e.store}:${e.retentionDays}`).join(',');
}

/** Reads {@link encodeExclusions}' form back; undefined when it is not that form. */
export function decodeExclusions(value: string): ReceiptExclusion[] | undefined {
  if (value === '') return [];
  const parts = value.split(',');
  if (parts.length > MAX_EXCLUSIONS) return undefined;
  const list: ReceiptExclusion[] = [];
  for (const part of parts) {
    const colon = part.indexOf(':');
    const days = colon > 0 ? part.slice(colon + 1) : '';
    if (!/^\d{1,4}$/.test(days)) return undefined;
    const exclusion = { store: part.slice(0, colon), retentionDays: Number(days) };
    if (!isExclusion(exclusion)) return undefined;
    list.push(exclusion);
  }
  return new Set(list.map((e) => e.store)).size === list.length ? list : undefined;
}
