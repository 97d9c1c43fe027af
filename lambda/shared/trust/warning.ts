/**
 * The warning every answer carries while outbound TLS verification is off
 * (trust mode `insecure_trust_all`), so nobody can miss it. Other warnings
 * share the header (`../warning-header`); this one comes first.
 */

import { WARNING_HEADER, warningHeader } from '../warning-header';
import type { TrustMode } from './trust-document';

export const TRUST_WARNING_HEADER = WARNING_HEADER;
export const INSECURE_TRUST_ALL_WARNING = 'outbound TLS verification is off (insecure_trust_all)';

/** The warning for a mode: the text while insecure, none otherwise. */
export function trustWarningText(mode: TrustMode | undefined): string | undefined {
  return mode === 'insecure_trust_all' ? INSECURE_TRUST_ALL_WARNING : undefined;
}

/** The warning header for a mode alone: one header while insecure, none otherwise. */
export function trustWarningHeaders(mode: TrustMode | undefined): Record<string, string> {
  return warningHeader([trustWarningText(mode)]);
}
