/**
 * The pipeline's key step: the inference API key (401/403/429/503), then the
 * request headers every route reads (400): the learning opt-out and the
 * metadata, whose customer id is kept only as its keyed hash and whose
 * unknown parameters become warnings of the answer (never part of the
 * record). The opt-out is read earlier still, before routing
 * ({@link readOptOut}).
 */

import { authenticate as checkApiKey } from '../../shared/authenticate';
import { headerValues } from '../../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../../shared/http-errors';
import { customerHash } from '../../../lib/core/keyed-hash';
import {
  METADATA_HEADER,
  metadataWarnings,
  OPT_OUT_HEADER,
  parseMetadataHeaders,
  parseOptOutHeaders,
  type OptOutHeaderResult,
} from '../../../lib/core/metadata-header';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

/**
 * Reads the learning opt-out (every value of the header) and records it when
 * it is valid. The pipeline calls it first, before routing, so the opt-out is
 * recorded whatever else fails (route 404/405, key, other headers, body, the
 * upstream): the client asked for it. An invalid one is refused (400) only
 * by {@link authenticate}, after the route and the key.
 */
export function readOptOut(state: RequestState): OptOutHeaderResult {
  const optOut = parseOptOutHeaders(headerValues(state.http, OPT_OUT_HEADER));
  if (optOut.ok) state.record.opt_out = optOut.optOut;
  return optOut;
}

/** The key, then the headers; `optOut` is what {@link readOptOut} read. */
export async function authenticate(
  svc: GatewayServices,
  state: RequestState,
  optOut: OptOutHeaderResult,
): Promise<void> {
  const { http, record } = state;
  const keyId = await checkApiKey(svc.keys, http, 'inference', (reason) => {
    record.auth_failure = reason;
  });
  record.api_key_id = keyId;
  state.authenticated = true;

  if (!optOut.ok) throw invalidRequest(optOut.message, 'X-Ephemera-Learning-Opt-Out');
  const metadata = parseMetadataHeaders(headerValues(http, METADATA_HEADER));
  if (!metadata.ok) throw invalidRequest(metadata.message, 'X-Ephemera-Metadata');
  state.warnings.push(...metadataWarnings(metadata.unknown));
  if (metadata.customerId !== undefined) {
    try {
      record.customer_hash = await customerHash(svc.hasher, metadata.customerId);
    } catch {
      throw new HttpError(503, 'server_error', MESSAGES.unavailable, {
        code: 'service_unavailable',
      });
    }
  }
}
