/**
 * The trust store object (S3TrustStore) and its cache (TrustSource): the
 * document format, conditional reads and writes, bounded staleness, one read
 * for concurrent callers, and failing closed.
 */

import { inspect } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { TRUST_STORE_MAX_AGE_SECONDS } from '../../../../lib/core/config-objects';
import {
  decodeTrustDocument,
  DEFAULT_TRUST,
  encodeTrustDocument,
  TRUST_MODES,
  type TrustDocument,
} from '../../../../lambda/shared/trust/trust-document';
import {
  PUBLIC_ONLY,
  S3TrustStore,
  TrustSource,
  TrustStoreConflict,
  TrustStoreError,
  TrustStoreUndecodable,
  trustSettings,
} from '../../../../lambda/shared/trust/trust-source';
import { makeCa, type TestCa } from '../../../support/tls-fixtures';
import {
  CONFIG_BUCKET,
  fakeTrustBucket,
  type FakeTrustBucket,
} from '../../../support/trust-bucket';

const MAX_AGE = TRUST_STORE_MAX_AGE_SECONDS * 1000;
let ca: TestCa;
let other: TestCa;
let bucket: FakeTrustBucket;
let clock = 1_000_000;
const now = () => clock;

const doc = (mode: TrustDocument['mode'], pem: string): TrustDocument => ({
  mode,
  pem,
  updatedAt: new Date(clock).toISOString(),
});

beforeAll(async () => {
  ca = await makeCa('Source CA');
  other = await makeCa('Other CA');
});

beforeEach(() => {
  bucket = fakeTrustBucket();
  clock = 1_000_000;
});

afterEach(() => {
  bucket.mock.restore();
});

const newStore = () => new S3TrustStore({ s3: bucket.s3, bucket: CONFIG_BUCKET });
const newSource = (maxAgeMs?: number) =>
  new TrustSource({
    store: newStore(),
    now,
    allowInsecureTrustAll: true,
    ...(maxAgeMs ? { maxAgeMs } : {}),
  });

describe('the document', () => {
  test('round-trips, with the documented field names', () => {
    const d: TrustDocument = {
      mode: 'uploaded_only',
      pem: ca.cert,
      updatedAt: '2030-01-01T00:00:00.000Z',
    };
    const text = encodeTrustDocument(d);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      mode: 'uploaded_only',
      pem: ca.cert,
      updated_at: '2030-01-01T00:00:00.000Z',
    });
    expect(decodeTrustDocument(text)).toEqual(d);
    expect(DEFAULT_TRUST).toEqual({
      mode: 'uploaded_and_public',
      pem: '',
      updatedAt: '1970-01-01T00:00:00.000Z',
    });
    expect(TRUST_MODES).toEqual(['uploaded_and_public', 'uploaded_only', 'insecure_trust_all']);
  });

  test.each([
    ['not JSON', 'SECRET-CANARY {'],
    ['an array', '["SECRET-CANARY"]'],
    [
      'another version',
      '{"version":2,"mode":"uploaded_only","pem":"","updated_at":"2030-01-01T00:00:00Z"}',
    ],
    [
      'an unknown mode',
      '{"version":1,"mode":"SECRET-CANARY","pem":"","updated_at":"2030-01-01T00:00:00Z"}',
    ],
    ['no pem', '{"version":1,"mode":"uploaded_only","updated_at":"2030-01-01T00:00:00Z"}'],
    ['a bad date', '{"version":1,"mode":"uploaded_only","pem":"","updated_at":"SECRET-CANARY"}'],
  ])('%s is a TrustStoreError that does not quote it', (_label, text) => {
    let caught: unknown;
    try {
      decodeTrustDocument(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TrustStoreError);
    expect((caught as Error).message).not.toContain('SECRET-CANARY');
  });

  test('settings: the uploaded certificates as ca, a version that follows the content', () => {
    const a = trustSettings(doc('uploaded_only', ca.cert + other.cert));
    expect(a.mode).toBe('uploaded_only');
    expect(a.ca).toEqual([ca.cert, other.cert]);
    expect(trustSettings(doc('uploaded_only', ca.cert + other.cert)).version).toBe(a.version);
    expect(trustSettings(doc('uploaded_and_public', ca.cert + other.cert)).version).not.toBe(
      a.version,
    );
    expect(trustSettings(doc('uploaded_only', ca.cert)).version).not.toBe(a.version);
  });

  test('PUBLIC_ONLY is fixed', async () => {
    expect(await PUBLIC_ONLY.current()).toEqual({
      mode: 'uploaded_and_public',
      ca: [],
      version: 'public',
    });
  });
});

describe('S3TrustStore', () => {
  test('no object: the default, without an ETag', async () => {
    expect(await newStore().read()).toEqual({ doc: DEFAULT_TRUST });
    expect(bucket.gets[0]).toMatchObject({ Bucket: CONFIG_BUCKET, Key: 'trust/trust-store.json' });
  });

  test('a stored document and its ETag', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const read = await newStore().read();
    expect(read.doc.mode).toBe('uploaded_only');
    expect(read.etag).toBe(bucket.object!.etag);
  });

  test('writes: If-None-Match * when there was no object, If-Match the ETag read otherwise', async () => {
    const store = newStore();
    await store.write(doc('uploaded_and_public', ca.cert), {});
    expect(bucket.puts[0]).toMatchObject({ IfNoneMatch: '*', ContentType: 'application/json' });
    expect(bucket.puts[0].IfMatch).toBeUndefined();
    const { etag } = await store.read();
    await store.write(doc('uploaded_only', ca.cert), { etag });
    expect(bucket.puts[1]).toMatchObject({ IfMatch: etag });
    expect((await store.read()).doc.mode).toBe('uploaded_only');
  });

  test('a stale ETag, or a create over an existing object, is a TrustStoreConflict', async () => {
    const store = newStore();
    bucket.put(doc('uploaded_only', ca.cert));
    const { etag } = await store.read();
    bucket.put(doc('uploaded_and_public', ca.cert)); // someone else wrote
    await expect(store.write(doc('insecure_trust_all', ''), { etag })).rejects.toBeInstanceOf(
      TrustStoreConflict,
    );
    await expect(store.write(doc('insecure_trust_all', ''), {})).rejects.toBeInstanceOf(
      TrustStoreConflict,
    );
    expect(JSON.parse(bucket.object!.text).mode).toBe('uploaded_and_public');
  });

  test('a 409 ConditionalRequestConflict is a conflict too', async () => {
    bucket.mock
      .on(GetObjectCommand)
      .rejects(
        Object.assign(new Error('x'), { name: 'Other', $metadata: { httpStatusCode: 500 } }),
      );
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    bucket.mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('x'), {
        name: 'ConditionalRequestConflict',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    await expect(
      newStore().write(doc('uploaded_only', ''), { etag: '"a"' }),
    ).rejects.toBeInstanceOf(TrustStoreConflict);
    await expect(newStore().read()).rejects.toBeInstanceOf(TrustStoreError);
  });

  test('S3 failures and a malformed object are TrustStoreErrors that quote nothing', async () => {
    bucket.failReads = true;
    bucket.failWrites = true;
    await expect(newStore().read()).rejects.toThrow(
      new TrustStoreError('the trust store could not be read'),
    );
    await expect(newStore().write(DEFAULT_TRUST, {})).rejects.toThrow(
      new TrustStoreError('the trust store could not be written'),
    );
    bucket.failReads = false;
    bucket.putText('{"SECRET-CANARY":');
    const err = await newStore()
      .read()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrustStoreError);
    expect(String((err as Error).message)).not.toContain('SECRET-CANARY');
  });

  describe('an object that does not decode', () => {
    const CANARY = 'SECRET-CANARY-7f3a';
    test.each([
      ['not JSON (a torn write)', () => `{"version":1,"mode":"uploaded_only","pem":"${CANARY}`],
      ['the wrong shape', () => JSON.stringify([CANARY])],
      [
        'a newer version',
        () =>
          JSON.stringify({
            version: 2,
            mode: 'uploaded_only',
            pem: ca.cert,
            updated_at: '2030-01-01T00:00:00.000Z',
            policy: CANARY,
          }),
      ],
      ['too large', () => `"${CANARY}${' '.repeat(2 * 1024 * 1024)}"`],
    ])(
      '%s: a TrustStoreUndecodable carrying the ETag read, showing nothing of the object',
      async (_label, textOf) => {
        bucket.putText(textOf());
        const etag = bucket.object!.etag;
        const err = await newStore()
          .read()
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TrustStoreUndecodable);
        expect(err).toBeInstanceOf(TrustStoreError);
        expect((err as TrustStoreUndecodable).etag).toBe(etag);
        // Neither its message, nor its serialised or inspected form, shows content or ETag.
        for (const shown of [
          (err as Error).message,
          String(err),
          JSON.stringify(err),
          inspect(err, { depth: 5, showHidden: true }),
        ]) {
          expect(shown).not.toContain(CANARY);
          expect(shown).not.toContain(etag);
        }
        // A conditional GET sees it the same way.
        await expect(newStore().readIfChanged('"other"')).rejects.toBeInstanceOf(
          TrustStoreUndecodable,
        );
      },
    );

    test('without an ETag it is a plain TrustStoreError (nothing to condition a repair on)', async () => {
      bucket.mock.on(GetObjectCommand).resolves({
        Body: { transformToString: async () => `${CANARY} {` } as never,
      });
      const err = await newStore()
        .read()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrustStoreError);
      expect(err).not.toBeInstanceOf(TrustStoreUndecodable);
    });

    test('S3 failures are not undecodable objects (no repair for an unreachable store)', async () => {
      bucket.putText(`${CANARY} {`);
      bucket.failReads = true;
      const err = await newStore()
        .read()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrustStoreError);
      expect(err).not.toBeInstanceOf(TrustStoreUndecodable);
    });

    test('a write conditional on its ETag replaces it, unless it changed meanwhile', async () => {
      const store = newStore();
      bucket.putText(`${CANARY} {`);
      const first = (await store.read().catch((e: unknown) => e)) as TrustStoreUndecodable;
      bucket.putText(`${CANARY} [`); // another writer: a new ETag
      await expect(
        store.write(doc('uploaded_and_public', ''), { etag: first.etag }),
      ).rejects.toBeInstanceOf(TrustStoreConflict);
      expect(bucket.object!.text).toBe(`${CANARY} [`);
      const second = (await store.read().catch((e: unknown) => e)) as TrustStoreUndecodable;
      await store.write(doc('uploaded_and_public', ''), { etag: second.etag });
      expect(bucket.puts.at(-1)).toMatchObject({ IfMatch: second.etag });
      expect((await store.read()).doc).toEqual(doc('uploaded_and_public', ''));
    });
  });
});

describe('TrustSource', () => {
  test('reads once, then serves the cache until maxAge; then a conditional GET (304 keeps it)', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    const first = await source.current();
    expect(first.mode).toBe('uploaded_only');
    expect(first.ca).toEqual([ca.cert]);
    clock += MAX_AGE - 1;
    expect(await source.current()).toBe(first);
    expect(bucket.gets).toHaveLength(1);
    clock += 1;
    expect(await source.current()).toBe(first);
    expect(bucket.gets).toHaveLength(2);
    expect(bucket.gets[1].IfNoneMatch).toBe(bucket.object!.etag);
    // The 304 counts as a fresh check.
    clock += MAX_AGE - 1;
    await source.current();
    expect(bucket.gets).toHaveLength(2);
  });

  test('a change is seen within maxAge, never later', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    const before = await source.current();
    bucket.put(doc('insecure_trust_all', ca.cert));
    clock += MAX_AGE - 1;
    expect((await source.current()).mode).toBe('uploaded_only');
    clock += 1;
    const after = await source.current();
    expect(after.mode).toBe('insecure_trust_all');
    expect(after.version).not.toBe(before.version);
  });

  test('a missing object is the default (public CAs), read again later', async () => {
    const source = newSource();
    expect((await source.current()).mode).toBe('uploaded_and_public');
    bucket.put(doc('uploaded_only', other.cert));
    clock += MAX_AGE;
    expect((await source.current()).ca).toEqual([other.cert]);
  });

  test('concurrent callers share one read', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    const all = await Promise.all(Array.from({ length: 20 }, () => source.current()));
    expect(new Set(all).size).toBe(1);
    expect(bucket.gets).toHaveLength(1);
    clock += MAX_AGE;
    await Promise.all(Array.from({ length: 20 }, () => source.current()));
    expect(bucket.gets).toHaveLength(2);
  });

  test('the first read failing fails closed: never the defaults', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    bucket.failReads = true;
    const source = newSource();
    await expect(source.current()).rejects.toBeInstanceOf(TrustStoreError);
    // Within the retry pause: the same error, no new call.
    await expect(source.current()).rejects.toBeInstanceOf(TrustStoreError);
    expect(bucket.gets).toHaveLength(1);
    expect(source.peek()).toBeUndefined();
    bucket.failReads = false;
    clock += MAX_AGE / 10;
    expect((await source.current()).mode).toBe('uploaded_only');
  });

  test('a malformed first document fails closed too', async () => {
    bucket.putText('{"version":1,"mode":"uploaded_only"}');
    await expect(newSource().current()).rejects.toBeInstanceOf(TrustStoreUndecodable);
  });

  test('failed re-reads keep the cached settings for up to 5 × maxAge, then fail closed', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    const cached = await source.current();
    bucket.failReads = true;
    clock += MAX_AGE;
    expect(await source.current()).toBe(cached);
    const afterFirstFailure = bucket.gets.length;
    // No new S3 call during the retry pause (maxAge / 10).
    clock += MAX_AGE / 10 - 1;
    expect(await source.current()).toBe(cached);
    expect(bucket.gets).toHaveLength(afterFirstFailure);
    clock += 1;
    expect(await source.current()).toBe(cached);
    expect(bucket.gets).toHaveLength(afterFirstFailure + 1);
    // Up to exactly 5 × maxAge after the last good read.
    clock = 1_000_000 + 5 * MAX_AGE;
    expect(await source.current()).toBe(cached);
    expect(source.peek()).toBe(cached);
    clock += MAX_AGE / 10 + 1;
    await expect(source.current()).rejects.toBeInstanceOf(TrustStoreError);
    expect(source.peek()).toBeUndefined();
    // And it recovers when S3 does.
    bucket.failReads = false;
    clock += MAX_AGE / 10;
    expect((await source.current()).mode).toBe('uploaded_only');
  });

  test('invalidate makes the next call ask the store at once', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    await source.current();
    bucket.put(doc('uploaded_and_public', ''));
    source.invalidate();
    expect((await source.current()).mode).toBe('uploaded_and_public');
    expect(bucket.gets).toHaveLength(2);
  });

  test('insecure_trust_all where the deployment does not allow it: read as uploaded_and_public', async () => {
    bucket.put(doc('insecure_trust_all', ca.cert));
    const strict = new TrustSource({ store: newStore(), now });
    const settings = await strict.current();
    expect(settings.mode).toBe('uploaded_and_public');
    expect(settings.ca).toHaveLength(1);
    strict.remember(doc('insecure_trust_all', ''));
    expect(strict.peek()?.mode).toBe('uploaded_and_public');
  });

  test('remember: a document this process wrote shows at once, and is re-read after maxAge', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    await source.current();
    const written = doc('insecure_trust_all', '');
    bucket.put(written);
    source.remember(written);
    expect(source.peek()?.mode).toBe('insecure_trust_all');
    expect((await source.current()).mode).toBe('insecure_trust_all');
    expect(bucket.gets).toHaveLength(1);
    clock += MAX_AGE;
    await source.current();
    expect(bucket.gets).toHaveLength(2);
    // Unknown ETag: a full GET, not a conditional one.
    expect(bucket.gets[1].IfNoneMatch).toBeUndefined();
  });

  test('a read overtaken by remember does not replace what was remembered', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource();
    const pending = source.current();
    source.remember(doc('uploaded_and_public', ''));
    await pending;
    expect((await source.current()).mode).toBe('uploaded_and_public');
  });

  test('the same ETag keeps the same settings object (the agent is reused)', async () => {
    bucket.put(doc('uploaded_only', ca.cert));
    const source = newSource(1_000);
    const a = await source.current();
    // A GET that ignores If-None-Match and answers the same object.
    const text = bucket.object!.text;
    const etag = bucket.object!.etag;
    bucket.mock.on(GetObjectCommand).resolves({
      ETag: etag,
      Body: { transformToString: async () => text } as never,
    });
    clock += 1_000;
    expect(await source.current()).toBe(a);
  });
});
