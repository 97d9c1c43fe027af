/**
 * The load balancer's 1 MB response limit: behind it, an answer over the
 * limit is a 422 that says how to ask for less. A front door that streams
 * (API Gateway, local mode) has no such limit: the answer goes out on the
 * stream, however large.
 */

import type { HttpResult } from '../../shared/http-event';
import { HttpError } from '../../shared/http-errors';
import { fitsResponseLimit } from '../../shared/http-results';
import type { RequestState } from './request-state';

/** `response` when it fits or the front door streams; else throws 422 with `message`. */
export function withinResponseLimit(
  state: Pick<RequestState, 'out'>,
  response: HttpResult,
  message: string,
): HttpResult {
  if (state.out === undefined && !fitsResponseLimit(response)) {
    // The same request would make the same answer: a retry cannot help.
    throw new HttpError(422, 'invalid_request_error', message, {
      code: 'response_too_large',
      retry: false,
    });
  }
  return response;
}
