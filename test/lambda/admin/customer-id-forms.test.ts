/**
 * One customer id, whatever form it arrives in (promise P7): the
 * `X-Ephemera-Metadata` header, checked as sent, and the query
 * (`?customer_id=`, `?filter=customer_id::`), percent-decoded first. For any
 * text and any percent-encoding of it, both forms name the same customer (so
 * the same keyed hash), or both are refused with a 400 that names where the
 * id came from and never echoes it.
 */

import fc from 'fast-check';
import type { ALBEvent } from 'aws-lambda';
import { customerIdOf } from '../../../lambda/admin/erasure';
import { resolveSelector } from '../../../lambda/admin/log-query';
import { HttpError } from '../../../lambda/shared/http-errors';
import { toHttpRequest } from '../../../lambda/shared/http-event';
import { CUSTOMER_ID_MESSAGES, isCustomerId } from '../../../lib/core/customer-id';
import { parseMetadataHeaders } from '../../../lib/core/metadata-header';
import { trimOws } from '../../../lib/core/text';

const CANARY = 'Qz7canary';

/** A load-balancer event as the front door hands it over (query still percent-encoded). */
function event(headers: Record<string, string[]>, query: Record<string, string[]>): ALBEvent {
  return {
    requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:x' } },
    httpMethod: 'DELETE',
    path: '/v1/user_data',
    multiValueHeaders: headers,
    multiValueQueryStringParameters: query,
    body: null,
    isBase64Encoded: false,
  } as ALBEvent;
}

type Outcome = { ok: true; id: string } | { ok: false; param: string | null; message: string };

function outcome(run: () => string): Outcome {
  try {
    return { ok: true, id: run() };
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    expect(err.status).toBe(400);
    return { ok: false, param: err.param, message: err.message };
  }
}

/** How a client's HTTP stack hands a header over: the UTF-8 bytes read as Latin-1 (Node's reading). */
const asSentInHeader = (id: string) => Buffer.from(id, 'utf8').toString('latin1');

/** One of the many percent-encodings of `id`: every byte that must be escaped is, others at random. */
const arbEncoding = (id: string) =>
  fc
    .array(fc.tuple(fc.boolean(), fc.boolean()), {
      minLength: Buffer.byteLength(id),
      maxLength: Buffer.byteLength(id),
    })
    .map((choices) =>
      [...Buffer.from(id, 'utf8')]
        .map((byte, i) => {
          const [escape, upper] = choices[i];
          const c = String.fromCharCode(byte);
          const must = byte < 0x21 || byte > 0x7e || '%&#+=;'.includes(c);
          if (!must && !escape) return c;
          const hex = byte.toString(16).padStart(2, '0');
          return `%${upper ? hex.toUpperCase() : hex}`;
        })
        .join(''),
    );

/** Texts near the rule's edges: every excluded character, `%` escapes, non-ASCII, lengths 0-140. */
const arbId = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 140 }),
  fc.string({ unit: fc.constantFrom(...'ab%;=,+ é~!#&"\'\\'), maxLength: 20 }),
  fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 120,
    maxLength: 132,
  }),
  fc.constantFrom('acct%41x', 'café', 'a+b', 'user@example.com', '%', 'x'.repeat(128)),
);

describe('a customer id in the header and in the query', () => {
  it('names the same customer in both forms, or is refused in both', () => {
    fc.assert(
      fc.property(
        arbId.chain((id) => fc.tuple(fc.constant(id), arbEncoding(id))),
        ([id, encoded]) => {
          const byHeader = outcome(() =>
            customerIdOf(
              toHttpRequest(
                event({ 'x-ephemera-metadata': [`customer_id=${asSentInHeader(id)}`] }, {}),
              ),
            ),
          );
          const byQuery = outcome(() =>
            customerIdOf(toHttpRequest(event({}, { customer_id: [encoded] }))),
          );
          const filter = resolveSelector(
            undefined,
            toHttpRequest(event({}, { filter: [`customer_id%3A%3A${encoded}`] })).query.get(
              'filter',
            ) ?? [],
          );
          if (isCustomerId(id)) {
            expect(byHeader).toEqual({ ok: true, id });
            expect(byQuery).toEqual({ ok: true, id });
            expect(filter).toEqual({ ok: true, selector: { kind: 'customer', customerId: id } });
            // The gateway tags requests with the same parser.
            expect(parseMetadataHeaders([`customer_id=${id}`])).toEqual({
              ok: true,
              customerId: id,
            });
          } else {
            expect(byQuery.ok).toBe(false);
            expect(filter.ok).toBe(false);
            // The header's own syntax may still read an id out of the text: `;`
            // ends a parameter and spaces around one are not part of it
            // (`a ;b=c` is the id `a` and a parameter `b`). Nothing else is read.
            if (byHeader.ok) expect(byHeader.id).toBe(trimOws((id as string).split(';')[0]));
          }
          // Never two different customers for the same text.
          if (byHeader.ok && byQuery.ok) expect(byHeader.id).toBe(byQuery.id);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses with a message that names the source and the rule, never the id', () => {
    const id = `${CANARY}é`;
    expect(
      outcome(() =>
        customerIdOf(
          toHttpRequest(
            event({ 'x-ephemera-metadata': [`customer_id=${asSentInHeader(id)}`] }, {}),
          ),
        ),
      ),
    ).toEqual({ ok: false, param: 'X-Ephemera-Metadata', message: CUSTOMER_ID_MESSAGES.header });
    expect(
      outcome(() =>
        customerIdOf(toHttpRequest(event({}, { customer_id: [encodeURIComponent(id)] }))),
      ),
    ).toEqual({ ok: false, param: 'customer_id', message: CUSTOMER_ID_MESSAGES.query });
    expect(resolveSelector(undefined, [`customer_id::${CANARY}%41`])).toEqual({
      ok: false,
      param: 'filter',
      message: CUSTOMER_ID_MESSAGES.filter,
    });
    for (const message of Object.values(CUSTOMER_ID_MESSAGES)) {
      expect(message).not.toContain(CANARY);
      expect(message).toContain('map other ids');
    }
  });

  it('reads the two forms of the issue report as one customer, or none', () => {
    // The header value is taken as sent: `%41` is not an escape there, so it is refused...
    expect(
      outcome(() =>
        customerIdOf(toHttpRequest(event({ 'x-ephemera-metadata': ['customer_id=acct%41x'] }, {}))),
      ).ok,
    ).toBe(false);
    // ...and the query's `acct%41x` is `acctAx`, the same customer as the header `acctAx`.
    expect(
      outcome(() => customerIdOf(toHttpRequest(event({}, { customer_id: ['acct%41x'] })))),
    ).toEqual({ ok: true, id: 'acctAx' });
    expect(
      outcome(() =>
        customerIdOf(
          toHttpRequest(
            event({ 'x-ephemera-metadata': ['customer_id=acctAx'] }, { customer_id: ['acct%41x'] }),
          ),
        ),
      ),
    ).toEqual({ ok: true, id: 'acctAx' });
  });
});
