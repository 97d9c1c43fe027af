import fc from 'fast-check';
import { LruCache } from '../../lib/core/lru';

describe('LruCache', () => {
  it('returns what was set and undefined for unknown keys', () => {
    const c = new LruCache<number>(3);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBe(2);
    expect(c.get('c')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBe(2);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
  });

  it('counts a get as a use', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.get('a');
    c.set('c', 3);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBeUndefined();
  });

  it('replaces a value without growing and counts it as a use', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('a', 10);
    expect(c.size).toBe(2);
    c.set('c', 3);
    expect(c.get('a')).toBe(10);
    expect(c.get('b')).toBeUndefined();
  });

  it('keeps falsy values', () => {
    const c = new LruCache<number | string>(2);
    c.set('zero', 0);
    c.set('empty', '');
    expect(c.get('zero')).toBe(0);
    expect(c.get('empty')).toBe('');
  });

  it('deletes entries', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    expect(c.delete('a')).toBe(true);
    expect(c.delete('a')).toBe(false);
    expect(c.size).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxEntries %p', (n) => {
    expect(() => new LruCache(n)).toThrow(
      'LruCache maxEntries must be a whole number of at least 1',
    );
  });

  it('behaves like a reference model', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('get' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      }),
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        value: fc.integer(),
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const cache = new LruCache<number>(max);
        // Model: array ordered from least to most recently used.
        let model: Array<[string, number]> = [];
        for (const o of ops) {
          const i = model.findIndex(([k]) => k === o.key);
          if (o.kind === 'get') {
            const expected = i >= 0 ? model[i][1] : undefined;
            if (i >= 0) model = [...model.slice(0, i), ...model.slice(i + 1), model[i]];
            expect(cache.get(o.key)).toBe(expected);
          } else {
            if (i >= 0) model.splice(i, 1);
            else if (model.length >= max) model.shift();
            model.push([o.key, o.value]);
            cache.set(o.key, o.value);
          }
          expect(cache.size).toBe(model.length);
        }
      }),
    );
  });
});
