/**
 * A local stand-in for AWS KMS: two keys, the operations the handlers call
 * and their natural pairs, spoken over the KMS JSON protocol (awsJson1_1) on
 * plain HTTP bound to 127.0.0.1. Unchanged `@aws-sdk/client-kms` code works
 * against it when the client is given `endpoint`, any region and the
 * per-run credentials (`credentials`: random for every start unless given).
 * Every request must carry a valid SigV4 signature made with them (`./sigv4`,
 * signing name `kms`); one that does not is answered HTTP 400 with
 * `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
 * `UnrecognizedClientException` or `InvalidSignatureException`, and never
 * reaches an operation.
 *
 * Why: local mode, the tests and the benchmarks need the keyed hashes
 * (GenerateMac on an HMAC_256 key) and the signed receipts (Sign on an
 * ECC_NIST_P256 key) without an AWS account. With a state file the key
 * material survives restarts, so customer hashes and the receipt public key
 * stay the same from one run to the next.
 *
 * Keys:
 *  - HMAC_256, GENERATE_VERIFY_MAC: GenerateMac, VerifyMac, DescribeKey.
 *  - ECC_NIST_P256, SIGN_VERIFY: Sign, Verify, GetPublicKey, DescribeKey.
 * A request names a key by its id (a UUID) or its full ARN; aliases and other
 * names are NotFoundException, as for a key that does not exist.
 *
 * Wire format (as read from the SDK's AwsJson1_1Protocol): the client sends
 * `POST /` with `X-Amz-Target: TrentService.<Operation>` and a JSON body in
 * which blobs are base64 strings. Success is 200 with a JSON body. An error is
 * HTTP 400 (or 413 / 500) with `{"__type": "<Exception>", "message": "..."}`
 * and the header `x-amzn-errortype: <Exception>`; the SDK takes the error's
 * `name` from `__type` first, then from the header.
 *
 * Privacy (the project's main promise): nothing here logs anything, and no
 * response echoes request content. Error messages are fixed strings that
 * never contain input values (messages, MACs, signatures or key ids).
 *
 * Not modelled: key policies, grants, aliases, key states other than Enabled,
 * DryRun, and every other KMS operation (UnsupportedOperationException).
 * Keys are for local use only: the state file holds the raw key material.
 */

import {
  createECDH,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { jsonAuthError, newLocalCredentials, verifySigV4, type LocalCredentials } from './sigv4';

export interface LocalKms {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** ARN of the HMAC_256 key (GenerateMac / VerifyMac). */
  readonly hmacKeyArn: string;
  /** ARN of the ECC_NIST_P256 SIGN_VERIFY key (Sign / Verify / GetPublicKey). */
  readonly signingKeyArn: string;
  /** The credentials every request must be signed with. */
  readonly credentials: LocalCredentials;
  stop(): Promise<void>;
}

export interface LocalKmsOptions {
  /** JSON file holding the key material; created (mode 0600, parent dirs created) if missing, reused (and set to 0600) if present, so a second start gives the same MACs and public key. @default - keys in memory only */
  readonly stateFile?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** The credentials requests must be signed with (SigV4). @default - new random ones */
  readonly credentials?: LocalCredentials;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';
/** KMS limit on Message for GenerateMac, VerifyMac, Sign and Verify. */
const MAX_MESSAGE_BYTES = 4096;
/** KMS limit on the Mac and Signature blobs. */
const MAX_PROOF_BYTES = 6144;
/** KMS limit on KeyId. */
const MAX_KEY_ID_CHARS = 2048;
/** Request bodies beyond this are answered 413 and never buffered. */
const MAX_BODY_BYTES = 64 * 1024;

const HMAC_ALGORITHM = 'HMAC_SHA_256';
const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
/** Every MacAlgorithm KMS knows: the others are valid requests for another key spec. */
const KNOWN_MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'];
/** Every SigningAlgorithm KMS knows (same reason). */
const KNOWN_SIGNING_ALGORITHMS = [
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_PH_SHA_512',
  'ED25519_SHA_512',
  'ML_DSA_SHAKE_256',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'SM2DSA',
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a string is canonical base64 (Node's decoder alone skips invalid characters). */
const isBase64 = (value: string): boolean =>
  Buffer.from(value, 'base64').toString('base64') === value;

// ---------------------------------------------------------------------------
// Key material and the state file
// ---------------------------------------------------------------------------

/** The state file's content. */
interface KmsState {
  readonly version: 1;
  readonly hmac: { readonly id: string; readonly secret: string };
  readonly signing: { readonly id: string; readonly privateKeyPem: string };
}

interface HmacKey {
  readonly kind: 'hmac';
  readonly id: string;
  readonly arn: string;
  readonly secret: Buffer;
}

interface SigningKey {
  readonly kind: 'signing';
  readonly id: string;
  readonly arn: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo, as GetPublicKey returns it. */
  readonly publicKeyDer: Buffer;
  /** Private scalar and public point, for DIGEST messages (see signDigest). */
  readonly d: bigint;
  readonly q: Point;
}

type Key = HmacKey | SigningKey;

interface Keys {
  readonly hmac: HmacKey;
  readonly signing: SigningKey;
}

/** Fresh key material: 32 random bytes for HMAC and a new P-256 key pair. */
function newState(): KmsState {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    version: 1,
    hmac: { id: randomUUID(), secret: randomBytes(32).toString('base64') },
    signing: {
      id: randomUUID(),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  };
}

/** The P-256 private key in a PEM string, or undefined if it is not one. */
function p256PrivateKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey(pem);
    const isP256 =
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    return isP256 ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The state in a state file's text, or undefined if it is not a valid version 1 state. */
function parseState(text: string): KmsState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const state = value as Partial<KmsState> | null;
  const hmac = state?.hmac;
  const signing = state?.signing;
  const valid =
    state?.version === 1 &&
    typeof hmac?.id === 'string' &&
    UUID.test(hmac.id) &&
    typeof hmac.secret === 'string' &&
    isBase64(hmac.secret) &&
    Buffer.from(hmac.secret, 'base64').length === 32 &&
    typeof signing?.id === 'string' &&
    UUID.test(signing.id) &&
    signing.id !== hmac.id &&
    typeof signing.privateKeyPem === 'string' &&
    p256PrivateKey(signing.privateKeyPem) !== undefined;
  return valid ? (state as KmsState) : undefined;
}

/** The `code` of a Node.js system error (ENOENT, EACCES...), never its message. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/** Writes the state atomically (temporary file, then rename), readable by the owner only. */
function writeState(file: string, state: KmsState): void {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new Error(`Local KMS: cannot write the state file ${file} (${errorCode(err)})`);
  }
}

/**
 * The state in the file, created with new keys if the file does not exist.
 * Errors name the file but never include its content.
 */
function loadOrCreateState(file: string): KmsState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') {
      throw new Error(`Local KMS: cannot read the state file ${file} (${errorCode(err)})`);
    }
    const state = newState();
    writeState(file, state);
    return state;
  }
  try {
    chmodSync(file, 0o600); // key material: the owner's only, whatever mode it was left with
  } catch (err) {
    throw new Error(`Local KMS: cannot make the state file ${file} private (${errorCode(err)})`);
  }
  const state = parseState(text);
  if (!state) {
    throw new Error(
      `Local KMS: the state file ${file} is corrupt (not a version 1 key file); ` +
        'restore it, or remove it to start with new keys (MACs and the public key will change)',
    );
  }
  return state;
}

const keyArn = (id: string): string => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;

const toBigInt = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex') || '0'}`);

/** The keys a (valid) state describes, ready for use. */
function keysFromState(state: KmsState): Keys {
  const privateKey = createPrivateKey(state.signing.privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const jwk = privateKey.export({ format: 'jwk' });
  const fromBase64Url = (value: string | undefined) =>
    toBigInt(Buffer.from(value ?? '', 'base64url'));
  return {
    hmac: {
      kind: 'hmac',
      id: state.hmac.id,
      arn: keyArn(state.hmac.id),
      secret: Buffer.from(state.hmac.secret, 'base64'),
    },
    signing: {
      kind: 'signing',
      id: state.signing.id,
      arn: keyArn(state.signing.id),
      privateKey,
      publicKey,
      publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }),
      d: fromBase64Url(jwk.d),
      q: { x: fromBase64Url(jwk.x), y: fromBase64Url(jwk.y) },
    },
  };
}

// ---------------------------------------------------------------------------
// ECDSA over a precomputed digest (MessageType DIGEST)
//
// Node's crypto always hashes the message it signs or verifies, so it cannot
// handle a digest computed by the caller. For DIGEST messages the ECDSA
// equations are computed here with BigInt on the P-256 curve (FIPS 186-4).
// Signing uses a fresh random nonce and Node's ECDH for the nonce's point,
// as real KMS signatures are randomized too. This code is not constant-time:
// fine for a local stand-in, not for production keys. RAW messages (what the
// handlers send) go through node:crypto.
// ---------------------------------------------------------------------------

/** An affine point on P-256; null is the point at infinity. */
type Point = { readonly x: bigint; readonly y: bigint } | null;

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

/** Modular inverse by the extended Euclidean algorithm (m prime, a not a multiple of m). */
function invert(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** Point addition (and doubling) on y² = x³ - 3x + b over GF(P). */
function addPoints(a: Point, b: Point): Point {
  if (!a) return b;
  if (!b) return a;
  let slope: bigint;
  if (a.x === b.x) {
    if (mod(a.y + b.y, P) === 0n) return null; // a = -b
    slope = mod((3n * a.x * a.x - 3n) * invert(2n * a.y, P), P);
  } else {
    slope = mod((b.y - a.y) * invert(b.x - a.x, P), P);
  }
  const x = mod(slope * slope - a.x - b.x, P);
  return { x, y: mod(slope * (a.x - x) - a.y, P) };
}

/** k·point by double-and-add. */
function multiply(k: bigint, point: Point): Point {
  let result: Point = null;
  for (let bit = BigInt(k.toString(2).length - 1); bit >= 0n; bit--) {
    result = addPoints(result, result);
    if ((k >> bit) & 1n) result = addPoints(result, point);
  }
  return result;
}

/** A DER INTEGER holding a positive number (minimal, with a 0 byte if the top bit is set). */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** An ECDSA signature as DER `SEQUENCE { r INTEGER, s INTEGER }` (what KMS returns). */
function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** r and s from a strict DER signature, or undefined if it is malformed. */
function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const values: bigint[] = [];
  let offset = 2;
  for (let i = 0; i < 2; i++) {
    const length = der[offset + 1];
    const start = offset + 2;
    const bytes = der.subarray(start, start + length);
    const minimal =
      length > 0 &&
      length < 0x80 &&
      bytes.length === length &&
      (bytes[0] & 0x80) === 0 && // positive
      !(bytes[0] === 0 && length > 1 && (bytes[1] & 0x80) === 0); // no needless 0 byte
    if (der[offset] !== 0x02 || !minimal) return undefined;
    values.push(toBigInt(bytes));
    offset = start + length;
  }
  return offset === der.length ? { r: values[0], s: values[1] } : undefined;
}

/** Signs a 32-byte SHA-256 digest with the private scalar d; DER signature. */
function signDigest(d: bigint, digest: Buffer): Buffer {
  const z = toBigInt(digest);
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    // k·G by Node's ECDH: the public key for private key k (uncompressed: 04 || x || y).
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(64, '0'), 'hex'));
    const r = mod(toBigInt(ecdh.getPublicKey().subarray(1, 33)), N);
    const s = mod(invert(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return derSignature(r, s);
  }
}

/** Whether a DER signature over a 32-byte SHA-256 digest is valid for public point q. */
function verifyDigest(q: Point, digest: Buffer, signature: Buffer): boolean {
  const parsed = parseDerSignature(signature);
  if (!parsed) return false;
  const { r, s } = parsed;
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const w = invert(s, N);
  const point = addPoints(multiply(mod(toBigInt(digest) * w, N), G), multiply(mod(r * w, N), q));
  return point !== null && mod(point.x, N) === r;
}

// ---------------------------------------------------------------------------
// Operations: pure functions of the keys and the request's JSON body
// ---------------------------------------------------------------------------

/** A KMS error as the protocol reports it. Messages are fixed strings. */
class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new KmsError('ValidationException', message);

type Input = Readonly<Record<string, unknown>>;
type Output = Record<string, unknown>;

/** The key a KeyId names (bare id or full ARN). */
function findKey(keys: Keys, input: Input): Key {
  const keyId = input.KeyId;
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > MAX_KEY_ID_CHARS) {
    throw invalid('KeyId is required and must be 1 to 2048 characters');
  }
  const key = [keys.hmac, keys.signing].find((k) => keyId === k.id || keyId === k.arn);
  if (!key) throw new KmsError('NotFoundException', 'Key does not exist');
  return key;
}

function hmacKey(keys: Keys, input: Input): HmacKey {
  const key = findKey(keys, input);
  if (key.kind !== 'hmac') {
    throw new KmsError(
      'InvalidKeyUsageException',
      'KeyUsage of this key is not GENERATE_VERIFY_MAC',
    );
  }
  return key;
}

function signingKey(keys: Keys, input: Input): SigningKey {
  const key = findKey(keys, input);
  if (key.kind !== 'signing') {
    throw new KmsError('InvalidKeyUsageException', 'KeyUsage of this key is not SIGN_VERIFY');
  }
  return key;
}

/** A base64 blob field of 1..max bytes. */
function blob(input: Input, field: 'Message' | 'Mac' | 'Signature', max: number): Buffer {
  const value = input[field];
  if (typeof value !== 'string' || !isBase64(value)) {
    throw invalid(`${field} is required and must be base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.length > max) {
    throw invalid(`${field} must be 1 to ${max} bytes`);
  }
  return bytes;
}

/** The algorithm field, which must be `supported`; other known values are the wrong key type. */
function algorithm(input: Input, field: string, known: string[], supported: string): void {
  const value = input[field];
  if (typeof value !== 'string' || !known.includes(value)) {
    throw invalid(`${field} is required and must be a known algorithm`);
  }
  if (value !== supported) {
    throw new KmsError('InvalidKeyUsageException', `This key supports only ${supported}`);
  }
}

const checkMacAlgorithm = (input: Input) =>
  algorithm(input, 'MacAlgorithm', KNOWN_MAC_ALGORITHMS, HMAC_ALGORITHM);
const checkSigningAlgorithm = (input: Input) =>
  algorithm(input, 'SigningAlgorithm', KNOWN_SIGNING_ALGORITHMS, SIGNING_ALGORITHM);

/** Whether Message is a digest (MessageType DIGEST) rather than the raw message (RAW, the default). */
function isDigest(input: Input, message: Buffer): boolean {
  const type = input.MessageType ?? 'RAW';
  if (type === 'RAW') return false;
  if (type !== 'DIGEST') throw invalid('MessageType must be RAW or DIGEST for this key');
  if (message.length !== 32) throw invalid('A DIGEST message must be 32 bytes for ECDSA_SHA_256');
  return true;
}

const hmac = (key: HmacKey, message: Buffer): Buffer =>
  createHmac('sha256', key.secret).update(message).digest();

function describe(key: Key): Output {
  const common = {
    AWSAccountId: ACCOUNT,
    KeyId: key.id,
    Arn: key.arn,
    Enabled: true,
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    MultiRegion: false,
  };
  return key.kind === 'hmac'
    ? {
        ...common,
        Description: 'Ephemera local HMAC key',
        KeyUsage: 'GENERATE_VERIFY_MAC',
        KeySpec: 'HMAC_256',
        CustomerMasterKeySpec: 'HMAC_256',
        MacAlgorithms: [HMAC_ALGORITHM],
      }
    : {
        ...common,
        Description: 'Ephemera local signing key',
        KeyUsage: 'SIGN_VERIFY',
        KeySpec: 'ECC_NIST_P256',
        CustomerMasterKeySpec: 'ECC_NIST_P256',
        SigningAlgorithms: [SIGNING_ALGORITHM],
      };
}

const OPERATIONS = new Map<string, (keys: Keys, input: Input) => Output>([
  [
    'GenerateMac',
    (keys, input) => {
      const message = blob(input, 'Message', MAX_MESSAGE_BYTES);
      const key = hmacKey(keys, input);
      checkMacAlgorithm(input);
      const mac = hmac(key, message);
      return { KeyId: key.arn, Mac: mac.toString('base64'), MacAlgorithm: HMAC_ALGORITHM };
    },
  ],
  [
    'VerifyMac',
    (keys, input) => {
      const message = blob(input, 'Message', MAX_MESSAGE_BYTES);
      const mac = blob(input, 'Mac', MAX_PROOF_BYTES);
      const key = hmacKey(keys, input);
      checkMacAlgorithm(input);
      const expected = hmac(key, message);
      // Like KMS: a wrong MAC is an error, not MacValid: false.
      if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
        throw new KmsError('KMSInvalidMacException', 'The MAC is not valid');
      }
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: HMAC_ALGORITHM };
    },
  ],
  [
    'Sign',
    (keys, input) => {
      const message = blob(input, 'Message', MAX_MESSAGE_BYTES);
      const key = signingKey(keys, input);
      checkSigningAlgorithm(input);
      const signature = isDigest(input, message)
        ? signDigest(key.d, message)
        : sign('sha256', message, { key: key.privateKey, dsaEncoding: 'der' });
      return {
        KeyId: key.arn,
        Signature: signature.toString('base64'),
        SigningAlgorithm: SIGNING_ALGORITHM,
      };
    },
  ],
  [
    'Verify',
    (keys, input) => {
      const message = blob(input, 'Message', MAX_MESSAGE_BYTES);
      const signature = blob(input, 'Signature', MAX_PROOF_BYTES);
      const key = signingKey(keys, input);
      checkSigningAlgorithm(input);
      let valid: boolean;
      if (isDigest(input, message)) {
        valid = verifyDigest(key.q, message, signature);
      } else {
        try {
          const options = { key: key.publicKey, dsaEncoding: 'der' as const };
          valid = verify('sha256', message, options, signature);
        } catch {
          valid = false; // malformed signature
        }
      }
      // Like KMS: an invalid signature is an error, not SignatureValid: false.
      if (!valid) throw new KmsError('KMSInvalidSignatureException', 'The signature is not valid');
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: SIGNING_ALGORITHM };
    },
  ],
  [
    'GetPublicKey',
    (keys, input) => {
      const key = signingKey(keys, input);
      return {
        KeyId: key.arn,
        PublicKey: key.publicKeyDer.toString('base64'),
        KeySpec: 'ECC_NIST_P256',
        CustomerMasterKeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: [SIGNING_ALGORITHM],
      };
    },
  ],
  ['DescribeKey', (keys, input) => ({ KeyMetadata: describe(findKey(keys, input)) })],
]);

/** Answers one request: the X-Amz-Target header and the raw body in, the JSON result out. */
function handle(keys: Keys, target: string | undefined, body: string): Output {
  const operation = target?.startsWith(TARGET_PREFIX)
    ? OPERATIONS.get(target.slice(TARGET_PREFIX.length))
    : undefined;
  if (!operation) {
    throw new KmsError('UnsupportedOperationException', 'Operation not supported by local KMS');
  }
  let input: unknown;
  try {
    input = JSON.parse(body === '' ? '{}' : body);
  } catch {
    throw new KmsError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new KmsError('SerializationException', 'Request body must be a JSON object');
  }
  return operation(keys, input as Input);
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

function respond(res: ServerResponse, status: number, payload: Output, errorType?: string): void {
  const body = JSON.stringify(payload);
  const headers: OutgoingHttpHeaders = {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers).end(body);
}

function respondError(res: ServerResponse, error: KmsError): void {
  respond(res, error.status, { __type: error.type, message: error.message }, error.type);
}

/**
 * The request body, or undefined when it exceeds MAX_BODY_BYTES: the rest is
 * read and dropped (never buffered) so the client still gets the answer.
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', () => resolve(undefined)); // client went away; the answer goes nowhere
  });
}

async function serve(
  keys: Keys,
  credentials: LocalCredentials,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const body = await readBody(req);
    if (!body) throw new KmsError('ValidationException', 'Request body is too large', 413);
    // Who is asking comes first: nothing else is looked at for a request not signed with the credentials.
    const verdict = verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
      { credentials, service: 'kms' },
    );
    if (!verdict.ok) {
      const { type, message } = jsonAuthError(verdict.failure);
      throw new KmsError(type, message);
    }
    if (req.method !== 'POST') {
      throw new KmsError('UnsupportedOperationException', 'Only POST requests are supported');
    }
    const target = req.headers['x-amz-target'];
    const output = handle(keys, typeof target === 'string' ? target : undefined, body.toString());
    respond(res, 200, output);
  } catch (err) {
    const error =
      err instanceof KmsError
        ? err
        : new KmsError('KMSInternalException', 'Internal error in local KMS', 500);
    respondError(res, error);
  }
}

/**
 * Starts the local KMS on 127.0.0.1. With `stateFile`, the keys are read from
 * it (or created and written to it); without, they live in memory only and
 * nothing is written anywhere.
 */
export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const state = options.stateFile ? loadOrCreateState(options.stateFile) : newState();
  const keys = keysFromState(state);
  const credentials = options.credentials ?? newLocalCredentials();
  const server = createServer((req, res) => void serve(keys, credentials, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    hmacKeyArn: keys.hmac.arn,
    signingKeyArn: keys.signing.arn,
    credentials,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // idle keep-alive sockets would hold close() open
      });
      return stopped;
    },
  };
}
