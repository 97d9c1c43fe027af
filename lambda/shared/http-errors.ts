/**
 * Error responses, in OpenAI's shape:
 * `{"error":{"message":"...","type":"...","param":<string|null>,"code":<string|null>}}`.
 *
 * Messages are fixed strings written in this code base, at most completed with
 * field names and array indices that the code itself supplies. They never quote
 * the request, the upstream's answer or an exception's message (promise P1).
 * `param` names the offending field (a name from this code base, never a value).
 */

import type { Scope, VerifyFailure } from '../../lib/core/key-store';
import type { UsageErrorType } from './usage-record';

export type ErrorType = UsageErrorType;

export interface HttpErrorOptions {
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A machine-readable code (`invalid_api_key`, `model_not_found`, ...). */
  readonly code?: string;
  /** The request field at fault (`model`, `messages[2].content`, `customer_id`). */
  readonly param?: string;
}

/** An error that maps to an HTTP response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly headers: Readonly<Record<string, string>>;
  readonly code: string | null;
  readonly param: string | null;
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message);
    this.headers = options.headers ?? {};
    this.code = options.code ?? null;
    this.param = options.param ?? null;
  }
}

/** The JSON body of an error response. */
export function errorBody(err: HttpError): string {
  return JSON.stringify({
    error: { message: err.message, type: err.type, param: err.param, code: err.code },
  });
}

export const MESSAGES = {
  notFound: 'No such route',
  missingKey: "Missing API key: send 'Authorization: Bearer <api key>'",
  malformedKey: "Malformed Authorization header: expected 'Bearer eph_<key id>_<secret>'",
  invalidKey: 'Invalid, expired or revoked API key',
  tooManyFailures:
    'Too many failed attempts with this API key id; retry after the time in Retry-After',
  scope: (scope: Scope) => `This API key lacks the '${scope}' scope`,
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

/** 401, 403 or 429 for a failed key check against the scope a route requires. */
export function authError(verdict: VerifyFailure, required: Scope): HttpError {
  if (verdict.status === 429) {
    return new HttpError(429, 'rate_limit_error', MESSAGES.tooManyFailures, {
      headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
      code: 'too_many_failed_attempts',
    });
  }
  if (verdict.status === 403) {
    return new HttpError(403, 'permission_error', MESSAGES.scope(required), {
      code: 'insufficient_scope',
    });
  }
  const reason = verdict.reason;
  const message =
    reason === 'missing'
      ? MESSAGES.missingKey
      : reason === 'malformed'
        ? MESSAGES.malformedKey
        : MESSAGES.invalidKey;
  return new HttpError(401, 'authentication_error', message, {
    headers: { 'WWW-Authenticate': 'Bearer' },
    code: 'invalid_api_key',
  });
}

/** A 400 for a bad request field; `param` names the field when there is one. */
export const invalidRequest = (message: string, param?: string): HttpError =>
  new HttpError(400, 'invalid_request_error', message, param === undefined ? {} : { param });
