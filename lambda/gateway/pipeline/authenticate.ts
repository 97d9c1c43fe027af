/**
 * The pipeline's key step: the inference API key (401/403/429/503), then the
 * request headers every route reads (400): the learning opt-out and the
 * metadata, whose customer id is kept only as its keyed hash.
 */

import { authenticate as checkApiKey } from '../../shared/authenticate';
import { headerValues } from '../../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../../shared/http-errors';
import { customerHash } from '../../../lib/core/keyed-hash';
import {
  METADATA_HEADER,
  OPT_OUT_HEADER,
  parseMetadataHeaders,
  parseOptOutHeaders,
} from '../../../lib/core/metadata-header';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

export async function authenticate(svc: GatewayServices, state: RequestState): Promise<void> {
  const { http, record } = state;
  // The opt-out is recorded whenever it is valid, whatever else fails
  // (key, other headers, body): the client asked for it.
  const optOut = parseOptOutHeaders(headerValues(http, OPT_OUT_HEADER));
  if (optOut.ok) record.opt_out = optOut.optOut;

  const keyId = await checkApiKey(svc.keys, http, 'inference', (reason) => {
    record.auth_failure = reason;
  });
  record.api_key_id = keyId;
  state.authenticated = true;

  if (!optOut.ok) throw invalidRequest(optOut.message, 'X-Ephemera-Learning-Opt-Out');
  const metadata = parseMetadataHeaders(headerValues(http, METADATA_HEADER));
  if (!metadata.ok) throw invalidRequest(metadata.message, 'X-Ephemera-Metadata');
  if (metadata.customerId !== undefined) {
    try {
      record.customer_hash = await customerHash(svc.hasher, metadata.customerId);
    } catch {
      throw new HttpError(503, 'service_unavailable', MESSAGES.unavailable);
    }
  }
}
