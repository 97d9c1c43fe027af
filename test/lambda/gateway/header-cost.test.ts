/**
 * Abuse before authentication: what a pathological header costs. Headers
 * arrive before any key is checked, so a parser that backtracks lets one
 * unauthenticated request buy seconds of CPU. Each header the gateway reads is
 * sent 16 KB long, shaped to make a backtracking trim quadratic (a long run of
 * spaces that does not end the value), and the whole request must cost at most
 * 3 times a 100-byte one, measured as a ratio of medians in one run.
 *
 * (A structural check runs in lint as well: eslint-plugin-regexp refuses
 * super-linear patterns anywhere in lambda/, lib/, bin/ and local/.)
 */

import { PutItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, type GatewayHandler } from '../../../lambda/gateway/gateway';
import type { Upstream } from '../../../lambda/gateway/upstream';
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
  models: async (configured) => configured,
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

/** `prefix` + spaces + a final character, `bytes` long: a worst case for `[ \t]+$`. */
const spaced = (prefix: string, bytes: number) =>
  prefix + ' '.repeat(bytes - prefix.length - 1) + 'x';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median time of one handler call for each header value, interleaved (ms). */
async function costs(
  handler: GatewayHandler,
  header: string,
  values: readonly string[],
): Promise<number[]> {
  const samples = values.map(() => [] as number[]);
  const call = (value: string) =>
    handler(
      albEvent({ path: '/v1/models', headers: { [header]: value, authorization: 'Bearer x' } }),
      context('cost'),
    );
  for (const value of values) for (let i = 0; i < 20; i++) await call(value); // warm-up
  for (let round = 0; round < 25; round++) {
    for (const [j, value] of values.entries()) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await call(value);
      samples[j].push(Number(process.hrtime.bigint() - start) / 1e7);
    }
  }
  return samples.map(median);
}

describe('a 16 KB pathological header costs at most 3 times a 100-byte one', () => {
  test.each([
    ['authorization', realHandler, 'Bearer'],
    ['x-ephemera-metadata', acceptingHandler, 'customer_id=c;'],
    ['x-ephemera-learning-opt-out', acceptingHandler, 't'],
  ] as const)('%s', async (header, handler, prefix) => {
    const [small, large] = await costs(
      handler,
      header === 'authorization' ? 'authorization' : header,
      [spaced(prefix, 100), spaced(prefix, 16 * 1024)],
    );
    expect(large / small).toBeLessThanOrEqual(3);
  });
});

describe('each header parser takes time linear in its input', () => {
  /** Median time of `parse` over `input` (ms per call). */
  function parseCost(parse: (s: string) => unknown, input: string): number {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) parse(input);
    for (let round = 0; round < 15; round++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) parse(input);
      samples.push(Number(process.hrtime.bigint() - start) / 2e7);
    }
    return median(samples);
  }

  test.each([
    ['parseBearer', parseBearer, 'Bearer'],
    ['parseMetadataHeader', parseMetadataHeader, 'customer_id=c;'],
    ['parseOptOutHeader', parseOptOutHeader, 't'],
  ] as const)(
    '%s: four times the input costs well under sixteen times (quadratic would)',
    (_name, parse, prefix) => {
      const small = parseCost(parse, spaced(prefix, 32 * 1024));
      const large = parseCost(parse, spaced(prefix, 128 * 1024));
      expect(large / small).toBeLessThan(8);
    },
  );
});
