/**
 * The gateway's outbound trust: the openai-compatible upstream built by
 * createUpstream reaches, over real TLS on loopback, a server signed by the
 * CA uploaded to the trust store (S3 mocked) and is refused for an unrelated
 * CA; a trust store that cannot be read fails the call closed (502); and
 * every answer carries the warning header while verification is off.
 */

import type { ALBResult } from 'aws-lambda';
import { parseConfig, type GatewayConfig } from '../../../lambda/gateway/config';
import { createHandler, type GatewayHandler } from '../../../lambda/gateway/gateway';
import { UpstreamError, type Upstream } from '../../../lambda/gateway/upstream-contract';
import { createUpstream } from '../../../lambda/gateway/upstreams';
import { createTrustReader } from '../../../lambda/gateway/trust';
import type { ChatRequest } from '../../../lambda/gateway/validate-chat';
import type { TrustDocument } from '../../../lambda/shared/trust/trust-document';
import { PUBLIC_ONLY } from '../../../lambda/shared/trust/trust-source';
import {
  INSECURE_TRUST_ALL_WARNING,
  TRUST_WARNING_HEADER,
} from '../../../lambda/shared/trust/warning';
import { makeCa, makeLeaf, type TestCa } from '../../support/tls-fixtures';
import { CONFIG_BUCKET, fakeTrustBucket, type FakeTrustBucket } from '../../support/trust-bucket';
import { startFakeOpenAi, type FakeOpenAi } from './support/fake-openai';
import { albEvent, bearer, context, testEnv } from './support/fixtures';
import { startLocalAws, type LocalAws } from './support/local-aws';

const MODELS = JSON.stringify([{ id: 'chat', upstreamId: 'org/chat-model', kind: 'chat' }]);
const CHAT: ChatRequest = {
  model: 'chat',
  messages: [{ role: 'user', parts: [{ type: 'text', text: 'ping' }] }],
  n: 1,
  stop: [],
  stream: false,
  includeUsage: false,
  tools: [],
};

let privateCa: TestCa;
let unrelatedCa: TestCa;
let trusted: FakeOpenAi;
let untrusted: FakeOpenAi;
let bucket: FakeTrustBucket;

const doc = (mode: TrustDocument['mode'], pem: string): TrustDocument => ({
  mode,
  pem,
  updatedAt: new Date().toISOString(),
});

function config(baseUrl: string, env: Record<string, string> = {}): GatewayConfig {
  const parsed = parseConfig(
    testEnv({
      UPSTREAM_KIND: 'openai-compatible',
      UPSTREAM_BASE_URL: baseUrl,
      MODELS,
      CONFIG_BUCKET_NAME: CONFIG_BUCKET,
      ...env,
    }),
  );
  return parsed;
}

const chat = (upstream: Upstream, c: GatewayConfig) =>
  upstream.chat(CHAT, c.models[0], AbortSignal.timeout(10_000));

beforeAll(async () => {
  privateCa = await makeCa('Gateway private CA');
  unrelatedCa = await makeCa('Gateway unrelated CA');
  const privateLeaf = await makeLeaf(privateCa);
  const unrelatedLeaf = await makeLeaf(unrelatedCa);
  trusted = await startFakeOpenAi({ key: privateLeaf.key, cert: privateLeaf.cert });
  untrusted = await startFakeOpenAi({ key: unrelatedLeaf.key, cert: unrelatedLeaf.cert });
  bucket = fakeTrustBucket();
});

afterAll(async () => {
  bucket.mock.restore();
  await Promise.all([trusted.stop(), untrusted.stop()]);
});

beforeEach(() => {
  bucket.clear();
  bucket.failReads = false;
  trusted.behaviour = { kind: 'ok', content: 'pong' };
  untrusted.behaviour = { kind: 'ok', content: 'pong' };
});

describe('configuration', () => {
  test('CONFIG_BUCKET_NAME is optional and checked', () => {
    expect(parseConfig(testEnv()).configBucketName).toBeUndefined();
    expect(parseConfig(testEnv({ CONFIG_BUCKET_NAME: CONFIG_BUCKET })).configBucketName).toBe(
      CONFIG_BUCKET,
    );
    expect(() => parseConfig(testEnv({ CONFIG_BUCKET_NAME: 'Bad_Bucket' }))).toThrow(
      /CONFIG_BUCKET_NAME must be an S3 bucket name/,
    );
  });

  test('without a bucket the reader is PUBLIC_ONLY', () => {
    expect(createTrustReader(parseConfig(testEnv()))).toBe(PUBLIC_ONLY);
  });
});

describe('the upstream over TLS, trusting the trust store', () => {
  test.each<TrustDocument['mode']>(['uploaded_only', 'uploaded_and_public'])(
    '%s with the private CA uploaded: its server is reached, the unrelated one refused',
    async (mode) => {
      bucket.put(doc(mode, privateCa.cert));
      for (const [server, ok] of [
        [trusted, true],
        [untrusted, false],
      ] as const) {
        const c = config(server.baseUrl);
        const upstream = createUpstream(c, { s3: bucket.s3 });
        server.requests.length = 0;
        if (ok) {
          const result = await chat(upstream, c);
          expect(result.choices[0].text).toBe('pong');
          expect(server.requests).toHaveLength(1);
        } else {
          await expect(chat(upstream, c)).rejects.toEqual(new UpstreamError('failed'));
          expect(server.requests).toHaveLength(0);
        }
      }
      expect(bucket.gets.every((g) => g.Bucket === CONFIG_BUCKET)).toBe(true);
    },
  );

  test('nothing uploaded (no object): the public CAs only, so the private CA is refused', async () => {
    const c = config(trusted.baseUrl);
    await expect(chat(createUpstream(c, { s3: bucket.s3 }), c)).rejects.toEqual(
      new UpstreamError('failed'),
    );
  });

  test('insecure_trust_all reaches the unrelated server too, where the deployment allows it', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    const c = config(untrusted.baseUrl, { ALLOW_INSECURE_TRUST_ALL: 'true' });
    expect((await chat(createUpstream(c, { s3: bucket.s3 }), c)).choices[0].text).toBe('pong');
  });

  test('a store left in insecure_trust_all by an earlier deployment still verifies where it is not allowed', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    const c = config(untrusted.baseUrl);
    expect(c.allowInsecureTrustAll).toBe(false);
    await expect(chat(createUpstream(c, { s3: bucket.s3 }), c)).rejects.toEqual(
      new UpstreamError('failed'),
    );
  });

  test('a trust store that cannot be read fails the call closed: a failed upstream, no request sent', async () => {
    bucket.failReads = true;
    trusted.requests.length = 0;
    const c = config(trusted.baseUrl);
    await expect(chat(createUpstream(c, { s3: bucket.s3 }), c)).rejects.toEqual(
      new UpstreamError('failed'),
    );
    expect(trusted.requests).toHaveLength(0);
  });

  test('an explicit fetch (tests) still wins', async () => {
    const c = config(trusted.baseUrl);
    const calls: string[] = [];
    const upstream = createUpstream(c, {
      s3: bucket.s3,
      fetch: async (url) => {
        calls.push(url);
        return new Response(
          JSON.stringify({ choices: [{ message: { content: 'stub' }, finish_reason: 'stop' }] }),
          { status: 200, headers: { 'content-type': 'application/json' } },
        );
      },
    });
    expect((await chat(upstream, c)).choices[0].text).toBe('stub');
    expect(calls).toEqual([`${trusted.baseUrl}/v1/chat/completions`]);
  });
});

describe('the warning header', () => {
  let aws: LocalAws;
  let key: string;
  let n = 0;

  beforeAll(async () => {
    aws = await startLocalAws();
    key = await aws.createKey('trust', ['inference']);
  });
  afterAll(async () => {
    await aws.stop();
  });

  function handler(allowInsecure = true): GatewayHandler {
    const c = config(untrusted.baseUrl, { ALLOW_INSECURE_TRUST_ALL: String(allowInsecure) });
    const trust = createTrustReader(c, bucket.s3);
    return createHandler({
      config: c,
      ddb: aws.ddb,
      kms: aws.kms,
      upstream: createUpstream(c, { trust }),
      trust,
      logSink: () => undefined,
    });
  }
  const warning = (res: ALBResult) => res.headers?.[TRUST_WARNING_HEADER];
  const invoke = (h: GatewayHandler, input: Parameters<typeof albEvent>[0]) =>
    h(albEvent(input), context(`trust-${++n}`));
  const chatCall = {
    path: '/v1/chat/completions',
    body: { model: 'chat', messages: [{ role: 'user', content: 'hi' }] },
  };

  test('on every answer while insecure_trust_all: success, errors, unknown routes, health', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    const h = handler();
    const answers = [
      await invoke(h, { ...chatCall, headers: bearer(key) }),
      await invoke(h, { ...chatCall, headers: bearer(key), body: { model: 'nope', messages: [] } }),
      await invoke(h, { ...chatCall }),
      await invoke(h, { path: '/v1/nothing' }),
      await invoke(h, { path: '/healthz' }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 400, 401, 404, 200]);
    for (const a of answers) expect(warning(a)).toBe(INSECURE_TRUST_ALL_WARNING);
  });

  test('shares the header with metadata warnings: the trust warning first, joined by ", "', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    untrusted.behaviour = { kind: 'ok', content: 'fine' };
    const h = handler();
    const typo = "unknown metadata parameter 'customerid' (known: customer_id)";
    const headers = { ...bearer(key), 'x-ephemera-metadata': 'customerid=abc' };
    const buffered = await invoke(h, { ...chatCall, headers });
    const streamed = await invoke(h, {
      ...chatCall,
      headers,
      body: { model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true },
    });
    for (const res of [buffered, streamed]) {
      expect(res.statusCode).toBe(200);
      expect(warning(res)).toBe(`${INSECURE_TRUST_ALL_WARNING}, ${typo}`);
    }

    bucket.put(doc('uploaded_only', unrelatedCa.cert));
    const secure = handler();
    const alone = await invoke(secure, { path: '/v1/models', headers });
    expect(alone.statusCode).toBe(200);
    expect(warning(alone)).toBe(typo);
  });

  test('none where the deployment does not allow trust-all (certificates are verified)', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    const res = await invoke(handler(false), { path: '/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(warning(res)).toBeUndefined();
  });

  test('a streamed answer carries it too', async () => {
    bucket.put(doc('insecure_trust_all', ''));
    untrusted.behaviour = { kind: 'ok', content: 'streamed' };
    const res = await invoke(handler(), {
      ...chatCall,
      headers: bearer(key),
      body: { model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true },
    });
    expect(res.statusCode).toBe(200);
    expect(warning(res)).toBe(INSECURE_TRUST_ALL_WARNING);
  });

  test('absent while verification is on; a health check before any read has none', async () => {
    bucket.put(doc('uploaded_only', unrelatedCa.cert));
    const h = handler();
    expect(warning(await invoke(h, { path: '/healthz' }))).toBeUndefined();
    const res = await invoke(h, { ...chatCall, headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(warning(res)).toBeUndefined();
  });

  test('an unreadable trust store adds no header and fails only what needs the trust', async () => {
    bucket.failReads = true;
    const h = handler();
    const unknown = await invoke(h, { path: '/v1/nothing' });
    expect(unknown.statusCode).toBe(404);
    expect(warning(unknown)).toBeUndefined();
    const res = await invoke(h, { ...chatCall, headers: bearer(key) });
    expect(res.statusCode).toBe(502);
    expect(warning(res)).toBeUndefined();
  });
});
