import { App } from 'aws-cdk-lib';
import fc from 'fast-check';
import { parseConfig } from '../../lambda/gateway/config';
import { checkUpstreamBaseUrl, isLoopbackHost } from '../../lib/core/upstream-url';
import { readConfig } from '../../lib/config';
import { testEnv } from '../lambda/gateway/support/fixtures';

/** Whether synth (cdk.json context) accepts the URL. */
function synthAccepts(url: string): boolean {
  try {
    readConfig(new App({ context: { upstream: 'openai-compatible', upstreamBaseUrl: url } }));
    return true;
  } catch {
    return false;
  }
}

/** Whether the gateway's cold start accepts the URL. */
function gatewayAccepts(url: string): boolean {
  try {
    parseConfig(testEnv({ UPSTREAM_KIND: 'openai-compatible', UPSTREAM_BASE_URL: url }));
    return true;
  } catch {
    return false;
  }
}

const urls = fc.oneof(
  fc.webUrl({
    withQueryParameters: true,
    withFragments: true,
    authoritySettings: { withUserInfo: true },
  }),
  fc.webUrl().map((u) => u.replace(/^http:/, 'https:')),
  fc.string(),
  fc.constantFrom(
    'https://llm.internal.example/v1/',
    'https://user:pass@llm.internal.example',
    'https://:pass@llm.internal.example',
    'https://llm.internal.example?x=1',
    'https://llm.internal.example#f',
    'http://127.0.0.1:8000',
    'ftp://llm.internal.example',
    'https://llm.internal.example:8443',
  ),
);

describe('the upstream URL check', () => {
  test('synth and the gateway accept exactly the same URLs', () => {
    fc.assert(
      fc.property(urls, (url) => {
        expect(synthAccepts(url)).toBe(gatewayAccepts(url));
      }),
      { numRuns: 300 },
    );
  });

  test.each([
    ['https://llm.internal.example/v1/', { ok: true, url: 'https://llm.internal.example/v1' }],
    ['https://llm.internal.example', { ok: true, url: 'https://llm.internal.example' }],
    [
      'http://llm.internal.example',
      {
        ok: false,
        problem: 'must be an https:// URL without credentials, query or fragment (TLS only)',
      },
    ],
    [
      'https://llm.internal.example/?q',
      { ok: false, problem: 'must be an https:// URL without credentials, query or fragment' },
    ],
  ])('%s', (url, expected) => {
    expect(checkUpstreamBaseUrl(url)).toEqual(expected);
  });

  test('credentials are refused with a pointer to upstreamSecretArn, and the password is never repeated', () => {
    const checked = checkUpstreamBaseUrl('https://svc:CANARY-pw-91@llm.internal.example');
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.problem).toContain('upstreamSecretArn');
      expect(checked.problem).not.toContain('CANARY');
    }
  });

  test('plain http only for a loopback host, and only where asked for (local mode)', () => {
    const local = { allowLoopbackHttp: true };
    expect(checkUpstreamBaseUrl('http://127.0.0.1:11434', local)).toEqual({
      ok: true,
      url: 'http://127.0.0.1:11434',
    });
    expect(checkUpstreamBaseUrl('http://localhost:8000/v1', local).ok).toBe(true);
    expect(checkUpstreamBaseUrl('http://[::1]:8000', local).ok).toBe(true);
    expect(checkUpstreamBaseUrl('http://10.0.0.5:8000', local)).toEqual({
      ok: false,
      problem:
        'must use https:// unless the host is a loopback address (127.0.0.1, ::1, localhost)',
    });
    expect(checkUpstreamBaseUrl('http://127.0.0.1:8000').ok).toBe(false);
  });

  test('loopback hosts', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['128.0.0.1', '127.0.0', 'localhost.example', '0.0.0.0'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
