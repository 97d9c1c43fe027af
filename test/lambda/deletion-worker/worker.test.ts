/**
 * The deletion worker on real dynalite and s3rver: erasing one customer leaves
 * nothing of them and everything of others; 0, 1 and 10,000 records; killed at
 * any point and delivered again, it finishes exactly once with exact counts;
 * records after the cut-off stay; receipts verify with the public key (also
 * with openssl, exactly as docs/http-api.md shows) and fail when anything changes.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { parseWorkerConfig, type WorkerConfig } from '../../../lambda/deletion-worker/config';
import { createWorker, type WorkerHandler } from '../../../lambda/deletion-worker/worker';
import type { JobQueue } from '../../../lambda/shared/deletion-queue';
import { sqsReceiptQueue, type ReceiptQueue } from '../../../lambda/shared/receipt-queue';
import { verifyReceipt, type Receipt } from '../../../lambda/shared/receipt';
import {
  DELETION_TABLE,
  IMAGE_BUCKET,
  SIGNING_KEY_ID,
  startLocalAws,
  USAGE_TABLE,
  type LocalAws,
} from '../gateway/support/local-aws';
import {
  allKeys,
  createJob,
  customerHashOf,
  leaseJob,
  readJob,
  seedRecords,
  sqsEvent,
} from './support';

let aws: LocalAws;
let clock = new Date('2030-01-01T00:00:00.000Z').getTime();
const now = () => new Date(clock);
const lines: string[] = [];
const handedOn: string[] = [];
const queue: JobQueue = {
  async send(id) {
    handedOn.push(id);
  },
};
let customerCounter = 0;

function config(extra: Record<string, string> = {}): WorkerConfig {
  return parseWorkerConfig({
    USAGE_TABLE_NAME: USAGE_TABLE,
    DELETION_TABLE_NAME: DELETION_TABLE,
    IMAGE_BUCKET_NAME: IMAGE_BUCKET,
    SIGNING_KEY_ID,
    DELETION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/deletions',
    ...extra,
  });
}

function worker(
  extra: Record<string, string> = {},
  clients: { ddb?: DynamoDBClient; s3?: S3Client } = {},
): WorkerHandler {
  return createWorker({
    config: config(extra),
    ddb: clients.ddb ?? aws.ddb,
    s3: clients.s3 ?? aws.s3,
    kms: aws.kms,
    queue,
    now,
    logSink: (l) => lines.push(l),
    sleep: async () => undefined,
  });
}

const plenty = { getRemainingTimeInMillis: () => 600_000, awsRequestId: 'inv-1' };

/** A fresh customer with `count` records (and images) a second before `clock`. */
async function customer(count: number, imagesPerRecord = 0) {
  const id = `cust-${++customerCounter}`;
  const hash = customerHashOf(id);
  const images = await seedRecords(aws.ddb, {
    table: USAGE_TABLE,
    customerHash: hash,
    count,
    prefix: `${id}-r`,
    from: new Date(clock - 60_000),
    imagesPerRecord,
    bucket: IMAGE_BUCKET,
    s3: aws.s3,
  });
  return { id, hash, images };
}

async function leftOf(hash: string, images: readonly string[]) {
  const items = (await aws.scanAll()).filter(
    (i) => i.customer_hash?.S === hash && i.request_id !== undefined,
  );
  const keys = new Set(await allKeys(aws.s3, IMAGE_BUCKET));
  return { records: items.length, images: images.filter((k) => keys.has(k)).length };
}

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

describe('erasing one customer', () => {
  test('leaves nothing of them, everything of the others, and a receipt that verifies', async () => {
    const x = await customer(30, 1);
    const y = await customer(12, 2);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const result = await worker({ PAGE_SIZE: '7' })(sqsEvent(jobId), plenty);
    expect(result.batchItemFailures).toEqual([]);

    expect(await leftOf(x.hash, x.images)).toEqual({ records: 0, images: 0 });
    expect(await leftOf(y.hash, y.images)).toEqual({ records: 12, images: 24 });

    const job = (await readJob(aws.ddb, DELETION_TABLE, jobId))!;
    expect(job).toMatchObject({ status: 'done', recordsErased: 30, imagesErased: 30 });
    const receipt = job.receipt as unknown as Receipt;
    expect(receipt).toMatchObject({
      deletion_id: jobId,
      customer_hash: x.hash,
      requested_at: job.requestedAt,
      completed_at: job.completedAt,
      records_erased: 30,
      images_erased: 30,
      excludes: [],
      signing_key: SIGNING_KEY_ID,
      algorithm: 'ECDSA_SHA_256',
    });
    expect(verifyReceipt(receipt, aws.signingPublicKeyDer)).toBe(true);
    // Any change to any field breaks the signature.
    for (const change of [
      { records_erased: 29 },
      { images_erased: 31 },
      { customer_hash: y.hash },
      { completed_at: '2031-01-01T00:00:00.000Z' },
      { excludes: [{ store: 'x', retention_days: 1 }] },
    ]) {
      expect(verifyReceipt({ ...receipt, ...change }, aws.signingPublicKeyDer)).toBe(false);
    }
    // The job is closed: out of the open-job index, no lease, no cursor.
    const raw = (await aws.scanAll()).find((i) => i.deletion_id?.S === jobId)!;
    expect(raw.pending).toBeUndefined();
    expect(raw.lease_owner).toBeUndefined();
    expect(raw.cursor).toBeUndefined();
    expect(raw.batch).toBeUndefined();
  });

  test('the receipt verifies offline with openssl, exactly as docs/http-api.md shows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ephemera-receipt-'));
    return (async () => {
      const x = await customer(3, 1);
      const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
      await worker()(sqsEvent(jobId), plenty);
      const job = (await readJob(aws.ddb, DELETION_TABLE, jobId))!;
      // What GET /v1/user_data/deletions/{id} answers, and what kms:GetPublicKey returns.
      const { jobView } = await import('../../../lambda/shared/deletion-job');
      writeFileSync(join(dir, 'job.json'), JSON.stringify(jobView(job)));
      writeFileSync(join(dir, 'receipt-key.der'), aws.signingPublicKeyDer);
      const sh = (script: string) =>
        execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8' });
      sh('openssl pkey -pubin -inform DER -in receipt-key.der -out receipt-key.pem');
      sh("jq -cj '.receipt | del(.signature)' job.json > receipt-payload.json");
      sh("jq -r '.receipt.signature' job.json | base64 -d > receipt-signature.der");
      const verify =
        'openssl dgst -sha256 -verify receipt-key.pem -signature receipt-signature.der receipt-payload.json';
      expect(sh(verify).trim()).toBe('Verified OK');
      // One changed byte: refused.
      sh('sed -i \'s/"records_erased":3/"records_erased":4/\' receipt-payload.json');
      let refused = '';
      try {
        sh(verify);
      } catch (err) {
        refused = String((err as { stdout?: string }).stdout) + String((err as Error).message);
      }
      expect(refused).toContain('Verification failure');
    })().finally(() => rmSync(dir, { recursive: true, force: true }));
  });

  test.each([0, 1])('%d records: done, counted, signed', async (count) => {
    const x = await customer(count);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await worker()(sqsEvent(jobId), plenty);
    const job = (await readJob(aws.ddb, DELETION_TABLE, jobId))!;
    expect(job).toMatchObject({ status: 'done', recordsErased: count, imagesErased: 0 });
    expect(verifyReceipt(job.receipt as unknown as Receipt, aws.signingPublicKeyDer)).toBe(true);
  });

  test('10,000 records', async () => {
    const x = await customer(10_000);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await worker()(sqsEvent(jobId), plenty);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'done',
      recordsErased: 10_000,
    });
    expect((await leftOf(x.hash, [])).records).toBe(0);
  }, 120_000);

  test('the cut-off: records that started after the request stay, for a new request', async () => {
    const x = await customer(5);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await seedRecords(aws.ddb, {
      table: USAGE_TABLE,
      customerHash: x.hash,
      count: 2,
      prefix: `${x.id}-later`,
      from: new Date(clock + 1),
    });
    await worker()(sqsEvent(jobId), plenty);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({ recordsErased: 5 });
    expect((await leftOf(x.hash, [])).records).toBe(2);
  });

  test('delivered again after it finished: nothing changes', async () => {
    const x = await customer(4);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await worker()(sqsEvent(jobId), plenty);
    const first = await readJob(aws.ddb, DELETION_TABLE, jobId);
    const result = await worker()(sqsEvent(jobId), plenty);
    expect(result.batchItemFailures).toEqual([]);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toEqual(first);
  });
});

describe('killed at any point and delivered again', () => {
  type Command = { constructor: { name: string }; input: Record<string, unknown> };
  /** Clients that die (and stay dead, like a killed process) at the n-th matching call. */
  function dyingClients(matches: (c: Command) => boolean, n: number) {
    let seen = 0;
    let dead = false;
    const wrap = <T extends object>(client: T): T =>
      new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'send') return Reflect.get(target, prop, receiver);
          return async (command: Command, options?: unknown) => {
            if (dead) throw new Error('the process is gone');
            if (matches(command) && ++seen === n) {
              dead = true;
              throw new Error('killed');
            }
            return (target as unknown as { send: (c: Command, o?: unknown) => unknown }).send(
              command,
              options,
            );
          };
        },
      });
    return { ddb: wrap(aws.ddb), s3: wrap(aws.s3), wasKilled: () => dead };
  }
  const updateWith = (text: string) => (c: Command) =>
    c instanceof UpdateItemCommand && String(c.input.UpdateExpression).includes(text);

  test.each([
    ['when noting the 3rd page', updateWith('SET #batch'), 3],
    [
      'after noting the 2nd page, deleting its images',
      (c: Command) => c instanceof DeleteObjectsCommand,
      2,
    ],
    ['halfway through deleting records', (c: Command) => c instanceof BatchWriteItemCommand, 3],
    ['when committing the 2nd page', updateWith('ADD records_erased'), 2],
    ['when closing the job', updateWith(':done'), 1],
  ])('%s: finishes exactly once with exact counts', async (_label, matches, n) => {
    const x = await customer(40, 1);
    const y = await customer(5, 1);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const dying = dyingClients(matches, n);
    const first = await worker({ PAGE_SIZE: '9', WRITE_CONCURRENCY: '2' }, dying)(
      sqsEvent(jobId),
      plenty,
    );
    expect(dying.wasKilled()).toBe(true);
    expect(first.batchItemFailures).toHaveLength(1);

    // SQS delivers it again once the visibility timeout has passed (and the dead lease with it).
    clock += 16 * 60_000;
    const second = await worker({ PAGE_SIZE: '9', WRITE_CONCURRENCY: '2' })(
      sqsEvent(jobId),
      plenty,
    );
    expect(second.batchItemFailures).toEqual([]);

    const job = (await readJob(aws.ddb, DELETION_TABLE, jobId))!;
    expect(job).toMatchObject({ status: 'done', recordsErased: 40, imagesErased: 40 });
    expect(verifyReceipt(job.receipt as unknown as Receipt, aws.signingPublicKeyDer)).toBe(true);
    expect(await leftOf(x.hash, x.images)).toEqual({ records: 0, images: 0 });
    expect(await leftOf(y.hash, y.images)).toEqual({ records: 5, images: 5 });
  });

  test('while another invocation holds the job, a duplicate delivery waits its turn', async () => {
    const x = await customer(20);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const dying = dyingClients(updateWith('ADD records_erased'), 1);
    await worker({ PAGE_SIZE: '5' }, dying)(sqsEvent(jobId), plenty);
    // The lease of the dead invocation still runs: the duplicate is handed back to SQS.
    const duplicate = await worker({ PAGE_SIZE: '5' })(sqsEvent(jobId), plenty);
    expect(duplicate.batchItemFailures).toHaveLength(1);
    clock += 16 * 60_000;
    await worker({ PAGE_SIZE: '5' })(sqsEvent(jobId), plenty);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'done',
      recordsErased: 20,
    });
  });
});

describe('the receipt queue (the receipt webhook)', () => {
  const RECEIPT_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/receipts';

  /** A receipt queue that records what it was sent, failing the first `failures` sends. */
  function receiptQueue(failures = 0) {
    const sent: Array<{ id: string; status?: string; signed: boolean }> = [];
    let calls = 0;
    const queue: ReceiptQueue = {
      async send(id) {
        calls++;
        if (calls <= failures) {
          throw Object.assign(new Error('queue down'), { name: 'ServiceUnavailable' });
        }
        // What the queue sees at the moment of the send: the job is closed and signed.
        const job = await readJob(aws.ddb, DELETION_TABLE, id);
        sent.push({ id, status: job?.status, signed: job?.receipt !== undefined });
      },
    };
    return { queue, sent, calls: () => calls };
  }

  /** A DynamoDB client that counts the commands sent through it, by class name. */
  function countingDdb() {
    const counts: Record<string, number> = {};
    const ddb = new Proxy(aws.ddb, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: { constructor: { name: string } }) => {
          counts[command.constructor.name] = (counts[command.constructor.name] ?? 0) + 1;
          return (target.send as (c: unknown) => Promise<unknown>)(command);
        };
      },
    });
    return { ddb, counts };
  }

  const withReceipts = (
    receiptQueue: ReceiptQueue,
    ddb: DynamoDBClient = aws.ddb,
    pageSize = '1000',
  ) =>
    createWorker({
      config: config({ RECEIPT_QUEUE_URL, PAGE_SIZE: pageSize }),
      ddb,
      s3: aws.s3,
      kms: aws.kms,
      queue,
      receiptQueue,
      now,
      logSink: (l) => lines.push(l),
      sleep: async () => undefined,
    });

  test('RECEIPT_QUEUE_URL is optional, and must be an SQS queue URL when set', () => {
    expect(config().receiptQueueUrl).toBeUndefined();
    expect(config({ RECEIPT_QUEUE_URL }).receiptQueueUrl).toBe(RECEIPT_QUEUE_URL);
    expect(() => config({ RECEIPT_QUEUE_URL: 'http://example.com/q?token=secret-canary' })).toThrow(
      'Invalid deletion worker configuration: RECEIPT_QUEUE_URL must be an SQS queue URL',
    );
  });

  test('a job closed with a signed receipt sends its id once', async () => {
    const x = await customer(6, 1);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const receipts = receiptQueue();
    const handler = withReceipts(receipts.queue);
    const result = await handler(sqsEvent(jobId), plenty);
    expect(result.batchItemFailures).toEqual([]);
    expect(receipts.sent).toEqual([{ id: jobId, status: 'done', signed: true }]);
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({
      deletion_id: jobId,
      outcome: 'done',
      receipt_queued: true,
    });
  });

  test('a job handed on sends nothing until the invocation that closes it', async () => {
    const x = await customer(30);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const receipts = receiptQueue();
    const handler = withReceipts(receipts.queue, aws.ddb, '10');
    let calls = 0;
    const budget = { getRemainingTimeInMillis: () => (++calls <= 1 ? 600_000 : 1_000) };
    expect((await handler(sqsEvent(jobId), budget)).batchItemFailures).toEqual([]);
    expect(receipts.sent).toEqual([]);
    expect(JSON.parse(lines[lines.length - 1]).receipt_queued).toBeUndefined();
    expect((await handler(sqsEvent(jobId), plenty)).batchItemFailures).toEqual([]);
    expect(receipts.sent).toEqual([{ id: jobId, status: 'done', signed: true }]);
  });

  test('a send that fails leaves the job done; the redelivery only sends again, erasing nothing', async () => {
    const x = await customer(8, 1);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const receipts = receiptQueue(1);
    const event = sqsEvent(jobId);

    const first = await withReceipts(receipts.queue)(event, plenty);
    // The message goes back to SQS, but the job is closed and stays closed.
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0].messageId }]);
    const closed = await readJob(aws.ddb, DELETION_TABLE, jobId);
    expect(closed).toMatchObject({ status: 'done', recordsErased: 8, imagesErased: 8 });
    expect(JSON.parse(lines[lines.length - 1])).toEqual({
      event: 'erasure',
      deletion_id: jobId,
      outcome: 'done',
      records_erased: 8,
      images_erased: 8,
      pages: 1,
      duration_ms: expect.any(Number),
      error_name: 'ServiceUnavailable',
      receipt_queued: false,
    });

    // SQS delivers it again: one consistent read of the job, then the send.
    const counting = countingDdb();
    const second = await withReceipts(receipts.queue, counting.ddb)(event, plenty);
    expect(second.batchItemFailures).toEqual([]);
    expect(counting.counts).toEqual({ GetItemCommand: 1 });
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toEqual(closed);
    expect(receipts.calls()).toBe(2);
    expect(receipts.sent).toEqual([{ id: jobId, status: 'done', signed: true }]);
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({
      outcome: 'done',
      pages: 0,
      receipt_queued: true,
    });
    expect(JSON.parse(lines[lines.length - 1]).error_name).toBeUndefined();
  });

  test('nothing is sent for a body that is not a job id, an unknown job, or a job another invocation holds', async () => {
    const x = await customer(2);
    const busy = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await leaseJob(aws.ddb, DELETION_TABLE, busy, 'another-invocation', clock + 10 * 60_000);
    const receipts = receiptQueue();
    const event = sqsEvent('not a job id', 'del_AAAAAAAAAAAAAAAAAAAAAA', busy);
    const result = await withReceipts(receipts.queue)(event, plenty);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[2].messageId }]);
    expect(receipts.calls()).toBe(0);
  });

  test('the SQS receipt queue sends the job id as {"deletion_id"} and nothing else', async () => {
    const sqs = new SQSClient({ region: 'us-east-1' });
    const mock = mockClient(sqs);
    mock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const id = 'del_BBBBBBBBBBBBBBBBBBBBBB';
    await sqsReceiptQueue(sqs, RECEIPT_QUEUE_URL).send(id);
    const calls = mock.commandCalls(SendMessageCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { QueueUrl: RECEIPT_QUEUE_URL, MessageBody: `{"deletion_id":"${id}"}` },
    ]);
    mock.restore();
  });
});

describe('time, bad messages and failures', () => {
  test('a job that outlives the invocation is handed on through the queue, then finished', async () => {
    const x = await customer(30);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    let calls = 0;
    // Plenty of time for two pages, then too little.
    const budget = { getRemainingTimeInMillis: () => (++calls <= 2 ? 600_000 : 1_000) };
    handedOn.length = 0;
    const first = await worker({ PAGE_SIZE: '10' })(sqsEvent(jobId), budget);
    expect(first.batchItemFailures).toEqual([]);
    expect(handedOn).toEqual([jobId]);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'running',
      recordsErased: 20,
      leaseUntil: 0,
    });
    await worker({ PAGE_SIZE: '10' })(sqsEvent(jobId), plenty);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'done',
      recordsErased: 30,
    });
  });

  /** A DynamoDB client that writes only the first `keep` requests of each BatchWriteItem while `throttling()`. */
  function throttlingDdb(throttling: () => boolean, keep: number) {
    return new Proxy(aws.ddb, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { input: Record<string, unknown> }) => {
          const send = (c: unknown) => (target.send as (c: unknown) => Promise<unknown>)(c);
          if (!(command instanceof BatchWriteItemCommand) || !throttling()) return send(command);
          const [[table, requests]] = Object.entries(command.input.RequestItems ?? {});
          if (keep > 0) {
            await send(
              new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(0, keep) } }),
            );
          }
          return { UnprocessedItems: { [table]: requests.slice(keep) }, $metadata: {} };
        };
      },
    });
  }

  test('unprocessed items are retried with growing, jittered waits until all are gone', async () => {
    const x = await customer(60);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const waits: number[] = [];
    const handler = createWorker({
      config: config({ PAGE_SIZE: '30', WRITE_CONCURRENCY: '1' }),
      ddb: throttlingDdb(() => true, 10),
      s3: aws.s3,
      kms: aws.kms,
      queue,
      now,
      logSink: (l) => lines.push(l),
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.999,
    });
    const result = await handler(sqsEvent(jobId), plenty);
    expect(result.batchItemFailures).toEqual([]);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'done',
      recordsErased: 60,
    });
    expect((await leftOf(x.hash, [])).records).toBe(0);
    // Each 25-request chunk takes three calls (10, 10, 5): waits of up to 50 then 100 ms.
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.max(...waits)).toBeLessThan(100);
    expect(waits.filter((w) => w >= 50)).not.toHaveLength(0);
  });

  test('sustained throttling: the job waits in the queue with its batch open, then finishes exactly once', async () => {
    const x = await customer(25);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    let throttled = true;
    const waits: number[] = [];
    handedOn.length = 0;
    const delays: number[] = [];
    const recordingQueue: JobQueue = {
      async send(id, delay) {
        handedOn.push(id);
        delays.push(delay);
      },
    };
    const make = () =>
      createWorker({
        config: config({ PAGE_SIZE: '10' }),
        ddb: throttlingDdb(() => throttled, 0),
        s3: aws.s3,
        kms: aws.kms,
        queue: recordingQueue,
        now,
        logSink: (l) => lines.push(l),
        sleep: async (ms) => void waits.push(ms),
      });
    const first = await make()(sqsEvent(jobId), plenty);
    expect(first.batchItemFailures).toEqual([]);
    expect(handedOn).toEqual([jobId]);
    expect(delays).toEqual([60]);
    expect(waits).toHaveLength(8 - 1);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'running',
      recordsErased: 0,
      leaseUntil: 0,
      batch: { records: 10 },
    });
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ outcome: 'throttled' });

    throttled = false;
    await make()(sqsEvent(jobId), plenty);
    expect(await readJob(aws.ddb, DELETION_TABLE, jobId)).toMatchObject({
      status: 'done',
      recordsErased: 25,
    });
    expect((await leftOf(x.hash, [])).records).toBe(0);
  });

  test('one poisoned message blocks no other: a body that is not a job id is dropped, a failing job is retried', async () => {
    const x = await customer(3);
    const good = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    const failing = await createJob(aws.ddb, DELETION_TABLE, customerHashOf('other'), now());
    const brokenS3 = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    await seedRecords(aws.ddb, {
      table: USAGE_TABLE,
      customerHash: customerHashOf('other'),
      count: 1,
      prefix: 'other-r',
      from: new Date(clock - 1000),
      imagesPerRecord: 1,
      bucket: IMAGE_BUCKET,
      s3: aws.s3,
    });
    const event = sqsEvent('not a job id', failing, good);
    const result = await worker({}, { s3: brokenS3 })(event, plenty);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1].messageId }]);
    expect(await readJob(aws.ddb, DELETION_TABLE, good)).toMatchObject({ status: 'done' });
    brokenS3.destroy();
  });

  test('log lines are metadata only: deletion ids, outcomes, counts, never a customer hash', () => {
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(line).not.toMatch(/[0-9a-f]{64}/);
      for (const field of Object.keys(parsed)) {
        expect([
          'event',
          'deletion_id',
          'outcome',
          'records_erased',
          'images_erased',
          'pages',
          'duration_ms',
          'error_name',
          'receipt_queued',
        ]).toContain(field);
      }
      expect(line).not.toContain('images/');
      expect(line).not.toContain('cust-');
    }
  });
});

describe('requests in flight and the receipt scope', () => {
  test('a job delivered before the erasure wait is over waits, then erases a record written meanwhile', async () => {
    const x = await customer(3);
    const requested = now();
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, requested);
    const delays: number[] = [];
    const waiting = createWorker({
      config: config({ ERASURE_WAIT_SECONDS: '330' }),
      ddb: aws.ddb,
      s3: aws.s3,
      kms: aws.kms,
      queue: { send: async (_id, delay) => void delays.push(delay) },
      now,
      logSink: (l) => lines.push(l),
      sleep: async () => undefined,
    });
    lines.length = 0;
    expect(await waiting(sqsEvent(jobId), plenty)).toEqual({ batchItemFailures: [] });
    expect(delays).toEqual([330]);
    expect(JSON.parse(lines[0])).toMatchObject({ deletion_id: jobId, outcome: 'waiting' });
    expect((await readJob(aws.ddb, DELETION_TABLE, jobId))?.status).toBe('queued');
    expect(await leftOf(x.hash, [])).toEqual({ records: 3, images: 0 });

    // A streamed request that started before the erasure writes its record
    // after the job was asked for (its timestamp is its start).
    await seedRecords(aws.ddb, {
      table: USAGE_TABLE,
      customerHash: x.hash,
      count: 1,
      prefix: `${x.id}-inflight-`,
      from: new Date(requested.getTime() - 1_000),
    });
    clock += 200_000;
    await waiting(sqsEvent(jobId), plenty);
    expect(delays).toEqual([330, 130]);
    clock += 130_000;
    await waiting(sqsEvent(jobId), plenty);
    const job = await readJob(aws.ddb, DELETION_TABLE, jobId);
    expect(job).toMatchObject({ status: 'done', recordsErased: 4 });
    expect(await leftOf(x.hash, [])).toEqual({ records: 0, images: 0 });
  });

  test('every receipt names the stores outside its reach with their retention, in the signed fields', async () => {
    const x = await customer(1);
    const jobId = await createJob(aws.ddb, DELETION_TABLE, x.hash, now());
    await worker({
      RECEIPT_EXCLUDES: 'usage-table-point-in-time-recovery:1,load-balancer-access-logs:30',
    })(sqsEvent(jobId), plenty);
    const receipt = (await readJob(aws.ddb, DELETION_TABLE, jobId))!.receipt as unknown as Receipt;
    expect(receipt.excludes).toEqual([
      { store: 'usage-table-point-in-time-recovery', retention_days: 1 },
      { store: 'load-balancer-access-logs', retention_days: 30 },
    ]);
    expect(verifyReceipt(receipt, aws.signingPublicKeyDer)).toBe(true);
    expect(
      verifyReceipt(
        { ...receipt, excludes: [{ store: 'load-balancer-access-logs', retention_days: 30 }] },
        aws.signingPublicKeyDer,
      ),
    ).toBe(false);
    expect(
      verifyReceipt(
        {
          ...receipt,
          excludes: [
            { store: 'usage-table-point-in-time-recovery', retention_days: 1 },
            { store: 'load-balancer-access-logs', retention_days: 7 },
          ],
        },
        aws.signingPublicKeyDer,
      ),
    ).toBe(false);
  });

  test.each(['x', 'a:0', 'a:1,a:2', 'A:1', `a:1${',b:1'.repeat(10)}`])(
    'refuses RECEIPT_EXCLUDES %j',
    (value) => {
      expect(() => config({ RECEIPT_EXCLUDES: value })).toThrow(
        'RECEIPT_EXCLUDES must be up to 10 comma-separated store:days pairs',
      );
    },
  );
});
