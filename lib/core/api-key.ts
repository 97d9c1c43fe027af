/**
 * API key format (promise P8): `eph_<key id>_<secret>`.
 *
 * - key id: 16 characters of `[a-z0-9]` (about 82 bits), public: it appears in
 *   usage records and in `GET /v1/keys`;
 * - secret: 43 characters, the unpadded base64url encoding of 32 random bytes
 *   (256 bits), shown once and stored only as a keyed hash. It may contain `_`
 *   and `-`, so a key is parsed by position, never split on `_`.
 *
 * Parsing is strict: exact lengths, exact alphabets, and the secret must be the
 * canonical encoding of 32 bytes (its last character carries 4 bits, the
 * remaining 2 bits are zero), so every accepted key is one that `newApiKey`
 * could have produced.
 */

import { randomBytes, randomInt } from 'node:crypto';
import { trimOws } from './text';

export const API_KEY_PREFIX = 'eph_';
export const KEY_ID_LENGTH = 16;
export const SECRET_BYTES = 32;
export const SECRET_LENGTH = 43;
/** Total length of a key: `eph_` + id + `_` + secret. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH;

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export const KEY_ID_PATTERN = /^[a-z0-9]{16}$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const API_KEY_PATTERN = /^eph_([a-z0-9]{16})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export interface ApiKeyParts {
  readonly keyId: string;
  readonly secret: string;
}

export interface NewApiKey extends ApiKeyParts {
  /** The whole key, `eph_<keyId>_<secret>`. */
  readonly key: string;
}

export type BearerResult = ApiKeyParts | { readonly error: 'missing' | 'malformed' };

/** Whether `s` is a well-formed key id. */
export function isKeyId(s: unknown): s is string {
  return typeof s === 'string' && KEY_ID_PATTERN.test(s);
}

/** Whether `s` is a well-formed secret. */
export function isSecret(s: unknown): s is string {
  return typeof s === 'string' && SECRET_PATTERN.test(s);
}

/** Builds `eph_<keyId>_<secret>`. */
export function formatApiKey(keyId: string, secret: string): string {
  return `${API_KEY_PREFIX}${keyId}_${secret}`;
}

/** Splits a key into id and secret, or returns undefined if it is not exactly of the form. Never throws. */
export function parseApiKey(s: string): ApiKeyParts | undefined {
  if (typeof s !== 'string' || s.length !== API_KEY_LENGTH) return undefined;
  const m = API_KEY_PATTERN.exec(s);
  return m ? { keyId: m[1], secret: m[2] } : undefined;
}

/**
 * Reads an `Authorization` header value. `Bearer` is matched case-insensitively
 * (RFC 9110 auth schemes are), separated from the key by one or more spaces;
 * spaces and tabs around the whole value are ignored. An absent, empty or
 * blank header is `missing`; anything else that is not `Bearer <api key>` is
 * `malformed`. Never throws, and takes time linear in the header's length
 * (no backtracking pattern: the header arrives before authentication).
 */
export function parseBearer(authorizationHeader: string | undefined): BearerResult {
  if (typeof authorizationHeader !== 'string') return { error: 'missing' };
  const value = trimOws(authorizationHeader);
  if (value === '') return { error: 'missing' };
  const m = /^bearer +(\S+)$/i.exec(value);
  if (!m) return { error: 'malformed' };
  return parseApiKey(m[1]) ?? { error: 'malformed' };
}

/** A fresh random key id (uniform over `[a-z0-9]{16}`). */
export function newKeyId(): string {
  let id = '';
  for (let i = 0; i < KEY_ID_LENGTH; i++) id += KEY_ID_ALPHABET[randomInt(KEY_ID_ALPHABET.length)];
  return id;
}

/** A fresh random secret (32 bytes, base64url). */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** A new key: random id and secret, and the whole `eph_...` string. */
export function newApiKey(): NewApiKey {
  const keyId = newKeyId();
  const secret = newSecret();
  return { keyId, secret, key: formatApiKey(keyId, secret) };
}
