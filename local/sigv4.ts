/**
 * AWS Signature Version 4 checks for the local stand-ins (`./stores` and
 * `./kms`), so that only the process that started them, which alone knows the
 * per-run credentials, can use them. Written from the published algorithm
 * (AWS "Signature Version 4 signing process"); it checks:
 *
 *  - the `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 *    Signature=...` header form, with `X-Amz-Date`;
 *  - when allowed (S3), the presigned query form (`X-Amz-Algorithm`,
 *    `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
 *    `X-Amz-Signature`), refusing a URL past its expiry.
 *
 * The payload hash is `x-amz-content-sha256` when the request carries it
 * (and then it must be the SHA-256 of the body, unless it is S3's
 * `UNSIGNED-PAYLOAD`), else the SHA-256 of the body. The request time must
 * be within 15 minutes of this host's clock. Signatures are compared with
 * `timingSafeEqual`.
 *
 * Privacy: a verdict is one of a few fixed failure names; nothing here logs,
 * and nothing of the request is returned.
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Credentials for the local stand-ins: random for every start, known only to the starting process. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** New random credentials (20-character key id, 40-character secret, as AWS shapes them). */
export function newLocalCredentials(): LocalCredentials {
  return {
    accessKeyId: `AKLC${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

/** Why a request was refused. */
export type SigV4Failure =
  /** No Authorization header and no presigned query parameters. */
  | 'missing'
  /** Authorization header or query parameters present but not well formed. */
  | 'malformed'
  /** An access key id (or a session token) this stand-in does not know. */
  | 'unknown-key'
  /** The request time is more than 15 minutes from this host's clock. */
  | 'skewed'
  /** A presigned URL used after `X-Amz-Date` + `X-Amz-Expires`. */
  | 'expired'
  /** The signature is not the one the credentials give. */
  | 'mismatch'
  /** Signed correctly, but the body is not the one `x-amz-content-sha256` names. */
  | 'content-hash'
  /** A payload form this verifier does not implement (S3's aws-chunked STREAMING-*). */
  | 'unsupported-payload';

export type SigV4Verdict =
  | { readonly ok: true; readonly form: 'header' | 'query' }
  | { readonly ok: false; readonly failure: SigV4Failure };

export interface SigV4Request {
  readonly method: string;
  /** The request target as received (`/path?query`). */
  readonly url: string;
  /** Node's `rawHeaders`: name, value, name, value... */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface SigV4Options {
  readonly credentials: LocalCredentials;
  /** The signing name: `s3`, `dynamodb`, `kms`. */
  readonly service: string;
  /** Accept the presigned query form (S3). @default false */
  readonly allowPresigned?: boolean;
  /** This host's clock (ms). @default Date.now() */
  readonly now?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** How far the request time may be from this host's clock. */
export const CLOCK_WINDOW_MS = 15 * 60_000;
/** The longest a presigned URL may be valid (7 days, as in AWS). */
const MAX_EXPIRES_SECONDS = 604_800;
/** The names of the presigned query parameters. */
export const PRESIGN_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Content-Sha256',
] as const;

const fail = (failure: SigV4Failure): SigV4Verdict => ({ ok: false, failure });

const sha256Hex = (data: string | Buffer): string =>
  createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

const isHex64 = (value: string): boolean => value.length === 64 && /^[0-9a-f]+$/i.test(value);

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `YYYYMMDDTHHMMSSZ` as ms since the epoch, or undefined. */
function parseAmzDate(value: string): number | undefined {
  if (!/^\d{8}T\d{6}Z$/.test(value)) return undefined;
  const n = (from: number, to: number) => Number(value.slice(from, to));
  const ms = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(9, 11), n(11, 13), n(13, 15));
  // Date.UTC rolls over (month 13, second 61): refuse what does not round-trip.
  const back = new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${back}Z` === value ? ms : undefined;
}

/** The query's name/value pairs, decoded; undefined if one does not decode. */
function parseQuery(query: string): [string, string][] | undefined {
  if (query === '') return [];
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      pairs.push([decodeURIComponent(name), decodeURIComponent(value)]);
    } catch {
      return undefined;
    }
  }
  return pairs;
}

/** The canonical URI: S3 encodes the path once, every other service twice (the wire form encoded again). */
function canonicalUri(path: string, service: string): string | undefined {
  if (service === 's3') {
    try {
      return path
        .split('/')
        .map((segment) => uriEncode(decodeURIComponent(segment)))
        .join('/');
    } catch {
      return undefined;
    }
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

function canonicalQuery(pairs: readonly [string, string][]): string {
  return pairs
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Header values by lower-case name: repeated headers joined with commas, spaces trimmed and collapsed. */
function headerMap(rawHeaders: readonly string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return headers;
}

/** The parts of the Authorization header, or undefined if it is not well formed. */
function parseAuthorization(
  value: string,
): { credential: string; signedHeaders: string; signature: string } | undefined {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    const name = item.slice(0, eq);
    if (fields.has(name)) return undefined;
    fields.set(name, item.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (fields.size !== 3 || !credential || !signedHeaders || !signature) return undefined;
  return { credential, signedHeaders, signature };
}

/** Equal strings, compared in constant time for a given length. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a request's SigV4 signature against the credentials. Only a `true`
 * verdict may let the request through.
 */
export function verifySigV4(request: SigV4Request, options: SigV4Options): SigV4Verdict {
  const now = options.now ?? Date.now();
  const headers = headerMap(request.rawHeaders);
  if (!request.url.startsWith('/')) return fail('malformed');
  const q = request.url.indexOf('?');
  const path = q < 0 ? request.url : request.url.slice(0, q);
  const query = parseQuery(q < 0 ? '' : request.url.slice(q + 1));
  if (!query) return fail('malformed');

  const authorization = headers.get('authorization');
  const presigned = query.some(([name]) => name === 'X-Amz-Algorithm');
  if (authorization === undefined && !presigned) return fail('missing');
  if (authorization !== undefined && presigned) return fail('malformed');
  if (presigned && !options.allowPresigned) return fail('malformed');

  // The signature's inputs, from the header or from the query.
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let expiresSeconds: number | undefined;
  let signedQuery: [string, string][];
  if (authorization !== undefined) {
    const parts = parseAuthorization(authorization);
    const date = headers.get('x-amz-date');
    if (!parts || date === undefined) return fail('malformed');
    ({ credential, signedHeaders, signature } = parts);
    amzDate = date;
    signedQuery = query;
    if (headers.has('x-amz-security-token')) return fail('unknown-key');
  } else {
    const params = new Map<string, string>();
    for (const [name, value] of query) {
      if ((PRESIGN_PARAMETERS as readonly string[]).includes(name)) {
        if (params.has(name)) return fail('malformed');
        params.set(name, value);
      }
    }
    const expires = params.get('X-Amz-Expires') ?? '';
    if (
      params.get('X-Amz-Algorithm') !== ALGORITHM ||
      !params.get('X-Amz-Credential') ||
      !params.get('X-Amz-Date') ||
      !params.get('X-Amz-SignedHeaders') ||
      !params.get('X-Amz-Signature') ||
      !/^\d{1,6}$/.test(expires)
    ) {
      return fail('malformed');
    }
    expiresSeconds = Number(expires);
    if (expiresSeconds < 1 || expiresSeconds > MAX_EXPIRES_SECONDS) return fail('malformed');
    credential = params.get('X-Amz-Credential')!;
    signedHeaders = params.get('X-Amz-SignedHeaders')!;
    signature = params.get('X-Amz-Signature')!;
    amzDate = params.get('X-Amz-Date')!;
    if (params.has('X-Amz-Security-Token')) return fail('unknown-key');
    signedQuery = query.filter(([name]) => name !== 'X-Amz-Signature');
  }

  // Credential scope: <key id>/<YYYYMMDD>/<region>/<service>/aws4_request.
  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5) return fail('malformed');
  const [accessKeyId, scopeDate, region, service, terminator] = scopeParts;
  const requestTime = parseAmzDate(amzDate);
  if (
    requestTime === undefined ||
    scopeDate !== amzDate.slice(0, 8) ||
    !/^[a-z0-9-]{1,32}$/.test(region) ||
    service !== options.service ||
    terminator !== TERMINATOR ||
    !/^[0-9a-f]{64}$/.test(signature)
  ) {
    return fail('malformed');
  }
  if (!sameText(accessKeyId, options.credentials.accessKeyId)) return fail('unknown-key');

  // Time: within the clock window; a presigned URL also before its expiry.
  if (requestTime - now > CLOCK_WINDOW_MS) return fail('skewed');
  if (expiresSeconds === undefined) {
    if (now - requestTime > CLOCK_WINDOW_MS) return fail('skewed');
  } else if (now > requestTime + expiresSeconds * 1000) {
    return fail('expired');
  }

  // Signed headers: lower-case names; `host` always among them, and the date in the header form.
  const names = signedHeaders.split(';');
  if (
    names.some((name) => !/^[a-z0-9-]+$/.test(name) || !headers.has(name)) ||
    !names.includes('host') ||
    (authorization !== undefined && !names.includes('x-amz-date'))
  ) {
    return fail('malformed');
  }

  // The payload hash the client declared, or the body's.
  const bodyHash = sha256Hex(request.body);
  const declared =
    authorization !== undefined
      ? headers.get('x-amz-content-sha256')
      : (query.find(([name]) => name === 'X-Amz-Content-Sha256')?.[1] ??
        (options.service === 's3' ? UNSIGNED_PAYLOAD : undefined));
  if (declared?.startsWith('STREAMING-')) return fail('unsupported-payload');
  if (declared === undefined && options.service === 's3') return fail('malformed');
  const unsigned = declared === UNSIGNED_PAYLOAD && options.service === 's3';
  if (declared !== undefined && !unsigned && !isHex64(declared)) return fail('malformed');
  const payloadHash = declared ?? bodyHash;

  const uri = canonicalUri(path, options.service);
  if (uri === undefined) return fail('malformed');
  const canonicalRequest = [
    request.method,
    uri,
    canonicalQuery(signedQuery),
    ...names.map((name) => `${name}:${headers.get(name)}`),
    '',
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${scopeDate}/${region}/${service}/${TERMINATOR}`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, scopeDate), region), service),
    TERMINATOR,
  );
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return fail('mismatch');

  // The signature holds; the body must be the one it names.
  if (!unsigned && declared !== undefined && declared.toLowerCase() !== bodyHash) {
    return fail('content-hash');
  }
  return { ok: true, form: authorization !== undefined ? 'header' : 'query' };
}

/** A refusal as the JSON protocols (DynamoDB, KMS) answer it: HTTP 400, an exception name, a fixed message. */
export function jsonAuthError(failure: SigV4Failure): { type: string; message: string } {
  switch (failure) {
    case 'missing':
      return {
        type: 'MissingAuthenticationTokenException',
        message: 'Request is missing Authentication Token',
      };
    case 'malformed':
      return {
        type: 'IncompleteSignatureException',
        message: 'The request signature is incomplete or malformed',
      };
    case 'unknown-key':
      return {
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    case 'skewed':
    case 'expired':
      return {
        type: 'InvalidSignatureException',
        message: 'Signature expired: the request time is more than 15 minutes from the server time',
      };
    case 'mismatch':
    case 'content-hash':
    case 'unsupported-payload':
      return {
        type: 'InvalidSignatureException',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      };
  }
}

/** A refusal as S3 answers it: status, error code and a fixed message (XML). */
export function s3AuthError(failure: SigV4Failure): {
  status: number;
  code: string;
  message: string;
} {
  switch (failure) {
    case 'missing':
      return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    case 'malformed':
      return {
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message: 'The authorization header or query parameters are malformed',
      };
    case 'unknown-key':
      return {
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
      };
    case 'skewed':
      return {
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
      };
    case 'expired':
      return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    case 'mismatch':
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    case 'content-hash':
      return {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    case 'unsupported-payload':
      return {
        status: 501,
        code: 'NotImplemented',
        message: 'A header you provided implies functionality that is not implemented',
      };
  }
}
