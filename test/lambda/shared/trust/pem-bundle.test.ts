/**
 * Checking uploaded PEM bundles: every refused upload names the block at
 * fault without quoting it, the accepted form is normalised, and the parser
 * is linear on pathological input.
 */

import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { TRUST_BUNDLE_MAX_BYTES } from '../../../../lib/core/config-objects';
import {
  bundleCertificates,
  checkBundle,
  joinBundle,
  summariseBundle,
} from '../../../../lambda/shared/trust/pem-bundle';
import { TrustStoreError } from '../../../../lambda/shared/trust/trust-source';
import { makeCa, makeLeaf, type TestCa } from '../../../support/tls-fixtures';

const NOW = new Date();
let caA: TestCa;
let caB: TestCa;
let leafPem: string;
let expiredPem: string;
let privateKeyPem: string;
let ecKeyPem: string;
let publicKeyPem: string;

/** A block whose base64 does not decode to a certificate (but looks like one). */
const BOGUS_CERT =
  '-----BEGIN CERTIFICATE-----\nTUlJQm9ndXNDZXJ0aWZpY2F0ZURhdGFUaGF0SXNOb3RERVI=\n-----END CERTIFICATE-----\n';

const body = (pem: string) =>
  pem
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('-----'))
    .join('');

beforeAll(async () => {
  caA = await makeCa('Bundle CA A');
  caB = await makeCa('Bundle CA B');
  leafPem = (await makeLeaf(caA, { hosts: ['upstream.internal'] })).cert;
  expiredPem = (await makeCa('Expired CA', { expired: true })).cert;
  privateKeyPem = caA.key;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  ecKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString();
  publicKeyPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
});

function refused(text: string): { status: number; message: string } {
  const result = checkBundle(text, NOW);
  if (result.ok) throw new Error('expected the bundle to be refused');
  return { status: result.status, message: result.message };
}

describe('accepted bundles', () => {
  test('one CA: its summary on one line, the stored form re-encoded', () => {
    const result = checkBundle(caA.cert, NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [cert] = result.certificates;
    const x = new X509Certificate(caA.cert);
    expect(cert.subject).toBe('CN=Bundle CA A, O=Ephemera tests');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.fingerprint256).toBe(x.fingerprint256);
    expect(cert.notAfter).toBe(new Date(x.validTo).toISOString());
    expect(cert.pem).toBe(x.toString());
    expect(joinBundle(result.certificates)).toBe(caA.cert);
  });

  test('several certificates, CRLF line ends, indentation, blank lines and a BOM', () => {
    const messy =
      '\uFEFF\r\n  \r\n' +
      caA.cert.split('\n').join('\r\n') +
      '\n\n\t' +
      caB.cert.split('\n').join('\n  ') +
      '\n' +
      leafPem;
    const result = checkBundle(messy, NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.certificates.map((c) => c.subject)).toEqual([
      'CN=Bundle CA A, O=Ephemera tests',
      'CN=Bundle CA B, O=Ephemera tests',
      'CN=upstream.internal',
    ]);
    // A pinned leaf is accepted like a CA; the stored form is the canonical PEM, one after the other.
    const stored = joinBundle(result.certificates);
    expect(stored).toBe(caA.cert + caB.cert + leafPem);
    expect(summariseBundle(stored)).toEqual(result.certificates);
    expect(bundleCertificates(stored)).toEqual([caA.cert, caB.cert, leafPem]);
  });

  test('summariseBundle does not check expiry, but refuses what is not a certificate', () => {
    expect(summariseBundle(expiredPem)).toHaveLength(1);
    expect(summariseBundle('')).toEqual([]);
    expect(() => summariseBundle(privateKeyPem)).toThrow(TrustStoreError);
    expect(() => summariseBundle(BOGUS_CERT)).toThrow(TrustStoreError);
    expect(() => summariseBundle(`junk\n${caA.cert}`)).toThrow(TrustStoreError);
  });
});

describe('refused bundles', () => {
  test('over the limit: 413, measured in UTF-8 bytes', () => {
    const over = caA.cert + '\n'.repeat(TRUST_BUNDLE_MAX_BYTES);
    expect(refused(over)).toEqual({
      status: 413,
      message: `the bundle exceeds the limit of ${TRUST_BUNDLE_MAX_BYTES} bytes`,
    });
    // Fewer characters than the limit, more bytes: 'é' is two bytes.
    const multiByte = 'é'.repeat(TRUST_BUNDLE_MAX_BYTES / 2 + 1);
    expect(multiByte.length).toBeLessThan(TRUST_BUNDLE_MAX_BYTES);
    expect(refused(multiByte).status).toBe(413);
  });

  test.each([
    ['PKCS#8', () => privateKeyPem],
    ['SEC1 (EC PRIVATE KEY)', () => ecKeyPem],
    ['(encrypted)', () => privateKeyPem.replace(/PRIVATE KEY/g, 'ENCRYPTED PRIVATE KEY')],
    ['truncated', () => privateKeyPem.split('\n').slice(0, 2).join('\n')],
  ])('a %s private key is refused, and the message holds none of it', (_label, keyOf) => {
    const key = keyOf();
    const canary = 'CANARYKEYMATERIAL0123';
    const withCanary = key.replace(/\n/, `\n${canary}\n`);
    const { status, message } = refused(`${caA.cert}${withCanary}\n${caB.cert}`);
    expect(status).toBe(400);
    expect(message).toBe(
      'certificate 2 of 3 is a private key: upload certificates only, never a private key',
    );
    expect(message).not.toContain(canary);
    for (const line of body(key).match(/.{1,16}/g) ?? []) expect(message).not.toContain(line);
  });

  test('garbage with no block names the line; an empty bundle holds no certificate', () => {
    expect(refused('hello world\n')).toEqual({
      status: 400,
      message: 'text outside PEM blocks at line 1',
    });
    expect(refused('\n\n  SECRET-CANARY text\n').message).toBe('text outside PEM blocks at line 3');
    expect(refused('')).toEqual({ status: 400, message: 'the bundle holds no certificate' });
    expect(refused(' \n\r\n\t\n').message).toBe('the bundle holds no certificate');
    // Binary (a DER file) is text outside blocks too.
    expect(refused(Buffer.from([0x30, 0x82, 0x01, 0x0a, 0xff]).toString('latin1')).message).toBe(
      'text outside PEM blocks at line 1',
    );
  });

  test('text outside blocks between certificates names its line', () => {
    const lines = caA.cert.split('\n').length; // the cert's lines plus the empty one after it
    expect(refused(`${caA.cert}subject=CN=Bundle CA B\n${caB.cert}`).message).toBe(
      `text outside PEM blocks at line ${lines}`,
    );
    expect(refused(`${caA.cert}${caB.cert}trailing words`).message).toMatch(
      /^text outside PEM blocks at line \d+$/,
    );
  });

  test('a truncated block', () => {
    const cut = caB.cert.split('\n').slice(0, 4).join('\n');
    expect(refused(`${caA.cert}${leafPem}${cut}`).message).toBe(
      'certificate 3 of 3 is truncated (no END line)',
    );
    // A block cut short before the next BEGIN line is truncated too, and the next one still counts.
    expect(refused(`${cut}\n${caA.cert}`).message).toBe(
      'certificate 1 of 2 is truncated (no END line)',
    );
    expect(
      refused(caA.cert.replace('-----END CERTIFICATE-----', '-----END PUBLIC KEY-----')).message,
    ).toBe('certificate 1 of 1 ends with an END line for another kind of block');
  });

  test('a block that is not a certificate names its label (only when the label is a plain word list)', () => {
    expect(refused(`${caA.cert}${publicKeyPem}`).message).toBe(
      'block 2 is not a certificate (PUBLIC KEY)',
    );
    const odd = publicKeyPem.replace(/PUBLIC KEY/g, 'secret-label <canary>');
    expect(refused(odd).message).toBe('block 1 is not a certificate');
  });

  test('a CERTIFICATE block that does not parse as X.509', () => {
    expect(refused(`${BOGUS_CERT}${caA.cert}`).message).toBe(
      'certificate 1 of 2 does not parse as X.509',
    );
    const withHeader = caA.cert.replace('\n', '\nProc-Type: 4,ENCRYPTED\n');
    expect(refused(withHeader).message).toBe('certificate 1 of 1 does not parse as X.509');
    expect(refused('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n').message).toBe(
      'certificate 1 of 1 does not parse as X.509',
    );
  });

  test('an expired certificate names its expiry', () => {
    const notAfter = new Date(new X509Certificate(expiredPem).validTo).toISOString();
    expect(refused(`${caA.cert}${expiredPem}`).message).toBe(
      `certificate 2 of 2 expired on ${notAfter}`,
    );
  });

  test('valid and invalid mixed: the first problem, by position', () => {
    expect(refused(`${caA.cert}${caB.cert}${BOGUS_CERT}${privateKeyPem}`).message).toBe(
      'certificate 3 of 4 does not parse as X.509',
    );
  });
});

describe('any mix of blocks', () => {
  type Kind = 'valid' | 'private' | 'public' | 'bogus' | 'truncated' | 'expired' | 'text';
  const arbKind = fc.constantFrom<Kind>(
    'valid',
    'valid',
    'valid',
    'private',
    'public',
    'bogus',
    'truncated',
    'expired',
    'text',
  );
  const arbSep = fc.constantFrom('', '\n', '\r\n', '  \n', '\n\t\n');

  test('never throws, and names the first bad block by its position', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbKind, arbSep, fc.boolean()), { maxLength: 8 }), (parts) => {
        const texts: string[] = [];
        let blockCount = 0;
        for (const [kind] of parts) if (kind !== 'text') blockCount++;
        let position = 0;
        let expected: string | undefined;
        let lineOf = 1;
        for (const [kind, sep, crlf] of parts) {
          let text: string;
          switch (kind) {
            case 'valid':
              text = crlf ? caB.cert.split('\n').join('\r\n') : caA.cert;
              break;
            case 'private':
              text = privateKeyPem;
              break;
            case 'public':
              text = publicKeyPem;
              break;
            case 'bogus':
              text = BOGUS_CERT;
              break;
            case 'truncated':
              text = caA.cert.split('\n').slice(0, 3).join('\n') + '\n';
              break;
            case 'expired':
              text = expiredPem;
              break;
            case 'text':
              text = 'some text\n';
              break;
          }
          if (kind !== 'text') position++;
          if (expected === undefined) {
            const name = `certificate ${position} of ${blockCount}`;
            expected = {
              valid: undefined,
              private: `${name} is a private key: upload certificates only, never a private key`,
              public: `block ${position} is not a certificate (PUBLIC KEY)`,
              bogus: `${name} does not parse as X.509`,
              truncated: `${name} is truncated (no END line)`,
              expired: `${name} expired on`,
              text: `text outside PEM blocks at line ${lineOf}`,
            }[kind];
          }
          texts.push(text + sep);
          lineOf += (text + sep).split('\n').length - 1;
        }
        const result = checkBundle(texts.join(''), NOW);
        if (expected === undefined) {
          if (blockCount === 0) {
            expect(result).toEqual({
              ok: false,
              status: 400,
              message: 'the bundle holds no certificate',
            });
          } else {
            expect(result.ok).toBe(true);
            if (result.ok) expect(result.certificates).toHaveLength(blockCount);
          }
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.status).toBe(400);
            expect(result.message.startsWith(expected)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.constantFrom(
              '-----BEGIN CERTIFICATE-----',
              '-----END CERTIFICATE-----',
              '-----BEGIN ',
              '-----',
              '\n',
              '\r',
            ),
          ),
          { maxLength: 30 },
        ),
        (pieces) => {
          const result = checkBundle(pieces.join(''), NOW);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
    );
  });
});

describe('linear time', () => {
  /** Bodies that make backtracking or per-block rescanning parsers blow up. */
  const PATHOLOGICAL: Record<string, (bytes: number) => string> = {
    'BEGIN lines without END': (n) => '-----BEGIN CERTIFICATE-----\n'.repeat(n / 28),
    'one endless line in a block': (n) => `-----BEGIN CERTIFICATE-----\n${'A'.repeat(n - 28)}`,
    'dashes after BEGIN': (n) => `-----BEGIN ${'-'.repeat(n - 11)}`,
    'a huge base64 body': (n) =>
      `-----BEGIN CERTIFICATE-----\n${'QUFB'.repeat((n - 60) / 4)}\n-----END CERTIFICATE-----\n`,
    'whitespace then text': (n) => `${' \t'.repeat((n - 1) / 2)}x`,
    'many tiny blocks': (n) =>
      '-----BEGIN A-----\n-----END A-----\n'.repeat(n / 34) + '-----BEGIN CERTIFICATE-----\n',
  };

  function fastest(text: string, runs: number): number {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      checkBundle(text, NOW);
      best = Math.min(best, Number(process.hrtime.bigint() - t0));
    }
    return best;
  }

  test.each(Object.keys(PATHOLOGICAL))(
    '%s: 100 times the size takes far less than 10,000 times as long',
    (name) => {
      const make = PATHOLOGICAL[name];
      const small = make(5 * 1000);
      const large = make(TRUST_BUNDLE_MAX_BYTES - 1000);
      expect(Buffer.byteLength(large)).toBeLessThanOrEqual(TRUST_BUNDLE_MAX_BYTES);
      expect(checkBundle(large, NOW).ok).toBe(false);
      fastest(small, 5); // warm up
      const smallNs = Math.max(fastest(small, 30), 20_000); // under 20 µs is timer noise
      const largeNs = fastest(large, 3);
      // Linear: about 100×; quadratic: about 10,000×.
      expect(largeNs / smallNs).toBeLessThan(1_500);
    },
  );
});
