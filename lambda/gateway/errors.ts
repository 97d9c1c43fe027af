/**
 * Error responses: `{"error":{"type":"...","message":"..."}}`.
 *
 * Messages are fixed strings written in this code base, at most completed with
 * field names and array indices that the code itself supplies. They never quote
 * the request, the upstream's answer or an exception's message (promise P1).
 */

import type { VerifyFailure } from '../shared/key-store';
import type { UsageErrorType } from '../shared/usage-record';

export type ErrorType = UsageErrorType;

/** An error that maps to an HTTP response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    /** Extra response headers (e.g. `Allow`, `Retry-After`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The JSON body of an error response. */
export function errorBody(type: ErrorType, message: string): string {
  return JSON.stringify({ error: { type, message } });
}

export const MESSAGES = {
  notFound: 'No such route',
  missingKey: "Missing API key: send 'Authorization: Bearer <api key>'",
  malformedKey: "Malformed Authorization header: expected 'Bearer eph_<key id>_<secret>'",
  invalidKey: 'Invalid, expired or revoked API key',
  tooManyFailures:
    'Too many failed attempts with this API key id; retry after the time in Retry-After',
  scope: "This API key lacks the 'inference' scope",
  tooLarge: 'Request body exceeds the 1 MB limit',
  invalidJson: 'Request body must be a JSON object',
  modelNotFound: 'The model does not exist or is not available for this route',
  upstreamError: 'The model upstream failed',
  upstreamTimeout: 'The model upstream did not answer in time',
  upstreamThrottled: 'The model upstream is rate limiting requests; retry later',
  upstreamRejected:
    'The model upstream rejected the request; check the parameters, the input size and the content',
  internal: 'Internal error',
  unavailable: 'A backing service is unavailable; retry later',
  storeFailed: 'Could not store the generated images',
  imagesTooLarge:
    'The generated images exceed the 1 MB response limit; use response_format "url", a smaller size or fewer images',
  completionTooLarge: 'The completion exceeds the 1 MB response limit; lower max_tokens or n',
} as const;

/** 401, 403 or 429 for a failed key check. */
export function authError(verdict: VerifyFailure): HttpError {
  if (verdict.status === 429) {
    return new HttpError(429, 'rate_limit_error', MESSAGES.tooManyFailures, {
      'Retry-After': String(verdict.retryAfterSeconds),
    });
  }
  if (verdict.status === 403) return new HttpError(403, 'permission_error', MESSAGES.scope);
  const reason = verdict.reason;
  const message =
    reason === 'missing'
      ? MESSAGES.missingKey
      : reason === 'malformed'
        ? MESSAGES.malformedKey
        : MESSAGES.invalidKey;
  return new HttpError(401, 'authentication_error', message, { 'WWW-Authenticate': 'Bearer' });
}

export const invalidRequest = (message: string): HttpError =>
  new HttpError(400, 'invalid_request_error', message);
