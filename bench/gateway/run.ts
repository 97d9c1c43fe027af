/**
 * bench/gateway: what the gateway adds to a request, in process.
 *
 *   npx tsx bench/gateway/run.ts [--requests 10000] [--e2e]
 *
 * A fake OpenAI-compatible upstream on 127.0.0.1 answers at once. Two variants
 * run interleaved, request by request, in the same process:
 * - baseline: `fetch` the fake upstream directly and parse its answer;
 * - gateway: the full handler (ALB event → body parsing and validation → API key
 *   check with the KMS hash cache warm → customer hash → upstream call through
 *   the same fetch → response → usage record → usage log line to a no-op sink).
 *
 * By default the AWS clients are stubbed at the SDK's middleware level, so the
 * difference is Ephemera's own code. `--e2e` points DynamoDB and S3 at dynalite
 * and s3rver on loopback instead (KMS stays stubbed: there is no local KMS) and
 * also runs image generations with `response_format: "url"` (S3 put + presign).
 *
 * The same comparison also runs with an in-memory upstream (an object that
 * returns a canned completion at once, handed to the handler in place of the
 * HTTP upstream): the baseline then costs next to nothing, so its figure is
 * Ephemera's own code without loopback-HTTP noise.
 *
 * Prints p50/p99/mean per variant, the added time (p50 and p99 of the gateway
 * minus those of the baseline) against the goals (< 0.5 ms p50, < 2 ms p99 in
 * the default mode), and the ratios.
 *
 * Last, the Responses API against chat completions, both through the handler
 * with the in-memory upstream and the same conversation: what translating a
 * Responses request to a chat request and the answer back adds.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { ALBEvent } from 'aws-lambda';
import { createKmsHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import { parseConfig, type GatewayConfig } from '../../lambda/gateway/config';
import { createUpstream } from '../../lambda/gateway/upstreams';
import { createHandler, type GatewayHandler } from '../../lambda/gateway/gateway';
import type { ChatResult } from '../../lambda/gateway/upstream-results';
import type { Upstream } from '../../lambda/gateway/upstream-contract';
import {
  startLocalServers,
  stubbedDynamoDb,
  stubbedKms,
  stubbedS3,
  type LocalStores,
} from './aws-stubs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    e2e: { type: 'boolean', default: false },
  },
});
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 100 || requests > 1_000_000) {
  console.error('--requests must be a whole number from 100 to 1000000');
  process.exit(2);
}
const e2e = values.e2e ?? false;

const NAMES = { usageTable: 'bench-usage', keyTable: 'bench-keys', bucket: 'bench-images' };
// A 1x1 PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const CHAT_ANSWER = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'org/chat',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'A short answer of about twenty tokens, as a fast model would give.',
      },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 250, completion_tokens: 20, total_tokens: 270 },
});
const IMAGE_ANSWER = JSON.stringify({ created: 1, data: [{ b64_json: PNG_B64 }] });

async function startUpstream(): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/v1/images/generations' ? IMAGE_ANSWER : CHAT_ANSWER);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const chatRequest = {
  model: 'chat',
  messages: [
    { role: 'system', content: 'You are a concise assistant. Answer in one sentence. '.repeat(4) },
    { role: 'user', content: 'Summarise the following paragraph for a busy reader. '.repeat(12) },
  ],
  temperature: 0.7,
  top_p: 0.95,
  max_tokens: 256,
  stop: ['\n\n'],
};
const imageRequest = {
  model: 'draw',
  prompt: 'A lighthouse at dusk, watercolour',
  size: '512x512',
  response_format: 'url',
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  let servers: LocalStores | undefined;
  const config: GatewayConfig = {
    ...parseConfig({
      USAGE_TABLE_NAME: NAMES.usageTable,
      KEY_TABLE_NAME: NAMES.keyTable,
      IMAGE_BUCKET_NAME: NAMES.bucket,
      HMAC_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/bench',
      UPSTREAM_KIND: 'openai-compatible',
      UPSTREAM_BASE_URL: 'https://upstream.invalid',
      MODELS: JSON.stringify([
        {
          id: 'chat',
          upstreamId: 'org/chat',
          kind: 'chat',
          inputMicroUsdPer1kTokens: 60,
          outputMicroUsdPer1kTokens: 240,
        },
        { id: 'draw', upstreamId: 'org/draw', kind: 'image', microUsdPerImage: 40000 },
      ]),
      IMAGE_TTL_SECONDS: '3600',
      METADATA_RETENTION_DAYS: '30',
    }),
    // The fake upstream is plain HTTP on loopback; the config parser only accepts https.
    upstream: { kind: 'openai-compatible', baseUrl: upstream.baseUrl },
  };

  const kms = stubbedKms();
  let ddb;
  let s3;
  if (e2e) {
    servers = await startLocalServers(NAMES);
    ({ ddb, s3 } = servers);
  } else {
    ddb = stubbedDynamoDb(NAMES.keyTable);
    s3 = stubbedS3();
  }
  const hasher = createKmsHasher({ kms, keyId: config.hmacKeyId });
  const { key } = await new KeyStore({ ddb, tableName: NAMES.keyTable, hasher }).create({
    name: 'bench',
    scopes: ['inference'],
  });
  const handler = createHandler({
    config,
    ddb,
    s3,
    kms,
    hasher,
    upstream: createUpstream(config),
    logSink: () => undefined,
  });
  const cannedChat: ChatResult = {
    choices: [
      {
        text: 'A short answer of about twenty tokens, as a fast model would give.',
        toolCalls: [],
        finishReason: 'stop',
      },
    ],
    inputTokens: 250,
    outputTokens: 20,
  };
  const inMemory: Upstream = {
    kind: 'openai-compatible',
    chat: async () => cannedChat,
    images: async () => ({ images: [Buffer.from(PNG_B64, 'base64')] }),
    embeddings: async () => ({ vectors: [], inputTokens: 0 }),
  };
  const inMemoryHandler = createHandler({
    config,
    ddb,
    s3,
    kms,
    hasher,
    upstream: inMemory,
    logSink: () => undefined,
  });

  const event = (path: string, body: unknown): ALBEvent => ({
    requestContext: {
      elb: {
        targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/bench/0',
      },
    },
    httpMethod: 'POST',
    path,
    queryStringParameters: {},
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'x-ephemera-metadata': 'customer_id=bench-customer-1',
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  });

  const httpDirect = (path: string, upstreamBody: Record<string, unknown>) => async () => {
    const res = await fetch(`${upstream.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(upstreamBody),
    });
    JSON.parse(await res.text());
  };
  const memoryDirect = () => async () => {
    await inMemory.chat(undefined as never, undefined as never, undefined as never);
  };

  async function compare(
    name: string,
    path: string,
    body: Record<string, unknown>,
    direct: () => Promise<void>,
    gateway: GatewayHandler,
    n: number,
    labels = {
      base: 'direct upstream call',
      subject: 'through gateway handler',
      added: 'added by Ephemera',
      ratio: 'ratio gateway / direct',
    },
  ) {
    const through = async () => {
      const r = await gateway(event(path, body));
      if (r.statusCode !== 200) throw new Error(`gateway answered ${r.statusCode}`);
    };
    const time = async (fn: () => Promise<void>) => {
      const start = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const warmup = Math.min(1000, Math.ceil(n / 10));
    for (let i = 0; i < warmup; i++) {
      await direct();
      await through();
    }
    const base: number[] = [];
    const gw: number[] = [];
    for (let i = 0; i < n; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        base.push(await time(direct));
        gw.push(await time(through));
      } else {
        gw.push(await time(through));
        base.push(await time(direct));
      }
    }
    const b = summary(base);
    const g = summary(gw);
    const fmt = (x: number) => `${x.toFixed(3)} ms`;
    console.log(`  ${name}: ${n} requests each, interleaved (after ${warmup} warm-up)`);
    console.log(
      `    ${labels.base.padEnd(24)} p50 ${fmt(b.p50)}  p99 ${fmt(b.p99)}  mean ${fmt(b.mean)}`,
    );
    console.log(
      `    ${labels.subject.padEnd(24)} p50 ${fmt(g.p50)}  p99 ${fmt(g.p99)}  mean ${fmt(g.mean)}`,
    );
    const goals = e2e ? '' : ' (goal < 0.500 ms)';
    const goals99 = e2e ? '' : ' (goal < 2.000 ms)';
    console.log(
      `    ${labels.added.padEnd(24)} p50 ${fmt(g.p50 - b.p50)}${goals}  p99 ${fmt(g.p99 - b.p99)}${goals99}`,
    );
    console.log(
      `    ${labels.ratio.padEnd(24)} p50 ${(g.p50 / b.p50).toFixed(2)}x  p99 ${(g.p99 / b.p99).toFixed(2)}x  mean ${(g.mean / b.mean).toFixed(2)}x`,
    );
  }

  console.log(
    `bench/gateway ${e2e ? '--e2e (dynalite + s3rver on loopback, KMS stubbed)' : '(AWS clients stubbed at the SDK middleware)'}; ` +
      `node ${process.version}, ${cpus().length} cores`,
  );
  await compare(
    'POST /v1/chat/completions, fake upstream over loopback HTTP',
    '/v1/chat/completions',
    chatRequest,
    httpDirect('/v1/chat/completions', { ...chatRequest, model: 'org/chat', stream: false }),
    handler,
    requests,
  );
  await compare(
    'POST /v1/chat/completions, in-memory fake upstream',
    '/v1/chat/completions',
    chatRequest,
    memoryDirect(),
    inMemoryHandler,
    requests,
  );
  if (e2e) {
    await compare(
      'POST /v1/images/generations (url: S3 put + presign), fake upstream over loopback HTTP',
      '/v1/images/generations',
      imageRequest,
      httpDirect('/v1/images/generations', {
        model: 'org/draw',
        prompt: imageRequest.prompt,
        n: 1,
        size: '512x512',
        response_format: 'b64_json',
      }),
      handler,
      Math.max(100, Math.floor(requests / 10)),
    );
  }
  // The same conversation as chat completions, in the Responses API's shape.
  const responsesRequest = {
    model: 'chat',
    instructions: chatRequest.messages[0].content,
    input: [{ role: 'user', content: chatRequest.messages[1].content }],
    temperature: chatRequest.temperature,
    top_p: chatRequest.top_p,
    max_output_tokens: chatRequest.max_tokens,
  };
  await compare(
    'POST /v1/responses vs POST /v1/chat/completions, in-memory fake upstream',
    '/v1/responses',
    responsesRequest,
    async () => {
      const r = await inMemoryHandler(event('/v1/chat/completions', chatRequest));
      if (r.statusCode !== 200) throw new Error(`chat answered ${r.statusCode}`);
    },
    inMemoryHandler,
    requests,
    {
      base: 'chat completions',
      subject: 'responses',
      added: 'added by translation',
      ratio: 'ratio responses / chat',
    },
  );
  await servers?.stop();
  await upstream.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
