/**
 * The one rule for a customer id (promise P7), wherever it arrives: the
 * `X-Ephemera-Metadata` header of an inference request, and the header or the
 * query of an erasure or a log query.
 *
 * An id is 1-128 characters of visible ASCII (`!` to `~`, 0x21-0x7E) other than
 * `;` and `=` (which delimit the header's parameters), `,` (which joins
 * repeated headers) and `%` (which would read differently in a header, taken
 * as sent, and in a query, percent-decoded). A header value is checked as
 * sent; a query value is percent-decoded first (by the front door's adapter),
 * then checked by the same rule. So the two forms can never name two
 * different customers for the same text: either both name the same id, and so
 * the same keyed hash, or the request is refused.
 *
 * A client whose ids fall outside the rule (non-ASCII names, e-mail addresses
 * with `%`, ...) maps them to ids that fit, for example a hash of its own.
 *
 * Messages are fixed strings: they never echo the value.
 */

export const CUSTOMER_ID_MAX_LENGTH = 128;

/** What an id may hold, in words, for error messages and the docs. */
export const CUSTOMER_ID_RULE =
  "1-128 characters of visible ASCII ('!' to '~') other than ';', '=', ',' and '%'";

/** Where an id may arrive; each names the `param` of a refusal. */
export type CustomerIdSource = 'header' | 'query' | 'filter';

const ADVICE = 'map other ids to ones that fit, for example a hash of your own';

/** The 400 message for an id that breaks the rule, by where it came from. */
export const CUSTOMER_ID_MESSAGES: Readonly<Record<CustomerIdSource, string>> = {
  header: `X-Ephemera-Metadata: customer_id must be ${CUSTOMER_ID_RULE}; ${ADVICE}`,
  query: `customer_id must be ${CUSTOMER_ID_RULE} once percent-decoded; ${ADVICE}`,
  filter: `filter=customer_id::<id> needs an id of ${CUSTOMER_ID_RULE} once percent-decoded; ${ADVICE}`,
};

/** The `param` of a refusal, by where the id came from. */
export const CUSTOMER_ID_PARAMS: Readonly<Record<CustomerIdSource, string>> = {
  header: 'X-Ephemera-Metadata',
  query: 'customer_id',
  filter: 'filter',
};

/** 0x21-0x7E without `%` (0x25), `,` (0x2C), `;` (0x3B) and `=` (0x3D). */
const CANONICAL = /^[\x21-\x24\x26-\x2B\x2D-\x3A\x3C\x3E-\x7E]{1,128}$/;

/** Whether `id` is a customer id by the one rule. */
export function isCustomerId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= CUSTOMER_ID_MAX_LENGTH && CANONICAL.test(id);
}
