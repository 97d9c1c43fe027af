import fc from 'fast-check';

import {
  IMAGE_EXTENSIONS,
  IMAGE_KEY_PREFIX,
  MAX_EXPIRY_EPOCH_SECONDS,
  imageKey,
  newImageId,
  parseImageKey,
} from '../../../lambda/shared/image-key';

const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/);
const extArb = fc.constantFrom(...IMAGE_EXTENSIONS);
const secondsArb = fc.integer({ min: 0, max: MAX_EXPIRY_EPOCH_SECONDS });
const dateArb = fc
  .integer({ min: 0, max: MAX_EXPIRY_EPOCH_SECONDS * 1000 })
  .map((ms) => new Date(ms));

describe('imageKey', () => {
  test('builds images/<10-digit expiry>/<id>.<ext>', () => {
    expect(imageKey(new Date('2025-01-02T03:04:05Z'), 'abc_DEF-123', 'png')).toBe(
      'images/1735787045/abc_DEF-123.png',
    );
    expect(imageKey(new Date(5000), 'x', 'webp')).toBe('images/0000000005/x.webp');
    expect(IMAGE_KEY_PREFIX).toBe('images/');
  });

  test('rounds a fractional second up, so an image is never due before its expiry', () => {
    expect(imageKey(new Date(1_700_000_000_001), 'a', 'jpeg')).toBe('images/1700000001/a.jpeg');
    expect(imageKey(new Date(1_700_000_000_000), 'a', 'jpeg')).toBe('images/1700000000/a.jpeg');
  });

  test.each([
    ['empty', ''],
    ['slash', 'a/b'],
    ['dot', 'a.png'],
    ['space', 'a b'],
    ['non-ascii', 'caf\u00e9'],
    ['too long', 'a'.repeat(129)],
  ])('rejects an id that is not a url-safe token (%s) without echoing it', (_name, id) => {
    expect(() => imageKey(new Date(0), id, 'png')).toThrow(
      'imageKey: id must be 1-128 characters of A-Z, a-z, 0-9, _ or -',
    );
  });

  test('accepts an id of 128 characters', () => {
    expect(parseImageKey(imageKey(new Date(0), 'a'.repeat(128), 'png'))?.id).toBe('a'.repeat(128));
  });

  test('rejects an invalid date and expiries outside 10 digits', () => {
    expect(() => imageKey(new Date(Number.NaN), 'a', 'png')).toThrow(
      'imageKey: expiresAt must be a valid Date',
    );
    expect(() => imageKey(new Date(-1000), 'a', 'png')).toThrow(
      'imageKey: expiresAt must be between the epoch and 9999999999 epoch seconds',
    );
    expect(() => imageKey(new Date(MAX_EXPIRY_EPOCH_SECONDS * 1000 + 1), 'a', 'png')).toThrow(
      'imageKey: expiresAt must be between the epoch and 9999999999 epoch seconds',
    );
    expect(imageKey(new Date(MAX_EXPIRY_EPOCH_SECONDS * 1000), 'a', 'png')).toBe(
      'images/9999999999/a.png',
    );
  });

  test('rejects an unknown extension', () => {
    expect(() => imageKey(new Date(0), 'a', 'gif' as never)).toThrow(
      'imageKey: ext must be one of png, jpeg, webp',
    );
  });
});

describe('parseImageKey', () => {
  test('parses a key', () => {
    expect(parseImageKey('images/1735787045/abc_DEF-123.png')).toEqual({
      expiresAtEpochSeconds: 1735787045,
      id: 'abc_DEF-123',
      ext: 'png',
    });
  });

  test.each([
    '',
    'images/',
    'images/1735787045/',
    'images/1735787045/abc',
    'images/1735787045/abc.gif',
    'images/1735787045/abc.PNG',
    'images/173578704/abc.png',
    'images/17357870450/abc.png',
    'images/-735787045/abc.png',
    'images/1735787045/a/b.png',
    'images/1735787045/a.b.png',
    'images/1735787045/.png',
    'images/1735787045/abc.png\n',
    ' images/1735787045/abc.png',
    'Images/1735787045/abc.png',
    'other/images/1735787045/abc.png',
    'images//1735787045/abc.png',
    `images/1735787045/${'a'.repeat(129)}.png`,
  ])('returns undefined for the malformed key %j', (key) => {
    expect(parseImageKey(key)).toBeUndefined();
  });

  test('returns undefined for values that are not strings', () => {
    expect(parseImageKey(undefined as unknown as string)).toBeUndefined();
    expect(parseImageKey(42 as unknown as string)).toBeUndefined();
  });
});

describe('properties', () => {
  test('round trip: parse(imageKey(d, id, ext)) gives ceil(d / 1 s), id and ext', () => {
    fc.assert(
      fc.property(dateArb, idArb, extArb, (date, id, ext) => {
        const key = imageKey(date, id, ext);
        expect(key.startsWith(IMAGE_KEY_PREFIX)).toBe(true);
        expect(parseImageKey(key)).toEqual({
          expiresAtEpochSeconds: Math.ceil(date.getTime() / 1000),
          id,
          ext,
        });
      }),
    );
  });

  test('round trip from whole seconds: imageKey(parse(k)) === k', () => {
    fc.assert(
      fc.property(secondsArb, idArb, extArb, (seconds, id, ext) => {
        const key = imageKey(new Date(seconds * 1000), id, ext);
        const parsed = parseImageKey(key);
        expect(parsed).toBeDefined();
        expect(
          imageKey(new Date(parsed!.expiresAtEpochSeconds * 1000), parsed!.id, parsed!.ext),
        ).toBe(key);
      }),
    );
  });

  test('lexicographic (byte) order of keys is expiry order', () => {
    const byteCompare = (a: string, b: string): number =>
      Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    fc.assert(
      fc.property(
        secondsArb,
        secondsArb,
        idArb,
        idArb,
        extArb,
        extArb,
        (s1, s2, id1, id2, ext1, ext2) => {
          fc.pre(s1 !== s2);
          const k1 = imageKey(new Date(s1 * 1000), id1, ext1);
          const k2 = imageKey(new Date(s2 * 1000), id2, ext2);
          const expected = Math.sign(s1 - s2);
          expect(byteCompare(k1, k2)).toBe(expected);
          expect(Math.sign(k1 < k2 ? -1 : 1)).toBe(expected);
        },
      ),
    );
  });

  test('sorting keys sorts them by expiry', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(secondsArb, idArb, extArb), { maxLength: 50 }), (entries) => {
        const keys = entries.map(([s, id, ext]) => imageKey(new Date(s * 1000), id, ext));
        const expiries = [...keys].sort().map((k) => parseImageKey(k)!.expiresAtEpochSeconds);
        expect(expiries).toEqual([...expiries].sort((a, b) => a - b));
      }),
    );
  });

  test('parse never throws, and whatever it accepts is rebuilt exactly', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string(),
      fc.string().map((s) => `images/${s}`),
      fc
        .tuple(fc.stringMatching(/^\d{0,12}$/), fc.string(), fc.string())
        .map(([d, id, ext]) => `images/${d}/${id}.${ext}`),
    );
    fc.assert(
      fc.property(anyString, (key) => {
        const parsed = parseImageKey(key);
        if (parsed !== undefined) {
          expect(
            imageKey(new Date(parsed.expiresAtEpochSeconds * 1000), parsed.id, parsed.ext),
          ).toBe(key);
        }
      }),
    );
  });
});

describe('newImageId', () => {
  test('is a 22-character url-safe token (128 bits) usable in a key', () => {
    const id = newImageId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(parseImageKey(imageKey(new Date(0), id, 'png'))?.id).toBe(id);
  });

  test('does not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newImageId()));
    expect(ids.size).toBe(1000);
  });
});
