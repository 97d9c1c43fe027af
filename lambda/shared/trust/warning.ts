/**
 * The warning every answer carries while outbound TLS verification is off
 * (trust mode `insecure_trust_all`), so nobody can miss it.
 */

import type { TrustMode } from './trust-document';

export const TRUST_WARNING_HEADER = 'X-Ephemera-Warning';
export const INSECURE_TRUST_ALL_WARNING = 'outbound TLS verification is off (insecure_trust_all)';

/** The warning header for a mode: one header while insecure, none otherwise. */
export function trustWarningHeaders(mode: TrustMode | undefined): Record<string, string> {
  return mode === 'insecure_trust_all'
    ? { [TRUST_WARNING_HEADER]: INSECURE_TRUST_ALL_WARNING }
    : {};
}
