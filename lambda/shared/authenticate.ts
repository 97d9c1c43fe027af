/**
 * The API-key check every route shares: one `Authorization` header (two are
 * refused rather than guessed between), verified for the scope the route
 * needs. A key-store outage is a 503, never a pass.
 */

import { headerValues, type HttpRequest } from './http-event';
import { authError, HttpError, MESSAGES } from './http-errors';
import type { Scope, VerifyResult } from '../../lib/core/key-store';

/** What a handler needs from the key store. */
export interface KeyVerifier {
  verify(
    authorization: string | undefined,
    required: Scope,
    client?: string,
  ): Promise<VerifyResult>;
}

/**
 * Verifies the request's key for `required`. Returns the key id; throws the
 * HTTP error to answer (401, 403, 429, 503). `onFailure` learns why, for the
 * log line, before the throw.
 */
export async function authenticate(
  keys: KeyVerifier,
  request: HttpRequest,
  required: Scope,
  onFailure: (reason: Exclude<VerifyResult, { ok: true }>['reason']) => void = () => undefined,
): Promise<string> {
  const authorization = headerValues(request, 'authorization');
  let verdict: VerifyResult;
  if (authorization.length > 1) {
    verdict = { ok: false, status: 401, reason: 'malformed' };
  } else {
    try {
      verdict = await keys.verify(authorization[0], required, request.clientAddress);
    } catch {
      throw new HttpError(503, 'server_error', MESSAGES.unavailable, {
        code: 'service_unavailable',
      });
    }
  }
  if (!verdict.ok) {
    onFailure(verdict.reason);
    throw authError(verdict, required);
  }
  return verdict.keyId;
}
