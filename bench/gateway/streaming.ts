/**
 * bench/gateway/streaming: when the first byte of a `stream: true` chat
 * completion reaches the client, against when the whole answer has, through
 * the streaming front door (API Gateway) and the buffered one (the ALB),
 * measured in one run.
 *
 *   npx tsx bench/gateway/streaming.ts [--runs 7]
 *
 * A slow fake OpenAI-compatible upstream on 127.0.0.1 answers every chat with
 * server-sent events: the role chunk at once, then a token every 100 ms for
 * 2 s (20 tokens), then the finish reason, the usage and [DONE]. The same
 * gateway handler (`createHandler`) is called two ways, interleaved request by
 * request (the order alternating), `--runs` times each after one warm-up each:
 * - streaming: the Lambda entry for API Gateway's response transfer mode
 *   STREAM (`rawStreamingHandler`) with an API Gateway proxy event, writing to
 *   an emulation of the runtime's response stream that records the time of
 *   every write. Time to first byte is the first body write after the prelude
 *   (status and headers); total is when the stream is ended;
 * - buffered: the handler with an ALB event and no stream; it returns the
 *   whole SSE body, which the load balancer sends only then, so time to first
 *   byte and total are both when the handler resolves (their ratio is 1 by
 *   construction; what the bench shows is how late that is).
 * Both are timed from the moment the handler is invoked. The streaming
 * variant's first body chunk is the upstream's role chunk (no text yet), so
 * the time to the first chunk carrying a token, and its ratio to the total,
 * are printed beside it for reference (no goal).
 *
 * Nothing the handler does is stubbed: DynamoDB is dynalite and S3 s3rver
 * (`local/stores.ts`), KMS is the KMS JSON-protocol server of local mode
 * (`local/kms.ts`), all on 127.0.0.1, started and stopped here; the usage
 * lines go to a no-op sink instead of stdout. The fake upstream, the runtime's
 * response stream and the events come from the gateway tests' support modules
 * (`test/lambda/gateway/support/`: fake-openai, lambda-runtime, fixtures).
 *
 * Prints medians per variant of time to first byte, total and their ratio
 * (the median of the per-request ratios), against the goals (streaming ratio
 * below 0.1, buffered about 1.0), and checks that the text reassembled from
 * the events is the upstream's, the same in both variants on every request,
 * and that each request left one usage record (exit 1 if not).
 */

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { createKmsHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import { parseConfig, type GatewayConfig } from '../../lambda/gateway/config';
import { createHandler } from '../../lambda/gateway/gateway';
import { createUpstream } from '../../lambda/gateway/upstreams';
import { rawStreamingHandler } from '../../lambda/shared/lambda-stream';
import { startLocalKms } from '../../local/kms';
import { LOCAL_REGION, startLocalStores } from '../../local/stores';
import { startFakeOpenAi } from '../../test/lambda/gateway/support/fake-openai';
import {
  albEvent,
  apiGatewayEvent,
  context,
  type EventInput,
} from '../../test/lambda/gateway/support/fixtures';
import { fakeRuntime, recordedResponse } from '../../test/lambda/gateway/support/lambda-runtime';
import { streamedAnswer } from '../../test/lambda/gateway/support/upstream-stream';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3 || runs > 50) {
  console.error('--runs must be a whole number from 3 to 50');
  process.exit(2);
}
// The SDK's notice about future Node.js versions is not part of the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const NAMES = {
  usageTable: 'bench-usage',
  keyTable: 'bench-keys',
  deletionTable: 'bench-deletions',
  imageBucket: 'bench-images',
};
const TOKEN_MS = 100;
const TOKENS = Array.from({ length: 20 }, (_, i) => `tok${i} `);
const EXPECTED_TEXT = TOKENS.join('');

/** The role chunk, a token every 100 ms for 2 s, then the finish reason, the usage and [DONE]. */
const SLOW_PIECES = streamedAnswer(TOKENS);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The text of a text/event-stream chat body: every delta's content, in order; undefined if malformed. */
function reassembled(body: string): string | undefined {
  if (!body.endsWith('\n\n')) return undefined;
  const events = body.split('\n\n').filter((e) => e !== '');
  if (events.some((e) => !e.startsWith('data: ')) || events.at(-1) !== 'data: [DONE]') {
    return undefined;
  }
  return events
    .slice(0, -1)
    .map((e) => JSON.parse(e.slice('data: '.length)) as { choices?: unknown[] })
    .map((e) => (e.choices?.[0] as { delta?: { content?: string } } | undefined)?.delta?.content)
    .join('');
}

interface Sample {
  /** Invocation to the first body byte leaving the function. */
  readonly ttfb: number;
  /** Invocation to the first body byte carrying a token. */
  readonly firstToken: number;
  /** Invocation to the end of the answer. */
  readonly total: number;
  readonly text: string | undefined;
  readonly status: number;
}

async function main(): Promise<void> {
  const stores = await startLocalStores({ inMemory: true, names: NAMES });
  // The stand-ins share this run's random credentials.
  const kmsServer = await startLocalKms({ credentials: stores.credentials });
  const fake = await startFakeOpenAi();
  fake.behaviour = { kind: 'stream', pieces: SLOW_PIECES, delayMs: TOKEN_MS };
  const kms = new KMSClient({
    endpoint: kmsServer.endpoint,
    region: LOCAL_REGION,
    credentials: stores.credentials,
  });
  const stop = async () => {
    await fake.stop();
    kms.destroy();
    await kmsServer.stop();
    await stores.stop();
  };

  try {
    const config: GatewayConfig = {
      ...parseConfig({
        USAGE_TABLE_NAME: NAMES.usageTable,
        KEY_TABLE_NAME: NAMES.keyTable,
        IMAGE_BUCKET_NAME: NAMES.imageBucket,
        HMAC_KEY_ID: kmsServer.hmacKeyArn,
        UPSTREAM_KIND: 'openai-compatible',
        UPSTREAM_BASE_URL: 'https://upstream.invalid',
        MODELS: JSON.stringify([
          {
            id: 'chat',
            upstreamId: 'org/chat-model',
            kind: 'chat',
            inputMicroUsdPer1kTokens: 60,
            outputMicroUsdPer1kTokens: 240,
          },
        ]),
        IMAGE_TTL_SECONDS: '3600',
        METADATA_RETENTION_DAYS: '30',
      }),
      // The fake upstream is plain HTTP on loopback; the config parser only accepts https.
      upstream: { kind: 'openai-compatible', baseUrl: fake.baseUrl },
    };
    const { key } = await new KeyStore({
      ddb: stores.ddb,
      tableName: NAMES.keyTable,
      hasher: createKmsHasher({ kms, keyId: kmsServer.hmacKeyArn }),
    }).create({ name: 'bench', scopes: ['inference'] });
    const handler = createHandler({
      config,
      ddb: stores.ddb,
      s3: stores.s3,
      kms,
      upstream: createUpstream(config),
      logSink: () => undefined,
    });
    const streamingEntry = rawStreamingHandler(handler, fakeRuntime);

    const request: EventInput = {
      path: '/v1/chat/completions',
      headers: {
        authorization: `Bearer ${key}`,
        'x-ephemera-metadata': 'customer_id=bench-streamer',
      },
      body: {
        model: 'chat',
        messages: [{ role: 'user', content: 'Count slowly to twenty.' }],
        stream: true,
      },
    };
    let n = 0;

    const streamed = async (): Promise<Sample> => {
      const response = recordedResponse();
      let endedAt = NaN;
      void response.ended.then(() => (endedAt = performance.now()));
      const event = apiGatewayEvent(request);
      const started = performance.now();
      await streamingEntry(event, response.stream, context(`bench-stream-${++n}`));
      await response.ended;
      const pieces = response.bodyWrites();
      const { metadata, body } = response.decode();
      const firstToken = pieces.find((p) => p.bytes.toString('utf8').includes('tok0 '));
      return {
        ttfb: (pieces[0]?.at ?? NaN) - started,
        firstToken: (firstToken?.at ?? NaN) - started,
        total: endedAt - started,
        text: reassembled(body),
        status: metadata.statusCode,
      };
    };
    const buffered = async (): Promise<Sample> => {
      const event = albEvent(request);
      const started = performance.now();
      const result = await handler(event, context(`bench-buffered-${++n}`));
      const at = performance.now() - started;
      const body = Buffer.from(
        result.body ?? '',
        result.isBase64Encoded ? 'base64' : 'utf8',
      ).toString('utf8');
      return {
        ttfb: at,
        firstToken: at,
        total: at,
        text: reassembled(body),
        status: result.statusCode,
      };
    };

    console.log(
      `bench/gateway/streaming: ${runs} runs per variant, interleaved (after 1 warm-up each); ` +
        `upstream: a token every ${TOKEN_MS} ms for ${(TOKENS.length * TOKEN_MS) / 1000} s on 127.0.0.1; ` +
        `node ${process.version}, ${cpus().length} cores`,
    );
    await streamed();
    await buffered();
    const samples = { streaming: [] as Sample[], buffered: [] as Sample[] };
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        samples.streaming.push(await streamed());
        samples.buffered.push(await buffered());
      } else {
        samples.buffered.push(await buffered());
        samples.streaming.push(await streamed());
      }
    }

    const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
    const ratios = new Map<string, number>();
    for (const [name, list] of Object.entries(samples)) {
      const ttfb = median(list.map((s) => s.ttfb));
      const firstToken = median(list.map((s) => s.firstToken));
      const total = median(list.map((s) => s.total));
      // The median of the per-request ratios.
      const ratio = median(list.map((s) => s.ttfb / s.total));
      const tokenRatio = median(list.map((s) => s.firstToken / s.total));
      ratios.set(name, ratio);
      console.log(
        `  ${name.padEnd(10)} median TTFB ${ms(ttfb)}  total ${ms(total)}  TTFB/total ${ratio.toFixed(3)}  ` +
          `(first token ${ms(firstToken)}, first token/total ${tokenRatio.toFixed(3)})`,
      );
    }
    const streamingRatio = ratios.get('streaming')!;
    const bufferedRatio = ratios.get('buffered')!;
    const streamingPass = streamingRatio < 0.1;
    const bufferedPass = bufferedRatio >= 0.9;
    console.log(
      `  goal: streaming TTFB/total below 0.1: ${streamingRatio.toFixed(3)} ${streamingPass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `  goal: buffered TTFB/total about 1.0 (at least 0.9): ${bufferedRatio.toFixed(3)} ${bufferedPass ? 'PASS' : 'FAIL'}`,
    );

    // Every answer a 200 with the upstream's text, the same in both variants.
    const all = [...samples.streaming, ...samples.buffered];
    const bad = all.filter((s) => s.status !== 200 || s.text !== EXPECTED_TEXT);
    const streamingTexts = new Set(samples.streaming.map((s) => s.text));
    const bufferedTexts = new Set(samples.buffered.map((s) => s.text));
    const same =
      bad.length === 0 &&
      streamingTexts.size === 1 &&
      bufferedTexts.size === 1 &&
      [...streamingTexts][0] === [...bufferedTexts][0];
    console.log(
      `  reassembled text: ${same ? `identical in both variants on all ${all.length} requests (${EXPECTED_TEXT.length} characters, the upstream's)` : `DIFFERS (${bad.length} of ${all.length} requests not a 200 with the upstream's text)`}`,
    );

    // The handler did its whole work: one usage record per request, warm-ups included.
    const usage = await stores.ddb.send(new ScanCommand({ TableName: NAMES.usageTable }));
    const records = usage.Items?.length ?? 0;
    console.log(`  usage records in dynalite: ${records} (requests: ${all.length + 2})`);

    await stop();
    if (!same || records !== all.length + 2) process.exitCode = 1;
  } catch (err) {
    await stop();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
