/**
 * A deliberately broken deployment for the smoke tests: an HTTPS server on
 * 127.0.0.1 in front of local mode that forwards every request (trusting
 * local mode's CA) and lets one {@link Mutation} change what goes through:
 * the TLS versions it serves, an answer it makes up instead of forwarding, or
 * the answer it passes back. Answers are buffered, so a streamed answer
 * arrives in one piece (as behind a load balancer).
 */

import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureVersion } from 'node:tls';
import type { TestLeaf } from '../../support/tls-fixtures';

export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ProxiedAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface ProxyTools {
  /** Sends a request on to local mode (`headers` replaced as given). */
  forward(req: ProxiedRequest): Promise<ProxiedAnswer>;
  /** GET of any URL trusting local mode's CA (a presigned image URL). */
  get(url: string): Promise<ProxiedAnswer>;
  /** This proxy's own URL. */
  readonly url: string;
}

export interface Mutation {
  /** TLS versions served. @default TLS 1.2 to 1.3, as local mode */
  readonly tls?: { readonly minVersion?: SecureVersion; readonly maxVersion?: SecureVersion };
  /** Answers a request itself; undefined forwards it. */
  intercept?(req: ProxiedRequest, tools: ProxyTools): Promise<ProxiedAnswer | undefined>;
  /** Changes local mode's answer. */
  respond?(req: ProxiedRequest, answer: ProxiedAnswer, tools: ProxyTools): Promise<ProxiedAnswer>;
}

export interface MutatingProxy {
  readonly url: string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'host',
  'upgrade',
]);

function send(url: URL, ca: string, req: Omit<ProxiedRequest, 'path'>): Promise<ProxiedAnswer> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  if (req.body.length > 0) headers['content-length'] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const out = httpsRequest(url, { method: req.method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answerHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
        }
        resolve({
          status: res.statusCode ?? 502,
          headers: answerHeaders,
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(req.body);
  });
}

/** JSON of an answer's body, or undefined. */
export function jsonOf(answer: ProxiedAnswer): Record<string, unknown> | undefined {
  try {
    return JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function withJson(answer: ProxiedAnswer, json: unknown): ProxiedAnswer {
  return { ...answer, body: Buffer.from(JSON.stringify(json), 'utf8') };
}

export async function startMutatingProxy(
  upstream: { readonly url: string; readonly ca: string },
  leaf: TestLeaf,
  mutation: Mutation,
): Promise<MutatingProxy> {
  const min = mutation.tls?.minVersion ?? 'TLSv1.2';
  const legacy = min === 'TLSv1' || min === 'TLSv1.1';
  const tools: { -readonly [K in keyof ProxyTools]: ProxyTools[K] } = {
    url: '',
    forward: (req) => send(new URL(`${upstream.url}${req.path}`), upstream.ca, req),
    get: (address) =>
      send(new URL(address), upstream.ca, { method: 'GET', headers: {}, body: Buffer.alloc(0) }),
  };
  const server: Server = createServer(
    {
      cert: leaf.cert,
      key: leaf.key,
      minVersion: min,
      ...(mutation.tls?.maxVersion ? { maxVersion: mutation.tls.maxVersion } : {}),
      // TLS 1.0 and 1.1 need OpenSSL security level 0 to be offered at all.
      ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: ProxiedRequest = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        void (async () => {
          let answer =
            (await mutation.intercept?.(received, tools)) ?? (await tools.forward(received));
          if (mutation.respond) answer = await mutation.respond(received, answer, tools);
          res.writeHead(answer.status, {
            ...answer.headers,
            'content-length': String(answer.body.length),
          });
          res.end(answer.body);
        })().catch(() => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('proxy failure');
        });
      });
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tools.url = url;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
