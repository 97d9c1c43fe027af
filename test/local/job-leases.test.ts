/**
 * Local mode and the deletion worker's leases (`local/job-leases.ts`), on real
 * dynalite: a restart clears a dead run's lease (and only that lease), and
 * the local queue, told by `leaseWait` when a job is free, retries a job whose
 * run failed and released its lease within seconds, but hands a job another
 * run still holds back only once that lease could have run out. The last two
 * run the real worker behind the real local queue, as local mode wires them.
 */

import {
  BatchWriteItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { parseWorkerConfig } from '../../lambda/deletion-worker/config';
import { LEASE_MS } from '../../lambda/deletion-worker/job-store';
import { createWorker } from '../../lambda/deletion-worker/worker';
import { LEASE_MARGIN_MS, leaseWait, reclaimLease } from '../../local/job-leases';
import { localJobQueue, type LocalJobQueue } from '../../local/in-memory-deletion-queue';
import {
  DELETION_TABLE,
  IMAGE_BUCKET,
  SIGNING_KEY_ID,
  startLocalAws,
  USAGE_TABLE,
  type LocalAws,
} from '../lambda/gateway/support/local-aws';
import {
  createJob,
  customerHashOf,
  leaseJob,
  readJob,
  seedRecords,
} from '../lambda/deletion-worker/support';

let aws: LocalAws;
let customers = 0;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

/** A queued job for a new customer with `count` records. */
async function job(count = 0): Promise<{ id: string; hash: string }> {
  const hash = customerHashOf(`lease-${++customers}`);
  if (count > 0) {
    await seedRecords(aws.ddb, {
      table: USAGE_TABLE,
      customerHash: hash,
      count,
      prefix: `lease-${customers}-r`,
      from: new Date(Date.now() - 60_000),
    });
  }
  return { id: await createJob(aws.ddb, DELETION_TABLE, hash, new Date()), hash };
}

/** Gives the job to `owner` until `until` (epoch ms), as the worker's claim does. */
const lease = (id: string, owner: string, until: number) =>
  leaseJob(aws.ddb, DELETION_TABLE, id, owner, until);

async function raw(id: string) {
  const out = await aws.ddb.send(
    new GetItemCommand({
      TableName: DELETION_TABLE,
      Key: { deletion_id: { S: id } },
      ConsistentRead: true,
    }),
  );
  return out.Item!;
}

describe('reclaimLease (a restart owns every open job)', () => {
  test("clears a dead run's lease and keeps the job's progress", async () => {
    const { id } = await job();
    await lease(id, 'local:dead-run', Date.now() + LEASE_MS);
    expect(await reclaimLease(aws.ddb, DELETION_TABLE, id)).toBe(true);
    const item = await raw(id);
    expect(item.lease_owner).toBeUndefined();
    expect(item.lease_until).toBeUndefined();
    expect(item.status).toEqual({ S: 'running' });
    expect(item.pending).toEqual({ S: '1' });
  });

  test('does nothing to a job without a lease', async () => {
    const { id } = await job();
    const before = await raw(id);
    expect(await reclaimLease(aws.ddb, DELETION_TABLE, id)).toBe(false);
    expect(await raw(id)).toEqual(before);
  });

  test('keeps a lease taken after it was read (a claim by this run)', async () => {
    const { id } = await job();
    await lease(id, 'local:dead-run', Date.now() + LEASE_MS);
    const until = Date.now() + LEASE_MS;
    // Between the read and the update, this run's worker claims the job.
    const racing = {
      send: async (command: GetItemCommand | UpdateItemCommand) => {
        const out = await aws.ddb.send(command as GetItemCommand);
        if (command instanceof GetItemCommand) await lease(id, 'local:this-run', until);
        return out;
      },
    } as unknown as DynamoDBClient;
    expect(await reclaimLease(racing, DELETION_TABLE, id)).toBe(false);
    const item = await raw(id);
    expect(item.lease_owner).toEqual({ S: 'local:this-run' });
    expect(item.lease_until).toEqual({ N: String(until) });
  });
});

describe('leaseWait (when a job is free again)', () => {
  const clock = 1_900_000_000_000;
  const wait = () => leaseWait(aws.ddb, DELETION_TABLE, () => clock);

  test('0 for a job without a lease, a released or run-out lease, or no job', async () => {
    const free = await job();
    expect(await wait()(free.id)).toBe(0);
    const released = await job();
    await lease(released.id, 'local:a', 0);
    expect(await wait()(released.id)).toBe(0);
    const ranOut = await job();
    await lease(ranOut.id, 'local:b', clock - 1);
    expect(await wait()(ranOut.id)).toBe(0);
    expect(await wait()('del_AAAAAAAAAAAAAAAAAAAAAA')).toBe(0);
  });

  test('until the lease could have run out while it is held', async () => {
    const held = await job();
    await lease(held.id, 'local:c', clock + 90_000);
    expect(await wait()(held.id)).toBe(90_000 + LEASE_MARGIN_MS);
    await lease(held.id, 'local:c', clock);
    expect(await wait()(held.id)).toBe(LEASE_MARGIN_MS);
  });
});

describe('the real worker behind the local queue, as local mode wires them', () => {
  let queue: LocalJobQueue | undefined;
  afterEach(async () => {
    await queue?.stop();
    queue = undefined;
  });

  /**
   * The worker on `ddb`, fed by a local queue with a 30-second visibility
   * timeout and a 200 ms retry delay; returns when each delivery started.
   */
  function wire(ddb: DynamoDBClient) {
    const deliveries: number[] = [];
    const started = Date.now();
    const worker = createWorker({
      config: parseWorkerConfig({
        USAGE_TABLE_NAME: USAGE_TABLE,
        DELETION_TABLE_NAME: DELETION_TABLE,
        IMAGE_BUCKET_NAME: IMAGE_BUCKET,
        SIGNING_KEY_ID,
        DELETION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/deletions',
        PAGE_SIZE: '5',
      }),
      ddb,
      s3: aws.s3,
      kms: aws.kms,
      queue: { send: (id, delay) => queue!.send(id, delay) },
      logSink: () => undefined,
    });
    queue = localJobQueue(
      (event: SQSEvent) => {
        deliveries.push(Date.now() - started);
        return worker(event, { getRemainingTimeInMillis: () => 600_000 });
      },
      {
        visibilityTimeoutSeconds: 30,
        retryDelaySeconds: 0.2,
        visibleAgainIn: leaseWait(aws.ddb, DELETION_TABLE),
      },
    );
    return { queue, deliveries };
  }

  async function until(done: () => Promise<boolean>, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('a run that failed for a passing reason released its lease: retried at once, finished exactly', async () => {
    const { id } = await job(12);
    // The first BatchWriteItem of the job fails (as a dropped connection would).
    let failures = 1;
    const flaky = {
      send: async (command: unknown) => {
        if (command instanceof BatchWriteItemCommand && failures > 0) {
          failures--;
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        }
        return aws.ddb.send(command as GetItemCommand);
      },
    } as unknown as DynamoDBClient;
    const { queue, deliveries } = wire(flaky);
    await queue.send(id, 0);
    await until(
      async () => (await readJob(aws.ddb, DELETION_TABLE, id))?.status === 'done',
      10_000,
    );
    expect(deliveries).toHaveLength(2);
    // The retry delay, not the visibility timeout (30 s) nor the lease (15 min).
    expect(deliveries[1] - deliveries[0]).toBeGreaterThanOrEqual(200);
    expect(deliveries[1] - deliveries[0]).toBeLessThan(5_000);
    expect(await readJob(aws.ddb, DELETION_TABLE, id)).toMatchObject({
      status: 'done',
      recordsErased: 12,
    });
  });

  test('a job another run holds is handed back only once that lease could have run out', async () => {
    const { id } = await job(3);
    const leaseEnds = Date.now() + 1_500;
    await lease(id, 'local:other-run', leaseEnds);
    const { queue, deliveries } = wire(aws.ddb);
    const sent = Date.now();
    await queue.send(id, 0);
    await until(
      async () => (await readJob(aws.ddb, DELETION_TABLE, id))?.status === 'done',
      10_000,
    );
    // The first delivery found the job busy; the second came after the lease.
    expect(deliveries).toHaveLength(2);
    expect(sent + deliveries[1]).toBeGreaterThanOrEqual(leaseEnds + LEASE_MARGIN_MS - 50);
    expect(deliveries[1]).toBeLessThan(10_000);
    expect(await readJob(aws.ddb, DELETION_TABLE, id)).toMatchObject({
      status: 'done',
      recordsErased: 3,
    });
  });
});
