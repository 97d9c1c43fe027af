/** The ALB's 1 MB response limit: an answer over it is a 422 that says how to ask for less. */

import type { HttpResult } from '../../shared/http-event';
import { HttpError } from '../../shared/http-errors';
import { fitsResponseLimit } from '../../shared/http-results';

/** `response` when it fits; else throws 422 with `message`. */
export function withinResponseLimit(response: HttpResult, message: string): HttpResult {
  if (!fitsResponseLimit(response)) throw new HttpError(422, 'response_too_large', message);
  return response;
}
