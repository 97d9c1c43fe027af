/**
 * Checking an uploaded PEM bundle (pure: no I/O).
 *
 * The text is split into PEM blocks (`-----BEGIN X-----` ... `-----END X-----`)
 * in one pass over its lines, with no regular expression over the whole text,
 * so the time is linear in its size whatever it holds. Every block must be a
 * `CERTIFICATE` that `node:crypto`'s X509Certificate parses and that has not
 * expired; nothing but whitespace may stand outside the blocks.
 *
 * Messages name blocks by their 1-based position and never quote the upload:
 * a private key pasted by mistake must not come back in an answer or a log.
 * The only text taken from the upload is a block's label, and only when it is
 * a short upper-case word list such as `PUBLIC KEY`.
 */

import { X509Certificate } from 'node:crypto';
import { TRUST_BUNDLE_MAX_BYTES } from '../../../lib/core/config-objects';
import { TrustStoreError } from './errors';

export interface CertificateSummary {
  /** Subject distinguished name on one line (`CN=..., O=...`). */
  readonly subject: string;
  readonly issuer: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as Node gives it). */
  readonly fingerprint256: string;
  /** End of validity, ISO-8601. */
  readonly notAfter: string;
  /** The certificate re-encoded as PEM (ends with a newline). */
  readonly pem: string;
}

export type BundleCheck =
  | { readonly ok: true; readonly certificates: CertificateSummary[] }
  | { readonly ok: false; readonly status: 400 | 413; readonly message: string };

/** One PEM block as found in the text. */
interface PemBlock {
  /** The label of the BEGIN line (`CERTIFICATE`, `PRIVATE KEY`, ...). */
  readonly label: string;
  /** 1-based line of the BEGIN line. */
  readonly line: number;
  /** The lines between BEGIN and END, trimmed. */
  readonly body: readonly string[];
  /** `missing`: no END line before the next BEGIN or the end; `mismatch`: END names another label. */
  readonly end: 'ok' | 'missing' | 'mismatch';
}

interface SplitPem {
  readonly blocks: PemBlock[];
  /** 1-based line of the first non-blank text outside every block. */
  readonly outsideLine?: number;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
/** A label that may be repeated in a message. */
const SAFE_LABEL = /^[A-Z0-9]+(?: [A-Z0-9]+){0,5}$/;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;

/** The label of a BEGIN or END line, or undefined when the line is not one. */
function labelOf(line: string, prefix: string): string | undefined {
  if (line.length <= prefix.length + DASHES.length) return undefined;
  if (!line.startsWith(prefix) || !line.endsWith(DASHES)) return undefined;
  return line.slice(prefix.length, line.length - DASHES.length);
}

/** Splits the text into PEM blocks: one pass over its lines. */
function splitPem(text: string): SplitPem {
  const blocks: PemBlock[] = [];
  let outsideLine: number | undefined;
  let open: { label: string; line: number; body: string[] } | undefined;
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const stop = nl === -1 ? text.length : nl;
    const line = text.slice(pos, stop).trim();
    pos = stop + 1;
    lineNo++;
    const begin = labelOf(line, BEGIN);
    if (begin !== undefined) {
      if (open)
        blocks.push({ label: open.label, line: open.line, body: open.body, end: 'missing' });
      open = { label: begin, line: lineNo, body: [] };
      continue;
    }
    if (open) {
      const end = labelOf(line, END);
      if (end !== undefined) {
        blocks.push({
          label: open.label,
          line: open.line,
          body: open.body,
          end: end === open.label ? 'ok' : 'mismatch',
        });
        open = undefined;
      } else if (line !== '') {
        open.body.push(line);
      }
      continue;
    }
    if (line !== '' && outsideLine === undefined) outsideLine = lineNo;
  }
  if (open) blocks.push({ label: open.label, line: open.line, body: open.body, end: 'missing' });
  return outsideLine === undefined ? { blocks } : { blocks, outsideLine };
}

const isPrivateKey = (label: string) => label.endsWith('PRIVATE KEY');

const certificatePem = (body: readonly string[]) =>
  `-----BEGIN CERTIFICATE-----\n${body.join('\n')}\n-----END CERTIFICATE-----\n`;

/** Parses one block as X.509; undefined when it is not a certificate Node can read. */
function parseBlock(block: PemBlock): X509Certificate | undefined {
  if (block.body.length === 0 || !block.body.every((l) => BASE64_LINE.test(l))) return undefined;
  try {
    const cert = new X509Certificate(certificatePem(block.body));
    return Number.isNaN(Date.parse(cert.validTo)) ? undefined : cert;
  } catch {
    return undefined;
  }
}

const oneLine = (name: string) => name.split('\n').join(', ');

function summary(cert: X509Certificate): CertificateSummary {
  const pem = cert.toString();
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    fingerprint256: cert.fingerprint256,
    notAfter: new Date(cert.validTo).toISOString(),
    pem: pem.endsWith('\n') ? pem : `${pem}\n`,
  };
}

const refuse = (message: string, status: 400 | 413 = 400): BundleCheck => ({
  ok: false,
  status,
  message,
});

/** What is wrong with one block (undefined: nothing), and its certificate when parsed. */
function checkBlock(
  block: PemBlock,
  position: number,
  total: number,
  now: Date,
): { problem: string } | { cert: X509Certificate } {
  const name = `certificate ${position} of ${total}`;
  if (isPrivateKey(block.label)) {
    return { problem: `${name} is a private key: upload certificates only, never a private key` };
  }
  if (block.label !== 'CERTIFICATE') {
    return {
      problem: SAFE_LABEL.test(block.label)
        ? `block ${position} is not a certificate (${block.label})`
        : `block ${position} is not a certificate`,
    };
  }
  if (block.end === 'missing') return { problem: `${name} is truncated (no END line)` };
  if (block.end === 'mismatch') {
    return { problem: `${name} ends with an END line for another kind of block` };
  }
  const cert = parseBlock(block);
  if (!cert) return { problem: `${name} does not parse as X.509` };
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now.getTime()) {
    return { problem: `${name} expired on ${notAfter.toISOString()}` };
  }
  return { cert };
}

/**
 * Checks an uploaded bundle: 413 when over {@link TRUST_BUNDLE_MAX_BYTES}
 * (UTF-8 bytes), 400 naming the first problem in the order of the text,
 * otherwise the certificates in order. Never throws.
 */
export function checkBundle(text: string, now: Date): BundleCheck {
  if (Buffer.byteLength(text, 'utf8') > TRUST_BUNDLE_MAX_BYTES) {
    return refuse(`the bundle exceeds the limit of ${TRUST_BUNDLE_MAX_BYTES} bytes`, 413);
  }
  const { blocks, outsideLine } = splitPem(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const outside = () => refuse(`text outside PEM blocks at line ${outsideLine}`);
  const certificates: CertificateSummary[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    if (outsideLine !== undefined && outsideLine < block.line) return outside();
    const checked = checkBlock(block, i + 1, blocks.length, now);
    if ('problem' in checked) return refuse(checked.problem);
    certificates.push(summary(checked.cert));
  }
  if (outsideLine !== undefined) return outside();
  if (certificates.length === 0) return refuse('the bundle holds no certificate');
  return { ok: true, certificates };
}

/**
 * The certificates of a bundle that was accepted before (no expiry check).
 * Throws {@link TrustStoreError} when a block is not a readable certificate
 * (the stored object was changed by something other than the admin API).
 */
export function summariseBundle(pem: string): CertificateSummary[] {
  const { blocks, outsideLine } = splitPem(pem);
  if (outsideLine !== undefined) throw new TrustStoreError('the stored trust bundle is malformed');
  return blocks.map((block) => {
    const cert =
      block.label === 'CERTIFICATE' && block.end === 'ok' ? parseBlock(block) : undefined;
    if (!cert) throw new TrustStoreError('the stored trust bundle is malformed');
    return summary(cert);
  });
}

/**
 * The PEM of each certificate block of a stored bundle, as TLS `ca` entries
 * (not parsed here; TLS reads them). Blocks that are not complete
 * certificates are left out.
 */
export function bundleCertificates(pem: string): string[] {
  return splitPem(pem)
    .blocks.filter((b) => b.label === 'CERTIFICATE' && b.end === 'ok' && b.body.length > 0)
    .map((b) => certificatePem(b.body));
}

/** The stored form of accepted certificates: each re-encoded PEM, joined by newlines. */
export function joinBundle(certificates: readonly CertificateSummary[]): string {
  return certificates.length === 0
    ? ''
    : `${certificates.map((c) => c.pem.trimEnd()).join('\n')}\n`;
}
