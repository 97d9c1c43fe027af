import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createKmsHasher, KeyedHashError, type KeyedHasher } from '../../lib/core/keyed-hash';
import { FailureGate } from '../../lib/core/failure-gate';
import {
  KEY_FREE_FAILURES,
  KeyStateError,
  KeyStore,
  KeyStoreInputError,
  KeyStoreUnavailableError,
  RETENTION_AFTER_END_SECONDS,
  type CreatedKey,
  type KeyStoreDeps,
} from '../../lib/core/key-store';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: { createTableMs: number }) => Server;

const TABLE = 'keys';
const T0 = new Date('2030-01-01T00:00:00.000Z');
const T0_S = T0.getTime() / 1000;
const DAY = 86_400;

let server: Server;
let ddb: DynamoDBClient;
let tableCounter = 0;

/** An in-memory keyed hasher (real HMAC) that counts its calls. */
function fakeHasher(): KeyedHasher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async mac(domain, message) {
      calls.push(domain);
      return createHmac('sha256', 'fake-key').update(`${domain}:${message}`).digest();
    },
  };
}

/** A settable clock. */
function clock(start: Date = T0) {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    set: (d: Date | number) => {
      t = typeof d === 'number' ? d : d.getTime();
    },
  };
}

async function newTable(): Promise<string> {
  const name = `${TABLE}-${++tableCounter}`;
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'key_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return name;
}

async function rawItem(tableName: string, id: string) {
  const out = await ddb.send(
    new GetItemCommand({ TableName: tableName, Key: { key_id: { S: id } } }),
  );
  return out.Item;
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  ddb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  ddb.destroy();
  await new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  );
});

describe('KeyStore with dynalite', () => {
  let tableName: string;
  let hasher: ReturnType<typeof fakeHasher>;
  let time: ReturnType<typeof clock>;
  let store: KeyStore;

  beforeEach(async () => {
    tableName = await newTable();
    hasher = fakeHasher();
    time = clock();
    store = new KeyStore({ ddb, tableName, hasher, now: time.now });
  });

  describe('create', () => {
    it('returns the key once and stores only its keyed hash', async () => {
      const created = await store.create({ name: 'ops team', scopes: ['admin'] });
      expect(created.id).toMatch(/^[a-z0-9]{16}$/);
      expect(created.key).toMatch(new RegExp(`^eph_${created.id}_[A-Za-z0-9_-]{43}$`));
      expect(created).toMatchObject({
        name: 'ops team',
        scopes: ['admin'],
        expires_at: '2030-04-01T00:00:00.000Z',
      });

      const item = await rawItem(tableName, created.id);
      expect(Object.keys(item ?? {}).sort()).toEqual(
        ['created_at', 'expires_at', 'key_id', 'name', 'scopes', 'secret_mac', 'ttl'].sort(),
      );
      expect(item?.created_at.S).toBe('2030-01-01T00:00:00.000Z');
      expect(item?.expires_at.N).toBe(String(T0_S + 90 * DAY));
      expect(item?.ttl.N).toBe(String(T0_S + 90 * DAY + RETENTION_AFTER_END_SECONDS));
      expect(item?.scopes.SS).toEqual(['admin']);
      const secret = created.key.slice(21);
      const expectedMac = createHmac('sha256', 'fake-key')
        .update(`apikey:${created.id}:${secret}`)
        .digest();
      expect(Buffer.from(item?.secret_mac.B as Uint8Array).equals(expectedMac)).toBe(true);
      // The secret itself is nowhere in the item, in any encoding.
      const dump = JSON.stringify(item, (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
      );
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
    });

    it('accepts both scopes, a custom expiry, and drops duplicate scopes', async () => {
      const created = await store.create({
        name: 'svc',
        scopes: ['inference', 'admin', 'inference'],
        expiresInDays: 1,
      });
      expect(created.scopes).toEqual(['inference', 'admin']);
      expect(created.expires_at).toBe('2030-01-02T00:00:00.000Z');
    });

    it('never overwrites an existing key: a colliding id is retried with a new one', async () => {
      const ddbMock = mockClient(DynamoDBClient);
      try {
        ddbMock
          .on(PutItemCommand)
          .rejectsOnce(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }))
          .resolves({});
        const mocked = new KeyStore({
          ddb: new DynamoDBClient({}),
          tableName,
          hasher,
          now: time.now,
        });
        const created = await mocked.create({ name: 'x', scopes: ['inference'] });
        const puts = ddbMock.commandCalls(PutItemCommand);
        expect(puts).toHaveLength(2);
        expect(puts[0].args[0].input.ConditionExpression).toBe('attribute_not_exists(key_id)');
        expect(puts[1].args[0].input.Item?.key_id.S).toBe(created.id);
        expect(puts[0].args[0].input.Item?.key_id.S).not.toBe(created.id);
      } finally {
        ddbMock.restore();
      }
    });
  });

  describe('verify', () => {
    it('accepts a valid key with the required scope', async () => {
      const { id, key } = await store.create({ name: 'a', scopes: ['inference'] });
      await expect(store.verify(`Bearer ${key}`, 'inference')).resolves.toEqual({
        ok: true,
        keyId: id,
        scopes: ['inference'],
      });
    });

    it('reports a missing or malformed header as 401 without any lookup', async () => {
      await expect(store.verify(undefined, 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'missing',
      });
      await expect(store.verify('Bearer nope', 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'malformed',
      });
      expect(hasher.calls).toHaveLength(0);
    });

    it('rejects a wrong secret for a known id', async () => {
      const { id } = await store.create({ name: 'a', scopes: ['inference'] });
      const forged = `eph_${id}_${'A'.repeat(43)}`;
      await expect(store.verify(`Bearer ${forged}`, 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'invalid',
      });
    });

    it('rejects an unknown id without a MAC (no KMS call for made-up keys; ids are public)', async () => {
      const before = hasher.calls.length;
      await expect(
        store.verify(`Bearer eph_zzzzzzzzzzzzzzzz_${'A'.repeat(43)}`, 'inference'),
      ).resolves.toEqual({ ok: false, status: 401, reason: 'unknown' });
      expect(hasher.calls.length - before).toBe(0);
    });

    it('rejects an expired key from its expiry second on', async () => {
      const { key } = await store.create({ name: 'a', scopes: ['inference'], expiresInDays: 1 });
      time.set(T0.getTime() + DAY * 1000 - 1);
      expect((await store.verify(`Bearer ${key}`, 'inference')).ok).toBe(true);
      time.set(T0.getTime() + DAY * 1000);
      await expect(store.verify(`Bearer ${key}`, 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'expired',
      });
    });

    it('does not reveal expiry or revocation to someone without the secret', async () => {
      const { id } = await store.create({ name: 'a', scopes: ['inference'], expiresInDays: 1 });
      await store.revoke(id);
      time.set(T0.getTime() + 2 * DAY * 1000);
      await expect(
        store.verify(`Bearer eph_${id}_${'A'.repeat(43)}`, 'inference'),
      ).resolves.toMatchObject({ reason: 'invalid' });
    });

    it('refuses a revoked key at once', async () => {
      const { id, key } = await store.create({ name: 'a', scopes: ['inference'] });
      expect((await store.verify(`Bearer ${key}`, 'inference')).ok).toBe(true);
      await expect(store.revoke(id)).resolves.toBe(true);
      await expect(store.verify(`Bearer ${key}`, 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'revoked',
      });
    });

    it('answers 403 when the key lacks the required scope', async () => {
      const { key } = await store.create({ name: 'a', scopes: ['inference'] });
      await expect(store.verify(`Bearer ${key}`, 'admin')).resolves.toEqual({
        ok: false,
        status: 403,
        reason: 'scope',
      });
      const admin = await store.create({ name: 'b', scopes: ['admin'] });
      await expect(store.verify(`Bearer ${admin.key}`, 'inference')).resolves.toMatchObject({
        status: 403,
      });
    });

    it('wraps DynamoDB and hasher failures in KeyStoreUnavailableError with fixed messages', async () => {
      const { key } = await store.create({ name: 'a', scopes: ['inference'] });
      const noTable = new KeyStore({ ddb, tableName: 'no-such-table', hasher });
      const dbErr = await noTable.verify(`Bearer ${key}`, 'inference').catch((e: unknown) => e);
      expect(dbErr).toBeInstanceOf(KeyStoreUnavailableError);
      expect(dbErr).toMatchObject({
        source: 'dynamodb',
        errorName: 'ResourceNotFoundException',
        message: 'Key store unavailable: DynamoDB error',
      });

      const failing: KeyedHasher = {
        mac: async () => {
          throw new KeyedHashError(
            'Keyed hash failed: KMS GenerateMac error',
            'ThrottlingException',
          );
        },
      };
      const noKms = new KeyStore({ ddb, tableName, hasher: failing });
      const kmsErr = await noKms.verify(`Bearer ${key}`, 'inference').catch((e: unknown) => e);
      expect(kmsErr).toMatchObject({
        source: 'kms',
        errorName: 'ThrottlingException',
        message: 'Key store unavailable: KMS error',
      });
      expect(String((kmsErr as Error).stack)).not.toContain(key);
    });
  });

  it('wraps DynamoDB failures of every operation with a fixed message', async () => {
    const noTable = new KeyStore({ ddb, tableName: 'no-such-table', hasher, now: time.now });
    const expected = {
      source: 'dynamodb',
      errorName: 'ResourceNotFoundException',
      message: 'Key store unavailable: DynamoDB error',
    };
    await expect(noTable.create({ name: 'a', scopes: ['admin'] })).rejects.toMatchObject(expected);
    await expect(noTable.rotate('aaaaaaaaaaaaaaaa')).rejects.toMatchObject(expected);
    await expect(noTable.revoke('aaaaaaaaaaaaaaaa')).rejects.toMatchObject(expected);
    await expect(noTable.list({})).rejects.toMatchObject(expected);
  });

  it('requires a table name', () => {
    expect(() => new KeyStore({ ddb, tableName: '', hasher })).toThrow(
      'KeyStore: tableName is required',
    );
  });

  describe('rotate', () => {
    it('issues a new secret and keeps the old one only during the grace period', async () => {
      const created = await store.create({ name: 'a', scopes: ['inference'] });
      const rotated = await store.rotate(created.id, 3600);
      expect(rotated).toEqual({
        id: created.id,
        key: expect.stringMatching(new RegExp(`^eph_${created.id}_`)),
        expires_at: created.expires_at,
        previous_valid_until: '2030-01-01T01:00:00.000Z',
      });
      expect(rotated.key).not.toBe(created.key);

      expect((await store.verify(`Bearer ${rotated.key}`, 'inference')).ok).toBe(true);
      time.set(T0.getTime() + 3600 * 1000 - 1);
      expect((await store.verify(`Bearer ${created.key}`, 'inference')).ok).toBe(true);
      time.set(T0.getTime() + 3600 * 1000);
      await expect(store.verify(`Bearer ${created.key}`, 'inference')).resolves.toEqual({
        ok: false,
        status: 401,
        reason: 'invalid',
      });
      expect((await store.verify(`Bearer ${rotated.key}`, 'inference')).ok).toBe(true);
    });

    it('defaults to a one-day grace period', async () => {
      const created = await store.create({ name: 'a', scopes: ['inference'] });
      const rotated = await store.rotate(created.id);
      expect(rotated.previous_valid_until).toBe('2030-01-02T00:00:00.000Z');
    });

    it('with a grace of 0 ends the old secret at once', async () => {
      const created = await store.create({ name: 'a', scopes: ['inference'] });
      time.set(T0.getTime() + 500);
      await store.rotate(created.id, 0);
      await expect(store.verify(`Bearer ${created.key}`, 'inference')).resolves.toMatchObject({
        reason: 'invalid',
      });
    });

    it('a second rotation ends the grace of the first', async () => {
      const created = await store.create({ name: 'a', scopes: ['inference'] });
      const first = await store.rotate(created.id, 3600);
      const second = await store.rotate(created.id, 3600);
      await expect(store.verify(`Bearer ${created.key}`, 'inference')).resolves.toMatchObject({
        reason: 'invalid',
      });
      expect((await store.verify(`Bearer ${first.key}`, 'inference')).ok).toBe(true);
      expect((await store.verify(`Bearer ${second.key}`, 'inference')).ok).toBe(true);
    });

    it('refuses unknown, revoked and expired keys with KeyStateError', async () => {
      await expect(store.rotate('zzzzzzzzzzzzzzzz')).rejects.toEqual(
        new KeyStateError('zzzzzzzzzzzzzzzz', 'unknown'),
      );
      const revoked = await store.create({ name: 'a', scopes: ['inference'] });
      await store.revoke(revoked.id);
      const err = await store.rotate(revoked.id).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'revoked', message: `API key ${revoked.id} is revoked` });

      const old = await store.create({ name: 'b', scopes: ['inference'], expiresInDays: 1 });
      time.set(T0.getTime() + DAY * 1000);
      await expect(store.rotate(old.id)).rejects.toMatchObject({
        reason: 'expired',
        message: `API key ${old.id} has expired`,
      });
      // Nothing changed: the original secret is still the only one.
      const item = await rawItem(tableName, old.id);
      expect(item?.previous_secret_mac).toBeUndefined();
    });
  });

  describe('revoke', () => {
    it('sets revoked_at and ttl, is idempotent, and reports unknown ids', async () => {
      const { id } = await store.create({ name: 'a', scopes: ['inference'] });
      time.set(T0.getTime() + 10_000);
      await expect(store.revoke(id)).resolves.toBe(true);
      let item = await rawItem(tableName, id);
      expect(item?.revoked_at.N).toBe(String(T0_S + 10));
      expect(item?.ttl.N).toBe(String(T0_S + 10 + RETENTION_AFTER_END_SECONDS));

      time.set(T0.getTime() + 20_000);
      await expect(store.revoke(id)).resolves.toBe(true);
      item = await rawItem(tableName, id);
      expect(item?.revoked_at.N).toBe(String(T0_S + 10));

      await expect(store.revoke('zzzzzzzzzzzzzzzz')).resolves.toBe(false);
    });
  });

  describe('list', () => {
    it('pages with a cursor and never returns MACs', async () => {
      const created: CreatedKey[] = [];
      for (let i = 0; i < 5; i++) {
        created.push(await store.create({ name: `k${i}`, scopes: ['inference'] }));
      }
      await store.rotate(created[0].id);
      time.set(T0.getTime() + 7000);
      await store.revoke(created[1].id);

      const seen: Array<Record<string, unknown>> = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ limit: 2, cursor });
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...(page.data as unknown as Array<Record<string, unknown>>));
        cursor = page.next_cursor ?? undefined;
        if (cursor !== undefined) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        pages++;
      } while (cursor !== undefined && pages < 10);
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(seen.map((k) => k.id).sort()).toEqual(created.map((k) => k.id).sort());
      for (const k of seen) {
        expect(
          Object.keys(k).every((f) =>
            ['id', 'name', 'scopes', 'created_at', 'expires_at', 'revoked_at'].includes(f),
          ),
        ).toBe(true);
      }
      expect(JSON.stringify(seen)).not.toMatch(/mac/i);
      expect(seen.find((k) => k.id === created[1].id)).toEqual({
        id: created[1].id,
        name: 'k1',
        scopes: ['inference'],
        created_at: '2030-01-01T00:00:00.000Z',
        expires_at: '2030-04-01T00:00:00.000Z',
        revoked_at: '2030-01-01T00:00:07.000Z',
      });
      expect(seen.find((k) => k.id === created[2].id)).not.toHaveProperty('revoked_at');
    });

    it('returns an empty page and a null cursor for an empty table', async () => {
      await expect(store.list({})).resolves.toEqual({ data: [], next_cursor: null });
    });
  });

  describe('input validation', () => {
    const NAME = "name must be 1-64 characters of letters, digits, space, '.', '_' or '-'";
    const SCOPES = "scopes must be a non-empty list of 'inference' and/or 'admin'";
    const DAYS = 'expires_in_days must be a whole number from 1 to 365 (default 90)';

    it.each<[string, unknown, string]>([
      ['empty name', { name: '', scopes: ['admin'] }, NAME],
      ['long name', { name: 'x'.repeat(65), scopes: ['admin'] }, NAME],
      ['bad character', { name: 'a/b', scopes: ['admin'] }, NAME],
      ['number name', { name: 7, scopes: ['admin'] }, NAME],
      ['no scopes', { name: 'a', scopes: [] }, SCOPES],
      ['unknown scope', { name: 'a', scopes: ['root'] }, SCOPES],
      ['scopes not a list', { name: 'a', scopes: 'admin' }, SCOPES],
      ['0 days', { name: 'a', scopes: ['admin'], expiresInDays: 0 }, DAYS],
      ['366 days', { name: 'a', scopes: ['admin'], expiresInDays: 366 }, DAYS],
      ['fractional days', { name: 'a', scopes: ['admin'], expiresInDays: 1.5 }, DAYS],
      ['everything', { name: '', scopes: [], expiresInDays: '9' }, `${NAME}; ${SCOPES}; ${DAYS}`],
    ])('create refuses %s', async (_label, input, message) => {
      await expect(store.create(input as never)).rejects.toEqual(new KeyStoreInputError(message));
      expect(hasher.calls).toHaveLength(0);
    });

    it('accepts the longest name', async () => {
      await expect(
        store.create({ name: 'x'.repeat(64), scopes: ['admin'] }),
      ).resolves.toBeDefined();
    });

    it.each<[string, () => Promise<unknown>, string]>([
      [
        'rotate with a bad id',
        () => store.rotate('ABC'),
        'id must be 16 characters of lowercase letters and digits',
      ],
      [
        'revoke with a bad id',
        () => store.revoke('eph_x'),
        'id must be 16 characters of lowercase letters and digits',
      ],
      [
        'negative grace',
        () => store.rotate('aaaaaaaaaaaaaaaa', -1),
        'grace_seconds must be a whole number from 0 to 604800 (default 86400)',
      ],
      [
        'long grace',
        () => store.rotate('aaaaaaaaaaaaaaaa', 604_801),
        'grace_seconds must be a whole number from 0 to 604800 (default 86400)',
      ],
      [
        'limit 0',
        () => store.list({ limit: 0 }),
        'limit must be a whole number from 1 to 100 (default 50)',
      ],
      [
        'limit 101',
        () => store.list({ limit: 101 }),
        'limit must be a whole number from 1 to 100 (default 50)',
      ],
      [
        'bad cursor',
        () => store.list({ cursor: 'not a cursor' }),
        'cursor must be a next_cursor value returned by a previous list call',
      ],
      [
        'forged cursor',
        () => store.list({ cursor: Buffer.from('{"k":"../x"}').toString('base64url') }),
        'cursor must be a next_cursor value returned by a previous list call',
      ],
      [
        'non-JSON cursor',
        () => store.list({ cursor: 'abcd' }),
        'cursor must be a next_cursor value returned by a previous list call',
      ],
    ])('%s', async (_label, call, message) => {
      await expect(call()).rejects.toEqual(new KeyStoreInputError(message));
    });
  });
});

describe('KeyStore with the KMS hasher', () => {
  const kmsMock = mockClient(KMSClient);

  beforeEach(() => {
    kmsMock.reset();
    kmsMock.on(GenerateMacCommand).callsFake(async (input: { Message: Uint8Array }) => ({
      Mac: new Uint8Array(createHmac('sha256', 'kms-key').update(input.Message).digest()),
    }));
  });

  afterAll(() => kmsMock.restore());

  it('verifies through KMS once, then from the warm cache without calling KMS', async () => {
    const tableName = await newTable();
    const creator = new KeyStore({
      ddb,
      tableName,
      hasher: createKmsHasher({ kms: new KMSClient({}), keyId: 'alias/hmac' }),
    });
    const { id, key } = await creator.create({ name: 'a', scopes: ['inference'] });
    expect(kmsMock.commandCalls(GenerateMacCommand)).toHaveLength(1);

    // A fresh process (cold cache): the first verify calls KMS, the next ones do not.
    kmsMock.resetHistory();
    const gateway = new KeyStore({
      ddb,
      tableName,
      hasher: createKmsHasher({ kms: new KMSClient({}), keyId: 'alias/hmac' }),
    });
    await expect(gateway.verify(`Bearer ${key}`, 'inference')).resolves.toMatchObject({
      ok: true,
      keyId: id,
    });
    expect(kmsMock.commandCalls(GenerateMacCommand)).toHaveLength(1);
    const input = kmsMock.commandCalls(GenerateMacCommand)[0].args[0].input;
    expect(input).toMatchObject({ KeyId: 'alias/hmac', MacAlgorithm: 'HMAC_SHA_256' });
    expect(Buffer.from(input.Message as Uint8Array).toString()).toBe(
      `apikey:${id}:${key.slice(21)}`,
    );

    kmsMock.resetHistory();
    for (let i = 0; i < 3; i++) {
      await expect(gateway.verify(`Bearer ${key}`, 'inference')).resolves.toMatchObject({
        ok: true,
      });
    }
    expect(kmsMock.commandCalls(GenerateMacCommand)).toHaveLength(0);

    // The cache holds MACs, not items: revocation still takes effect at once.
    await creator.revoke(id);
    await expect(gateway.verify(`Bearer ${key}`, 'inference')).resolves.toMatchObject({
      reason: 'revoked',
    });
  });
});

describe('KeyStore under guesses at a public key id', () => {
  // Instance mocks (not class mocks), so the dynalite-backed tests are untouched.
  const kms = new KMSClient({ region: 'us-east-1' });
  const guessDdb = new DynamoDBClient({ region: 'us-east-1' });
  let kmsMock: ReturnType<typeof mockClient>;
  let ddbMock: ReturnType<typeof mockClient>;
  let realKey: string;
  let realId: string;
  let item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>;
  /** How many of the next GenerateMac calls fail. */
  let kmsFailures = 0;

  beforeAll(async () => {
    // A real key, created in dynalite; the guesses below read its item through a
    // mock of the same answer, so 10,000 of them run in a moment.
    kmsMock = mockClient(kms);
    ddbMock = mockClient(guessDdb);
    kmsMock.on(GenerateMacCommand).callsFake(async (input: { Message: Uint8Array }) => {
      if (kmsFailures > 0) {
        kmsFailures--;
        throw Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' });
      }
      return {
        Mac: new Uint8Array(createHmac('sha256', 'kms-key').update(input.Message).digest()),
      };
    });
    const tableName = await newTable();
    const creator = new KeyStore({
      ddb,
      tableName,
      hasher: createKmsHasher({ kms, keyId: 'alias/hmac' }),
      now: () => T0,
    });
    const created = await creator.create({ name: 'real', scopes: ['inference'] });
    realKey = created.key;
    realId = created.id;
    item = (await rawItem(tableName, realId))!;
    ddbMock.on(GetItemCommand).callsFake(async (input: { Key: { key_id: { S: string } } }) => ({
      Item: input.Key.key_id.S === realId ? item : undefined,
    }));
  });

  afterAll(() => {
    kmsMock.restore();
    ddbMock.restore();
  });

  function gatewayStore(now: () => Date = () => T0, gates: Partial<KeyStoreDeps> = {}) {
    const hasher = createKmsHasher({ kms, keyId: 'alias/hmac' });
    return {
      hasher,
      store: new KeyStore({ ddb: guessDdb, tableName: 'keys', hasher, now, ...gates }),
    };
  }
  const junk = (i: number) =>
    `Bearer eph_${realId}_${createHmac('sha256', 'junk').update(String(i)).digest('base64url').slice(0, 42)}A`;
  const macCalls = () => kmsMock.commandCalls(GenerateMacCommand).length;

  it('10,000 made-up secrets for a real key id cost 5 KMS calls, and evict nothing from the cache', async () => {
    const { hasher, store } = gatewayStore();
    // Warm: the real key verified once, a customer hash computed once.
    await expect(store.verify(`Bearer ${realKey}`, 'inference')).resolves.toMatchObject({
      ok: true,
    });
    await hasher.mac('customer', 'customer-42');
    kmsMock.resetHistory();

    const reasons: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const verdict = await store.verify(junk(i), 'inference');
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) reasons[verdict.reason] = (reasons[verdict.reason] ?? 0) + 1;
    }
    expect(macCalls()).toBe(5);
    expect(reasons).toEqual({ invalid: 5, throttled: 9_995 });

    // The real key and the customer hash are still cached: no KMS call for either.
    kmsMock.resetHistory();
    await expect(store.verify(`Bearer ${realKey}`, 'inference')).resolves.toMatchObject({
      ok: true,
    });
    await hasher.mac('customer', 'customer-42');
    expect(macCalls()).toBe(0);
  });

  it('failed secrets are never cached: with the gates wide open, 10,000 of them leave the real key and a customer hash cached', async () => {
    const open = () => new FailureGate({ freeFailures: 1_000_000 });
    const { hasher, store } = gatewayStore(() => T0, { failures: open(), keyFailures: open() });
    await store.verify(`Bearer ${realKey}`, 'inference');
    await hasher.mac('customer', 'customer-42');
    kmsMock.resetHistory();
    for (let i = 0; i < 10_000; i++) await store.verify(junk(300_000 + i), 'inference');
    expect(macCalls()).toBe(10_000);

    kmsMock.resetHistory();
    await expect(store.verify(`Bearer ${realKey}`, 'inference')).resolves.toMatchObject({
      ok: true,
    });
    await hasher.mac('customer', 'customer-42');
    expect(macCalls()).toBe(0);
  });

  it("one client's guesses do not hold up the key's holder at another address, even uncached", async () => {
    const { store } = gatewayStore();
    kmsMock.resetHistory();
    for (let i = 0; i < 1_000; i++)
      await store.verify(junk(400_000 + i), 'inference', '203.0.113.7');
    expect(macCalls()).toBe(5);
    await expect(store.verify(junk(401_000), 'inference', '203.0.113.7')).resolves.toMatchObject({
      status: 429,
    });
    // The holder has never verified on this instance (a cold start, or a just-rotated secret).
    kmsMock.resetHistory();
    await expect(
      store.verify(`Bearer ${realKey}`, 'inference', '198.51.100.20'),
    ).resolves.toMatchObject({ ok: true });
    expect(macCalls()).toBe(1);
  });

  it(`guesses from many addresses together cost at most ${KEY_FREE_FAILURES} KMS calls per key id before it backs off`, async () => {
    const { store } = gatewayStore();
    kmsMock.resetHistory();
    const reasons: Record<string, number> = {};
    for (let client = 0; client < 1_000; client++) {
      for (let i = 0; i < 10; i++) {
        const verdict = await store.verify(
          junk(500_000 + client * 10 + i),
          'inference',
          `198.18.${client >> 8}.${client & 255}`,
        );
        if (!verdict.ok) reasons[verdict.reason] = (reasons[verdict.reason] ?? 0) + 1;
      }
    }
    expect(macCalls()).toBe(KEY_FREE_FAILURES);
    expect(reasons).toEqual({ invalid: KEY_FREE_FAILURES, throttled: 10_000 - KEY_FREE_FAILURES });
  });

  it('a KMS failure during a check counts against nobody', async () => {
    const { store } = gatewayStore();
    for (let i = 0; i < 4; i++) await store.verify(junk(600_000 + i), 'inference', '192.0.2.1');
    kmsFailures = 100; // every retry the hasher makes fails too
    await expect(store.verify(junk(600_010), 'inference', '192.0.2.1')).rejects.toThrow();
    kmsFailures = 0;
    // Still one free attempt left for this client: the failure before the outage is kept, the outage not counted.
    await expect(store.verify(junk(600_011), 'inference', '192.0.2.1')).resolves.toMatchObject({
      reason: 'invalid',
    });
    await expect(store.verify(junk(600_012), 'inference', '192.0.2.1')).resolves.toMatchObject({
      status: 429,
    });
  });

  it('a burst of concurrent guesses cannot slip past the gate', async () => {
    const { store } = gatewayStore();
    kmsMock.resetHistory();
    const verdicts = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.verify(junk(100_000 + i), 'inference')),
    );
    expect(macCalls()).toBeLessThanOrEqual(5);
    expect(verdicts.every((v) => !v.ok)).toBe(true);
  });

  it('answers 429 with a Retry-After while backing off, and lets one attempt through when it ends', async () => {
    let t = T0.getTime();
    const { store } = gatewayStore(() => new Date(t));
    for (let i = 0; i < 5; i++) await store.verify(junk(200_000 + i), 'inference');
    await expect(store.verify(junk(200_010), 'inference')).resolves.toEqual({
      ok: false,
      status: 429,
      reason: 'throttled',
      retryAfterSeconds: 1,
    });
    kmsMock.resetHistory();
    t += 1_000;
    // The real holder, not yet cached on this instance, gets through once the back-off ends.
    await expect(store.verify(`Bearer ${realKey}`, 'inference')).resolves.toMatchObject({
      ok: true,
    });
    expect(macCalls()).toBe(1);
  });

  it('an unknown key id never costs a KMS call', async () => {
    const { store } = gatewayStore();
    kmsMock.resetHistory();
    for (let i = 0; i < 1_000; i++) {
      await expect(
        store.verify(`Bearer eph_${'z'.repeat(16)}_${'A'.repeat(43)}`, 'inference'),
      ).resolves.toMatchObject({ ok: false, reason: 'unknown' });
    }
    expect(macCalls()).toBe(0);
  });
});
