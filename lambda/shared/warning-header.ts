/**
 * `X-Ephemera-Warning`: what a client should know about an answer that is not
 * an error. Two sources today: outbound TLS verification is off
 * (`./trust/warning`), and `X-Ephemera-Metadata` held parameters the API does
 * not know (`lib/core/metadata-header`).
 *
 * An answer carries at most one such header; its value is every warning, in
 * a fixed order (the trust warning first), joined by `, ` as an RFC 9110 list.
 * No warning holds a comma, so a client can split on `, `. Warnings are fixed
 * texts, with at most the bounded, token-only names `metadataWarnings` quotes.
 */

export const WARNING_HEADER = 'X-Ephemera-Warning';

/** The header for these warnings (skipping undefined ones); none when there are none. */
export function warningHeader(warnings: readonly (string | undefined)[]): Record<string, string> {
  const present = warnings.filter((w): w is string => w !== undefined && w !== '');
  return present.length === 0 ? {} : { [WARNING_HEADER]: present.join(', ') };
}
