/**
 * trustedFetch against real TLS servers on loopback: a private CA and its
 * leaf, an unrelated CA and its leaf, a TLS 1.1-only server. Each trust mode
 * reaches what it should and nothing else; a settings change switches trust;
 * aborts, streaming, redirects and the request fields behave as the global
 * fetch's do.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTimeout } from '../../../../lambda/gateway/upstream-contract';
import type { TrustMode } from '../../../../lambda/shared/trust/trust-document';
import { trustedFetch, type FetchLike } from '../../../../lambda/shared/trust/trusted-fetch';
import {
  PUBLIC_ONLY,
  TrustStoreError,
  type TrustReader,
  type TrustSettings,
} from '../../../../lambda/shared/trust/trust-source';
import {
  makeCa,
  makeLeaf,
  startTlsServer,
  type TestCa,
  type TlsServer,
} from '../../../support/tls-fixtures';

let privateCa: TestCa;
let unrelatedCa: TestCa;
let privateServer: TlsServer;
let unrelatedServer: TlsServer;
let oldTlsServer: TlsServer;
let chainServer: TlsServer;
/** Tells a streaming request's server to write its second piece. */
let releaseSecond: () => void = () => undefined;
let special: TlsServer;

/** A reader whose settings the test changes. */
function settable(
  initial: TrustSettings,
): TrustReader & { settings: TrustSettings; calls: number } {
  const reader = {
    settings: initial,
    calls: 0,
    current: async () => {
      reader.calls++;
      return reader.settings;
    },
  };
  return reader;
}

const settings = (mode: TrustMode, ca: readonly string[], version = `${mode}-${ca.length}`) => ({
  mode,
  ca,
  version,
});

/** Why a call failed: the error and its cause's code (TLS errors carry one). */
async function failure(
  p: Promise<unknown>,
): Promise<{ err: Error; code?: string; causeMessage?: string }> {
  try {
    await p;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return {
      err: err as Error,
      ...(cause?.code ? { code: cause.code } : {}),
      ...(cause?.message ? { causeMessage: cause.message } : {}),
    };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  privateCa = await makeCa('Private upstream CA');
  unrelatedCa = await makeCa('Unrelated CA');
  const privateLeaf = await makeLeaf(privateCa);
  privateServer = await startTlsServer(privateLeaf);
  unrelatedServer = await startTlsServer(await makeLeaf(unrelatedCa));
  oldTlsServer = await startTlsServer(privateLeaf, { maxVersion: 'TLSv1.1' });
  chainServer = await startTlsServer(privateLeaf, { sendChain: true });
  special = await startTlsServer(privateLeaf, {
    handler: (received, res) => {
      switch (received.path) {
        case '/stream':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('first;');
          new Promise<void>((resolve) => {
            releaseSecond = resolve;
          }).then(() => res.end('second'));
          return;
        case '/hang':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('started');
          return; // never ends
        case '/hang-headers':
          return; // never answers
        case '/redirect':
          res.writeHead(302, { location: 'https://example.com/' });
          res.end('moved');
          return;
        case '/not-found':
          res.writeHead(404, { 'content-type': 'application/json', 'x-extra': 'yes' });
          res.end('{"error":"nope"}');
          return;
        case '/no-content':
          res.writeHead(204);
          res.end();
          return;
        default:
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              method: received.method,
              headers: received.headers,
              body: received.body.toString('utf8'),
            }),
          );
      }
    },
  });
});

afterAll(async () => {
  releaseSecond();
  await Promise.all(
    [privateServer, unrelatedServer, oldTlsServer, chainServer, special].map((s) => s?.close()),
  );
});

describe('trust modes', () => {
  test.each<TrustMode>(['uploaded_and_public', 'uploaded_only'])(
    '%s: the server signed by the uploaded CA is reached, the unrelated one refused',
    async (mode) => {
      const fetch = trustedFetch(settable(settings(mode, [privateCa.cert])));
      const res = await fetch(`${privateServer.url}/ok`, { method: 'GET' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
      const chained = await fetch(`${chainServer.url}/ok`, { method: 'GET' });
      expect(chained.status).toBe(200);
      await chained.arrayBuffer();
      const { err, code } = await failure(fetch(`${unrelatedServer.url}/ok`, { method: 'GET' }));
      expect(err).toBeInstanceOf(TypeError);
      expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    },
  );

  test('uploaded_only with nothing uploaded trusts nothing (not even the public CAs)', async () => {
    const fetch = trustedFetch(settable(settings('uploaded_only', [])));
    const { code } = await failure(fetch(`${privateServer.url}/ok`, { method: 'GET' }));
    expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('the public CAs alone (PUBLIC_ONLY) do not trust a private CA', async () => {
    const fetch = trustedFetch(PUBLIC_ONLY);
    const { code } = await failure(fetch(`${privateServer.url}/ok`, { method: 'GET' }));
    expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test("NODE_EXTRA_CA_CERTS counts as public (as in Node's default store), not as uploaded", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'extra-ca-'));
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    try {
      writeFileSync(join(dir, 'extra.pem'), unrelatedCa.cert);
      process.env.NODE_EXTRA_CA_CERTS = join(dir, 'extra.pem');
      const pub = trustedFetch(settable(settings('uploaded_and_public', [privateCa.cert], 'x1')));
      const res = await pub(`${unrelatedServer.url}/ok`, { method: 'GET' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const only = trustedFetch(settable(settings('uploaded_only', [privateCa.cert], 'x2')));
      expect((await failure(only(`${unrelatedServer.url}/ok`, { method: 'GET' }))).code).toBe(
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      );
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('insecure_trust_all reaches both', async () => {
    const fetch = trustedFetch(settable(settings('insecure_trust_all', [])));
    for (const server of [privateServer, unrelatedServer]) {
      const res = await fetch(`${server.url}/ok`, { method: 'GET' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });

  test('a server that speaks only TLS 1.1 is refused, whatever the mode', async () => {
    // The server really does speak TLS 1.1 to a client that allows it.
    const spoken = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        `${oldTlsServer.url}/ok`,
        {
          ca: [privateCa.cert],
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
          agent: false,
        },
        (res) => {
          resolve(String((res.socket as { getProtocol?: () => string }).getProtocol?.()));
          res.resume();
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(spoken).toBe('TLSv1.1');
    for (const mode of ['uploaded_and_public', 'uploaded_only', 'insecure_trust_all'] as const) {
      const fetch = trustedFetch(settable(settings(mode, [privateCa.cert])));
      const { err, code, causeMessage } = await failure(
        fetch(`${oldTlsServer.url}/ok`, { method: 'GET' }),
      );
      expect(err).toBeInstanceOf(TypeError);
      expect(code).toMatch(/^(EPROTO|ERR_SSL_.*)$/);
      expect(causeMessage).toMatch(/protocol version|unsupported protocol/i);
    }
  });

  test('a TrustStoreError from the reader rejects the call as it is (fail closed)', async () => {
    const failing: TrustReader = {
      current: async () => {
        throw new TrustStoreError('the trust store could not be read');
      },
    };
    await expect(
      trustedFetch(failing)(`${privateServer.url}/ok`, { method: 'GET' }),
    ).rejects.toBeInstanceOf(TrustStoreError);
  });
});

describe('settings changes', () => {
  test('a new version switches trust at once; a request under way on the old one finishes', async () => {
    const reader = settable(settings('uploaded_only', [privateCa.cert], 'v1'));
    const fetch = trustedFetch(reader);
    expect((await fetch(`${privateServer.url}/ok`, { method: 'GET' })).status).toBe(200);
    expect((await failure(fetch(`${unrelatedServer.url}/ok`, { method: 'GET' }))).code).toBe(
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );

    const streaming = await fetch(`${special.url}/stream`, { method: 'GET' });
    reader.settings = settings('uploaded_only', [unrelatedCa.cert], 'v2');
    const switched = await fetch(`${unrelatedServer.url}/ok`, { method: 'GET' });
    expect(switched.status).toBe(200);
    await switched.arrayBuffer();
    expect((await failure(fetch(`${privateServer.url}/ok`, { method: 'GET' }))).code).toBe(
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
    releaseSecond();
    expect(await streaming.text()).toBe('first;second');
  });

  test('the same version reuses the kept-alive connection', async () => {
    const reader = settable(settings('uploaded_only', [privateCa.cert], 'same'));
    const fetch = trustedFetch(reader);
    const ports = new Set<number | undefined>();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${special.url}/echo`, { method: 'GET' });
      await res.arrayBuffer();
      ports.add(special.requests.at(-1)?.remotePort);
    }
    expect(ports.size).toBe(1);
    expect(reader.calls).toBe(3);
  });
});

describe('as the global fetch', () => {
  const fetch = () => trustedFetch(settable(settings('uploaded_only', [privateCa.cert])));

  test('sends the method, headers and body (string or bytes); returns status and headers', async () => {
    const f = fetch();
    const res = await f(`${special.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: '{"a":1}',
    });
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/json');
    const echoed = (await res.json()) as {
      method: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed).toMatchObject({
      method: 'POST',
      body: '{"a":1}',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer t',
        'content-length': '7',
      },
    });
    const bytes = await f(`${special.url}/echo`, {
      method: 'PUT',
      headers: new Headers({ 'x-test': '1' }),
      body: new TextEncoder().encode('héllo'),
    });
    expect(await bytes.json()).toMatchObject({
      method: 'PUT',
      body: 'héllo',
      headers: { 'x-test': '1' },
    });
  });

  test('a header Node refuses is a TypeError, and nothing is sent', async () => {
    const before = special.requests.length;
    const { err } = await failure(
      fetch()(`${special.url}/echo`, { method: 'GET', headers: { 'x-bad': 'a\u0001b' } }),
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(special.requests.length).toBe(before);
  });

  test('a non-2xx answer is a Response (not ok), its body readable; 204 has no body', async () => {
    const f = fetch();
    const res = await f(`${special.url}/not-found`, { method: 'GET' });
    expect(res.ok).toBe(false);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(await res.text()).toBe('{"error":"nope"}');
    const empty = await f(`${special.url}/no-content`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  test('a redirect is never followed: the call rejects', async () => {
    const { err } = await failure(
      fetch()(`${special.url}/redirect`, { method: 'GET', redirect: 'error' }),
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).not.toContain('moved');
  });

  test('the body streams: the first piece is read before the server writes the second', async () => {
    const res = await fetch()(`${special.url}/stream`, { method: 'GET' });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('first;');
    releaseSecond();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('second');
  });

  test.each([
    ['an abort', () => undefined],
    ['a deadline (TimeoutError)', () => new DOMException('Deadline', 'TimeoutError')],
  ])(
    '%s before the answer rejects as the global fetch does, and isTimeout agrees',
    async (_l, reasonOf) => {
      const outcomes: Array<{ name: string; timeout: boolean }> = [];
      // The global fetch does not trust the private CA: it is aborted on a plain HTTP server that hangs.
      const cases: Array<[FetchLike, string]> = [
        [fetch(), `${special.url}/hang-headers`],
        [(url, init) => globalThis.fetch(url, init), await hangingHttpUrl()],
      ];
      for (const [f, url] of cases) {
        const controller = new AbortController();
        const pending = f(url, { method: 'GET', signal: controller.signal });
        setTimeout(() => controller.abort(reasonOf()), 50);
        const { err } = await failure(pending);
        outcomes.push({ name: err.name, timeout: isTimeout(err, controller.signal) });
        // And by the error alone, without the signal's state.
        expect(isTimeout(err, new AbortController().signal)).toBe(err.name === 'TimeoutError');
      }
      expect(outcomes[0]).toEqual(outcomes[1]);
      expect(outcomes[0].timeout).toBe(true);
    },
  );

  test('an abort while the body is read errors the body and closes the connection', async () => {
    const controller = new AbortController();
    const res = await fetch()(`${special.url}/hang`, { method: 'GET', signal: controller.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('started');
    const next = reader.read();
    controller.abort(new DOMException('Deadline', 'TimeoutError'));
    await expect(next).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  test('a deadline while the trust is still being read rejects at once', async () => {
    const slow: TrustReader = { current: () => new Promise<TrustSettings>(() => undefined) };
    const controller = new AbortController();
    const pending = trustedFetch(slow)(`${special.url}/echo`, {
      method: 'GET',
      signal: controller.signal,
    });
    controller.abort(new DOMException('Deadline', 'TimeoutError'));
    await expect(pending).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  test('an already aborted signal rejects without a connection', async () => {
    const reader = settable(settings('uploaded_only', [privateCa.cert]));
    const before = special.requests.length;
    const { err } = await failure(
      trustedFetch(reader)(`${special.url}/echo`, { method: 'GET', signal: AbortSignal.abort() }),
    );
    expect(err.name).toBe('AbortError');
    expect(reader.calls).toBe(0);
    expect(special.requests.length).toBe(before);
  });

  test('plain http (loopback) works without asking for trust; other schemes are refused', async () => {
    const server = createServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const reader = settable(settings('uploaded_only', []));
      const res = await trustedFetch(reader)(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        {
          method: 'GET',
        },
      );
      expect(await res.text()).toBe('plain');
      expect(reader.calls).toBe(0);
      await expect(
        trustedFetch(reader)('file:///etc/passwd', { method: 'GET' }),
      ).rejects.toBeInstanceOf(TypeError);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

let hangingHttp: Server | undefined;
async function hangingHttpUrl(): Promise<string> {
  if (!hangingHttp) {
    hangingHttp = createServer(() => undefined);
    await new Promise<void>((resolve) => hangingHttp!.listen(0, '127.0.0.1', resolve));
  }
  return `http://127.0.0.1:${(hangingHttp.address() as AddressInfo).port}/`;
}

afterAll(async () => {
  if (hangingHttp) {
    hangingHttp.closeAllConnections();
    await new Promise((resolve) => hangingHttp!.close(resolve));
  }
});
