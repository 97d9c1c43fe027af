/**
 * Local mode's load balancer: an HTTP request becomes the event an
 * Application Load Balancer hands a Lambda target (multi-value headers on, as
 * Ephemera's target groups have them), the path picks the handler as the
 * listener rules do, and the handler's result goes back as the HTTP answer. A
 * handler that streams writes to a {@link ResponseStream} bound to the
 * connection instead, so chunks reach the client as they are produced.
 *
 * The event follows what the load balancer sends:
 * - header names in lower case, every value of a repeated header kept in order;
 * - query names and values as sent (still percent-encoded), every value kept;
 * - the body as text when its content type is text-like and it has no
 *   content encoding, else base64 with `isBase64Encoded: true`;
 * - bodies over 1 MB refused before any handler runs (the load balancer's
 *   limit for Lambda targets), with the contract's 413.
 *
 * Deadlines, as deployed, all from the one request timeout (the gateway
 * function's timeout there):
 * - the handler has the request timeout from when its body is in, as a
 *   Lambda has from its invocation. At that deadline an answer not yet begun
 *   is the load balancer's 502 (a target that timed out), and a stream still
 *   open is cut, connection and all, as the function's end cuts it: a client
 *   that stops reading cannot hold a connection (and the handler's pending
 *   write) past it;
 * - the whole request, headers and body, must arrive within the request
 *   timeout too, the headers within 60 s (or that timeout, if shorter):
 *   {@link frontDoorServerOptions}. A slower client gets Node's `408` and the
 *   connection is closed, as the load balancer answers 408 to a client that
 *   stops sending. (Node's own defaults, 300 s and 60 s, checked every 30 s,
 *   would hold a slow body whatever the setting.)
 *
 * Nothing here logs; a request's content only passes through memory.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { errorBody, HttpError, invalidUrl, MESSAGES } from '../lambda/shared/http-errors';
import { MAX_REQUEST_BODY_BYTES } from '../lambda/shared/http-results';
import type { InvocationContext } from '../lambda/shared/request-id';
import type { ResponseStream } from '../lambda/shared/response-stream';

/** The target group named in local events. */
export const LOCAL_TARGET_GROUP_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ephemera-local/0000000000000000';

/** A handler as the load balancer invokes it; the stream is offered to handlers that can use it. */
export type LocalHandler = (
  event: ALBEvent,
  context: InvocationContext,
  stream: ResponseStream,
) => Promise<ALBResult>;

export interface LocalRoute {
  /** Path patterns as the listener rules write them (`*` matches the rest of the path). */
  readonly paths: readonly string[];
  readonly handler: LocalHandler;
}

/** Content types the load balancer passes as text. */
const TEXT_TYPES = /^(text\/|application\/(json|javascript|xml)\b|[^;]*\+(json|xml)\b)/i;

/** Whether the load balancer would pass this body as text. */
export function isTextBody(headers: IncomingMessage['headers']): boolean {
  if (headers['content-encoding']) return false;
  return TEXT_TYPES.test(headers['content-type'] ?? '');
}

/** Splits a raw query string the way the load balancer reports it: names and values as sent. */
export function rawQueryParameters(search: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const query = search.startsWith('?') ? search.slice(1) : search;
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    (out[name] ??= []).push(value);
  }
  return out;
}

/** The load-balancer event for a request and its (already read) body. */
export function toLoadBalancerEvent(req: IncomingMessage, body: Buffer): ALBEvent {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const headers: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2)
    (headers[raw[i].toLowerCase()] ??= []).push(raw[i + 1]);
  // As the load balancer does: the address it saw, appended to X-Forwarded-For.
  const peer = req.socket?.remoteAddress ?? '';
  const forwarded = headers['x-forwarded-for'];
  if (forwarded) forwarded[forwarded.length - 1] += `, ${peer}`;
  else headers['x-forwarded-for'] = [peer];
  const text = body.length === 0 || isTextBody(req.headers);
  return {
    requestContext: { elb: { targetGroupArn: LOCAL_TARGET_GROUP_ARN } },
    httpMethod: req.method ?? 'GET',
    path,
    multiValueQueryStringParameters: rawQueryParameters(q === -1 ? '' : url.slice(q)),
    multiValueHeaders: headers,
    body: text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !text,
  };
}

/** Whether a path matches a listener-rule pattern. */
export function matchesPath(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/** The first route whose patterns match; the last route with no paths is the default. */
export function routeFor(routes: readonly LocalRoute[], path: string): LocalRoute | undefined {
  return (
    routes.find((r) => r.paths.some((p) => matchesPath(p, path))) ??
    routes.find((r) => r.paths.length === 0)
  );
}

/** Writes a handler's result as the HTTP answer. */
export function writeResult(res: ServerResponse, result: ALBResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = (values ?? []).map(String);
  }
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

/** A response stream on the connection: each write goes out at once. */
export function connectionStream(res: ServerResponse): ResponseStream {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  let started = false;
  return {
    get started() {
      return started;
    },
    signal: controller.signal,
    start(statusCode, headers) {
      started = true;
      if (res.headersSent) return; // answered already: the deadline's 502
      res.writeHead(statusCode, { ...headers });
      res.flushHeaders();
    },
    write(chunk) {
      // An answer cut at its deadline (or ended) takes no more.
      if (res.destroyed || res.writableEnded || controller.signal.aborted) return Promise.resolve();
      if (res.write(chunk)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    },
  };
}

/**
 * Reads a body up to `max` bytes; undefined when it is larger (the rest is not
 * kept). Rejects when the connection goes before the body is in (a client
 * that left, or one cut at the body deadline).
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('The connection closed before the body was in')));
  });
}

/** Headers must arrive within this, or within the request timeout if that is shorter. */
export const HEADERS_TIMEOUT_MS = 60_000;

/**
 * The server's own deadlines (see the top of this file): the whole request
 * within the request timeout, the headers within 60 s, checked every second.
 */
export function frontDoorServerOptions(
  timeoutMs: number,
): Required<
  Pick<ServerOptions, 'requestTimeout' | 'headersTimeout' | 'connectionsCheckingInterval'>
> {
  return {
    requestTimeout: timeoutMs,
    headersTimeout: Math.min(HEADERS_TIMEOUT_MS, timeoutMs),
    connectionsCheckingInterval: Math.min(1_000, timeoutMs),
  };
}

export interface FrontDoorOptions {
  /** The request timeout: the handler's deadline, counted from when the body is in. */
  readonly timeoutMs: number;
  /**
   * An answer for every request while it gives one (local mode: the storage
   * is full), instead of the handler's; it also replaces a handler's 5xx
   * that came while it gives one.
   */
  readonly refuse?: () => HttpError | undefined;
}

const tooLarge = new HttpError(413, 'invalid_request_error', MESSAGES.tooLarge, {
  code: 'request_too_large',
});
const failed = new HttpError(502, 'server_error', MESSAGES.internal);
const starting = new HttpError(503, 'server_error', MESSAGES.unavailable, {
  code: 'service_unavailable',
});

function writeError(res: ServerResponse, err: HttpError): void {
  writeResult(res, {
    statusCode: err.status,
    // Its own headers too: Retry-After on a 503.
    headers: { ...err.headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: errorBody(err),
    isBase64Encoded: false,
  });
}

/**
 * The request listener: read, route, invoke with a fresh context (a request
 * id and a Lambda-like time budget), answer. A handler that throws gets the
 * load balancer's 502, and nothing about the error is logged or sent. Routes
 * are read per request: until some are added, every request gets a 503. At
 * the deadline the answer is cut (see the top of this file).
 */
export function frontDoor(
  routes: readonly LocalRoute[],
  options: FrontDoorOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const body = await readBody(req, MAX_REQUEST_BODY_BYTES);
      if (body === undefined) return writeError(res, tooLarge);
      const event = toLoadBalancerEvent(req, body);
      if (routes.length === 0) return writeError(res, starting);
      const refused = options.refuse?.();
      if (refused) return writeError(res, refused);
      const route = routeFor(routes, event.path);
      if (!route) return writeError(res, invalidUrl(event.httpMethod, event.path));
      const deadline = Date.now() + options.timeoutMs;
      const context: InvocationContext = {
        awsRequestId: randomUUID(),
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      };
      const stream = connectionStream(res);
      // The deadline, as the function's timeout ends an invocation whatever
      // it is doing: until the answer has gone out to the client.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (res.headersSent) res.destroy();
        else writeError(res, failed);
      }, options.timeoutMs);
      const settled = () => clearTimeout(timer);
      res.once('finish', settled).once('close', settled);
      // A handler that goes on past the deadline writes to nobody: no error of that is raised.
      res.on('error', () => undefined);
      let result: ALBResult;
      try {
        result = await route.handler(event, context, stream);
      } catch {
        if (timedOut) return;
        if (!stream.started) writeError(res, failed);
        res.end();
        return;
      }
      if (timedOut) return;
      if (stream.started) res.end();
      else if (!res.destroyed) {
        const instead = result.statusCode >= 500 ? options.refuse?.() : undefined;
        if (instead) writeError(res, instead);
        else writeResult(res, result);
      }
    })().catch(() => {
      // The connection failed while reading; there is nobody to answer.
      res.destroy();
    });
  };
}
