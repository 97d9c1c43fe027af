/**
 * The model upstream's base URL: one check, used by synth (configuration and
 * the InferenceGateway construct), by the gateway at cold start and by local
 * mode, so a URL one of them accepts is never refused by another.
 *
 * Rules: `https://host[:port][/path]`, no query or fragment, and no
 * credentials in the URL (they would be written into the template and the
 * function's environment in plain text: the token belongs in a Secrets Manager
 * secret). Plain `http://` only where asked for, and then only for a loopback
 * host, as local model servers serve. Messages never repeat the URL, which may
 * hold a password.
 */

import { trimEnd } from './text';

export interface UpstreamUrlOptions {
  /**
   * Accept `http://` for loopback hosts (127.0.0.0/8, ::1, localhost): local mode only.
   * @default false
   */
  readonly allowLoopbackHttp?: boolean;
}

export type UpstreamUrlCheck =
  | { readonly ok: true; /** Normalised, without a trailing slash. */ readonly url: string }
  | { readonly ok: false; /** Completes "<setting> ..." */ readonly problem: string };

/** What a valid value looks like, for messages. */
export const UPSTREAM_URL_RULE = 'an https:// URL without credentials, query or fragment';

export const UPSTREAM_URL_CREDENTIALS_PROBLEM =
  'must not carry credentials (user:password@ would be stored in plain text in the template and the function environment): keep the upstream token in a Secrets Manager secret and name it with upstreamSecretArn';

/** Whether a URL host is a loopback address or name. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host === '::1') return true;
  const parts = host.split('.');
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
  );
}

export function checkUpstreamBaseUrl(
  value: unknown,
  options: UpstreamUrlOptions = {},
): UpstreamUrlCheck {
  const rule = options.allowLoopbackHttp
    ? `${UPSTREAM_URL_RULE} (http:// for a loopback host only)`
    : UPSTREAM_URL_RULE;
  if (typeof value !== 'string' || value === '') return { ok: false, problem: `must be ${rule}` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `must be ${rule}` };
  }
  if (url.username || url.password) return { ok: false, problem: UPSTREAM_URL_CREDENTIALS_PROBLEM };
  const httpAllowed = options.allowLoopbackHttp === true && isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !httpAllowed) {
    return {
      ok: false,
      problem: options.allowLoopbackHttp
        ? 'must use https:// unless the host is a loopback address (127.0.0.1, ::1, localhost)'
        : `must be ${rule} (TLS only)`,
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, problem: `must be ${rule}` };
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return { ok: false, problem: `must be ${rule}` };
  }
  return { ok: true, url: trimEnd(url.href, '/') };
}
