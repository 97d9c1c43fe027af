/**
 * TLS: the endpoint refuses TLS 1.0 and 1.1 and negotiates TLS 1.3.
 *
 * Each handshake is a `node:tls` connection with `minVersion` and
 * `maxVersion` pinned to one version. The old versions are offered at
 * OpenSSL security level 0, so that this client really offers them (a
 * refusal is then the server's). TLS 1.3 is also what a client that offers
 * 1.2 and 1.3 gets, and its certificate verifies against the trust in use.
 */

import { connect, type SecureVersion } from 'node:tls';
import { isIP } from 'node:net';
import { fail, pass, type Outcome, type SmokeRun } from '../run';
import type { Target } from '../target';

export type Handshake =
  | { readonly ok: true; readonly protocol: string; readonly cipher: string }
  | { readonly ok: false; readonly code: string };

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Errors that say the connection never reached a TLS server (not a refusal). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);
/** Errors that say this client could not offer the version at all. */
const CANNOT_OFFER = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_TLS_INVALID_PROTOCOL_VERSION',
]);

/** One handshake with the version range given; the certificate is verified. */
export function handshake(
  target: Target,
  minVersion: SecureVersion,
  maxVersion: SecureVersion | undefined,
): Promise<Handshake> {
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const legacy = minVersion === 'TLSv1' || minVersion === 'TLSv1.1';
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      minVersion,
      ...(maxVersion ? { maxVersion } : {}),
      ...(target.ca ? { ca: [...target.ca] } : {}),
      ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      timeout: HANDSHAKE_TIMEOUT_MS,
    });
    const finish = (result: Handshake) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () =>
      finish({
        ok: true,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher()?.name ?? 'unknown',
      }),
    );
    socket.once('timeout', () => finish({ ok: false, code: 'ETIMEDOUT' }));
    socket.once('error', (err: Error & { code?: string }) =>
      finish({ ok: false, code: err.code ?? err.name }),
    );
  });
}

/** Why an old version's handshake does not count as a refusal, if it does not. */
function notARefusal(result: Handshake): string | undefined {
  if (result.ok) return `accepted (${result.protocol})`;
  if (UNREACHABLE.has(result.code)) return `no TLS server reached (${result.code})`;
  if (CANNOT_OFFER.has(result.code)) return `this client cannot offer it (${result.code})`;
  return undefined;
}

export async function checkTls(target: Target, _run: SmokeRun): Promise<Outcome> {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const [version, label] of [
    ['TLSv1', 'TLS 1.0'],
    ['TLSv1.1', 'TLS 1.1'],
  ] as const) {
    const result = await handshake(target, version, version);
    const problem = notARefusal(result);
    if (problem) problems.push(`${label} ${problem}`);
    else seen.push(`${label} refused (${(result as { code: string }).code})`);
  }
  const pinned = await handshake(target, 'TLSv1.3', 'TLSv1.3');
  if (!pinned.ok) problems.push(`TLS 1.3 not negotiated (${pinned.code})`);
  const offered = await handshake(target, 'TLSv1.2', undefined);
  if (!offered.ok) problems.push(`a TLS 1.2-1.3 client failed (${offered.code})`);
  else if (offered.protocol !== 'TLSv1.3') {
    problems.push(`a TLS 1.2-1.3 client got ${offered.protocol}`);
  }
  if (pinned.ok && offered.ok && offered.protocol === 'TLSv1.3') {
    seen.push(`TLS 1.3 negotiated (${pinned.cipher})`);
  }
  return problems.length === 0 ? pass(seen.join(', ')) : fail([...problems, ...seen].join(', '));
}
