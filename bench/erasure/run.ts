/**
 * bench/erasure: how fast the deletion worker erases one customer.
 *
 *   npm run bench:erasure [-- --rounds 3 --records 10000 --others 100000]
 *
 * dynalite runs on 127.0.0.1 (in memory) with the tables the stack creates.
 * `--others` usage records of ten other customers are seeded first with
 * BatchWriteItem. Each round then seeds `--records` records for two fresh
 * customers and erases them, in alternating order:
 * - worker: the deletion worker's handler, as deployed (pages of 1,000 from
 *   the `by_customer` index, BatchWriteItem 25 at a time, 8 calls in flight,
 *   the job's batch noted and committed per page, a signed receipt at the end;
 *   KMS is stubbed: there is no local KMS);
 * - baseline: the naive way, the same index query page by page and one
 *   DeleteItem call per record;
 * - floor: BatchWriteItem alone on keys known in advance (25 a call, 8 in
 *   flight, no query, no job): what any batching erasure could reach against
 *   this server, whose own work per deleted record bounds every variant.
 *
 * Both must leave nothing of their customer; the other customers' records are
 * counted at the end and must all be there. Prints records per second per
 * round, the medians and their ratios (goal: worker 20x the baseline), then the estimate for a
 * customer with 10 million records on AWS, from published limits.
 */

import { createSign, generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DELETION_WORKER_TIMEOUT } from '../../lib/customer-erasure';
import { USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import { parseWorkerConfig } from '../../lambda/deletion-worker/config';
import { createWorker, MIN_REMAINING_MS } from '../../lambda/deletion-worker/worker';
import { usageItem } from '../../lambda/shared/usage-record';
import { imageKey, newImageId } from '../../lambda/shared/image-key';
import { LOCAL_REGION, startLocalStores, type LocalCredentials } from '../../local/stores';
import {
  createJob,
  customerHashOf,
  readJob,
  seedRecords,
  sqsEvent,
} from '../../test/lambda/deletion-worker/support';
import { stubClient } from '../gateway/aws-stubs';
import { estimateErasure, formatDuration, itemBytes } from './estimate';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    records: { type: 'string', default: '10000' },
    others: { type: 'string', default: '100000' },
  },
});
const ROUNDS = Number(args.rounds);
const RECORDS = Number(args.records);
const OTHERS = Number(args.others);
const OTHER_CUSTOMERS = 10;
const SIGNING_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/bench-signing';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** KMS Sign with a local P-256 key, as the receipt-signing key answers it. */
function stubbedSigningKms(credentials: LocalCredentials): KMSClient {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return stubClient(new KMSClient({ region: LOCAL_REGION, credentials }), (command, input) => {
    if (command !== 'SignCommand') throw new Error(`unexpected KMS command ${command}`);
    return {
      Signature: createSign('sha256')
        .update(Buffer.from(input.Message as Uint8Array))
        .sign({ key: privateKey, dsaEncoding: 'der' }),
      SigningAlgorithm: 'ECDSA_SHA_256',
      KeyId: SIGNING_KEY_ID,
    };
  });
}

/** BatchWriteItem alone, 25 keys a call, `inFlight` calls at once. */
async function batchErase(
  ddb: DynamoDBClient,
  table: string,
  ids: readonly string[],
  inFlight: number,
): Promise<number> {
  let next = 0;
  const lane = async () => {
    while (next < ids.length) {
      const chunk = ids.slice(next, (next += 25));
      let requests: WriteRequest[] = chunk.map((id) => ({
        DeleteRequest: { Key: { request_id: { S: id } } },
      }));
      while (requests.length > 0) {
        const out = await ddb.send(
          new BatchWriteItemCommand({ RequestItems: { [table]: requests } }),
        );
        requests = (out.UnprocessedItems?.[table] ?? []).flatMap((r) =>
          r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
        );
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return ids.length;
}

/** The naive erasure: the same index, one DeleteItem per record. */
async function naiveErase(ddb: DynamoDBClient, table: string, hash: string): Promise<number> {
  let erased = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        IndexName: USAGE_CUSTOMER_INDEX,
        KeyConditionExpression: 'customer_hash = :h',
        ExpressionAttributeValues: { ':h': { S: hash } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      await ddb.send(
        new DeleteItemCommand({ TableName: table, Key: { request_id: item.request_id } }),
      );
      erased++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return erased;
}

async function countOf(ddb: DynamoDBClient, table: string, hash?: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = hash
      ? await ddb.send(
          new QueryCommand({
            TableName: table,
            IndexName: USAGE_CUSTOMER_INDEX,
            KeyConditionExpression: 'customer_hash = :h',
            ExpressionAttributeValues: { ':h': { S: hash } },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        )
      : await ddb.send(
          new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }),
        );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

async function main(): Promise<void> {
  const stores = await startLocalStores({ inMemory: true, separateProcess: true });
  const { ddb, names } = stores;
  const config = parseWorkerConfig({
    USAGE_TABLE_NAME: names.usageTable,
    DELETION_TABLE_NAME: names.deletionTable,
    IMAGE_BUCKET_NAME: names.imageBucket,
    SIGNING_KEY_ID,
    DELETION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
  });
  const handedOn: string[] = [];
  const worker = createWorker({
    config,
    ddb,
    s3: stores.s3,
    kms: stubbedSigningKms(stores.credentials),
    queue: { send: async (id) => void handedOn.push(id) },
    logSink: () => undefined,
  });
  const budget = { getRemainingTimeInMillis: () => DELETION_WORKER_TIMEOUT.toMilliseconds() };
  let clock = Date.parse('2030-01-01T00:00:00.000Z');

  try {
    console.log(
      `bench/erasure: ${fmt(RECORDS)} records of one customer among ${fmt(OTHERS)} of ${OTHER_CUSTOMERS} others, dynalite on loopback, ${ROUNDS} rounds`,
    );
    const seeded = Date.now();
    for (let c = 0; c < OTHER_CUSTOMERS; c++) {
      await seedRecords(ddb, {
        table: names.usageTable,
        customerHash: customerHashOf(`other-${c}`),
        count: Math.ceil(OTHERS / OTHER_CUSTOMERS),
        prefix: `other-${c}-`,
        from: new Date(clock - 86_400_000),
      });
    }
    const othersSeeded = await countOf(ddb, names.usageTable);
    console.log(
      `seeded ${fmt(othersSeeded)} other records in ${((Date.now() - seeded) / 1000).toFixed(1)} s`,
    );

    const variants = ['worker', 'baseline', 'floor'] as const;
    type Variant = (typeof variants)[number];
    const rates: Record<Variant, number[]> = { worker: [], baseline: [], floor: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const target: Record<Variant, string> = {
        worker: `w-${round}`,
        baseline: `b-${round}`,
        floor: `f-${round}`,
      };
      for (const id of Object.values(target)) {
        await seedRecords(ddb, {
          table: names.usageTable,
          customerHash: customerHashOf(id),
          count: RECORDS,
          prefix: `${id}-r`,
          from: new Date(clock - 3_600_000),
        });
      }
      // A different order each round, so no variant always runs on a fresher store.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      const line: string[] = [];
      for (const variant of order) {
        const hash = customerHashOf(target[variant]);
        let erased: number;
        // The job is the admin API's part: written before the clock starts.
        const jobId = await createJob(ddb, names.deletionTable, hash, new Date(clock));
        const started = process.hrtime.bigint();
        if (variant === 'worker') {
          const result = await worker(sqsEvent(jobId), budget);
          const job = await readJob(ddb, names.deletionTable, jobId);
          if (result.batchItemFailures.length > 0 || job?.status !== 'done') {
            throw new Error(`the worker did not finish (status ${job?.status})`);
          }
          erased = job.recordsErased;
        } else if (variant === 'baseline') {
          erased = await naiveErase(ddb, names.usageTable, hash);
        } else {
          const ids = Array.from({ length: RECORDS }, (_, i) => `${target.floor}-r${i}`);
          erased = await batchErase(ddb, names.usageTable, ids, config.writeConcurrency);
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const left = await countOf(ddb, names.usageTable, hash);
        if (erased !== RECORDS || left !== 0) {
          throw new Error(`${variant}: erased ${erased} of ${RECORDS}, ${left} left`);
        }
        rates[variant].push(erased / seconds);
        line.push(`${variant} ${fmt(erased / seconds)} records/s (${seconds.toFixed(2)} s)`);
      }
      console.log(`round ${round}: ${line.join(', ')}`);
      clock += 60_000;
    }
    const othersLeft = await countOf(ddb, names.usageTable);
    if (othersLeft !== othersSeeded) {
      throw new Error(`other customers' records changed: ${othersSeeded} -> ${othersLeft}`);
    }
    if (handedOn.length > 0) throw new Error('a job was handed on: the budget ran out');

    const w = median(rates.worker);
    const b = median(rates.baseline);
    const f = median(rates.floor);
    console.log('');
    console.log(`median worker:   ${fmt(w)} records/s`);
    console.log(`median baseline: ${fmt(b)} records/s (one DeleteItem per record)`);
    console.log(`median floor:    ${fmt(f)} records/s (BatchWriteItem alone, keys known)`);
    console.log(
      `worker/baseline ${(w / b).toFixed(1)}x (goal 20x); floor/baseline ${(f / b).toFixed(1)}x; worker reaches ${Math.round((100 * w) / f)}% of the floor`,
    );
    console.log(`other customers' ${fmt(othersLeft)} records intact`);

    // On AWS, for 10 million records: a full usage record with one image.
    const at = new Date(clock);
    const fullRecord = usageItem(
      {
        request_id: '0f4a3b6e-5c1d-4e8f-9a2b-7c6d5e4f3a2b',
        timestamp: at.toISOString(),
        api_key_id: 'ak_0123456789abcdef',
        customer_hash: customerHashOf('c'),
        route: 'image_generations',
        method: 'POST',
        model: 'stability.sd3-5-large-v1:0',
        status: 200,
        latency_ms: 12_345,
        input_tokens: 1_234,
        output_tokens: 5_678,
        image_count: 1,
        cost_micro_usd: 80_000,
        size: '1024x1024',
        quality: 'hd',
        response_format: 'url',
        n: 1,
        seed: 4_294_967_295,
        opt_out: true,
        ttl: Math.floor(at.getTime() / 1000) + 30 * 86_400,
        image_ttl_seconds: 3_600,
      },
      [imageKey(new Date(clock + 3_600_000), newImageId(), 'png')],
    );
    const estimate = estimateErasure(10_000_000, itemBytes(fullRecord), {
      timeoutSeconds: DELETION_WORKER_TIMEOUT.toSeconds(),
      reserveSeconds: MIN_REMAINING_MS / 1000,
      pageSize: config.pageSize,
      writeConcurrency: config.writeConcurrency,
    });
    console.log('');
    console.log(
      `On AWS, 10,000,000 records of ${estimate.itemBytes} bytes (a full usage record naming an image):`,
    );
    for (const [limit, rate] of Object.entries(estimate.ratePerSecond)) {
      console.log(`  ${limit.padEnd(22)} ${fmt(rate)} records/s`);
    }
    console.log(
      `  bound by ${estimate.binding}: ${formatDuration(estimate.seconds)} in ${estimate.invocations} invocations of ${DELETION_WORKER_TIMEOUT.toMinutes()} min (each hands the job on with ${MIN_REMAINING_MS / 1000} s left)`,
    );
    console.log(
      `  fits 24 h: ${estimate.seconds < 86_400 ? 'yes' : 'NO'}; at this rate a job erases up to ${fmt(estimate.recordsIn24h)} records in 24 h`,
    );
  } finally {
    await stores.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : 'bench failed');
  process.exitCode = 1;
});
