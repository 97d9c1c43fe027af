/**
 * The deployment under test, as `npm run smoke` sees it: a base URL, the
 * admin key, and a fetch that trusts the public CAs plus `--ca` (a private
 * CA's PEM bundle), over `node:https` so that any Node (and the official
 * `openai` client, which takes a `fetch`) uses exactly this trust.
 *
 * Every answer from the API (the target's origin, through {@link Target.api}
 * or {@link Target.apiFetch}) is recorded: method, path, status and its
 * `X-Ephemera-Retention` header, and the body of each error answer, so that
 * the retention and canary checks can look at everything the run was sent.
 * Nothing here prints anything.
 */

import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** One answer of the API, as the retention and canary checks review it. */
export interface SeenAnswer {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The `X-Ephemera-Retention` value; undefined when the header was missing. */
  readonly retention?: string;
  /** The body of an error answer (status 400 or more). */
  readonly errorBody?: string;
}

export interface CallOptions {
  readonly method?: string;
  /** The bearer key; null sends no `Authorization` header. */
  readonly key: string | null;
  readonly headers?: Record<string, string>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as is, with `Content-Type: application/json` (a malformed body on purpose). */
  readonly rawBody?: string;
  readonly signal?: AbortSignal;
}

export interface CallAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown;
  readonly requestId?: string;
}

export interface Target {
  /** `https://host[:port]`, no trailing slash. */
  readonly url: string;
  readonly adminKey: string;
  /** The extra CA bundle (PEM) trusted besides the public CAs. */
  readonly caPem?: string;
  /** The trust `--ca` adds, for `node:tls` connections: public CAs plus the bundle; undefined = Node's default. */
  readonly ca?: readonly string[];
  /** A fetch that trusts `ca`; records nothing (for presigned image URLs). */
  readonly fetch: FetchLike;
  /** The same fetch, recording each answer of the API. */
  readonly apiFetch: FetchLike;
  /** One API call with this trust, recorded. */
  api(path: string, options: CallOptions): Promise<CallAnswer>;
  /** Every API answer of the run so far. */
  readonly seen: readonly SeenAnswer[];
  /** Closes kept-alive connections. */
  close(): void;
}

export interface TargetOptions {
  readonly url: string;
  readonly adminKey: string;
  readonly caPem?: string;
}

/** Statuses whose answer has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

async function bodyBytes(body: RequestInit['body']): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Blob, FormData, URLSearchParams, streams: let Response read them.
  return Buffer.from(
    await new Response(body as ConstructorParameters<typeof Response>[0]).arrayBuffer(),
  );
}

/** A WHATWG fetch over `node:https` with this agent's trust. */
export function httpsFetch(agent: Agent): FetchLike {
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const headers = new Headers(init.headers ?? request?.headers);
    // Answers are read as sent: no compression to undo.
    headers.set('accept-encoding', 'identity');
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const body = await bodyBytes(init.body ?? (request ? await request.arrayBuffer() : undefined));
    if (body !== undefined) headers.set('content-length', String(body.length));
    const signal = init.signal ?? request?.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent,
          headers: Object.fromEntries(headers.entries()),
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const out = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) out.append(raw[i], raw[i + 1]);
          const status = res.statusCode ?? 0;
          const nullBody = NULL_BODY.has(status) || method === 'HEAD';
          if (nullBody) res.resume();
          resolve(
            new Response(nullBody ? null : (Readable.toWeb(res) as unknown as ReadableStream), {
              status,
              statusText: res.statusMessage ?? '',
              headers: out,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

export function createTarget(options: TargetOptions): Target {
  let url = options.url;
  while (url.endsWith('/')) url = url.slice(0, -1);
  const ca = options.caPem ? [...rootCertificates, options.caPem] : undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ...(ca ? { ca: [...ca] } : {}) });
  const origin = new URL(url).origin;
  const fetch = httpsFetch(agent);
  const seen: SeenAnswer[] = [];

  const apiFetch: FetchLike = async (input, init) => {
    const response = await fetch(input, init);
    const address = new URL(input instanceof Request ? input.url : String(input));
    if (address.origin === origin) {
      const retention = response.headers.get('x-ephemera-retention') ?? undefined;
      const errorBody = response.status >= 400 ? await response.clone().text() : undefined;
      seen.push({
        method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
        path: address.pathname,
        status: response.status,
        ...(retention !== undefined ? { retention } : {}),
        ...(errorBody !== undefined ? { errorBody } : {}),
      });
    }
    return response;
  };

  async function api(path: string, call: CallOptions): Promise<CallAnswer> {
    const headers: Record<string, string> = { ...call.headers };
    if (call.key !== null) headers.authorization = `Bearer ${call.key}`;
    let body: string | undefined;
    if (call.rawBody !== undefined) body = call.rawBody;
    else if (call.body !== undefined) body = JSON.stringify(call.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await apiFetch(`${url}${path}`, {
      method: call.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    return {
      status: response.status,
      headers: response.headers,
      text,
      json,
      ...(requestId ? { requestId } : {}),
    };
  }

  return {
    url,
    adminKey: options.adminKey,
    ...(options.caPem ? { caPem: options.caPem } : {}),
    ...(ca ? { ca } : {}),
    fetch,
    apiFetch,
    api,
    seen,
    close: () => agent.destroy(),
  };
}
