/**
 * The SigV4-checking fronts of the local DynamoDB and S3 (`./stores`).
 *
 * dynalite and s3rver cannot check SigV4 signatures (s3rver takes any V4
 * signature and anonymous requests; dynalite checks nothing), so each listens
 * on a Unix socket in a private (0700) directory, and this front, on
 * 127.0.0.1, is the only way in: it buffers the request body, checks the
 * signature against the per-run credentials (`./sigv4`), and only then
 * forwards the request to the socket. A refused request never reaches the
 * backend, and gets the service's own error shape:
 *
 * - DynamoDB: HTTP 400, `{"__type": "com.amazon.coral.service#<Exception>", "message": ...}`
 *   (`MissingAuthenticationTokenException`, `IncompleteSignatureException`,
 *   `UnrecognizedClientException`, `InvalidSignatureException`).
 * - S3: HTTP 403 / 400 with `<Error><Code>...</Code><Message>...</Message></Error>`
 *   (`AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`,
 *   `RequestTimeTooSkewed`, `XAmzContentSHA256Mismatch`, ...).
 *
 * The S3 front also accepts presigned URLs (the gateway's image URLs) and
 * refuses expired ones, strips the authentication (header or query) before
 * forwarding (s3rver would look the per-run key up in its own account list),
 * and does what s3rver does not: conditional writes. A PUT of an object with
 * `If-None-Match: *` fails with 412 PreconditionFailed when the object exists;
 * with `If-Match: <etag>`, when the object is missing or has another ETag.
 * Writes to one key (PUT, DELETE) are serialised, so the check (a HEAD through
 * the backend) and the write are atomic against each other. DeleteObjects
 * (`POST ?delete`) is not serialised with them.
 *
 * Privacy: nothing here logs; error bodies are fixed strings and never quote
 * the request.
 */

import { randomBytes } from 'node:crypto';
import {
  Agent,
  createServer as createHttpServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  jsonAuthError,
  PRESIGN_PARAMETERS,
  s3AuthError,
  verifySigV4,
  type LocalCredentials,
} from './sigv4';

export interface FrontOptions {
  readonly service: 'dynamodb' | 's3';
  readonly credentials: LocalCredentials;
  /** The backend's Unix socket. */
  readonly backendSocket: string;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Serve HTTPS with this certificate chain and key. @default - plain HTTP */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface Front {
  readonly port: number;
  close(): Promise<void>;
}

/** dynalite's own limit on a request. */
const DYNAMODB_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Bodies are buffered to be checked: a bound for local use (images, trust documents). */
const S3_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Headers that belong to one connection, and are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'content-length',
]);

const requestId = () => randomBytes(8).toString('hex').toUpperCase();

// ---------------------------------------------------------------------------
// Error answers
// ---------------------------------------------------------------------------

function jsonError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
  res
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': requestId(),
    })
    .end(body);
}

function s3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra = '',
): void {
  const id = requestId();
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>${id}</RequestId></Error>`;
  res
    .writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': id,
    })
    .end(body);
}

function internalError(service: FrontOptions['service'], res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
  } else if (service === 's3') {
    s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
  } else {
    jsonError(res, 500, 'InternalServerError', 'Internal server error');
  }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/** The body, or undefined when it is larger than `max` (the rest is read and dropped). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => resolve(size <= max ? Buffer.concat(chunks) : undefined));
    req.on('error', () => resolve(undefined));
  });
}

/** The request's headers less the connection's own, with the buffered body's length. */
function forwardHeaders(
  headers: IncomingHttpHeaders,
  body: Buffer,
  drop: readonly string[],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !drop.includes(name)) out[name] = value;
  }
  out['content-length'] = body.length;
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  if (headers['content-length'] !== undefined) out['content-length'] = headers['content-length'];
  return out;
}

/** The request target without the presigned-URL parameters (kept as sent otherwise). */
function withoutPresignParameters(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const kept = url
    .slice(q + 1)
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      let name: string;
      try {
        name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      } catch {
        return true;
      }
      return !(PRESIGN_PARAMETERS as readonly string[]).includes(name);
    });
  return kept.length > 0 ? `${url.slice(0, q)}?${kept.join('&')}` : url.slice(0, q);
}

/**
 * The object a request writes (PUT or DELETE of `/bucket/key` with no
 * subresource), as its path and its decoded `bucket/key`; undefined otherwise.
 * `url` is without the presigned-URL parameters.
 */
function objectWrite(
  method: string,
  url: string,
): { path: string; lockKey: string; isPut: boolean } | undefined {
  if (method !== 'PUT' && method !== 'DELETE') return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const slash = path.indexOf('/', 1);
  if (slash < 0 || slash === path.length - 1) return undefined; // a bucket, not an object
  if (q >= 0) {
    const names = url
      .slice(q + 1)
      .split('&')
      .filter((part) => part !== '')
      .map((part) => part.split('=')[0]);
    // A subresource (?tagging, ?uploadId...) is not an object write; x-id and
    // header values hoisted into a presigned URL (x-amz-*) are.
    const other = (name: string) => name !== 'x-id' && !name.toLowerCase().startsWith('x-amz-');
    if (names.some(other)) return undefined;
  }
  let lockKey: string;
  try {
    lockKey = decodeURIComponent(path.slice(1));
  } catch {
    return undefined;
  }
  return { path, lockKey, isPut: method === 'PUT' };
}

/** An ETag without quotes or the weak prefix. */
const bareEtag = (etag: string): string => {
  const value = etag.trim();
  const strong = value.startsWith('W/') ? value.slice(2) : value;
  return strong.length >= 2 && strong.startsWith('"') && strong.endsWith('"')
    ? strong.slice(1, -1)
    : strong;
};

/**
 * Whether a write's conditions hold for the object's current ETag (undefined:
 * no object). 'unsupported' for an If-None-Match other than `*` (S3 accepts
 * only `*` on writes).
 */
function conditionsHold(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
  current: string | undefined,
): 'yes' | 'If-Match' | 'If-None-Match' | 'unsupported' {
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') return 'unsupported';
    if (current !== undefined) return 'If-None-Match';
  }
  if (ifMatch !== undefined) {
    if (current === undefined) return 'If-Match';
    const wanted = ifMatch.split(',').map(bareEtag);
    if (!wanted.includes('*') && !wanted.includes(bareEtag(current))) return 'If-Match';
  }
  return 'yes';
}

const headerValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(',') : value;

// ---------------------------------------------------------------------------
// The front
// ---------------------------------------------------------------------------

/** Starts a verifying front on 127.0.0.1 for the backend on `backendSocket`. */
export async function startSignedFront(options: FrontOptions): Promise<Front> {
  const { service, credentials, backendSocket } = options;
  const isS3 = service === 's3';
  const agent = new Agent({ keepAlive: true });
  /** Per object key: the tail of its chain of writes. */
  const writes = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier write to `key` has finished. */
  function serialised(key: string, fn: () => Promise<void>): Promise<void> {
    const run = (writes.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    writes.set(key, tail);
    void tail.then(() => {
      if (writes.get(key) === tail) writes.delete(key);
    });
    return run;
  }

  /** The object's current ETag through the backend (undefined: no object). */
  function currentEtag(path: string, host: string | undefined): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const head = request(
        { socketPath: backendSocket, agent, method: 'HEAD', path, headers: host ? { host } : {} },
        (res) => {
          res.resume();
          if (res.statusCode === 200) resolve(headerValue(res.headers.etag) ?? '');
          else if (res.statusCode === 404) resolve(undefined);
          else reject(new Error('backend HEAD failed'));
        },
      );
      head.on('error', reject);
      head.end();
    });
  }

  /** Sends the checked request to the backend and its answer back; settles when done. */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        done = true;
        resolve();
      };
      const upstream = request(
        { socketPath: backendSocket, agent, method: req.method, path, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, responseHeaders(answer.headers));
          answer.pipe(res);
          answer.on('end', finish);
          answer.on('error', () => {
            res.destroy();
            finish();
          });
        },
      );
      // The client went away first: stop the backend's answer (its socket is not reused).
      res.on('close', () => {
        if (!done) upstream.destroy();
        finish();
      });
      upstream.on('error', () => {
        if (!done) internalError(service, res);
        finish();
      });
      upstream.end(body);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const body = await readBody(req, isS3 ? S3_MAX_BODY_BYTES : DYNAMODB_MAX_BODY_BYTES);
    if (!body) {
      if (isS3) {
        s3Error(
          res,
          400,
          'EntityTooLarge',
          'Your proposed upload exceeds the maximum allowed size',
        );
      } else {
        res.writeHead(413, { 'content-length': 0 }).end();
      }
      return;
    }

    const verdict = verifySigV4(
      { method, url, rawHeaders: req.rawHeaders, body },
      { credentials, service, allowPresigned: isS3 },
    );
    if (!verdict.ok) {
      if (isS3) {
        const { status, code, message } = s3AuthError(verdict.failure);
        s3Error(res, status, code, message);
      } else {
        const { type, message } = jsonAuthError(verdict.failure);
        jsonError(res, 400, type, message);
      }
      return;
    }

    if (!isS3) {
      await forward(req, res, url, forwardHeaders(req.headers, body, []), body);
      return;
    }

    // S3: the backend sees an anonymous request (s3rver does not know the per-run key).
    const path = withoutPresignParameters(url);
    const headers = forwardHeaders(req.headers, body, ['authorization', 'x-amz-security-token']);
    const write = objectWrite(method, path); // path: without the presigned-URL parameters
    if (!write) {
      await forward(req, res, path, headers, body);
      return;
    }
    const ifMatch = headerValue(req.headers['if-match']);
    const ifNoneMatch = headerValue(req.headers['if-none-match']);
    const conditional = write.isPut && (ifMatch !== undefined || ifNoneMatch !== undefined);
    await serialised(write.lockKey, async () => {
      if (conditional) {
        const verdict = conditionsHold(
          ifMatch,
          ifNoneMatch,
          await currentEtag(write.path, req.headers.host),
        );
        if (verdict === 'unsupported') {
          s3Error(
            res,
            501,
            'NotImplemented',
            'A header you provided implies functionality that is not implemented',
          );
          return;
        }
        if (verdict !== 'yes') {
          s3Error(
            res,
            412,
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            `<Condition>${verdict}</Condition>`,
          );
          return;
        }
      }
      await forward(req, res, path, headers, body);
    });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => internalError(service, res));
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closed;
    },
  };
}
