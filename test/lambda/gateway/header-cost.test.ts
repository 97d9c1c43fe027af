/**
 * Abuse before authentication: what a pathological header costs. Headers
 * arrive before any key is checked, so a parser that backtracks lets one
 * unauthenticated request buy seconds of CPU. Each header the gateway reads is
 * sent 16 KB long, shaped to make a backtracking trim quadratic (a run of
 * spaces after some other character and before a last one, so it neither
 * starts nor ends the value or pair), and the whole request must cost at most
 * 3 times a 100-byte one, measured as a ratio in one run.
 *
 * The timing is made to hold on a loaded machine: both sizes are warmed up and
 * then measured in interleaved batches, and the fastest batch of each is
 * compared (load only ever adds time). A ratio over the limit is measured again,
 * at most twice, and the best ratio is the one asserted: a quadratic parser
 * misses by orders of magnitude on every attempt, so this cannot hide one.
 *
 * (A structural check runs in lint as well: eslint-plugin-regexp refuses
 * super-linear patterns anywhere in lambda/, lib/, bin/ and local/.)
 */

import { PutItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, type GatewayHandler } from '../../../lambda/gateway/gateway';
import type { Upstream } from '../../../lambda/gateway/upstream-contract';
import { parseBearer } from '../../../lib/core/api-key';
import { parseMetadataHeader, parseOptOutHeader } from '../../../lib/core/metadata-header';
import { albEvent, context, testConfig } from './support/fixtures';

const ddb = new DynamoDBClient({ region: 'us-east-1' });
const ddbMock = mockClient(ddb);
ddbMock.on(PutItemCommand).resolves({});
afterAll(() => ddbMock.restore());

const upstream: Upstream = {
  kind: 'openai-compatible',
  chat: async () => ({ choices: [], inputTokens: 0, outputTokens: 0 }),
  images: async () => ({ images: [] }),
  embeddings: async () => ({ vectors: [], inputTokens: 0 }),
};

/** A gateway whose key check always passes (so the headers read after it are reached). */
const acceptingHandler: GatewayHandler = createHandler({
  config: testConfig(),
  ddb,
  kms: new KMSClient({ region: 'us-east-1' }),
  upstream,
  keys: { verify: async () => ({ ok: true, keyId: 'abcdefghij012345', scopes: ['inference'] }) },
  logSink: () => undefined,
});
/** The real key check (a malformed header is refused before any AWS call). */
const realHandler: GatewayHandler = createHandler({
  config: testConfig(),
  ddb,
  kms: new KMSClient({ region: 'us-east-1' }),
  upstream,
  logSink: () => undefined,
});

const KB = 1024;

/**
 * `prefix` + spaces + `x`, `bytes` long. With a prefix that does not end in a
 * space, the run of spaces is neither leading nor trailing, so `[ \t]+$` tries
 * (and fails) from every one of its positions: quadratic.
 */
const spaced = (prefix: string, bytes: number) =>
  prefix + ' '.repeat(bytes - prefix.length - 1) + 'x';

// Measurement.
const WARM_UP_CALLS = 50; // per size, interleaved
const BATCHES = 41; // per size, interleaved
const ATTEMPTS = 3; // one measurement and at most two more
/** An attempt stops warming up at half this and measuring at this (never before one batch each). */
const ATTEMPT_BUDGET_MS = 3_000;
/** No further attempt starts after this long: a linear parser's attempt takes milliseconds. */
const RETRY_BUDGET_MS = 8_000;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** One size of a comparison: `run(reps)` makes `reps` calls (it may return a promise). */
interface Side {
  readonly run: (reps: number) => unknown;
  readonly reps: number;
}

/**
 * The fastest batch of each side (ms per batch): both are warmed up, then
 * measured in interleaved batches (alternating which goes first), so load hits
 * both alike and the minimum is the closest to the code's own cost. A budget
 * bounds the run of a parser that has gone quadratic (it then fails by far).
 */
async function fastestBatches(sides: readonly [Side, Side]): Promise<[number, number]> {
  const start = nowMs();
  const within = (ms: number) => nowMs() - start < ms;
  for (let i = 0; i < WARM_UP_CALLS && within(ATTEMPT_BUDGET_MS / 2); i++) {
    for (const side of sides) await side.run(1);
  }
  const fastest: [number, number] = [Infinity, Infinity];
  for (let round = 0; round < BATCHES && (round === 0 || within(ATTEMPT_BUDGET_MS)); round++) {
    for (const j of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const batchStart = nowMs();
      const pending = sides[j].run(sides[j].reps);
      if (pending instanceof Promise) await pending;
      fastest[j] = Math.min(fastest[j], nowMs() - batchStart);
    }
  }
  return fastest;
}

interface Attempt {
  readonly ratio: number;
  /** The figures behind the ratio, for the failure message. */
  readonly detail: string;
}

/**
 * Measures until the ratio is within its bound or the attempts (or the time
 * for them) run out, then asserts on the best ratio seen. Silent on success; on
 * failure the message carries every attempt's figures.
 */
async function expectRatio(
  what: string,
  bound: { readonly atMost: number } | { readonly under: number },
  measure: () => Promise<Attempt>,
): Promise<void> {
  // Written so that NaN is never within.
  const within = (ratio: number) =>
    'atMost' in bound ? ratio <= bound.atMost : ratio < bound.under;
  const start = nowMs();
  const attempts: Attempt[] = [];
  do {
    attempts.push(await measure());
  } while (
    !within(attempts[attempts.length - 1].ratio) &&
    attempts.length < ATTEMPTS &&
    nowMs() - start < RETRY_BUDGET_MS
  );
  const best = Math.min(...attempts.map((a) => a.ratio));
  if (!within(best)) {
    const limit = 'atMost' in bound ? `at most ${bound.atMost}` : `under ${bound.under}`;
    throw new Error(
      `${what}: best ratio ${best.toFixed(2)} is not ${limit} ` +
        `(attempts: ${attempts.map((a) => `${a.ratio.toFixed(2)} [${a.detail}]`).join('; ')})`,
    );
  }
}

describe('a 16 KB pathological header costs at most 3 times a 100-byte one', () => {
  test.each([
    // The real key check: `Bearer`, spaces, then a non-key (401 before any AWS call).
    { header: 'authorization', prefix: 'Bearer', handler: realHandler, status: 401 },
    // The run of spaces inside the customer id (400: whitespace in it).
    {
      header: 'x-ephemera-metadata',
      prefix: 'customer_id=c',
      handler: acceptingHandler,
      status: 400,
    },
    // The run of spaces inside another parameter's value (ignored: the route answers).
    { header: 'x-ephemera-metadata', prefix: 'a=b', handler: acceptingHandler, status: 200 },
    // The run of spaces inside the value (400: neither true nor false).
    { header: 'x-ephemera-learning-opt-out', prefix: 't', handler: acceptingHandler, status: 400 },
  ] as const)('$header: $prefix, spaces, x', async ({ header, prefix, handler, status }) => {
    const small = spaced(prefix, 100);
    const large = spaced(prefix, 16 * KB);
    /** The request, with the value under test as the one `header` sent (a key for the other headers). */
    const call = (value: string) =>
      handler(
        albEvent({
          path: '/v1/models',
          headers:
            header === 'authorization'
              ? { authorization: value }
              : { authorization: 'Bearer x', [header]: value },
        }),
        context('cost'),
      );
    // Both sizes reach the parser and take the same path through it.
    expect((await call(small)).statusCode).toBe(status);
    expect((await call(large)).statusCode).toBe(status);

    const side = (value: string): Side => ({
      run: async (reps) => {
        for (let i = 0; i < reps; i++) await call(value);
      },
      reps: 10,
    });
    await expectRatio(`${header} (${prefix}…), 16 KB / 100 B`, { atMost: 3 }, async () => {
      const [smallMs, largeMs] = await fastestBatches([side(small), side(large)]);
      return {
        ratio: largeMs / smallMs,
        detail: `fastest of 10 calls: 100 B ${smallMs.toFixed(3)} ms, 16 KB ${largeMs.toFixed(3)} ms`,
      };
    });
  });
});

describe('each header parser takes time linear in its input', () => {
  /** Where each result goes, so that no call can be optimised away. */
  let sink: unknown;

  test.each([
    { name: 'parseBearer', parse: parseBearer, prefix: 'Bearer' },
    { name: 'parseMetadataHeader', parse: parseMetadataHeader, prefix: 'customer_id=c' },
    { name: 'parseMetadataHeader', parse: parseMetadataHeader, prefix: 'a=b' },
    { name: 'parseOptOutHeader', parse: parseOptOutHeader, prefix: 't' },
  ] as const)(
    '$name ($prefix, spaces, x): per byte, 128 KB costs under 4 times what 8 KB does (quadratic: 16)',
    async ({ name, parse, prefix }) => {
      const small = spaced(prefix, 8 * KB);
      const large = spaced(prefix, 128 * KB);
      // As many bytes in a batch of either size: the ratio of batch times is
      // the ratio of costs per byte (linear ≈ 1, quadratic ≈ 16).
      const side = (value: string, reps: number): Side => ({
        run: (n) => {
          for (let i = 0; i < n; i++) sink = parse(value);
        },
        reps,
      });
      await expectRatio(`${name} (${prefix}…), per byte 128 KB / 8 KB`, { under: 4 }, async () => {
        const [smallMs, largeMs] = await fastestBatches([side(small, 16), side(large, 1)]);
        const perByte = (ms: number) => `${((ms * 1e6) / (128 * KB)).toFixed(3)} ns/byte`;
        return {
          ratio: largeMs / smallMs,
          detail: `fastest: 16 × 8 KB ${perByte(smallMs)}, 1 × 128 KB ${perByte(largeMs)}`,
        };
      });
      expect(sink).toBeDefined();
    },
  );
});
