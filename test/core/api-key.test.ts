import fc from 'fast-check';
import {
  API_KEY_LENGTH,
  formatApiKey,
  isKeyId,
  isSecret,
  newApiKey,
  newKeyId,
  newSecret,
  parseApiKey,
  parseBearer,
} from '../../lib/core/api-key';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** An independent oracle: is `s` exactly `eph_` + 16 of [a-z0-9] + `_` + canonical base64url of 32 bytes? */
function oracle(s: string): boolean {
  if (s.length !== 64 || !s.startsWith('eph_') || s[20] !== '_') return false;
  for (const c of s.slice(4, 20)) if (!ID_CHARS.includes(c)) return false;
  const secret = s.slice(21);
  for (const c of secret) if (!B64URL.includes(c)) return false;
  const bytes = Buffer.from(secret, 'base64url');
  return bytes.length === 32 && bytes.toString('base64url') === secret;
}

const arbKeyId = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 16, maxLength: 16 });
const arbSecret = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64url'));
const arbKey = fc.tuple(arbKeyId, arbSecret).map(([id, secret]) => formatApiKey(id, secret));

/** A valid key with one edit: substitution, insertion or deletion of a character. */
const arbNearKey = fc
  .tuple(
    arbKey,
    fc.nat(),
    fc.constantFrom('sub', 'ins', 'del'),
    fc.string({ minLength: 1, maxLength: 1 }),
  )
  .map(([key, pos, op, ch]) => {
    const i = pos % key.length;
    if (op === 'sub') return key.slice(0, i) + ch + key.slice(i + 1);
    if (op === 'ins') return key.slice(0, i) + ch + key.slice(i);
    return key.slice(0, i) + key.slice(i + 1);
  });

describe('newApiKey', () => {
  it('makes keys of the documented form that parse back to their parts', () => {
    for (let i = 0; i < 200; i++) {
      const k = newApiKey();
      expect(k.key).toHaveLength(API_KEY_LENGTH);
      expect(k.keyId).toMatch(/^[a-z0-9]{16}$/);
      expect(k.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(k.secret, 'base64url')).toHaveLength(32);
      expect(k.key).toBe(`eph_${k.keyId}_${k.secret}`);
      expect(parseApiKey(k.key)).toEqual({ keyId: k.keyId, secret: k.secret });
      expect(oracle(k.key)).toBe(true);
    }
  });

  it('makes different keys each time', () => {
    const ids = new Set(Array.from({ length: 500 }, () => newKeyId()));
    const secrets = new Set(Array.from({ length: 500 }, () => newSecret()));
    expect(ids.size).toBe(500);
    expect(secrets.size).toBe(500);
  });
});

describe('parseApiKey', () => {
  it('round-trips every well-formed key, including secrets with _ and -', () => {
    fc.assert(
      fc.property(arbKeyId, arbSecret, (id, secret) => {
        expect(parseApiKey(formatApiKey(id, secret))).toEqual({ keyId: id, secret });
      }),
    );
    const tricky = formatApiKey('abcdefghij012345', '_-' + 'A'.repeat(40) + 'A');
    expect(parseApiKey(tricky)).toEqual({
      keyId: 'abcdefghij012345',
      secret: '_-' + 'A'.repeat(41),
    });
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        expect(() => parseApiKey(x as string)).not.toThrow();
      }),
    );
  });

  it('accepts exactly the strings of the form (random and near-miss strings)', () => {
    const check = (s: string) => {
      const parsed = parseApiKey(s);
      expect(parsed !== undefined).toBe(oracle(s));
      if (parsed) expect(formatApiKey(parsed.keyId, parsed.secret)).toBe(s);
    };
    fc.assert(fc.property(fc.string({ maxLength: 80 }), check));
    fc.assert(
      fc.property(
        fc
          .string({ unit: fc.constantFrom(...B64URL), minLength: 60, maxLength: 68 })
          .map((s) => 'eph_' + s),
        check,
      ),
    );
    fc.assert(fc.property(arbNearKey, check), { numRuns: 2000 });
  });

  it.each([
    ['upper-case key id', 'eph_ABCDEFGHIJ012345_' + 'A'.repeat(43)],
    ['short key id', 'eph_abcdefghij01234_' + 'A'.repeat(44)],
    ['padding', 'eph_abcdefghij012345_' + 'A'.repeat(42) + '='],
    ['standard base64 +', 'eph_abcdefghij012345_+' + 'A'.repeat(42)],
    ['non-canonical last character', 'eph_abcdefghij012345_' + 'A'.repeat(42) + 'B'],
    ['wrong prefix', 'EPH_abcdefghij012345_' + 'A'.repeat(43)],
    ['trailing newline', 'eph_abcdefghij012345_' + 'A'.repeat(43) + '\n'],
    ['empty', ''],
  ])('rejects %s', (_label, s) => {
    expect(parseApiKey(s)).toBeUndefined();
  });
});

describe('isKeyId / isSecret', () => {
  it('check the parts', () => {
    expect(isKeyId('abcdefghij012345')).toBe(true);
    expect(isKeyId('abcdefghij01234')).toBe(false);
    expect(isKeyId(42)).toBe(false);
    expect(isSecret(newSecret())).toBe(true);
    expect(isSecret('A'.repeat(43))).toBe(true);
    expect(isSecret('A'.repeat(42) + 'B')).toBe(false);
  });
});

describe('parseBearer', () => {
  const key = newApiKey();

  it.each([undefined, '', '   ', '\t'])('treats %p as missing', (h) => {
    expect(parseBearer(h)).toEqual({ error: 'missing' });
  });

  it.each([
    'Bearer',
    'Bearer ',
    `Basic ${key.key}`,
    `Bearer${key.key}`,
    `Bearer ${key.key} extra`,
    `Bearer ${key.key.slice(0, -1)}`,
    `Bearer "${key.key}"`,
    key.key,
  ])('treats %p as malformed', (h) => {
    expect(parseBearer(h)).toEqual({ error: 'malformed' });
  });

  it.each([
    `Bearer ${key.key}`,
    `bearer ${key.key}`,
    `BEARER   ${key.key}`,
    ` Bearer ${key.key}\t`,
  ])('accepts %p', (h) => {
    expect(parseBearer(h)).toEqual({ keyId: key.keyId, secret: key.secret });
  });

  it('never throws and accepts only Bearer plus a well-formed key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          arbKey.map((k) => `Bearer ${k}`),
          arbNearKey.map((k) => `Bearer ${k}`),
        ),
        (h) => {
          const r = parseBearer(h);
          if ('keyId' in r) {
            expect(h.trim().toLowerCase().startsWith('bearer ')).toBe(true);
            expect(oracle(h.trim().slice(7).trim())).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.anything(), (x) => {
        expect(() => parseBearer(x as string)).not.toThrow();
      }),
    );
  });
});
