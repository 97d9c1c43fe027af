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
import { MODEL_ID } from '../../lib/core/models';
/**
 * The `type` of an error answer: OpenAI's. `invalid_request_error` for every
 * 4xx but a 429 (also a bad API key, a missing scope and an unknown route, as
 * OpenAI answers them), `requests` for a 429 and `server_error` for a 5xx.
 * The reason is in `code` (see docs/http-api.md).
 */
export type ErrorType = 'invalid_request_error' | 'requests' | 'server_error';

export interface HttpErrorOptions {
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A machine-readable code (`invalid_api_key`, `model_not_found`, ...). */
  readonly code?: string;
  /** The request field at fault (`model`, `messages[2].content`, `customer_id`). */
  readonly param?: string;
  /**
   * `false` for an answer that a retry of the same request cannot change
   * (`x-should-retry: false`, which OpenAI's SDKs obey before their own
   * rules). @default undefined (the client's own rules decide)
   */
  readonly retry?: false;
}

/** Seconds a 429 or 503 asks the client to wait when the error names no time of its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * The headers of an error answer: its own, `Retry-After` on every 429 and
 * 503 (a client may retry, after this long), and `x-should-retry: false` on
 * an answer that a retry cannot change.
 */
function errorHeaders(status: number, options: HttpErrorOptions): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers };
  const named = Object.keys(headers).some((name) => name.toLowerCase() === 'retry-after');
  if ((status === 429 || status === 503) && !named) {
    headers['Retry-After'] = String(DEFAULT_RETRY_AFTER_SECONDS);
  }
  if (options.retry === false) headers['x-should-retry'] = 'false';
  return headers;
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
    this.headers = errorHeaders(status, options);
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

/** A path an unknown-route message may show. */
const SHOWN_PATH = /^\/[A-Za-z0-9._~/-]{0,200}$/;
/** A method an unknown-route message may show (as recorded, upper case). */
const SHOWN_METHOD = /^[A-Z]{1,16}$/;

export const MESSAGES = {
  /**
   * OpenAI's answer to an unknown route. The path is shown only when it is
   * plain (letters, digits, `._~/-`, at most 200 characters), so nothing of
   * the request beyond a route-like path is echoed; never the query string.
   */
  invalidUrl: (method: string, path: string) =>
    `Invalid URL (${SHOWN_METHOD.test(method) ? method : 'OTHER'} ${
      SHOWN_PATH.test(path) ? path : '<path not shown>'
    })`,
  missingKey: "Missing API key: send 'Authorization: Bearer <api key>'",
  malformedKey: "Malformed Authorization header: expected 'Bearer eph_<key id>_<secret>'",
  invalidKey: 'Invalid, expired or revoked API key',
  tooManyFailures:
    'Too many failed attempts with this API key id; retry after the time in Retry-After',
  scope: (scope: Scope) => `This API key lacks the '${scope}' scope`,
  tooLarge: 'Request body exceeds the 1 MB limit',
  invalidJson: 'Request body must be a JSON object',
  upstreamModelNotFound:
    "The model upstream does not offer this configured model; a retry cannot succeed until the deployment's model list is corrected",
  contextLengthExceeded:
    "The input exceeds the model's context length; shorten the input or lower the output token limit",
  upstreamError: 'The model upstream failed',
  upstreamTimeout:
    'The model upstream did not answer within the deadline; retrying the same request would wait as long again',
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

/**
 * 401, 403 or 429 for a failed key check against the scope a route requires:
 * types as OpenAI's (`invalid_request_error`, `requests`), reasons in `code`.
 */
export function authError(verdict: VerifyFailure, required: Scope): HttpError {
  if (verdict.status === 429) {
    return new HttpError(429, 'requests', MESSAGES.tooManyFailures, {
      headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
      code: 'too_many_failed_attempts',
    });
  }
  if (verdict.status === 403) {
    return new HttpError(403, 'invalid_request_error', MESSAGES.scope(required), {
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
  return new HttpError(401, 'invalid_request_error', message, {
    headers: { 'WWW-Authenticate': 'Bearer' },
    code: 'invalid_api_key',
  });
}

/**
 * A 404 for an unknown route, as OpenAI answers it: type
 * `invalid_request_error`, message `Invalid URL (<METHOD> <path>)`, no param
 * and no code.
 */
export const invalidUrl = (method: string, path: string): HttpError =>
  new HttpError(404, 'invalid_request_error', MESSAGES.invalidUrl(method, path));

/**
 * A 404 for a model that is not configured for the route (OpenAI's shape:
 * type `invalid_request_error`, code `model_not_found`, param `model`, and a
 * message that names the model and points to `GET /v1/models`). The id the
 * client sent is named only when it has the shape of a model id
 * (`MODEL_ID`); anything else gets the message without it. `otherKind`: the
 * id is a configured model of another kind (a chat model on the images route).
 */
export function modelNotFound(id?: string, otherKind = false): HttpError {
  const named =
    id !== undefined && id.length <= MODEL_ID.maxLength && MODEL_ID.pattern.test(id)
      ? `The model '${id}'`
      : 'The model';
  const message = otherKind
    ? `${named} is not available for this endpoint. ${LIST_MODELS}`
    : `${named} does not exist or you do not have access to it. ${LIST_MODELS}`;
  return new HttpError(404, 'invalid_request_error', message, {
    code: 'model_not_found',
    param: 'model',
  });
}

const LIST_MODELS = 'List the models with GET /v1/models.';

/**
 * A field path at the start of a message, followed by a space: lower-case
 * names joined by dots, with array indices (`tools[0].function.name`).
 */
const LEADING_FIELD = /^([a-z_][a-z0-9_]*(?:\[\d+\]|\.[a-z_][a-z0-9_]*)*) /;

/**
 * The field a message names first, if it starts with one: messages about a
 * field begin with its path (`messages[2].content must be ...`).
 */
export function leadingField(message: string): string | undefined {
  return LEADING_FIELD.exec(message)?.[1];
}

/**
 * A 400 for a bad request field. `param` names the field: as given, or the
 * field path the message starts with.
 */
export function invalidRequest(message: string, param?: string): HttpError {
  const named = param ?? leadingField(message);
  return new HttpError(
    400,
    'invalid_request_error',
    message,
    named === undefined ? {} : { param: named },
  );
}
