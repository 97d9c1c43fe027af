/**
 * Erasure you can trust, end to end over HTTPS against local mode in its own
 * process, with its state on disk (promise P7):
 *
 * - one customer id, two forms: tagged by the header, erased by the query
 *   (percent-encoded); tagged by the header, erased by the header and checked
 *   through the query filter;
 * - a streamed request that started before the erasure and ended after it is
 *   erased with the rest, and the receipt counts it;
 * - the receipt's signed `excludes` is empty: local mode has no backups;
 * - afterwards nothing of the erased customer is left: not its hash in
 *   anything local mode printed, not its request ids or image keys in any
 *   file under the data folder (which held them before: the check can fail),
 *   not its hash in any file but the DynamoDB store, where the deletion job
 *   keeps it as the record of the erasure; the other customer is intact.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';

const run = randomBytes(3).toString('hex');

/** Every file under `dir`, with its bytes as latin1 text (so any byte sequence can be searched). */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return [{ path, text: readFileSync(path).toString('latin1') }];
  });
}

describe('local mode: erasure end to end, on disk', () => {
  let local: LocalProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ephemera-erasure-'));
    // Requests may run 6 s: a job waits 7 s. The demo model streams a word every 100 ms.
    local = await startLocalProcess({
      env: {
        EPHEMERA_DATA_DIR: dataDir,
        EPHEMERA_REQUEST_TIMEOUT_SECONDS: '6',
        EPHEMERA_DEMO_WORD_DELAY_MS: '100',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = (extra: Record<string, string> = {}) => ({ ...bearer(local.adminKey), ...extra });
  const tagged = (customerId: string) => ({
    ...bearer(local.inferenceKey),
    'x-ephemera-metadata': `customer_id=${customerId}`,
  });

  async function records(customerId: string): Promise<Record<string, unknown>[]> {
    const answer = await local.call(
      `/v1/logs?filter=${encodeURIComponent(`customer_id::${customerId}`)}`,
      { headers: admin() },
    );
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { data: Record<string, unknown>[] }).data;
  }

  async function finished(deletionId: string) {
    const deadline = Date.now() + 40_000;
    for (;;) {
      const answer = await local.call(`/v1/user_data/deletions/${deletionId}`, {
        headers: admin(),
      });
      const job = JSON.parse(answer.body) as {
        status: string;
        counts: Record<string, number>;
        receipt?: Record<string, unknown>;
      };
      if (job.status === 'done' || Date.now() > deadline) return job;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it('tag by header, erase by query: an in-flight stream is erased too, and nothing is left', async () => {
    // Characters that read differently if a form were decoded twice or not at all.
    const erased = `acct:${run}+1@x`;
    const kept = `keep-${run}`;
    for (const customer of [erased, kept]) {
      const answer = await local.call('/v1/chat/completions', {
        headers: tagged(customer),
        body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] },
      });
      expect(answer.status).toBe(200);
      const image = await local.call('/v1/images/generations', {
        headers: tagged(customer),
        body: { model: 'demo-image', prompt: 'a lighthouse', response_format: 'url' },
      });
      expect(image.status).toBe(200);
    }
    const before = await records(erased);
    expect(before).toHaveLength(2);
    const hash = String(before[0].customer_hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const requestIds = before.map((r) => String(r.request_id));
    const imageUrl = (
      await local.call('/v1/images/generations', {
        headers: tagged(erased),
        body: { model: 'demo-image', prompt: 'a boat', response_format: 'url' },
      })
    ).body;
    const imageKeys = [...imageUrl.matchAll(/images\/\d{10}\/[A-Za-z0-9_-]+\.png/g)].map(
      (m) => m[0],
    );
    expect(imageKeys.length).toBeGreaterThan(0);
    requestIds.push(...(await records(erased)).map((r) => String(r.request_id)));

    // The data folder holds them now: the check below can fail.
    const onDisk = filesUnder(dataDir)
      .map((f) => f.text)
      .join('\n');
    expect(requestIds.some((id) => onDisk.includes(id))).toBe(true);

    // A long streamed answer starts, then the erasure is asked for while it runs.
    const streamStarted = performance.now();
    const stream = local.call('/v1/chat/completions', {
      headers: tagged(erased),
      body: {
        model: 'demo-chat',
        stream: true,
        messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse keeper.' }],
      },
    });
    await new Promise((r) => setTimeout(r, 400));
    const requested = await local.call(`/v1/user_data?customer_id=${encodeURIComponent(erased)}`, {
      method: 'DELETE',
      headers: admin(),
    });
    const requestedAt = performance.now();
    expect(requested.status).toBe(202);
    const streamed = await stream;
    expect(streamed.status).toBe(200);
    // The stream really spanned the erasure request.
    expect(streamed.arrivals[streamed.arrivals.length - 1].at).toBeGreaterThan(requestedAt);
    expect(requestedAt - streamStarted).toBeGreaterThan(0);

    const { deletion_id: id } = JSON.parse(requested.body) as { deletion_id: string };
    const job = await finished(id);
    expect(job).toMatchObject({
      status: 'done',
      counts: { records_erased: 4, images_erased: 2 },
    });
    // Local mode keeps no backups and no access logs, so its receipts name
    // nothing (a deployment's always name point-in-time recovery:
    // test/app/receipt-scope.test.ts).
    expect(job.receipt?.excludes).toEqual([]);
    expect(await records(erased)).toEqual([]);
    expect(await records(kept)).toHaveLength(2);

    // Nothing of the erased customer is left where it should not be.
    expect(local.output()).not.toContain(hash);
    expect(local.output()).toContain('"customer_tagged":true');
    for (const file of filesUnder(dataDir)) {
      const where = relative(dataDir, file.path);
      for (const value of [...requestIds, ...imageKeys]) {
        expect({ where, found: file.text.includes(value) }).toEqual({ where, found: false });
      }
      if (!where.startsWith(join('stores', 'dynamodb'))) {
        expect({ where, hash: file.text.includes(hash) }).toEqual({ where, hash: false });
      }
    }
  }, 90_000);

  it('tag by header, erase by header, checked through the query filter', async () => {
    const customer = `c%${run}`;
    // `%` is outside the rule: refused in the header, and in the query once decoded.
    const refused = await local.call('/v1/chat/completions', {
      headers: tagged(customer),
      body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hi' }] },
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).error.param).toBe('X-Ephemera-Metadata');
    expect(refused.body).not.toContain(run);

    const fine = `c.${run}`;
    await local.call('/v1/chat/completions', {
      headers: tagged(fine),
      body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hi' }] },
    });
    expect(await records(fine)).toHaveLength(1);
    const requested = await local.call('/v1/user_data', {
      method: 'DELETE',
      headers: admin({ 'x-ephemera-metadata': `customer_id=${fine}` }),
    });
    expect(requested.status).toBe(202);
    const job = await finished((JSON.parse(requested.body) as { deletion_id: string }).deletion_id);
    expect(job).toMatchObject({ status: 'done', counts: { records_erased: 1 } });
    expect(await records(fine)).toEqual([]);
  }, 60_000);
});
