/**
 * Raw HTTP(S) requests to the local stand-ins, signed (or not) with the AWS
 * SDK's own SigV4 signer (`@smithy/signature-v4`), so that the stand-ins'
 * verifier (`local/sigv4.ts`) is checked against an implementation it shares
 * no code with. A request can be changed after signing (`tamper`), to check
 * that the signature covers what it should.
 */

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LocalCredentials } from '../../../local/sigv4';

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** node:crypto as the signer's hash (HMAC when given a secret). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', toBuffer(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** Sends a request as it is; `ca` trusts the stand-in's HTTPS certificate. */
export function sendRaw(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    ca?: string;
  } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ...(options.ca ? { ca: options.ca } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SignedOptions {
  /** The stand-in's endpoint (`http://127.0.0.1:port`). */
  readonly endpoint: string;
  /** The signing name: dynamodb, s3, kms. */
  readonly service: string;
  readonly credentials: LocalCredentials;
  readonly method?: string;
  /** Path and query as sent (`/bucket/key?x=y`). @default '/' */
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly ca?: string;
  /** Changes the request after it is signed. */
  readonly tamper?: (signed: { headers: Record<string, string>; body: Buffer }) => {
    headers: Record<string, string>;
    body: Buffer;
  };
}

/** Signs a request with the SDK's signer, optionally changes it, and sends it. */
export async function sendSigned(options: SignedOptions): Promise<RawAnswer> {
  const target = new URL(`${options.endpoint}${options.path ?? '/'}`);
  const body = Buffer.from(options.body ?? '');
  const query: Record<string, string> = {};
  for (const [name, value] of target.searchParams) query[name] = value;
  const signer = new SignatureV4({
    service: options.service,
    region: 'us-east-1',
    credentials: options.credentials,
    sha256: NodeSha256,
    uriEscapePath: options.service !== 's3',
  });
  const signed = await signer.sign({
    method: options.method ?? 'POST',
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query,
    headers: {
      host: target.host,
      'content-length': String(body.length),
      ...(options.service === 's3'
        ? { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }
        : {}),
      ...options.headers,
    },
    body,
  });
  let sent: { headers: Record<string, string>; body: Buffer } = {
    headers: { ...(signed.headers as Record<string, string>) },
    body,
  };
  if (options.tamper) sent = options.tamper(sent);
  sent.headers['content-length'] = String(sent.body.length);
  return sendRaw(target.toString(), {
    method: options.method ?? 'POST',
    headers: sent.headers,
    body: sent.body,
    ...(options.ca ? { ca: options.ca } : {}),
  });
}
