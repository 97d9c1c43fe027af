/**
 * The model upstream's base URL: one check, used by synth (configuration and
 * the InferenceGateway construct), by the gateway at cold start and by local
 * mode, so a URL one of them accepts is never refused by another.
 *
 * The base rule of every configured URL (lib/core/https-url.ts:
 * `https://host[:port][/path]`, no credentials, query or fragment), plus
 * these extras: plain `http://` only where asked for (local mode), and then
 * only for a loopback host, as local model servers serve; a credentials
 * problem that points at `upstreamSecretArn`; and the URL normalised without
 * a trailing slash (API paths are appended to it). Messages never repeat the
 * URL, which may hold a password.
 */

import { checkHttpsUrl, HTTPS_URL_RULE, isLoopbackHost } from './https-url';
import { trimEnd } from './text';

export { isLoopbackHost };

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
export const UPSTREAM_URL_RULE = HTTPS_URL_RULE;

export const UPSTREAM_URL_CREDENTIALS_PROBLEM =
  'must not carry credentials (user:password@ would be stored in plain text in the template and the function environment): keep the upstream token in a Secrets Manager secret and name it with upstreamSecretArn (upstream.credentials on the InferenceGateway construct)';

export function checkUpstreamBaseUrl(
  value: unknown,
  options: UpstreamUrlOptions = {},
): UpstreamUrlCheck {
  const checked = checkHttpsUrl(value, { allowLoopbackHttp: options.allowLoopbackHttp });
  if (checked.ok) return { ok: true, url: trimEnd(checked.url.href, '/') };
  return {
    ok: false,
    problem: checked.fault === 'credentials' ? UPSTREAM_URL_CREDENTIALS_PROBLEM : checked.problem,
  };
}
