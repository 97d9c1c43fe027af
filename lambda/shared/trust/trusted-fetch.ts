/**
 * A `fetch` for outbound calls (the model upstream, the receipt webhook) that
 * trusts what the trust store says, over `node:https` (or `node:http`, for the
 * plain-HTTP URLs a caller already allows, such as loopback in local mode).
 *
 * - TLS 1.2 or later, always.
 * - One keep-alive `https.Agent` per trust settings version: `ca` is Node's
 *   public roots (`tls.rootCertificates`, and NODE_EXTRA_CA_CERTS when set,
 *   as Node's default store has them) plus the uploaded certificates
 *   (`uploaded_and_public`), the
 *   uploaded certificates only (`uploaded_only`; none uploaded: nothing is
 *   trusted), or no verification at all (`insecure_trust_all`). When the
 *   version changes, the old agent is destroyed once its requests are done.
 * - Redirects are never followed: any 3xx answer rejects, its body unread
 *   (as the global fetch with `redirect: 'error'`).
 * - An abort through `init.signal` destroys the connection and rejects with
 *   the signal's reason (an `AbortError`, or the `TimeoutError` a deadline
 *   gives), as the global fetch does; a body being read errors the same way.
 * - Other failures reject with `TypeError('fetch failed')` whose `cause` is
 *   Node's error (a code such as `UNABLE_TO_VERIFY_LEAF_SIGNATURE`); no error
 *   holds a request or response body.
 * - The answer is a WHATWG `Response` whose body streams as it arrives.
 *   No `accept-encoding` is added, so bodies come back as sent.
 */

import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import * as tls from 'node:tls';
import { bundleCertificates } from './pem-bundle';
import type { TrustReader, TrustSettings } from './trust-source';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

let extraCa: { path: string; certs: readonly string[] } | undefined;

/**
 * The certificates of NODE_EXTRA_CA_CERTS, which Node adds to its default
 * store (and so to what the global fetch trusts) but not to
 * `tls.rootCertificates`: part of "public" here, so that an operator's extra
 * CAs keep working. Unreadable: none (Node itself only warns).
 */
function extraCaCertificates(): readonly string[] {
  const path = process.env.NODE_EXTRA_CA_CERTS;
  if (!path) return [];
  if (extraCa?.path !== path) {
    let certs: readonly string[] = [];
    try {
      certs = bundleCertificates(readFileSync(path, 'utf8'));
    } catch {
      certs = [];
    }
    extraCa = { path, certs };
  }
  return extraCa.certs;
}

/** The TLS options of an agent for these settings. */
export function agentOptions(settings: TrustSettings): https.AgentOptions {
  const base: https.AgentOptions = { keepAlive: true, minVersion: 'TLSv1.2' };
  switch (settings.mode) {
    case 'insecure_trust_all':
      return { ...base, rejectUnauthorized: false };
    case 'uploaded_only':
      return { ...base, rejectUnauthorized: true, ca: [...settings.ca] };
    case 'uploaded_and_public':
      return {
        ...base,
        rejectUnauthorized: true,
        ca: [...tls.rootCertificates, ...extraCaCertificates(), ...settings.ca],
      };
  }
}

interface AgentEntry {
  readonly version: string;
  readonly agent: https.Agent;
  active: number;
  retired: boolean;
}

/** Statuses whose answer has no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function toHeaderRecord(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function toBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('trustedFetch sends only string or Uint8Array bodies');
}

function responseHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {
      // A header value fetch would not accept either; it is left out.
    }
  }
  return headers;
}

/** `p`, or the signal's reason as soon as it aborts (a slow trust store read does not outlast a deadline). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A fetch over node:https that trusts what `reader` says now. */
export function trustedFetch(reader: TrustReader): FetchLike {
  let current: AgentEntry | undefined;

  function agentFor(settings: TrustSettings): AgentEntry {
    if (current && current.version === settings.version) return current;
    const previous = current;
    current = {
      version: settings.version,
      agent: new https.Agent(agentOptions(settings)),
      active: 0,
      retired: false,
    };
    if (previous) {
      previous.retired = true;
      if (previous.active === 0) previous.agent.destroy();
    }
    return current;
  }

  function release(entry: AgentEntry): void {
    entry.active--;
    if (entry.retired && entry.active === 0) entry.agent.destroy();
  }

  return async function fetchTrusted(url: string, init: RequestInit = {}): Promise<Response> {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new TypeError('fetch failed: invalid URL');
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw new TypeError('fetch failed: only https: and http: URLs are supported');
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = toHeaderRecord(init.headers);
    const body = toBody(init.body);
    if (body !== undefined) headers['content-length'] = String(body.length);

    let entry: AgentEntry | undefined;
    if (target.protocol === 'https:') {
      // A TrustStoreError from the reader rejects the call as it is (fail closed).
      const settings = await untilAborted(reader.current(), signal);
      entry = agentFor(settings);
      entry.active++;
    }
    const used = entry;

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let response: http.IncomingMessage | undefined;
      const options: https.RequestOptions = { method, headers };
      let req: http.ClientRequest;
      try {
        req =
          target.protocol === 'https:'
            ? https.request(target, { ...options, ...(used ? { agent: used.agent } : {}) })
            : http.request(target, options);
      } catch (err) {
        // A header Node refuses (a control character, say): nothing was sent.
        if (used) release(used);
        reject(new TypeError('fetch failed', { cause: err }));
        return;
      }

      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const onAbort = () => {
        const reason = abortReason(signal!);
        response?.destroy(reason as Error);
        req.destroy(reason as Error);
        fail(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let closed = false;
      req.once('close', () => {
        if (closed) return;
        closed = true;
        signal?.removeEventListener('abort', onAbort);
        if (used) release(used);
      });

      req.on('error', (err) => {
        fail(signal?.aborted ? abortReason(signal) : new TypeError('fetch failed', { cause: err }));
      });
      req.on('response', (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.destroy();
          req.destroy();
          fail(new TypeError('fetch failed: redirects are not followed'));
          return;
        }
        if (status < 200 || status > 599) {
          res.destroy();
          req.destroy();
          fail(new TypeError('fetch failed: invalid status'));
          return;
        }
        // Once the answer is handed over, a failure shows as an error of its body.
        res.on('error', () => undefined);
        const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
        if (nullBody) res.resume();
        const stream = nullBody ? null : (Readable.toWeb(res) as unknown as ReadableStream);
        settled = true;
        resolve(
          new Response(stream, {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders(res.rawHeaders),
          }),
        );
      });
      req.end(body);
    });
  };
}
