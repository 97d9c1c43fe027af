import fc from 'fast-check';
import {
  CUSTOMER_ID_INVALID_MESSAGE,
  METADATA_MALFORMED_MESSAGE,
  OPT_OUT_INVALID_MESSAGE,
  parseMetadataHeader,
  parseOptOutHeader,
} from '../../lib/core/metadata-header';
import { isCustomerId } from '../../lib/core/customer-id';

/** Characters allowed in a customer id: visible ASCII but ; = , and %. */
const arbIdChar = fc
  .integer({ min: 0x21, max: 0x7e })
  .map((c) => String.fromCharCode(c))
  .filter((c) => !';=,%'.includes(c));
const arbId = fc.array(arbIdChar, { minLength: 1, maxLength: 128 }).map((cs) => cs.join(''));

/** Another well-formed parameter, never named customer_id. */
const arbName = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_-.0123456789ABCXYZ'),
    minLength: 1,
    maxLength: 12,
  })
  .filter((n) => n.toLowerCase() !== 'customer_id');
const arbOtherValue = fc
  .string({ maxLength: 20 })
  .map((v) => v.replace(/;/g, '').replace(/^[ \t]+|[ \t]+$/g, ''));
const arbOther = fc.tuple(arbName, arbOtherValue).map(([n, v]) => `${n}=${v}`);
const arbSep = fc.constantFrom(';', '; ', ' ;', ';\t', ' ; ');

/** Characters that make a customer id invalid (other than ';', which is the separator). */
const arbForbidden = fc.oneof(
  fc.constantFrom(
    '=',
    ',',
    '%',
    'é',
    '😀',
    ' ',
    '\t',
    '\n',
    '\r',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u0085',
    '\u00a0',
    '\u2028',
    '\u3000',
    '\ud800',
    '\udc00',
  ),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x7f, max: 0xffff }).map((c) => String.fromCharCode(c)),
);

const join = (parts: string[], seps: string[]) =>
  parts.reduce((acc, p, i) => (i === 0 ? p : acc + seps[(i - 1) % seps.length] + p), '');

describe('parseMetadataHeader', () => {
  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    [';', undefined],
    ['customer_id=abc', 'abc'],
    ['a=1; customer_id=x', 'x'],
    ['a=1;customer_id=x;b=2', 'x'],
    ['customer_id=x;', 'x'],
    ['  customer_id=x  ', 'x'],
    ['Customer_ID=x', 'x'],
    ['customer_id=first; customer_id=second', 'first'],
    ['customer_id=first; customer_id=not valid', 'first'],
    ['customer_idx=1; xcustomer_id=2', undefined],
    ['team=a b c; env=', undefined],
    ['customer_id=' + '~'.repeat(128), '~'.repeat(128)],
    ['customer_id=user@example.com', 'user@example.com'],
    ['customer_id=a+b/c:d', 'a+b/c:d'],
  ])('reads %p as customer id %p', (header, id) => {
    expect(parseMetadataHeader(header)).toEqual(
      id === undefined ? { ok: true } : { ok: true, customerId: id },
    );
  });

  it.each([
    ['customer_id='],
    ['customer_id=a b'],
    ['customer_id= abc'],
    ['customer_id=a=b'],
    ['customer_id=a\u0000b'],
    ['customer_id=a\u00a0b'],
    ['customer_id=' + 'x'.repeat(129)],
    ['customer_id=' + '😀'.repeat(129)],
    ['customer_id=bad value; customer_id=good'],
    ['customer_id=acct%41x'],
    ['customer_id=a,b'],
    ['customer_id=café'],
    ['customer_id=caf\u00c3\u00a9'],
  ])('rejects the customer id in %p', (header) => {
    expect(parseMetadataHeader(header)).toEqual({
      ok: false,
      message: CUSTOMER_ID_INVALID_MESSAGE,
    });
  });

  it.each([
    ['customer_id'],
    ['a=1; junk'],
    ['=x'],
    ['customer_id =x'],
    ['a b=1'],
    ['customer_id=ab;cd'],
  ])('rejects the malformed header %p', (header) => {
    expect(parseMetadataHeader(header)).toEqual({ ok: false, message: METADATA_MALFORMED_MESSAGE });
  });

  it('uses fixed messages', () => {
    expect(CUSTOMER_ID_INVALID_MESSAGE).toBe(
      "X-Ephemera-Metadata: customer_id must be 1-128 characters of visible ASCII ('!' to '~') other than ';', '=', ',' and '%'; map other ids to ones that fit, for example a hash of your own",
    );
    expect(METADATA_MALFORMED_MESSAGE).toBe(
      "X-Ephemera-Metadata must be ';'-separated name=value pairs without whitespace in names",
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.anything()), (v) => {
        expect(() => parseMetadataHeader(v as string)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any valid id among arbitrary other parameters', () => {
    fc.assert(
      fc.property(
        arbId,
        fc.array(arbOther, { maxLength: 4 }),
        fc.array(arbOther, { maxLength: 4 }),
        fc.array(arbSep, { minLength: 1, maxLength: 3 }),
        (id, before, after, seps) => {
          expect(isCustomerId(id)).toBe(true);
          const header = join([...before, `customer_id=${id}`, ...after], seps);
          expect(parseMetadataHeader(header)).toEqual({ ok: true, customerId: id });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('lets the first customer_id win', () => {
    fc.assert(
      fc.property(
        arbId,
        arbId,
        fc.array(arbOther, { maxLength: 3 }),
        arbSep,
        (first, second, others, sep) => {
          const header = join(
            [...others, `customer_id=${first}`, ...others, `CUSTOMER_ID=${second}`],
            [sep],
          );
          expect(parseMetadataHeader(header)).toEqual({ ok: true, customerId: first });
        },
      ),
    );
  });

  it('rejects any customer id containing a forbidden character, without echoing it', () => {
    fc.assert(
      fc.property(
        arbId,
        arbForbidden,
        arbId,
        fc.array(arbOther, { maxLength: 3 }),
        fc.array(arbOther, { maxLength: 3 }),
        (head, bad, tail, before, after) => {
          const value = head + bad + tail;
          const header = join([...before, `customer_id=${value}`, ...after], ['; ']);
          // A fixed message, so nothing of the value can be in it.
          expect(parseMetadataHeader(header)).toEqual({
            ok: false,
            message: CUSTOMER_ID_INVALID_MESSAGE,
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects ids that are too long, without echoing them', () => {
    fc.assert(
      fc.property(fc.array(arbIdChar, { minLength: 129, maxLength: 300 }), (cs) => {
        const value = cs.join('');
        const result = parseMetadataHeader(`customer_id=${value}`);
        expect(result).toEqual({ ok: false, message: CUSTOMER_ID_INVALID_MESSAGE });
      }),
      { numRuns: 200 },
    );
  });

  it('never puts any part of the header in an error message', () => {
    const canary = 'CANARY9Q';
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const result = parseMetadataHeader(`${a}${canary}${b}`);
        if (!result.ok) expect(result.message).not.toContain(canary);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseOptOutHeader', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['true', true],
    ['TRUE', true],
    [' True\t', true],
    ['false', false],
    ['False ', false],
  ])('reads %p as %p', (header, optOut) => {
    expect(parseOptOutHeader(header)).toEqual({ ok: true, optOut });
  });

  it.each(['yes', '1', 'on', 'true;', 'truee', 'tru e', 'true, true'])('rejects %p', (header) => {
    expect(parseOptOutHeader(header)).toEqual({ ok: false, message: OPT_OUT_INVALID_MESSAGE });
  });

  it('never throws and never echoes the value', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const r = parseOptOutHeader(v as string);
        if (!r.ok) expect(r.message).toBe("X-Ephemera-Learning-Opt-Out must be 'true' or 'false'");
      }),
    );
  });
});
