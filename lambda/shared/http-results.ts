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
    throw new HttpError(413, 'invalid_request_error', MESSAGES.tooLarge, {
      code: 'request_too_large',
    });
  }
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_REQUEST_BODY_BYTES)
    throw new HttpError(413, 'invalid_request_error', MESSAGES.tooLarge, {
      code: 'request_too_large',
    });
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_request_error', jsonSyntaxMessage(text));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'invalid_request_error', MESSAGES.invalidJson);
  }
  return parsed as Record<string, unknown>;
}

/**
 * The 400 message for a body that is not JSON: where it stopped parsing, as a
 * position (UTF-16 code units from the start), never the text around it.
 */
export function jsonSyntaxMessage(text: string): string {
  const at = jsonErrorPosition(text);
  const where =
    at === undefined
      ? ''
      : at >= text.length
        ? `: unexpected end of input at position ${at}`
        : `: unexpected token at position ${at}`;
  return `We could not parse the JSON body of your request${where}. Send a JSON object.`;
}

/**
 * The position of the first JSON syntax error in `text` (its length when the
 * text ends too soon), or undefined when none is found or the nesting is too
 * deep to walk.
 */
export function jsonErrorPosition(text: string): number | undefined {
  let i = 0;
  const stop = (): never => {
    throw new JsonStop(i);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const string = () => {
    i++;
    for (;;) {
      if (i >= text.length) stop();
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') stop();
      if (c !== '\\') {
        i++;
        continue;
      }
      i++;
      if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
      else if (text[i] === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
      else stop();
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (close === '}') {
          ws();
          if (text[i] !== '"') stop();
          string();
          ws();
          if (text[i] !== ':') stop();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else stop();
      }
    }
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.exec(text) === null) stop();
    i = NUMBER.lastIndex;
  };
  try {
    value();
    ws();
    if (i < text.length) stop();
    return undefined;
  } catch (err) {
    if (err instanceof JsonStop) return Math.min(err.at, text.length);
    return undefined; // too deep to walk (RangeError)
  }
}

class JsonStop {
  constructor(readonly at: number) {}
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
