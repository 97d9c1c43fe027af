/**
 * Keyed hashes computed with a KMS HMAC key (promises P4, P8).
 *
 * Customer ids and API key secrets are never stored raw: the stack keeps
 * `HMAC-SHA256(<domain>:<message>)` under a KMS key of spec HMAC_256, so only a
 * principal allowed to call `kms:GenerateMac` on that key can recompute a hash.
 *
 * Each domain (`customer`, `apikey`) prefixes its messages, so a customer id can
 * never produce the same hash as an API key secret. Results are cached in memory
 * (LRU) under the SHA-256 of the domain-separated message, so the cache holds
 * neither a raw customer id nor a raw secret, and concurrent requests for the
 * same uncached message share a single KMS call.
 */

import { createHash } from 'node:crypto';
import { GenerateMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { LruCache } from './lru';

export type HashDomain = 'customer' | 'apikey';

export const HASH_DOMAINS: readonly HashDomain[] = ['customer', 'apikey'];

export interface KeyedHasher {
  /** HMAC-SHA256 of `${domain}:${message}` (32 bytes). */
  mac(domain: HashDomain, message: string): Promise<Buffer>;
}

/** Default number of cached hashes. */
export const DEFAULT_HASH_CACHE_ENTRIES = 10_000;

/** GenerateMac accepts messages of 1 to 4096 bytes. */
export const MAX_MAC_MESSAGE_BYTES = 4096;

/** AWS error names are identifiers; anything else is not kept. */
const ERROR_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;

/**
 * A keyed hash could not be computed. The message is fixed and never contains
 * the input; `errorName` carries the AWS error name (for example
 * `ThrottlingException`) when there is one, for metadata-only logging.
 */
export class KeyedHashError extends Error {
  override readonly name = 'KeyedHashError';
  constructor(
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
  }
}

export interface KmsHasherOptions {
  /** KMS client, created once at module scope by the caller. */
  readonly kms: KMSClient;
  /** Id or ARN of the HMAC_256 KMS key (HMAC_KEY_ID). */
  readonly keyId: string;
  /** Number of hashes kept in memory. @default 10000 */
  readonly cacheEntries?: number;
}

/** Returns the AWS error name of `err` if it looks like one, else undefined. Never reads the message. */
export function awsErrorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' && ERROR_NAME_PATTERN.test(name) ? name : undefined;
}

/** Creates a hasher backed by KMS `GenerateMac` (HMAC_SHA_256) with an in-memory cache. */
export function createKmsHasher(options: KmsHasherOptions): KeyedHasher {
  const { kms, keyId } = options;
  if (typeof keyId !== 'string' || keyId.length === 0) {
    throw new Error('createKmsHasher: keyId is required');
  }
  const cache = new LruCache<Buffer>(options.cacheEntries ?? DEFAULT_HASH_CACHE_ENTRIES);
  const inFlight = new Map<string, Promise<Buffer>>();

  async function generate(message: Buffer): Promise<Buffer> {
    let mac: Uint8Array | undefined;
    try {
      const out = await kms.send(
        new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: message }),
      );
      mac = out.Mac;
    } catch (err) {
      throw new KeyedHashError('Keyed hash failed: KMS GenerateMac error', awsErrorName(err));
    }
    if (!mac || mac.length !== 32) {
      throw new KeyedHashError('Keyed hash failed: KMS GenerateMac returned no 32-byte MAC');
    }
    return Buffer.from(mac);
  }

  return {
    async mac(domain, message) {
      if (!HASH_DOMAINS.includes(domain)) {
        throw new KeyedHashError('Keyed hash failed: unknown domain');
      }
      if (typeof message !== 'string') {
        throw new KeyedHashError('Keyed hash failed: message must be a string');
      }
      const input = Buffer.from(`${domain}:${message}`, 'utf8');
      if (input.length > MAX_MAC_MESSAGE_BYTES) {
        throw new KeyedHashError(
          `Keyed hash failed: message longer than ${MAX_MAC_MESSAGE_BYTES} bytes`,
        );
      }
      const cacheKey = createHash('sha256').update(input).digest('hex');

      const cached = cache.get(cacheKey);
      if (cached) return Buffer.from(cached);

      let pending = inFlight.get(cacheKey);
      if (!pending) {
        pending = generate(input).then(
          (mac) => {
            cache.set(cacheKey, mac);
            inFlight.delete(cacheKey);
            return mac;
          },
          (err: unknown) => {
            inFlight.delete(cacheKey);
            throw err;
          },
        );
        inFlight.set(cacheKey, pending);
      }
      // Copies, so no caller can alter the cached value.
      return Buffer.from(await pending);
    },
  };
}

/** The keyed hash of a customer id, lowercase hex (64 characters). */
export async function customerHash(hasher: KeyedHasher, customerId: string): Promise<string> {
  return (await hasher.mac('customer', customerId)).toString('hex');
}
