/**
 * Keyed hashes computed with a KMS HMAC key (promises P4, P8).
 *
 * Customer ids and API key secrets are never stored raw: the stack keeps
 * `HMAC-SHA256(<domain>:<message>)` under a KMS key of spec HMAC_256, so only a
 * principal allowed to call `kms:GenerateMac` on that key can recompute a hash.
 *
 * Each domain (`customer`, `apikey`) prefixes its messages, so a customer id can
 * never produce the same hash as an API key secret. Results are cached in memory
 * (one LRU per domain) under the SHA-256 of the domain-separated message, so the
 * cache holds neither a raw customer id nor a raw secret, and concurrent requests
 * for the same uncached message share a single KMS call. A caller checking a
 * secret asks for `remember: false` and calls `remember` only once the MAC
 * matched, so made-up secrets never enter the cache and cannot evict real keys
 * or customer hashes.
 */

import { createHash } from 'node:crypto';
import { GenerateMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { LruCache } from './lru';

export type HashDomain = 'customer' | 'apikey';

export const HASH_DOMAINS: readonly HashDomain[] = ['customer', 'apikey'];

export interface MacOptions {
  /** Keep the result in the cache. @default true */
  readonly remember?: boolean;
}

export interface KeyedHasher {
  /** HMAC-SHA256 of `${domain}:${message}` (32 bytes). */
  mac(domain: HashDomain, message: string, options?: MacOptions): Promise<Buffer>;
  /** The cached MAC of a message, without a KMS call; undefined when not cached. */
  cached?(domain: HashDomain, message: string): Buffer | undefined;
  /** Caches a MAC computed with `remember: false`, once it has proved right. */
  remember?(domain: HashDomain, message: string, mac: Buffer): void;
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
  /** Number of hashes kept in memory, per domain. @default 10000 */
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
  const caches = new Map<HashDomain, LruCache<Buffer>>(
    HASH_DOMAINS.map((d) => [
      d,
      new LruCache<Buffer>(options.cacheEntries ?? DEFAULT_HASH_CACHE_ENTRIES),
    ]),
  );
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

  /** The domain's cache and the message's key in it; throws on bad input. */
  function locate(
    domain: HashDomain,
    message: string,
  ): { cache: LruCache<Buffer>; key: string; input: Buffer } {
    const cache = caches.get(domain);
    if (!cache) throw new KeyedHashError('Keyed hash failed: unknown domain');
    if (typeof message !== 'string') {
      throw new KeyedHashError('Keyed hash failed: message must be a string');
    }
    const input = Buffer.from(`${domain}:${message}`, 'utf8');
    if (input.length > MAX_MAC_MESSAGE_BYTES) {
      throw new KeyedHashError(
        `Keyed hash failed: message longer than ${MAX_MAC_MESSAGE_BYTES} bytes`,
      );
    }
    return { cache, key: createHash('sha256').update(input).digest('hex'), input };
  }

  return {
    async mac(domain, message, macOptions = {}) {
      const { cache, key, input } = locate(domain, message);
      const cached = cache.get(key);
      if (cached) return Buffer.from(cached);

      let pending = inFlight.get(key);
      if (!pending) {
        pending = generate(input).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const mac = await pending;
      if (macOptions.remember !== false) cache.set(key, mac);
      // Copies, so no caller can alter the cached value.
      return Buffer.from(mac);
    },
    cached(domain, message) {
      const { cache, key } = locate(domain, message);
      const hit = cache.get(key);
      return hit ? Buffer.from(hit) : undefined;
    },
    remember(domain, message, mac) {
      const { cache, key } = locate(domain, message);
      if (Buffer.isBuffer(mac) && mac.length === 32) cache.set(key, Buffer.from(mac));
    },
  };
}

/** The keyed hash of a customer id, lowercase hex (64 characters). */
export async function customerHash(hasher: KeyedHasher, customerId: string): Promise<string> {
  return (await hasher.mac('customer', customerId)).toString('hex');
}
