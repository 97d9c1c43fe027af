import fc from 'fast-check';
import {
  CUSTOMER_ID_INVALID_MESSAGE,
  MAX_QUOTED_UNKNOWN,
  METADATA_MALFORMED_MESSAGE,
  METADATA_PARAMETERS,
  metadataWarnings,
  OPT_OUT_INVALID_MESSAGE,
  parseMetadataHeader,
  parseMetadataHeaders,
  parseOptOutHeader,
  type MetadataHeaderResult,
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

/** The result without its unknown parameters (checked on their own below). */
const known = (r: MetadataHeaderResult) =>
  Object.fromEntries(Object.entries(r).filter(([field]) => field !== 'unknown'));

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
    expect(known(parseMetadataHeader(header))).toEqual(
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
          expect(known(parseMetadataHeader(header))).toEqual({ ok: true, customerId: id });
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
          expect(known(parseMetadataHeader(header))).toEqual({ ok: true, customerId: first });
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

describe('unknown metadata parameters', () => {
  const KNOWN_TEXT = '(known: customer_id)';
  /** Every shape a warning may take: a quoted token-only name, or a count. */
  const WARNING_SHAPE =
    /^(unknown metadata parameter '[A-Za-z0-9_.-]{1,64}'|[1-9]\d* (more )?unknown metadata parameters?) \(known: customer_id\)$/;

  const unknownOf = (header: string) => {
    const r = parseMetadataHeader(header);
    if (!r.ok) throw new Error('expected a valid header');
    return r.unknown;
  };

  /** Any spelling of a known name: each letter in either case. */
  const arbKnownSpelling = fc
    .constantFrom(...METADATA_PARAMETERS)
    .chain((name) =>
      fc
        .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((upper) =>
          [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
        ),
    );
  const isKnown = (name: string) =>
    (METADATA_PARAMETERS as readonly string[]).includes(name.toLowerCase());
  /** Names that may be quoted back: the safe token pattern, never a known name. */
  const arbSafeUnknown = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/).filter((n) => !isKnown(n));
  /** Well-formed names outside the safe pattern: another character, or too long. */
  const arbUnsafeUnknown = fc.oneof(
    fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9_.-]{0,10}$/),
        fc.oneof(
          fc.constantFrom("'", '"', '(', ')', ',', '<', '>', '/', '\\', ':', 'é', '😀', '%', '`'),
          fc
            .string({ minLength: 1, maxLength: 1, unit: 'grapheme' })
            .filter((c) => !/[A-Za-z0-9_.\-=;\s\p{Cc}]/u.test(c)),
        ),
        fc.stringMatching(/^[A-Za-z0-9_.-]{0,10}$/),
      )
      .map(([a, bad, b]) => `${a}${bad}${b}`),
    fc.stringMatching(/^[A-Za-z0-9_.-]{65,100}$/),
  );
  const arbValue = fc.stringMatching(/^[!-:<-~]{0,20}$/); // visible ASCII but ';'

  it.each<[string, string[], number]>([
    ['customerid=abc', ['customerid'], 0],
    ['customerId=abc; customer-id=abc', ['customerId', 'customer-id'], 0],
    ['team=a; Team=b; TEAM=c; env=', ['team', 'env'], 0],
    ['a=1;b=2;c=3;d=4;e=5;D=6', ['a', 'b', 'c'], 2],
    ['é=1; customer_id=x', [], 1],
    [`${'n'.repeat(64)}=1; ${'n'.repeat(65)}=1`, ['n'.repeat(64)], 1],
    ["it's=1; x(y)=2; ok.name-1_2=3", ['ok.name-1_2'], 2],
  ])('reports the unknown parameters of %p', (header, names, unnamed) => {
    expect(unknownOf(header)).toEqual({ names, unnamed });
  });

  it.each([
    'customer_id=abc',
    'CUSTOMER_ID=abc',
    'Customer_Id=abc; customer_id=second',
    '',
    ';  ;',
  ])('reports nothing for %p', (header) => {
    expect(unknownOf(header)).toBeUndefined();
  });

  it('reports across repeated headers as across one', () => {
    expect(parseMetadataHeaders(['customerid=a', 'customer_id=b; customerid=c'])).toEqual({
      ok: true,
      customerId: 'b',
      unknown: { names: ['customerid'], unnamed: 0 },
    });
  });

  it('reports nothing when the header is refused', () => {
    expect(parseMetadataHeader('customerid=a; customer_id=')).toEqual({
      ok: false,
      message: CUSTOMER_ID_INVALID_MESSAGE,
    });
    expect(parseMetadataHeader('customerid=a; junk')).toEqual({
      ok: false,
      message: METADATA_MALFORMED_MESSAGE,
    });
  });

  it('never reports a known name, in any spelling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbKnownSpelling, arbId), { minLength: 1, maxLength: 6 }),
        arbSep,
        (pairs, sep) => {
          const header = join(
            pairs.map(([n, v]) => `${n}=${v}`),
            [sep],
          );
          const r = parseMetadataHeader(header);
          expect(r).toEqual({ ok: true, customerId: pairs[0][1] });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reports unknown safe names: the first few distinct ones by name, the rest by count', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(arbSafeUnknown, arbKnownSpelling), arbValue), {
          maxLength: 8,
        }),
        arbId,
        arbSep,
        (pairs, id, sep) => {
          const header = join([`customer_id=${id}`, ...pairs.map(([n, v]) => `${n}=${v}`)], [sep]);
          const distinct = new Map<string, string>();
          for (const [n] of pairs) {
            if (!isKnown(n) && !distinct.has(n.toLowerCase())) distinct.set(n.toLowerCase(), n);
          }
          const spelled = [...distinct.values()];
          const r = parseMetadataHeader(header);
          expect(r).toEqual({
            ok: true,
            customerId: id,
            ...(spelled.length === 0
              ? {}
              : {
                  unknown: {
                    names: spelled.slice(0, MAX_QUOTED_UNKNOWN),
                    unnamed: Math.max(0, spelled.length - MAX_QUOTED_UNKNOWN),
                  },
                }),
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never quotes an unsafe name, only counts it; never any value', () => {
    const canary = 'VALUE-CANARY-3f9a';
    fc.assert(
      fc.property(
        fc.array(fc.oneof(arbUnsafeUnknown, arbSafeUnknown, arbKnownSpelling), {
          minLength: 1,
          maxLength: 8,
        }),
        (names) => {
          const header = names
            .map((n, i) => `${n}=${isKnown(n) ? `id-${i}` : `${canary}${i}`}`)
            .join('; ');
          const r = parseMetadataHeader(header);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          const warnings = metadataWarnings(r.unknown);
          for (const w of warnings) {
            expect(w).toMatch(WARNING_SHAPE);
            expect(w).not.toContain(canary);
          }
          for (const n of names.filter((x) => !/^[A-Za-z0-9_.-]{1,64}$/.test(x))) {
            expect(r.unknown?.names ?? []).not.toContain(n);
            expect(warnings.join(', ')).not.toContain(`'${n}'`);
          }
          const distinct = new Set(names.filter((n) => !isKnown(n)).map((n) => n.toLowerCase()));
          expect((r.unknown?.names.length ?? 0) + (r.unknown?.unnamed ?? 0)).toBe(distinct.size);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('words the warnings: one per quoted name, then a count; no commas; bounded', () => {
    expect(metadataWarnings(undefined)).toEqual([]);
    expect(metadataWarnings({ names: ['customerid'], unnamed: 0 })).toEqual([
      `unknown metadata parameter 'customerid' ${KNOWN_TEXT}`,
    ]);
    expect(metadataWarnings({ names: ['a', 'b'], unnamed: 1 })).toEqual([
      `unknown metadata parameter 'a' ${KNOWN_TEXT}`,
      `unknown metadata parameter 'b' ${KNOWN_TEXT}`,
      `1 more unknown metadata parameter ${KNOWN_TEXT}`,
    ]);
    expect(metadataWarnings({ names: [], unnamed: 2 })).toEqual([
      `2 unknown metadata parameters ${KNOWN_TEXT}`,
    ]);
    // The longest possible: the most names, each as long as may be, and a count.
    const longest = metadataWarnings({
      names: Array.from({ length: MAX_QUOTED_UNKNOWN }, () => 'n'.repeat(64)),
      unnamed: 1_000_000,
    });
    expect(longest).toHaveLength(MAX_QUOTED_UNKNOWN + 1);
    for (const w of longest) expect(w.length).toBeLessThanOrEqual(120);
    expect(longest.join(', ').length).toBeLessThan(512);
    expect(longest.join('')).not.toContain(',');
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
