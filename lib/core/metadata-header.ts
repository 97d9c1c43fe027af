/**
 * Request headers that tag a request (promises P4, P7).
 *
 * `X-Ephemera-Metadata` carries `;`-separated `name=value` parameters. The rules,
 * close to RFC 9110 parameters:
 *
 * - Spaces and tabs around a pair are ignored (`a=1; customer_id=x` is fine);
 *   empty pairs are skipped, so an empty header or a trailing `;` is fine.
 * - Every other pair must be `name=value`: a pair without `=`, with an empty
 *   name, or with whitespace or control characters in its name is malformed
 *   (400). There is no whitespace around `=`: `customer_id = x` is malformed
 *   rather than silently ignored.
 * - Parameter names are case-insensitive. The first `customer_id` wins; later
 *   ones are ignored. Other parameters are ignored.
 * - The `customer_id` value is everything after its first `=`, checked as
 *   sent by the one customer-id rule of `./customer-id` (1-128 characters of
 *   visible ASCII other than `;`, `=`, `,` and `%`), else 400.
 *
 * Error messages are fixed strings: they never echo the header.
 *
 * `X-Ephemera-Learning-Opt-Out` is `true` or `false` (case-insensitive, spaces
 * and tabs around it ignored); absent or empty means `false`. Any other value
 * is a 400, so a client that sends `yes` or `1` learns that it was not honoured.
 */

import { CUSTOMER_ID_MESSAGES, isCustomerId } from './customer-id';
import { trimOws } from './text';

export const METADATA_HEADER = 'x-ephemera-metadata';
export const OPT_OUT_HEADER = 'x-ephemera-learning-opt-out';

export const METADATA_MALFORMED_MESSAGE =
  "X-Ephemera-Metadata must be ';'-separated name=value pairs without whitespace in names";
export const CUSTOMER_ID_INVALID_MESSAGE = CUSTOMER_ID_MESSAGES.header;
export const OPT_OUT_INVALID_MESSAGE = "X-Ephemera-Learning-Opt-Out must be 'true' or 'false'";

export type MetadataHeaderResult =
  | { readonly ok: true; readonly customerId?: string }
  | { readonly ok: false; readonly message: string };

export type OptOutHeaderResult =
  | { readonly ok: true; readonly optOut: boolean }
  | { readonly ok: false; readonly message: string };

/** Whitespace (any Unicode), control characters (C0, DEL, C1) and unpaired surrogates. */
const FORBIDDEN_IN_NAME = /[\s\p{Cc}\p{Cs}]/u;

/** Parses `X-Ephemera-Metadata`. Never throws. */
export function parseMetadataHeader(value: string | undefined): MetadataHeaderResult {
  if (typeof value !== 'string') return { ok: true };
  let customerId: string | undefined;
  let found = false;
  for (const raw of value.split(';')) {
    const pair = trimOws(raw);
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return { ok: false, message: METADATA_MALFORMED_MESSAGE };
    const name = pair.slice(0, eq);
    if (FORBIDDEN_IN_NAME.test(name)) return { ok: false, message: METADATA_MALFORMED_MESSAGE };
    if (!found && name.toLowerCase() === 'customer_id') {
      found = true;
      const v = pair.slice(eq + 1);
      if (!isCustomerId(v)) return { ok: false, message: CUSTOMER_ID_INVALID_MESSAGE };
      customerId = v;
    }
  }
  return customerId === undefined ? { ok: true } : { ok: true, customerId };
}

/** Parses `X-Ephemera-Learning-Opt-Out`. Never throws. */
export function parseOptOutHeader(value: string | undefined): OptOutHeaderResult {
  if (typeof value !== 'string') return { ok: true, optOut: false };
  const trimmed = trimOws(value);
  // Only 'true', 'false' or nothing can be valid: anything longer is refused
  // before any per-character work beyond the trim.
  if (trimmed.length > 5) return { ok: false, message: OPT_OUT_INVALID_MESSAGE };
  const v = trimmed.toLowerCase();
  if (v === 'true') return { ok: true, optOut: true };
  if (v === 'false' || v === '') return { ok: true, optOut: false };
  return { ok: false, message: OPT_OUT_INVALID_MESSAGE };
}

/**
 * Parses every `X-Ephemera-Metadata` header of a request, in the order
 * received, exactly as one header holding all their parameters: the first
 * `customer_id` across them wins, and a malformed pair anywhere refuses the
 * request.
 */
export function parseMetadataHeaders(values: readonly string[]): MetadataHeaderResult {
  return values.length === 0 ? { ok: true } : parseMetadataHeader(values.join(';'));
}

/**
 * Parses every `X-Ephemera-Learning-Opt-Out` header: each must be valid, and
 * the request is opted out if any says `true` (the cautious reading).
 */
export function parseOptOutHeaders(values: readonly string[]): OptOutHeaderResult {
  let optOut = false;
  for (const value of values) {
    const parsed = parseOptOutHeader(value);
    if (!parsed.ok) return parsed;
    optOut ||= parsed.optOut;
  }
  return { ok: true, optOut };
}
