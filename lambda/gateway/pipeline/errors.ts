/**
 * Failures as answers. Any failure maps to an HTTP error without its message
 * being read (it may quote the prompt or the upstream's answer); the record
 * keeps the error's type, or `client_closed` when nobody is left to answer.
 */

import type { HttpResult } from '../../shared/http-event';
import { DEFAULT_RETRY_AFTER_SECONDS, HttpError, MESSAGES } from '../../shared/http-errors';
import { errorResult } from '../../shared/http-results';
import { isUsageErrorCode } from '../../shared/usage-record';
import { UpstreamError } from '../upstream-contract';
import type { RequestState } from './request-state';

/** Recorded status of a request whose client hung up before the answer (nginx's 499). */
export const CLIENT_CLOSED_STATUS = 499;

/** Maps any failure to an HTTP error without reading its message. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof UpstreamError) {
    switch (err.failure) {
      case 'throttled':
        return new HttpError(429, 'requests', MESSAGES.upstreamThrottled, {
          headers: { 'Retry-After': String(err.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) },
          code: 'rate_limit_exceeded',
        });
      case 'timeout':
        return new HttpError(504, 'server_error', MESSAGES.upstreamTimeout, {
          code: 'upstream_timeout',
          retry: false,
        });
      case 'rejected':
        return new HttpError(400, 'invalid_request_error', MESSAGES.upstreamRejected, {
          code: 'upstream_rejected',
        });
      case 'too_long':
        return new HttpError(400, 'invalid_request_error', MESSAGES.contextLengthExceeded, {
          code: 'context_length_exceeded',
        });
      case 'no_model':
        return new HttpError(502, 'server_error', MESSAGES.upstreamModelNotFound, {
          code: 'model_not_found',
          param: 'model',
          retry: false,
        });
      case 'failed':
        return new HttpError(502, 'server_error', MESSAGES.upstreamError, {
          code: 'upstream_error',
        });
    }
  }
  return new HttpError(500, 'server_error', MESSAGES.internal);
}

/** The error answer for a failed request, with its error type on the record. */
export function failedAnswer(err: unknown, state: RequestState): HttpResult {
  const httpError = toHttpError(err);
  const response = errorResult(httpError);
  if (state.out?.signal.aborted) {
    // Nobody is left to answer; the record says why the request ended.
    state.record.error_type = 'client_closed';
    return { ...response, statusCode: CLIENT_CLOSED_STATUS };
  }
  state.record.error_type = httpError.type;
  if (isUsageErrorCode(httpError.code)) state.record.error_code = httpError.code;
  return response;
}
