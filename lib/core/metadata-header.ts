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
 *   ones are ignored.
 * - Parameters not in {@link METADATA_PARAMETERS} are allowed (the request goes
 *   on), but reported in `unknown`, so that the answer can warn about them
 *   (`X-Ephemera-Warning`, {@link metadataWarnings}): a typo such as
 *   `customerid=abc` would otherwise leave the request untagged, out of reach
 *   of that customer's erasure, without anyone noticing. Only names made of
 *   `A-Z a-z 0-9 _ . -`, 1-64 characters, are ever quoted, at most
 *   {@link MAX_QUOTED_UNKNOWN} of them; any other is only counted. Values of
 *   unknown parameters are never read.
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

/**
 * Every parameter name `X-Ephemera-Metadata` understands, in lower case (names
 * are compared case-insensitively). The one list: the parser reads these and
 * reports any other name as unknown.
 */
export const METADATA_PARAMETERS = ['customer_id'] as const;

/** At most this many unknown names are quoted back; the others are counted. */
export const MAX_QUOTED_UNKNOWN = 3;

/** The longest unknown name that is quoted back. */
export const MAX_QUOTED_NAME_LENGTH = 64;

/** Names that may be quoted back: client-chosen text, so only short plain tokens. */
const QUOTABLE_NAME = /^[A-Za-z0-9_.-]+$/;

/** Whether an unknown parameter name may be quoted in an answer header. */
export function isQuotableName(name: string): boolean {
  return name.length <= MAX_QUOTED_NAME_LENGTH && QUOTABLE_NAME.test(name);
}

/** The parameters of a header that are not in {@link METADATA_PARAMETERS}. */
export interface UnknownMetadataParameters {
  /**
   * Up to {@link MAX_QUOTED_UNKNOWN} distinct (case-insensitively) unknown
   * names that {@link isQuotableName} allows, in the order first sent, as
   * first spelled.
   */
  readonly names: readonly string[];
  /** How many other distinct unknown names there were: not quotable, or over the limit. */
  readonly unnamed: number;
}

export type MetadataHeaderResult =
  | {
      readonly ok: true;
      readonly customerId?: string;
      /** Present only when the header held a parameter it does not know. */
      readonly unknown?: UnknownMetadataParameters;
    }
  | { readonly ok: false; readonly message: string };

export type OptOutHeaderResult =
  | { readonly ok: true; readonly optOut: boolean }
  | { readonly ok: false; readonly message: string };

/** Whitespace (any Unicode), control characters (C0, DEL, C1) and unpaired surrogates. */
const FORBIDDEN_IN_NAME = /[\s\p{Cc}\p{Cs}]/u;

const KNOWN: ReadonlySet<string> = new Set(METADATA_PARAMETERS);

/** Parses `X-Ephemera-Metadata`. Never throws. */
export function parseMetadataHeader(value: string | undefined): MetadataHeaderResult {
  if (typeof value !== 'string') return { ok: true };
  let customerId: string | undefined;
  let found = false;
  // Every distinct unknown name (lower case), to count each once.
  const unknown = new Set<string>();
  const names: string[] = [];
  for (const raw of value.split(';')) {
    const pair = trimOws(raw);
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return { ok: false, message: METADATA_MALFORMED_MESSAGE };
    const name = pair.slice(0, eq);
    if (FORBIDDEN_IN_NAME.test(name)) return { ok: false, message: METADATA_MALFORMED_MESSAGE };
    const lower = name.toLowerCase();
    if (!KNOWN.has(lower)) {
      if (unknown.has(lower)) continue;
      unknown.add(lower);
      if (names.length < MAX_QUOTED_UNKNOWN && isQuotableName(name)) names.push(name);
    } else if (!found && lower === 'customer_id') {
      found = true;
      const v = pair.slice(eq + 1);
      if (!isCustomerId(v)) return { ok: false, message: CUSTOMER_ID_INVALID_MESSAGE };
      customerId = v;
    }
  }
  return {
    ok: true,
    ...(customerId === undefined ? {} : { customerId }),
    ...(unknown.size === 0 ? {} : { unknown: { names, unnamed: unknown.size - names.length } }),
  };
}

/** The known names as a warning lists them (no commas: a warning never holds one). */
const KNOWN_TEXT = `(known: ${METADATA_PARAMETERS.join(' ')})`;

/**
 * The `X-Ephemera-Warning` warnings for a header's unknown parameters: one per
 * quoted name, `unknown metadata parameter 'customerid' (known: customer_id)`,
 * then, for the names not quoted, one that counts them:
 * `2 more unknown metadata parameters (known: customer_id)` (without `more`
 * when no name is quoted). None when there is nothing unknown. Bounded: at
 * most {@link MAX_QUOTED_UNKNOWN} + 1 warnings of at most 120 characters, none
 * with a comma. Nothing of a parameter's value is ever in them.
 */
export function metadataWarnings(unknown: UnknownMetadataParameters | undefined): string[] {
  if (!unknown) return [];
  const warnings = unknown.names.map(
    (name) => `unknown metadata parameter '${name}' ${KNOWN_TEXT}`,
  );
  if (unknown.unnamed > 0) {
    const more = unknown.names.length > 0 ? 'more ' : '';
    const noun = unknown.unnamed === 1 ? 'parameter' : 'parameters';
    warnings.push(`${unknown.unnamed} ${more}unknown metadata ${noun} ${KNOWN_TEXT}`);
  }
  return warnings;
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
