/**
 * The one rule every `https://` URL of the configuration follows (the model
 * upstream's base URL, the receipt webhook's URL), at synth, in the
 * constructs and at each function's cold start:
 *
 * - `https://host[:port][/path]`: no query, no fragment;
 * - no credentials (`user:password@`): the URL is written into the template
 *   and a function's environment in plain text;
 * - no whitespace or control characters anywhere: the URL parser would drop
 *   them silently, so the URL used would not be the one written.
 *
 * Each use may add named extras (`HttpsUrlExtras`); it never loosens the base.
 * Problems never repeat the URL, which may hold a password.
 */

/** What a valid value looks like, for messages. */
export const HTTPS_URL_RULE = 'an https:// URL without credentials, query or fragment';

/** The extra constraints (or allowances) of one use of the rule. */
export interface HttpsUrlExtras {
  /**
   * Accept `http://` for loopback hosts (127.0.0.0/8, ::1, localhost): local
   * mode's upstream only, never synth.
   * @default false
   */
  readonly allowLoopbackHttp?: boolean;
}

/** Why a URL was refused. */
export type HttpsUrlFault = 'malformed' | 'credentials' | 'plain-http';

export type HttpsUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | {
      readonly ok: false;
      readonly fault: HttpsUrlFault;
      /** Completes "<setting> ..."; a use may word the `credentials` fault its own way. */
      readonly problem: string;
    };

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

/** Whether `s` holds a space, a control character or DEL. */
function hasSpaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Checks `value` against the base rule and `extras`. */
export function checkHttpsUrl(value: unknown, extras: HttpsUrlExtras = {}): HttpsUrlCheck {
  const rule = extras.allowLoopbackHttp
    ? `${HTTPS_URL_RULE} (http:// for a loopback host only)`
    : HTTPS_URL_RULE;
  const malformed = { ok: false, fault: 'malformed', problem: `must be ${rule}` } as const;
  if (typeof value !== 'string' || value === '' || hasSpaceOrControl(value)) return malformed;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return malformed;
  }
  if (url.username || url.password) {
    return {
      ok: false,
      fault: 'credentials',
      problem:
        'must not carry credentials (they would be stored in plain text in the template and the function environment)',
    };
  }
  const httpAllowed = extras.allowLoopbackHttp === true && isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !httpAllowed) {
    return {
      ok: false,
      fault: 'plain-http',
      problem: extras.allowLoopbackHttp
        ? 'must use https:// unless the host is a loopback address (127.0.0.1, ::1, localhost)'
        : `must be ${rule} (TLS only)`,
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return malformed;
  if (url.search || url.hash || value.includes('?') || value.includes('#')) return malformed;
  return { ok: true, url };
}
