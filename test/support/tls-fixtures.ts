/**
 * Certificates and TLS servers for tests of outbound TLS (the trust store,
 * the receipt webhook): a private CA, leaves it signs (valid or expired), and
 * an HTTPS server on 127.0.0.1 (port 0) serving a leaf, recording what it was
 * sent.
 *
 * Keys are EC P-256 (fast to make); certificates are made with `selfsigned`,
 * as local mode's are (local/certificate.ts).
 *
 * ```ts
 * const ca = await makeCa('Test CA');
 * const leaf = await makeLeaf(ca, { hosts: ['127.0.0.1', 'localhost'] });
 * const server = await startTlsServer(leaf);
 * // ... fetch(`${server.url}/anything`) with ca.cert trusted
 * await server.close();
 * ```
 */

import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { SecureVersion } from 'node:tls';
import { generate } from 'selfsigned';

const DAY_MS = 86_400_000;

/** A CA certificate and its private key (PEM, each ending with a newline). */
export interface TestCa {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
}

/** A leaf certificate, its key, and the CA that signed it. */
export interface TestLeaf {
  readonly cert: string;
  readonly key: string;
  readonly ca: TestCa;
  /** Leaf then CA, PEM: what a server sends when it sends its chain. */
  readonly chain: string;
}

export interface CertValidity {
  /** Valid from. @default one day ago */
  readonly notBefore?: Date;
  /** Valid until. @default one year from now (`expired`: one day ago) */
  readonly notAfter?: Date;
  /** Already expired: valid from 30 days ago until one day ago. */
  readonly expired?: boolean;
}

export interface LeafOptions extends CertValidity {
  /** DNS names and IP addresses the leaf is for. @default ['127.0.0.1', 'localhost'] */
  readonly hosts?: readonly string[];
  /** The subject common name. @default the first host */
  readonly commonName?: string;
}

const pemLine = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);

function validity(opts: CertValidity): { notBeforeDate: Date; notAfterDate: Date } {
  const now = Date.now();
  if (opts.expired) {
    return {
      notBeforeDate: opts.notBefore ?? new Date(now - 30 * DAY_MS),
      notAfterDate: opts.notAfter ?? new Date(now - DAY_MS),
    };
  }
  return {
    notBeforeDate: opts.notBefore ?? new Date(now - DAY_MS),
    notAfterDate: opts.notAfter ?? new Date(now + 365 * DAY_MS),
  };
}

/** A self-signed CA (`cA`, may sign certificates and CRLs). */
export async function makeCa(name: string, opts: CertValidity = {}): Promise<TestCa> {
  const pems = await generate(
    [
      { name: 'commonName', value: name },
      { name: 'organizationName', value: 'Ephemera tests' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ...validity(opts),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  return { name, cert: pemLine(pems.cert), key: pemLine(pems.private) };
}

/** A server certificate for `hosts`, signed by `ca`. */
export async function makeLeaf(ca: TestCa, opts: LeafOptions = {}): Promise<TestLeaf> {
  const hosts = opts.hosts ?? ['127.0.0.1', 'localhost'];
  const pems = await generate([{ name: 'commonName', value: opts.commonName ?? hosts[0] }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(opts),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
      },
    ],
    ca: { key: ca.key, cert: ca.cert },
  });
  const cert = pemLine(pems.cert);
  return { cert, key: pemLine(pems.private), ca, chain: cert + ca.cert };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The client's port: the same for requests over one kept-alive connection. */
  readonly remotePort?: number;
}

export interface TlsServerOptions {
  /** @default 'TLSv1.2' */
  readonly minVersion?: SecureVersion;
  /** @default Node's default (TLSv1.3) */
  readonly maxVersion?: SecureVersion;
  /** Send the CA after the leaf. @default false (the leaf only) */
  readonly sendChain?: boolean;
  /**
   * Answers each request (its body already read into `received.body`).
   * @default 200 `{"ok":true}` as application/json
   */
  readonly handler?: (received: ReceivedRequest, res: ServerResponse) => void;
}

export interface TlsServer {
  /** `https://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** Stops the server and closes every connection. */
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1, port 0, serving `leaf`. A server limited to
 * TLS 1.1 or older (`maxVersion`) is made with OpenSSL security level 0, as
 * such old protocols need, so it really offers them.
 */
export async function startTlsServer(
  leaf: TestLeaf,
  options: TlsServerOptions = {},
): Promise<TlsServer> {
  const legacy = options.maxVersion === 'TLSv1' || options.maxVersion === 'TLSv1.1';
  const requests: ReceivedRequest[] = [];
  const handler =
    options.handler ??
    ((_received: ReceivedRequest, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  const server: Server = createServer(
    {
      cert: options.sendChain ? leaf.chain : leaf.cert,
      key: leaf.key,
      minVersion: options.minVersion ?? (legacy ? 'TLSv1' : 'TLSv1.2'),
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          ...(req.socket.remotePort !== undefined ? { remotePort: req.socket.remotePort } : {}),
        };
        requests.push(received);
        handler(received, res);
      });
    },
  );
  // A TLS handshake the client refuses is expected here; it must not crash the test.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
