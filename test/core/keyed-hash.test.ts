import { createHmac } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  createKmsHasher,
  customerHash,
  KeyedHashError,
  MAX_MAC_MESSAGE_BYTES,
} from '../../lib/core/keyed-hash';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/hmac';
const TEST_KEY = Buffer.from('test-hmac-key');
const kmsMock = mockClient(KMSClient);

const hmac = (text: string): Buffer => createHmac('sha256', TEST_KEY).update(text).digest();

/** A KMS stand-in that computes a real HMAC of the message it receives. */
function answerWithHmac(): void {
  kmsMock.on(GenerateMacCommand).callsFake(async (input: { Message: Uint8Array }) => ({
    Mac: new Uint8Array(hmac(Buffer.from(input.Message).toString('utf8'))),
    KeyId: KEY_ID,
    MacAlgorithm: 'HMAC_SHA_256',
  }));
}

const macCalls = () => kmsMock.commandCalls(GenerateMacCommand);

beforeEach(() => {
  kmsMock.reset();
  answerWithHmac();
});

describe('createKmsHasher', () => {
  it('calls GenerateMac with HMAC_SHA_256 on the domain-separated message', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const mac = await hasher.mac('customer', 'cust-42');
    expect(mac.equals(hmac('customer:cust-42'))).toBe(true);
    expect(macCalls()).toHaveLength(1);
    const input = macCalls()[0].args[0].input;
    expect(input.KeyId).toBe(KEY_ID);
    expect(input.MacAlgorithm).toBe('HMAC_SHA_256');
    expect(Buffer.from(input.Message as Uint8Array).toString('utf8')).toBe('customer:cust-42');
  });

  it('separates domains: the same message gives different MACs', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const a = await hasher.mac('customer', 'x');
    const b = await hasher.mac('apikey', 'x');
    expect(a.equals(b)).toBe(false);
    expect(macCalls()).toHaveLength(2);
  });

  it('serves repeated messages from the cache without calling KMS', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const first = await hasher.mac('apikey', 'abc:secret');
    const second = await hasher.mac('apikey', 'abc:secret');
    expect(second.equals(first)).toBe(true);
    expect(macCalls()).toHaveLength(1);
  });

  it('shares one KMS call between concurrent requests for the same message', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const results = await Promise.all([
      hasher.mac('customer', 'same'),
      hasher.mac('customer', 'same'),
      hasher.mac('customer', 'same'),
      hasher.mac('customer', 'other'),
    ]);
    expect(results[0].equals(results[1]) && results[1].equals(results[2])).toBe(true);
    expect(macCalls()).toHaveLength(2);
  });

  it('evicts the least recently used hash when the cache is full', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID, cacheEntries: 2 });
    await hasher.mac('customer', 'a');
    await hasher.mac('customer', 'b');
    await hasher.mac('customer', 'c');
    expect(macCalls()).toHaveLength(3);
    await hasher.mac('customer', 'c');
    await hasher.mac('customer', 'b');
    expect(macCalls()).toHaveLength(3);
    await hasher.mac('customer', 'a');
    expect(macCalls()).toHaveLength(4);
  });

  it('hands out copies, so a caller cannot alter the cached value', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const first = await hasher.mac('customer', 'x');
    first.fill(0);
    const second = await hasher.mac('customer', 'x');
    expect(second.equals(hmac('customer:x'))).toBe(true);
  });

  it('rejects with a fixed message that holds no input, and does not cache the failure', async () => {
    const canary = 'CANARY-customer-7f3a';
    const failure = Object.assign(new Error(`boom ${canary}`), { name: 'ThrottlingException' });
    kmsMock.reset();
    kmsMock.on(GenerateMacCommand).rejects(failure);

    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const err = await hasher.mac('customer', canary).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyedHashError);
    expect((err as KeyedHashError).message).toBe('Keyed hash failed: KMS GenerateMac error');
    expect((err as KeyedHashError).errorName).toBe('ThrottlingException');
    expect(JSON.stringify(err)).not.toContain(canary);
    expect(String((err as Error).stack)).not.toContain(canary);

    // The next call tries KMS again (the rejection was not cached or left in flight).
    kmsMock.reset();
    answerWithHmac();
    await expect(hasher.mac('customer', canary)).resolves.toEqual(hmac(`customer:${canary}`));
    expect(macCalls()).toHaveLength(1);
  });

  it('drops error names that do not look like AWS error names', async () => {
    kmsMock.reset();
    kmsMock.on(GenerateMacCommand).rejects(Object.assign(new Error('x'), { name: 'has space' }));
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const err = (await hasher.mac('customer', 'x').catch((e: unknown) => e)) as KeyedHashError;
    expect(err.errorName).toBeUndefined();
  });

  it('rejects an answer without a 32-byte MAC', async () => {
    kmsMock.reset();
    kmsMock.on(GenerateMacCommand).resolves({});
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    await expect(hasher.mac('customer', 'x')).rejects.toThrow(
      'Keyed hash failed: KMS GenerateMac returned no 32-byte MAC',
    );
  });

  it('refuses messages longer than GenerateMac accepts without calling KMS', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const long = 'x'.repeat(MAX_MAC_MESSAGE_BYTES);
    await expect(hasher.mac('customer', long)).rejects.toThrow(
      `Keyed hash failed: message longer than ${MAX_MAC_MESSAGE_BYTES} bytes`,
    );
    expect(macCalls()).toHaveLength(0);
  });

  it('refuses an unknown domain', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    await expect(hasher.mac('other' as 'customer', 'x')).rejects.toThrow(
      'Keyed hash failed: unknown domain',
    );
  });

  it('with remember: false computes without caching; remember() caches once proved right', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const guess = await hasher.mac('apikey', 'id:guess', { remember: false });
    expect(guess.equals(hmac('apikey:id:guess'))).toBe(true);
    expect(hasher.cached!('apikey', 'id:guess')).toBeUndefined();
    await hasher.mac('apikey', 'id:guess', { remember: false });
    expect(macCalls()).toHaveLength(2);

    hasher.remember!('apikey', 'id:guess', guess);
    expect(hasher.cached!('apikey', 'id:guess')?.equals(guess)).toBe(true);
    await hasher.mac('apikey', 'id:guess');
    expect(macCalls()).toHaveLength(2);
  });

  it('keeps one cache per domain: API-key churn cannot evict customer hashes', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID, cacheEntries: 2 });
    await hasher.mac('customer', 'c1');
    for (let i = 0; i < 5; i++) await hasher.mac('apikey', `k${i}`);
    kmsMock.resetHistory();
    await hasher.mac('customer', 'c1');
    expect(macCalls()).toHaveLength(0);
  });

  it('requires a key id', () => {
    expect(() => createKmsHasher({ kms: new KMSClient({}), keyId: '' })).toThrow(
      'createKmsHasher: keyId is required',
    );
  });
});

describe('customerHash', () => {
  it('is the lowercase hex of the customer-domain MAC', async () => {
    const hasher = createKmsHasher({ kms: new KMSClient({}), keyId: KEY_ID });
    const h = await customerHash(hasher, 'Cust-1');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).toBe(hmac('customer:Cust-1').toString('hex'));
  });
});
