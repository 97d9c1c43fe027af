/**
 * The one adapter between the front doors and the handlers: an event from the
 * load balancer (multi-value headers on or off) or from API Gateway's REST
 * proxy integration becomes an {@link HttpRequest}; a handler's
 * {@link HttpResult} goes back in the shape that front door expects.
 *
 * - Header names are lower-cased; every value of a repeated header is kept, in
 *   the order received (the load balancer keeps only the last one unless its
 *   target group has multi-value headers on, which Ephemera's does).
 * - Query parameters are decoded here for load-balancer events (it passes them
 *   as sent, percent-encoded, `+` for space) and taken as they are from API
 *   Gateway (which decodes them). A malformed escape marks the query invalid
 *   rather than throwing; routes that read the query answer 400.
 * - A result mirrors the event: `multiValueHeaders` when the event had them
 *   (the load balancer ignores `headers` then), `headers` otherwise.
 */

import type { ALBEvent, ALBResult, APIGatewayProxyEvent } from 'aws-lambda';
import { trimOws } from '../../lib/core/text';

/** What a front door hands a handler. */
export type FrontDoorEvent = ALBEvent | APIGatewayProxyEvent;

export interface HttpRequest {
  /** Upper-case method (`GET`, `POST`, ...), or '' when the event has none. */
  readonly method: string;
  readonly path: string;
  /** Lower-case header names; every value, in order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Decoded query parameters; every value, in order. */
  readonly query: ReadonlyMap<string, readonly string[]>;
  /** True when a query parameter had a malformed percent-escape (the map then omits it). */
  readonly queryMalformed: boolean;
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
  /**
   * The caller's network address as the front door saw it ('' when unknown):
   * API Gateway's `sourceIp`, or the entry the load balancer appended to
   * `X-Forwarded-For` (the last; a client can write the ones before it). Used
   * in memory only, to key the back-off after failed API keys; never logged.
   */
  readonly clientAddress: string;
}

/** What a handler answers: one value per header name. */
export interface HttpResult {
  readonly statusCode: number;
  readonly statusDescription?: string;
  headers?: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** The result in the front door's shape. */
export type FrontDoorResult = ALBResult;

const isLoadBalancerEvent = (event: FrontDoorEvent): event is ALBEvent =>
  typeof (event?.requestContext as { elb?: unknown } | undefined)?.elb === 'object';

/** Decodes one application/x-www-form-urlencoded component; undefined if malformed. */
export function decodeQueryComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.split('+').join(' '));
  } catch {
    return undefined;
  }
}

function collect(
  single: Record<string, string | undefined> | null | undefined,
  multi: Record<string, string[] | undefined> | null | undefined,
  lowerCaseNames: boolean,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, value: unknown) => {
    if (typeof value !== 'string') return;
    const key = lowerCaseNames ? name.toLowerCase() : name;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  };
  if (multi && typeof multi === 'object') {
    for (const [name, values] of Object.entries(multi as object)) {
      if (Array.isArray(values)) for (const v of values) add(name, v);
    }
  } else if (single && typeof single === 'object') {
    for (const [name, value] of Object.entries(single as object)) add(name, value);
  }
  return out;
}

/** Longest address kept (an IPv6 address with a zone fits); anything longer is not one. */
const MAX_ADDRESS_LENGTH = 64;

function clientAddressOf(
  event: FrontDoorEvent,
  alb: boolean,
  headers: ReadonlyMap<string, readonly string[]>,
): string {
  let address = '';
  if (alb) {
    const forwarded = headers.get('x-forwarded-for') ?? [];
    const last = forwarded[forwarded.length - 1] ?? '';
    address = trimOws(last.slice(last.lastIndexOf(',') + 1));
  } else {
    const identity = (event as APIGatewayProxyEvent).requestContext?.identity;
    address = typeof identity?.sourceIp === 'string' ? identity.sourceIp : '';
  }
  return address.length <= MAX_ADDRESS_LENGTH ? address : '';
}

/** Normalises a front-door event. Never throws. */
export function toHttpRequest(input: FrontDoorEvent): HttpRequest {
  const event = (typeof input === 'object' && input !== null ? input : {}) as FrontDoorEvent;
  const alb = isLoadBalancerEvent(event);
  const headers = collect(event.headers, event.multiValueHeaders, true);
  const rawQuery = collect(
    event.queryStringParameters,
    event.multiValueQueryStringParameters,
    false,
  );
  let queryMalformed = false;
  let query = rawQuery;
  if (alb) {
    query = new Map();
    for (const [name, values] of rawQuery) {
      const key = decodeQueryComponent(name);
      const decoded = values.map(decodeQueryComponent);
      if (key === undefined || decoded.some((v) => v === undefined)) {
        queryMalformed = true;
        continue;
      }
      query.set(key, [...(query.get(key) ?? []), ...(decoded as string[])]);
    }
  }
  return {
    method: typeof event.httpMethod === 'string' ? event.httpMethod.toUpperCase() : '',
    path: typeof event.path === 'string' ? event.path : '',
    headers,
    query,
    queryMalformed,
    body: typeof event.body === 'string' ? event.body : null,
    isBase64Encoded: event.isBase64Encoded === true,
    clientAddress: clientAddressOf(event, alb, headers),
  };
}

/** Every value of a header (lower-case name). */
export function headerValues(request: HttpRequest, name: string): readonly string[] {
  return request.headers.get(name) ?? [];
}

/**
 * Puts a result in the shape the event's front door reads (API Gateway takes no
 * `statusDescription`).
 */
export function toFrontDoorResult(event: FrontDoorEvent, result: HttpResult): FrontDoorResult {
  const { headers = {}, statusDescription, ...rest } = result;
  if (!isLoadBalancerEvent(event)) return { ...rest, headers };
  const withStatus = statusDescription === undefined ? rest : { ...rest, statusDescription };
  if (event.multiValueHeaders) {
    return {
      ...withStatus,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    };
  }
  return { ...withStatus, headers };
}
