/**
 * A deletion job killed mid-run resumes (promise P7), end to end: local mode
 * in its own process on a data folder, one customer with enough usage records
 * that the worker needs well over a hundred pages, `DELETE /v1/user_data`,
 * and once the job is `running` with some records erased, SIGKILL: the worker
 * dies holding its 15-minute lease, with a batch open. Local mode started
 * again on the same folder owns every open job: it clears the dead lease,
 * queues the job again, and the worker finishes the open batch and the rest
 * within seconds, exactly once, with a receipt counting every record the
 * customer had; none is left.
 *
 * The customer's keyed hash is read from the usage record of one tagged
 * request (the gateway computed it with the local KMS's GenerateMac), and the
 * other records are written straight into the local usage table with it.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import type { Receipt } from '../../lambda/shared/receipt';
import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';
import { LOCAL_REGION } from '../../local/stores';
import { seedRecords } from '../lambda/deletion-worker/support';

const run = randomBytes(3).toString('hex');
const CUSTOMER = `resume-${run}`;
/** Written straight into the table, besides the one made by a request. */
const SEEDED = 1_500;
const TOTAL = SEEDED + 1;
/** Records per page: about 150 pages, each a few dynalite calls. */
const PAGE_SIZE = 10;

interface JobView {
  status: string;
  counts: { records_erased: number; images_erased: number };
  receipt?: Receipt;
}

/** The worker's log lines about one job, in order. */
function erasureLines(output: string, deletionId: string): { outcome: string }[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event?: string; deletion_id?: string; outcome: string })
    .filter((line) => line.event === 'erasure' && line.deletion_id === deletionId);
}

/** A DynamoDB client for local mode's stand-in, signing with this run's credentials. */
function localDdb(local: LocalProcess): DynamoDBClient {
  const { dynamodb, credentials } = local.services;
  return new DynamoDBClient({ endpoint: dynamodb, region: LOCAL_REGION, credentials });
}

describe('local mode: a deletion job killed mid-run resumes (end to end)', () => {
  let dataDir: string;
  const started: LocalProcess[] = [];
  const clients: DynamoDBClient[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ephemera-resume-'));
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    for (const local of started) await local.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const local = await startLocalProcess({
      env: {
        EPHEMERA_DATA_DIR: dataDir,
        EPHEMERA_DELETION_PAGE_SIZE: String(PAGE_SIZE),
        // The erasure wait follows from it: 3 s instead of 5.5 minutes.
        EPHEMERA_REQUEST_TIMEOUT_SECONDS: '2',
      },
    });
    started.push(local);
    return local;
  };

  it('finishes after a restart within seconds, exactly once, with every record erased', async () => {
    const t0 = Date.now();
    const first = await start();
    const adminKey = first.adminKey!;
    const admin = (extra: Record<string, string> = {}) => ({ ...bearer(adminKey), ...extra });
    const customerHeader = { 'x-ephemera-metadata': `customer_id=${CUSTOMER}` };

    // One tagged request; its record holds the customer's keyed hash.
    const chat = await first.call('/v1/chat/completions', {
      headers: { ...bearer(first.inferenceKey), ...customerHeader },
      body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] },
    });
    expect(chat.status).toBe(200);
    const ddb = localDdb(first);
    clients.push(ddb);
    const { usageTable } = first.services.names;
    const record = await ddb.send(
      new GetItemCommand({
        TableName: usageTable,
        Key: { request_id: { S: String(chat.headers['x-request-id']) } },
        ConsistentRead: true,
      }),
    );
    const hash = record.Item?.customer_hash?.S ?? '';
    expect(/^[0-9a-f]{64}$/.test(hash)).toBe(true);
    await seedRecords(ddb, {
      table: usageTable,
      customerHash: hash,
      count: SEEDED,
      prefix: `resume-${run}-r`,
      from: new Date(Date.now() - 3_600_000),
    });
    const seededAt = Date.now();

    const requested = await first.call('/v1/user_data', {
      method: 'DELETE',
      headers: admin(customerHeader),
    });
    expect(requested.status).toBe(202);
    const { deletion_id: id } = JSON.parse(requested.body) as { deletion_id: string };
    const status = async (local: LocalProcess): Promise<JobView> => {
      const answer = await local.call(`/v1/user_data/deletions/${id}`, { headers: admin() });
      expect(answer.status).toBe(200);
      return JSON.parse(answer.body) as JobView;
    };

    // Running, with some records erased: kill it there.
    let before: JobView;
    const runDeadline = Date.now() + 60_000;
    for (;;) {
      before = await status(first);
      if (before.status === 'running' && before.counts.records_erased > 0) break;
      expect(before.status).not.toBe('done');
      if (Date.now() > runDeadline) throw new Error(`job still ${before.status} after 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const runningAt = Date.now();
    await first.kill();
    const killedAt = Date.now();
    expect(before.counts.records_erased).toBeGreaterThan(0);
    expect(before.counts.records_erased).toBeLessThan(TOTAL / 2);
    expect(erasureLines(first.output(), id).map((l) => l.outcome)).not.toContain('done');

    // The same data folder again: the job resumes without waiting out the dead lease.
    const second = await start();
    const readyAt = Date.now();
    let after: JobView;
    const doneDeadline = Date.now() + 30_000;
    for (;;) {
      after = await status(second);
      if (after.status === 'done' || Date.now() > doneDeadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const doneAt = Date.now();
    expect(after).toMatchObject({
      status: 'done',
      counts: { records_erased: TOTAL, images_erased: 0 },
    });
    expect(after.receipt).toMatchObject({ deletion_id: id, records_erased: TOTAL });
    // Seconds, not the lease's 15 minutes (nor five 5-second retries and a dead letter).
    expect(doneAt - killedAt).toBeLessThan(20_000);
    expect(second.output()).not.toContain('set aside');

    // Exactly once: one delivery, done, and nothing after it.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(erasureLines(second.output(), id).map((l) => l.outcome)).toEqual(['done']);

    // Nothing of the customer is left: not through the API, not in the table.
    const logs = await second.call('/v1/logs', { headers: admin(customerHeader) });
    expect(logs.status).toBe(200);
    expect(JSON.parse(logs.body).data).toEqual([]);
    const ddb2 = localDdb(second);
    clients.push(ddb2);
    const left = await ddb2.send(
      new QueryCommand({
        TableName: usageTable,
        IndexName: USAGE_CUSTOMER_INDEX,
        KeyConditionExpression: 'customer_hash = :h',
        ExpressionAttributeValues: { ':h': { S: hash } },
        Select: 'COUNT',
      }),
    );
    expect(left.Count).toBe(0);

    // Neither process wrote the customer's id or hash anywhere.
    for (const local of [first, second]) {
      expect(local.output().includes(CUSTOMER)).toBe(false);
      expect(local.output().includes(hash)).toBe(false);
    }

    process.stdout.write(
      `e2e-resume: start ${seededAt - t0} ms (with ${SEEDED} records seeded), ` +
        `first run to ${before.counts.records_erased} erased ${runningAt - seededAt} ms, ` +
        `restart ${readyAt - killedAt} ms, kill to done ${doneAt - killedAt} ms\n`,
    );
    await second.stop();
  }, 150_000);
});
