import fc from 'fast-check';
import {
  decodeCursor,
  encodeCursor,
  FILTER_FORMS,
  parseFilter,
  parseLimit,
  resolveSelector,
  type IndexPosition,
} from '../../../lambda/admin/log-query';
import { isCustomerId } from '../../../lib/core/customer-id';

const hex64 = fc.string({
  unit: fc.constantFrom(...'0123456789abcdef'),
  minLength: 64,
  maxLength: 64,
});
const position: fc.Arbitrary<IndexPosition> = fc.record({
  customerHash: hex64,
  timestamp: fc
    .date({ min: new Date('2020-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  requestId: fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
});

describe('parseFilter', () => {
  test.each([
    ['customer_id::acme-42', { kind: 'customer', customerId: 'acme-42' }],
    ['request_id::req_1-2', { kind: 'request', requestId: 'req_1-2' }],
    ['customer_id::a::b', { kind: 'customer', customerId: 'a::b' }],
  ])('%s', (value, expected) => {
    expect(parseFilter(value)).toEqual(expected);
  });

  test.each([
    'customer_id:x',
    'customer_id::',
    'customer_id::has space',
    'customer_id::a;b',
    'request_id::has/slash',
    'tenant::x',
    '::x',
    '',
  ])('refuses %j', (value) => {
    expect(parseFilter(value)).toBeUndefined();
  });

  test('accepts a customer id exactly when the header rule would, and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (id) => {
        const parsed = parseFilter(`customer_id::${id}`);
        expect(parsed !== undefined).toBe(isCustomerId(id));
      }),
    );
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(() => parseFilter(value)).not.toThrow();
      }),
    );
  });
});

describe('resolveSelector', () => {
  test('one selector: the header, or a filter', () => {
    expect(resolveSelector('a', [])).toEqual({
      ok: true,
      selector: { kind: 'customer', customerId: 'a' },
    });
    expect(resolveSelector(undefined, ['request_id::r'])).toEqual({
      ok: true,
      selector: { kind: 'request', requestId: 'r' },
    });
    expect(resolveSelector('a', ['customer_id::a'])).toEqual({
      ok: true,
      selector: { kind: 'customer', customerId: 'a' },
    });
  });

  test.each([
    [undefined, [], `Say whose records to list: ${FILTER_FORMS}`],
    [undefined, ['bogus'], `filter must be one of: ${FILTER_FORMS}`],
    [undefined, ['customer_id::a', 'customer_id::b'], `Give one filter: ${FILTER_FORMS}`],
    [
      'a',
      ['customer_id::b'],
      `The header and the filter ask for different records; give one of: ${FILTER_FORMS}`,
    ],
    [
      'a',
      ['request_id::r'],
      `The header and the filter ask for different records; give one of: ${FILTER_FORMS}`,
    ],
  ])('header %j, filters %j: refused', (header, filters, message) => {
    expect(resolveSelector(header, filters)).toEqual({ ok: false, message, param: 'filter' });
  });

  test('a refusal never repeats what was sent', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.array(fc.string(), { maxLength: 3 }), (h, fs) => {
        const result = resolveSelector(h ?? undefined, fs);
        if (!result.ok) {
          for (const sent of [h ?? '', ...fs].filter((x) => x.length > 3)) {
            expect(result.message).not.toContain(sent);
          }
        }
      }),
    );
  });
});

describe('the log cursor', () => {
  test('decodes to the position it encodes, for the same customer', () => {
    fc.assert(
      fc.property(position, (p) => {
        expect(decodeCursor(encodeCursor(p), p.customerHash)).toEqual(p);
      }),
    );
  });

  test("never opens another customer's page", () => {
    fc.assert(
      fc.property(position, hex64, (p, other) => {
        fc.pre(other !== p.customerHash);
        expect(decodeCursor(encodeCursor(p), other)).toBeUndefined();
      }),
    );
  });

  test('a tampered cursor is refused, or still names only the same customer', () => {
    fc.assert(
      fc.property(
        position,
        fc.nat(),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.'),
        (p, at, ch) => {
          const cursor = encodeCursor(p);
          const i = at % cursor.length;
          const tampered = cursor.slice(0, i) + ch + cursor.slice(i + 1);
          const decoded = decodeCursor(tampered, p.customerHash);
          if (decoded) expect(decoded.customerHash).toBe(p.customerHash);
        },
      ),
    );
  });

  test('refuses what is not a cursor', () => {
    const hash = 'a'.repeat(64);
    for (const bad of [
      '',
      'not base64!',
      Buffer.from('{}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      Buffer.from(
        JSON.stringify({ v: 2, h: hash, t: '2026-01-01T00:00:00.000Z', r: 'r' }),
      ).toString('base64url'),
      Buffer.from(
        JSON.stringify({ v: 1, h: hash, t: '2026-01-01T00:00:00.000Z', r: 'r', extra: 1 }),
      ).toString('base64url'),
      'x'.repeat(600),
    ]) {
      expect(decodeCursor(bad, hash)).toBeUndefined();
    }
  });
});

describe('parseLimit', () => {
  test('1 to 200, default 50', () => {
    expect(parseLimit([])).toBe(50);
    expect(parseLimit(['1'])).toBe(1);
    expect(parseLimit(['200'])).toBe(200);
    for (const bad of [['0'], ['201'], ['-1'], ['1.5'], ['abc'], ['1', '2'], ['1000']]) {
      expect(parseLimit(bad)).toBeUndefined();
    }
  });
});
