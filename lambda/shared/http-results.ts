/**
 * Reading the body of a request and building results within the load
 * balancer's limits (request and response bodies of a Lambda target are
 * limited to 1 MB). Events and results are translated for each front door by
 * `lambda/shared/http-event.ts`.
 */

import type { HttpRequest, HttpResult } from './http-event';
import { errorBody, HttpError, MESSAGES } from './http-errors';

/** Largest request body accepted (the ALB's limit for Lambda targets). */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * Largest serialized `HttpResult` returned. The ALB limits the response JSON of a
 * Lambda target to 1 MB; this stays under both readings of "MB".
 */
export const MAX_RESPONSE_BYTES = 1_000_000;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Decodes and parses the JSON body. Throws 413 when it is over
 * {@link MAX_REQUEST_BODY_BYTES} and 400 when it is not a JSON object.
 */
export function jsonBody(
  event: Pick<HttpRequest, 'body' | 'isBase64Encoded'>,
): Record<string, unknown> {
  const raw = event.body ?? '';
  // A base64 string of n characters holds at most 3n/4 bytes; check before decoding.
  if (
    event.isBase64Encoded
      ? (raw.length * 3) / 4 > MAX_REQUEST_BODY_BYTES + 2
      : raw.length > MAX_REQUEST_BODY_BYTES
  ) {
    throw new HttpError(413, 'request_too_large', MESSAGES.tooLarge);
  }
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_REQUEST_BODY_BYTES)
    throw new HttpError(413, 'request_too_large', MESSAGES.tooLarge);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_request_error', MESSAGES.invalidJson);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'invalid_request_error', MESSAGES.invalidJson);
  }
  return parsed as Record<string, unknown>;
}

export function albResult(
  status: number,
  body: string,
  contentType: string,
  headers: Readonly<Record<string, string>> = {},
): HttpResult {
  return {
    statusCode: status,
    statusDescription: `${status} ${STATUS_TEXT[status] ?? 'Status'}`,
    headers: {
      'Content-Type': contentType,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...headers,
    },
    body,
    isBase64Encoded: false,
  };
}

export const JSON_CONTENT_TYPE = 'application/json';

export function jsonResult(
  status: number,
  body: string,
  headers?: Readonly<Record<string, string>>,
): HttpResult {
  return albResult(status, body, JSON_CONTENT_TYPE, headers);
}

export function errorResult(err: HttpError): HttpResult {
  return jsonResult(err.status, errorBody(err), err.headers);
}

/** Whether the serialized result fits the ALB's response limit. */
export function fitsResponseLimit(result: HttpResult): boolean {
  const body = result.body ?? '';
  // Most answers are far below the limit; measure exactly only near it.
  if (body.length < MAX_RESPONSE_BYTES / 4) return true;
  return Buffer.byteLength(JSON.stringify(result), 'utf8') <= MAX_RESPONSE_BYTES;
}
