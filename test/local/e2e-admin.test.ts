/**
 * The admin plane and the customer-id header rules end to end, over real
 * HTTPS against local mode in its own process.
 *
 * Erasure (P7): two customers use the API, one is erased; the job finishes,
 * its receipt verifies against the signing key's public half (fetched from
 * the KMS stand-in as `aws kms get-public-key` would), nothing of that
 * customer remains (records, images, image URLs), and the other customer is
 * untouched.
 *
 * Header rules: each rule of `X-Ephemera-Metadata` and
 * `X-Ephemera-Learning-Opt-Out` as a request, checked through the usage log
 * (`GET /v1/logs`), the way an operator would check it.
 */

import { randomBytes } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { verifyReceipt, type Receipt } from '../../lambda/shared/receipt';
import { LOCAL_REGION, localS3Client } from '../../local/stores';
import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';

const run = randomBytes(3).toString('hex');

describe('local mode: admin plane and header rules (end to end)', () => {
  let local: LocalProcess;
  let s3: S3Client;
  let kms: KMSClient;

  beforeAll(async () => {
    // Requests here last well under 4 s, so a deletion job waits 5 s (4 s + the margin).
    local = await startLocalProcess({
      args: ['--in-memory'],
      env: { EPHEMERA_REQUEST_TIMEOUT_SECONDS: '4' },
    });
    // The stand-ins take only this run's credentials, which local mode hands over its IPC channel.
    const { credentials } = local.services;
    kms = new KMSClient({ region: LOCAL_REGION, credentials, endpoint: local.services.kms });
    s3 = localS3Client(local.services.s3, credentials, local.ca);
  }, 60_000);
  afterAll(async () => {
    kms?.destroy();
    s3?.destroy();
    await local?.stop();
  });

  const admin = (extra: Record<string, string | string[]> = {}) => ({
    ...bearer(local.adminKey),
    ...extra,
  });
  const tagged = (metadata: string | string[], extra: Record<string, string> = {}) => ({
    ...bearer(local.inferenceKey),
    'x-ephemera-metadata': metadata,
    ...extra,
  });
  const chat = { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] };

  /** Request ids of the customer's usage records, newest first. */
  async function logsOf(customerId: string): Promise<string[]> {
    const answer = await local.call('/v1/logs', {
      headers: admin({ 'x-ephemera-metadata': `customer_id=${customerId}` }),
    });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { data: { request_id: string }[] }).data.map(
      (r) => r.request_id,
    );
  }
  async function recordOf(requestId: string): Promise<Record<string, unknown> | undefined> {
    const answer = await local.call(`/v1/logs?filter=request_id::${requestId}`, {
      headers: admin(),
    });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { data: Record<string, unknown>[] }).data[0];
  }
  async function imageKeys(): Promise<string[]> {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: local.services.names.imageBucket }),
    );
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  it('erases one customer everywhere, with a receipt that verifies, and leaves the other intact', async () => {
    const alice = `alice-${run}`;
    const bob = `bob-${run}`;
    const urls: Record<string, string> = {};
    for (const customer of [alice, bob]) {
      for (let i = 0; i < 3; i++) {
        const answer = await local.call('/v1/chat/completions', {
          headers: tagged(`customer_id=${customer}`),
          body: chat,
        });
        expect(answer.status).toBe(200);
      }
      const image = await local.call('/v1/images/generations', {
        headers: tagged(`customer_id=${customer}`),
        body: { model: 'demo-image', prompt: 'a lighthouse', response_format: 'url' },
      });
      expect(image.status).toBe(200);
      urls[customer] = (JSON.parse(image.body) as { data: { url: string }[] }).data[0].url;
    }
    expect(await logsOf(alice)).toHaveLength(4);
    expect(await logsOf(bob)).toHaveLength(4);
    expect(await imageKeys()).toHaveLength(2);

    const requested = await local.call('/v1/user_data', {
      method: 'DELETE',
      headers: admin({ 'x-ephemera-metadata': `customer_id=${alice}` }),
    });
    expect(requested.status).toBe(202);
    const { deletion_id: id } = JSON.parse(requested.body) as { deletion_id: string };

    let job: { status: string; counts: Record<string, number>; receipt?: Receipt } | undefined;
    const deadline = Date.now() + 30_000;
    do {
      await new Promise((r) => setTimeout(r, 500));
      const status = await local.call(`/v1/user_data/deletions/${id}`, { headers: admin() });
      expect(status.status).toBe(200);
      job = JSON.parse(status.body);
    } while (job?.status !== 'done' && Date.now() < deadline);
    expect(job).toMatchObject({
      status: 'done',
      counts: { records_erased: 4, images_erased: 1 },
    });

    const receipt = job!.receipt!;
    const key = await kms.send(new GetPublicKeyCommand({ KeyId: receipt.signing_key }));
    expect(verifyReceipt(receipt, key.PublicKey!)).toBe(true);
    expect(verifyReceipt({ ...receipt, records_erased: 3 }, key.PublicKey!)).toBe(false);

    expect(await logsOf(alice)).toEqual([]);
    expect((await local.get(urls[alice])).status).toBeGreaterThanOrEqual(400);
    expect(await logsOf(bob)).toHaveLength(4);
    expect((await local.get(urls[bob])).status).toBe(200);
    expect(await imageKeys()).toHaveLength(1);
  }, 60_000);

  describe('X-Ephemera-Metadata and X-Ephemera-Learning-Opt-Out', () => {
    /** Sends a chat with these headers; returns the status and the request id. */
    async function send(headers: Record<string, string | string[]>) {
      const answer = await local.call('/v1/chat/completions', {
        headers: { ...bearer(local.inferenceKey), ...headers },
        body: chat,
      });
      return { status: answer.status, id: String(answer.headers['x-request-id']) };
    }

    it('tags the request with the customer id', async () => {
      const { status, id } = await send({ 'x-ephemera-metadata': `customer_id=c1-${run}` });
      expect(status).toBe(200);
      expect(await logsOf(`c1-${run}`)).toContain(id);
    });

    it('takes the first customer_id among ;-separated parameters', async () => {
      const { id } = await send({
        'x-ephemera-metadata': `team=x; customer_id=first-${run};customer_id=second-${run}`,
      });
      expect(await logsOf(`first-${run}`)).toContain(id);
      expect(await logsOf(`second-${run}`)).not.toContain(id);
    });

    it('takes the first customer_id across repeated headers', async () => {
      const { status, id } = await send({
        'x-ephemera-metadata': [`customer_id=one-${run}`, `customer_id=two-${run}`],
      });
      expect(status).toBe(200);
      expect(await logsOf(`one-${run}`)).toContain(id);
      expect(await logsOf(`two-${run}`)).not.toContain(id);
    });

    it('accepts a value of 128 characters', async () => {
      const value = `${run}-`.padEnd(128, 'v');
      const { status, id } = await send({ 'x-ephemera-metadata': `customer_id=${value}` });
      expect(status).toBe(200);
      expect(await logsOf(value)).toContain(id);
    });

    it.each([
      ['129 characters', `customer_id=${'v'.repeat(129)}`],
      ['an empty value', 'customer_id='],
      ['a value with =', 'customer_id=a=b'],
      ['a value with a space', 'customer_id=a b'],
      ['a value with a tab', 'customer_id=a\tb'],
    ])('refuses %s with a 400 that does not echo it', async (_what, header) => {
      const answer = await local.call('/v1/chat/completions', {
        headers: { ...bearer(local.inferenceKey), 'x-ephemera-metadata': header },
        body: chat,
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({
        error: { type: 'invalid_request_error' },
      });
      expect(answer.body).not.toContain(header.slice('customer_id='.length) || '\u0000');
    });

    it('names an unknown parameter in X-Ephemera-Warning, buffered and streamed, and keeps nothing of it', async () => {
      const name = `typo_${run}`;
      const value = `value-${run}-9e2c`;
      const metadata = `customerid=${value}; ${name}=${value}`;
      const warning =
        "unknown metadata parameter 'customerid' (known: customer_id), " +
        `unknown metadata parameter '${name}' (known: customer_id)`;
      const logsBefore = local.output().length;
      const ids: string[] = [];
      for (const body of [chat, { ...chat, stream: true }]) {
        const answer = await local.call('/v1/chat/completions', {
          headers: { ...bearer(local.inferenceKey), 'x-ephemera-metadata': metadata },
          body,
        });
        expect(answer.status).toBe(200);
        if ('stream' in body) expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
        expect(answer.headers['x-ephemera-warning']).toBe(warning);
        ids.push(String(answer.headers['x-request-id']));
      }
      expect(ids).toHaveLength(2);
      for (const id of ids) {
        const record = await recordOf(id);
        expect(record).toMatchObject({ status: 200 });
        expect(record).not.toHaveProperty('customer_hash');
        expect(JSON.stringify(record)).not.toMatch(new RegExp(`customerid|${name}|${value}`, 'i'));
      }
      // Nor in any line local mode wrote (the usage log lines among them).
      const written = local.output().slice(logsBefore);
      expect(written).not.toContain(name);
      expect(written).not.toContain(value);
      expect(written).not.toMatch(/customerid/i);

      for (const known of [`customer_id=k-${run}`, `CUSTOMER_ID=k-${run}`]) {
        const answer = await local.call('/v1/chat/completions', {
          headers: { ...bearer(local.inferenceKey), 'x-ephemera-metadata': known },
          body: { ...chat, stream: true },
        });
        expect(answer.status).toBe(200);
        expect(answer.headers['x-ephemera-warning']).toBeUndefined();
      }
    });

    it('warns on the admin routes that read the header: erasure and log query', async () => {
      const typo = "unknown metadata parameter 'customerid' (known: customer_id)";
      const erasure = await local.call('/v1/user_data', {
        method: 'DELETE',
        headers: admin({ 'x-ephemera-metadata': `customerid=e-${run}` }),
      });
      expect(erasure.status).toBe(400);
      expect(erasure.headers['x-ephemera-warning']).toBe(typo);
      const logs = await local.call(`/v1/logs?filter=request_id::none-${run}`, {
        headers: admin({ 'x-ephemera-metadata': `customerid=e-${run}` }),
      });
      expect(logs.status).toBe(200);
      expect(logs.headers['x-ephemera-warning']).toBe(typo);
    });

    it('records the learning opt-out, also when another header is refused', async () => {
      const optedOut = await send({ 'x-ephemera-learning-opt-out': 'true' });
      expect(await recordOf(optedOut.id)).toMatchObject({ opt_out: true, status: 200 });
      const plain = await send({});
      expect(await recordOf(plain.id)).toMatchObject({ opt_out: false });
      const refused = await send({
        'x-ephemera-learning-opt-out': 'true',
        'x-ephemera-metadata': 'customer_id=',
      });
      expect(refused.status).toBe(400);
      expect(await recordOf(refused.id)).toMatchObject({ opt_out: true, status: 400 });
    });
  });
});
