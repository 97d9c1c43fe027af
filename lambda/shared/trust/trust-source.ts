/**
 * Where the handlers get the outbound trust from: the one JSON object of the
 * config bucket ({@link S3TrustStore}), read through a cache with bounded
 * staleness ({@link TrustSource}).
 *
 * The cache fails closed: a handler that never managed to read the store, or
 * could not re-read it for five times the maximum age, throws rather than
 * falling back to the default (an `uploaded_only` deployment must never
 * silently trust the public CAs).
 */

import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  TRUST_STORE_MAX_AGE_SECONDS,
  TRUST_STORE_OBJECT_KEY,
} from '../../../lib/core/config-objects';
import { TrustStoreConflict, TrustStoreError, TrustStoreUndecodable } from './errors';
import { bundleCertificates } from './pem-bundle';
import {
  decodeTrustDocument,
  DEFAULT_TRUST,
  encodeTrustDocument,
  type TrustDocument,
  type TrustMode,
} from './trust-document';

export { TrustStoreConflict, TrustStoreError, TrustStoreUndecodable } from './errors';

/** What an outbound connection trusts. */
export interface TrustSettings {
  readonly mode: TrustMode;
  /** The uploaded certificates, one PEM each. */
  readonly ca: readonly string[];
  /** Changes whenever the mode or the certificates change. */
  readonly version: string;
}

export interface TrustReader {
  current(): Promise<TrustSettings>;
}

/** Largest stored document read (bytes): the bundle limit, JSON-escaped, with room to spare. */
const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
/** How long one S3 call may take before it counts as failed. */
const DEFAULT_S3_TIMEOUT_MS = 5_000;

interface S3ErrorLike {
  readonly name?: unknown;
  readonly Code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const statusOf = (err: unknown): number | undefined =>
  (err as S3ErrorLike | null)?.$metadata?.httpStatusCode;
const nameOf = (err: unknown): unknown =>
  (err as S3ErrorLike | null)?.name ?? (err as S3ErrorLike | null)?.Code;

export interface S3TrustStoreOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** @default TRUST_STORE_OBJECT_KEY */
  readonly key?: string;
  /** Longest time one S3 call may take. @default 5000 */
  readonly timeoutMs?: number;
}

export type ReadResult = { readonly doc: TrustDocument; readonly etag?: string };

/**
 * The S3 commands, loaded on first use: the gateway's bundle keeps S3 out of
 * its cold start (a deployment without a config bucket never loads it).
 */
const s3Commands = () => import('@aws-sdk/client-s3');

/** Reads and writes the trust store object. Every failure is a {@link TrustStoreError}. */
export class S3TrustStore {
  private readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  private readonly timeoutMs: number;

  constructor(opts: S3TrustStoreOptions) {
    this.s3 = opts.s3;
    this.bucket = opts.bucket;
    this.key = opts.key ?? TRUST_STORE_OBJECT_KEY;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  }

  /**
   * The stored document and its ETag; {@link DEFAULT_TRUST} (no ETag) when
   * there is none. An object that is there but does not decode (corrupt, too
   * large, or of a newer version) throws {@link TrustStoreUndecodable}, which
   * carries its ETag so that an explicit repair can replace exactly it.
   */
  async read(): Promise<ReadResult> {
    const result = await this.get(undefined);
    if (result === 'not_modified') throw new TrustStoreError('the trust store could not be read');
    return result;
  }

  /**
   * Like {@link read}, but `'not_modified'` when the stored object still has
   * ETag `etag` (a conditional GET: S3 answers 304 without the body).
   */
  async readIfChanged(etag: string | undefined): Promise<ReadResult | 'not_modified'> {
    return this.get(etag);
  }

  /**
   * Writes the document if the stored object is still the one read: ETag
   * `expected.etag`, or no object at all when it is undefined. Throws
   * {@link TrustStoreConflict} when it is not.
   */
  async write(doc: TrustDocument, expected: { etag?: string }): Promise<void> {
    try {
      const { PutObjectCommand } = await s3Commands();
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: encodeTrustDocument(doc),
          ContentType: 'application/json',
          ...(expected.etag !== undefined ? { IfMatch: expected.etag } : { IfNoneMatch: '*' }),
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
    } catch (err) {
      const status = statusOf(err);
      const name = nameOf(err);
      // 404 too: the object read was deleted before this write (If-Match on no object).
      if (
        status === 412 ||
        status === 409 ||
        name === 'PreconditionFailed' ||
        name === 'ConditionalRequestConflict' ||
        (expected.etag !== undefined && (status === 404 || name === 'NoSuchKey'))
      ) {
        throw new TrustStoreConflict();
      }
      throw new TrustStoreError('the trust store could not be written');
    }
  }

  private async get(ifNoneMatch: string | undefined): Promise<ReadResult | 'not_modified'> {
    let text: string;
    let etag: string | undefined;
    try {
      const { GetObjectCommand } = await s3Commands();
      const out = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          ...(ifNoneMatch !== undefined ? { IfNoneMatch: ifNoneMatch } : {}),
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      etag = out.ETag;
      if ((out.ContentLength ?? 0) > MAX_DOCUMENT_BYTES) {
        throw undecodable('the trust store object is too large', etag);
      }
      if (!out.Body) throw new TrustStoreError('the trust store object is empty');
      text = await out.Body.transformToString('utf-8');
    } catch (err) {
      if (err instanceof TrustStoreError) throw err;
      const status = statusOf(err);
      const name = nameOf(err);
      if (status === 304 || name === 'NotModified' || name === '304') return 'not_modified';
      if (name === 'NoSuchKey' || (status === 404 && name !== 'NoSuchBucket')) {
        return { doc: DEFAULT_TRUST };
      }
      throw new TrustStoreError('the trust store could not be read');
    }
    if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
      throw undecodable('the trust store object is too large', etag);
    }
    let doc: TrustDocument;
    try {
      doc = decodeTrustDocument(text);
    } catch (err) {
      throw undecodable(
        err instanceof TrustStoreError ? err.message : 'the trust store document does not decode',
        etag,
      );
    }
    return etag === undefined ? { doc } : { doc, etag };
  }
}

/**
 * The error for a stored object that is there but does not decode: a
 * {@link TrustStoreUndecodable} (which a repair may replace) when its ETag is
 * known, otherwise a plain {@link TrustStoreError} (nothing to condition a
 * repair on). `message` is one of this code base's fixed strings.
 */
function undecodable(message: string, etag: string | undefined): TrustStoreError {
  return etag === undefined
    ? new TrustStoreError(message)
    : new TrustStoreUndecodable(message, etag);
}

/** The settings a document stands for. */
export function trustSettings(doc: TrustDocument, allowInsecureTrustAll = true): TrustSettings {
  // A deployment that does not allow trust-all verifies anyway, with the
  // default trust: stricter than what the store says, never looser.
  if (doc.mode === 'insecure_trust_all' && !allowInsecureTrustAll) {
    return trustSettings({ ...doc, mode: 'uploaded_and_public' });
  }
  const version = createHash('sha256')
    .update(doc.mode)
    .update('\0')
    .update(doc.pem)
    .digest('hex')
    .slice(0, 32);
  return { mode: doc.mode, ca: Object.freeze(bundleCertificates(doc.pem)), version };
}

export interface TrustSourceOptions {
  readonly store: S3TrustStore;
  /** How long settings read are used before the store is asked again. @default TRUST_STORE_MAX_AGE_SECONDS s */
  readonly maxAgeMs?: number;
  /** Clock (ms). @default Date.now */
  readonly now?: () => number;
  /**
   * Whether the deployment allows `insecure_trust_all`. When it does not, a
   * store left in that mode (say, by a deployment that did) is read as
   * `uploaded_and_public`: certificates are verified.
   * @default false
   */
  readonly allowInsecureTrustAll?: boolean;
}

/** How long cached settings may serve while the store cannot be re-read, in units of maxAgeMs. */
export const STALE_LIMIT_FACTOR = 5;

interface Cached {
  readonly settings: TrustSettings;
  readonly etag?: string;
  /** When the store last answered (a document or a 304). */
  readonly checkedAt: number;
}

/**
 * The trust store through a cache: read on first use, asked again (a
 * conditional GET) once the settings are `maxAgeMs` old. Concurrent callers
 * share one read. A failed re-read keeps the cached settings serving until
 * they are `5 × maxAgeMs` old (retrying at most every `maxAgeMs / 10`), then
 * fails closed; a failed first read fails at once.
 */
export class TrustSource implements TrustReader {
  private readonly allowInsecureTrustAll: boolean;
  private readonly store: S3TrustStore;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private cached: Cached | undefined;
  /** Set by {@link invalidate}: ask the store on the next call, whatever the age. */
  private reload = false;
  private inFlight: Promise<TrustSettings> | undefined;
  /** After a failed read, no new attempt before this time. */
  private retryAt = Number.NEGATIVE_INFINITY;
  private lastError: TrustStoreError | undefined;
  /** Bumped by remember/invalidate: a read that started before is not cached. */
  private generation = 0;

  constructor(opts: TrustSourceOptions) {
    this.store = opts.store;
    this.maxAgeMs = opts.maxAgeMs ?? TRUST_STORE_MAX_AGE_SECONDS * 1000;
    this.now = opts.now ?? Date.now;
    this.allowInsecureTrustAll = opts.allowInsecureTrustAll ?? false;
  }

  current(): Promise<TrustSettings> {
    const t = this.now();
    const cached = this.cached;
    if (cached && !this.reload && t - cached.checkedAt < this.maxAgeMs) {
      return Promise.resolve(cached.settings);
    }
    if (this.inFlight) return this.inFlight;
    if (t < this.retryAt) {
      // A read failed a moment ago: serve what may still be served, without asking again yet.
      const usable = this.usable(t);
      if (usable) return Promise.resolve(usable);
      return Promise.reject(
        this.lastError ?? new TrustStoreError('the trust store is unavailable'),
      );
    }
    const load = this.load().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = load;
    return load;
  }

  /** The cached settings without any I/O (undefined before the first read, or once too stale). */
  peek(): TrustSettings | undefined {
    return this.usable(this.now());
  }

  /** Makes the next {@link current} ask the store (after a failed or doubtful write). */
  invalidate(): void {
    this.generation++;
    this.reload = true;
    this.retryAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * Caches a document this process has just written (a conditional write
   * that succeeded: it is what the store holds now), so the change shows at
   * once. Its ETag is unknown, so the next re-read is a full GET.
   */
  remember(doc: TrustDocument): void {
    this.generation++;
    this.cached = {
      settings: trustSettings(doc, this.allowInsecureTrustAll),
      checkedAt: this.now(),
    };
    this.reload = false;
    this.retryAt = Number.NEGATIVE_INFINITY;
    this.lastError = undefined;
  }

  /** The cached settings if they are within the staleness limit at `t`. */
  private usable(t: number): TrustSettings | undefined {
    const cached = this.cached;
    return cached && t - cached.checkedAt <= STALE_LIMIT_FACTOR * this.maxAgeMs
      ? cached.settings
      : undefined;
  }

  private async load(): Promise<TrustSettings> {
    const previous = this.cached;
    const generation = this.generation;
    let next: Cached;
    try {
      const result = previous
        ? await this.store.readIfChanged(previous.etag)
        : await this.store.read();
      const checkedAt = this.now();
      if (result === 'not_modified') {
        if (!previous) throw new TrustStoreError('the trust store could not be read');
        next = { ...previous, checkedAt };
      } else {
        const settings =
          previous && result.etag !== undefined && result.etag === previous.etag
            ? previous.settings
            : trustSettings(result.doc, this.allowInsecureTrustAll);
        next = { settings, checkedAt, ...(result.etag !== undefined ? { etag: result.etag } : {}) };
      }
    } catch (err) {
      const t = this.now();
      const error =
        err instanceof TrustStoreError
          ? err
          : new TrustStoreError('the trust store could not be read');
      this.lastError = error;
      this.retryAt = t + Math.max(1, Math.floor(this.maxAgeMs / 10));
      const usable = this.usable(t);
      if (usable) return usable;
      throw error;
    }
    if (generation !== this.generation) {
      // Overtaken by a write of this process: that is newer than what this read saw.
      return this.cached?.settings ?? next.settings;
    }
    this.cached = next;
    this.reload = false;
    this.retryAt = Number.NEGATIVE_INFINITY;
    this.lastError = undefined;
    return next.settings;
  }
}

const PUBLIC_SETTINGS: TrustSettings = Object.freeze({
  mode: 'uploaded_and_public',
  ca: Object.freeze([]) as readonly string[],
  version: 'public',
});

/** Public CAs only, nothing uploaded: for deployments without a config bucket. */
export const PUBLIC_ONLY: TrustReader = Object.freeze({
  current: async (): Promise<TrustSettings> => PUBLIC_SETTINGS,
});
