/**
 * The outbound trust store end to end, over real HTTPS against local mode in
 * its own process: a model upstream behind a private CA is refused until an
 * admin uploads that CA through the admin API, then reached; a refused
 * upload leaves the bundle in force; `uploaded_only` still reaches it;
 * trust-all is refused where the deployment does not allow it; deleting the
 * certificates returns to the public CAs, and the upstream is refused again.
 */

import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';
import { startFakeOpenAi, type FakeOpenAi } from '../lambda/gateway/support/fake-openai';
import { makeCa, makeLeaf, type TestCa } from '../support/tls-fixtures';

/** Local mode re-reads the trust store every second. */
const settle = () => new Promise((r) => setTimeout(r, 1_200));

describe('local mode: outbound trust store (end to end)', () => {
  let local: LocalProcess;
  let upstream: FakeOpenAi;
  let privateCa: TestCa;

  beforeAll(async () => {
    privateCa = await makeCa('Ephemera e2e private CA');
    const leaf = await makeLeaf(privateCa);
    upstream = await startFakeOpenAi({ key: leaf.key, cert: leaf.cert });
    local = await startLocalProcess({
      args: ['--in-memory'],
      env: {
        EPHEMERA_UPSTREAM_URL: upstream.baseUrl,
        EPHEMERA_MODELS: JSON.stringify([{ id: 'vllm', upstreamId: 'org/model', kind: 'chat' }]),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    await upstream?.stop();
  });

  const admin = () => bearer(local.adminKey);
  const chat = () =>
    local.call('/v1/chat/completions', {
      method: 'POST',
      headers: bearer(local.inferenceKey),
      body: { model: 'vllm', messages: [{ role: 'user', content: 'Hello' }] },
    });
  const trust = async () => {
    const answer = await local.call('/v1/trust', { headers: admin() });
    expect(answer.status).toBe(200);
    return JSON.parse(answer.body) as {
      mode: string;
      certificates: { subject: string; fingerprint_sha256: string }[];
    };
  };

  it('reaches a private-CA upstream only while its CA is trusted', async () => {
    // Public CAs only: the upstream's certificate does not verify.
    expect((await chat()).status).toBe(502);
    expect(upstream.requests).toHaveLength(0);

    const uploaded = await local.call('/v1/trust/certificates', {
      method: 'PUT',
      headers: { ...admin(), 'content-type': 'application/x-pem-file' },
      rawBody: privateCa.cert,
    });
    expect(uploaded.status).toBe(200);
    const before = await trust();
    expect(before.mode).toBe('uploaded_and_public');
    expect(before.certificates.map((c) => c.subject)).toEqual([
      expect.stringContaining('Ephemera e2e private CA'),
    ]);
    await settle();
    expect((await chat()).status).toBe(200);

    // A refused upload (a private key) changes nothing and never echoes the key.
    const key = await local.call('/v1/trust/certificates', {
      method: 'PUT',
      headers: { ...admin(), 'content-type': 'application/x-pem-file' },
      rawBody: privateCa.key,
    });
    expect(key.status).toBe(400);
    expect(key.body).toContain('private key');
    expect(key.body).not.toContain(privateCa.key.split('\n')[1]);
    expect(await trust()).toEqual(before);

    // Uploaded only: still reached. Trust-all: refused by this deployment.
    const only = await local.call('/v1/trust/mode', {
      method: 'PUT',
      headers: admin(),
      body: { mode: 'uploaded_only' },
    });
    expect(only.status).toBe(200);
    const all = await local.call('/v1/trust/mode', {
      method: 'PUT',
      headers: admin(),
      body: { mode: 'insecure_trust_all' },
    });
    expect(all.status).toBe(403);
    expect(all.headers['x-ephemera-warning']).toBeUndefined();
    await settle();
    expect((await chat()).status).toBe(200);

    // Deleting the certificates returns to the public CAs: refused again.
    const deleted = await local.call('/v1/trust/certificates', {
      method: 'DELETE',
      headers: admin(),
    });
    expect(deleted.status).toBe(200);
    expect(await trust()).toMatchObject({ mode: 'uploaded_and_public', certificates: [] });
    await settle();
    expect((await chat()).status).toBe(502);
  }, 60_000);
});
