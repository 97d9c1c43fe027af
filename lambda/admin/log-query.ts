/**
 * `GET /v1/logs`: which records are asked for, and the page cursor.
 *
 * The selector is exactly one of: the customer in `X-Ephemera-Metadata`
 * (preferred: the id stays out of URLs), `?filter=customer_id::<id>`, or
 * `?filter=request_id::<request id>`. The same customer given in the header and
 * in the filter is accepted; anything else given twice is refused, so a
 * request never silently means something else than it says.
 *
 * The cursor is opaque to clients: base64url of the last record's position in
 * the customer's index, bound to that customer's hash. A cursor that does not
 * decode, or that belongs to another listing, is a 400: it can never open
 * another customer's page.
 *
 * Messages name the accepted forms; they never repeat what was sent.
 */

import { CUSTOMER_ID_MESSAGES, isCustomerId } from '../../lib/core/customer-id';

export const FILTER_FORMS =
  'X-Ephemera-Metadata: customer_id=<id>, ?filter=customer_id::<id> or ?filter=request_id::<request id>';

export type LogSelector =
  | { readonly kind: 'customer'; readonly customerId: string }
  | { readonly kind: 'request'; readonly requestId: string };

export type SelectorResult =
  | { readonly ok: true; readonly selector: LogSelector }
  | { readonly ok: false; readonly message: string; readonly param: string };

const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Parses one `filter` value; undefined when it is not one of the accepted forms. */
export function parseFilter(value: string): LogSelector | undefined {
  const sep = value.indexOf('::');
  if (sep <= 0) return undefined;
  const name = value.slice(0, sep);
  const id = value.slice(sep + 2);
  if (name === 'customer_id' && isCustomerId(id)) return { kind: 'customer', customerId: id };
  if (name === 'request_id' && REQUEST_ID.test(id)) return { kind: 'request', requestId: id };
  return undefined;
}

/** Decides what a log query asks for, from the header's customer id and the `filter` values. */
export function resolveSelector(
  headerCustomerId: string | undefined,
  filters: readonly string[],
): SelectorResult {
  if (filters.length > 1) {
    return { ok: false, message: `Give one filter: ${FILTER_FORMS}`, param: 'filter' };
  }
  const fromFilter = filters.length === 1 ? parseFilter(filters[0]) : undefined;
  if (filters.length === 1 && !fromFilter) {
    // A customer filter whose id breaks the rule says what the rule is.
    const message = filters[0].startsWith('customer_id::')
      ? CUSTOMER_ID_MESSAGES.filter
      : `filter must be one of: ${FILTER_FORMS}`;
    return { ok: false, message, param: 'filter' };
  }
  if (headerCustomerId !== undefined) {
    if (
      fromFilter &&
      !(fromFilter.kind === 'customer' && fromFilter.customerId === headerCustomerId)
    ) {
      return {
        ok: false,
        message: `The header and the filter ask for different records; give one of: ${FILTER_FORMS}`,
        param: 'filter',
      };
    }
    return { ok: true, selector: { kind: 'customer', customerId: headerCustomerId } };
  }
  if (fromFilter) return { ok: true, selector: fromFilter };
  return { ok: false, message: `Say whose records to list: ${FILTER_FORMS}`, param: 'filter' };
}

/** A position in the customer index (`by_customer`): its key. */
export interface IndexPosition {
  readonly customerHash: string;
  readonly timestamp: string;
  readonly requestId: string;
}

const HASH = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,512}$/;

export function encodeCursor(position: IndexPosition): string {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      h: position.customerHash,
      t: position.timestamp,
      r: position.requestId,
    }),
    'utf8',
  ).toString('base64url');
}

export const CURSOR_MESSAGE =
  'cursor must be a next_cursor value returned by a previous call for the same records';

/** Decodes a cursor for the listing of `customerHash`; undefined when it is not one. */
export function decodeCursor(cursor: string, customerHash: string): IndexPosition | undefined {
  if (!BASE64URL.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { v, h, t, r, ...rest } = parsed as Record<string, unknown>;
  if (
    Object.keys(rest).length > 0 ||
    v !== 1 ||
    typeof h !== 'string' ||
    !HASH.test(h) ||
    h !== customerHash ||
    typeof t !== 'string' ||
    !TIMESTAMP.test(t) ||
    typeof r !== 'string' ||
    !REQUEST_ID.test(r)
  ) {
    return undefined;
  }
  return { customerHash: h, timestamp: t, requestId: r };
}

/** `limit`: 1 to 200, default 50. */
export const LOG_LIMIT = { default: 50, max: 200 } as const;

export function parseLimit(values: readonly string[]): number | undefined {
  if (values.length === 0) return LOG_LIMIT.default;
  if (values.length > 1 || !/^\d{1,3}$/.test(values[0])) return undefined;
  const n = Number(values[0]);
  return n >= 1 && n <= LOG_LIMIT.max ? n : undefined;
}
