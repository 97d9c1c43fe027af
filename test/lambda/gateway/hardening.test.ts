/**
 * Defaults that keep the promises, through the whole handler on real dynalite
 * and s3rver: the opt-out is recorded whatever else fails, repeated headers
 * keep "the first customer_id wins", images are on record before they are
 * uploaded, remote image URLs are refused by default, images by default store
 * nothing, and guesses at a real key id are throttled.
 */

import { createHmac } from 'node:crypto';
import type { ALBEvent } from 'aws-lambda';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, type GatewayHandler } from '../../../lambda/gateway/gateway';
import { createUpstream } from '../../../lambda/gateway/upstreams';
import type { GatewayConfig } from '../../../lambda/gateway/config';
import { createKmsHasher } from '../../../lib/core/keyed-hash';
import { KeyStore } from '../../../lib/core/key-store';
import { usageRecordFromItem } from '../../../lambda/shared/usage-record';
import { HMAC_KEY_ID, startLocalAws, type LocalAws } from './support/local-aws';
import type { FrontDoorEvent } from '../../../lambda/shared/http-event';
import {
  albEvent,
  apiGatewayEvent,
  bearer,
  context,
  json,
  pngBytes,
  testConfig,
} from './support/fixtures';

let aws: LocalAws;
let key: string;
let keyId: string;
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const bedrockMock = mockClient(bedrock);
let n = 0;

const customerHashOf = (id: string) =>
  createHmac('sha256', Buffer.from('gateway-test-hmac-key')).update(`customer:${id}`).digest('hex');

function handlerWith(config: GatewayConfig = testConfig(), s3?: S3Client): GatewayHandler {
  return createHandler({
    config,
    ddb: aws.ddb,
    s3: s3 ?? aws.s3,
    kms: aws.kms,
    upstream: createUpstream(config, { bedrock }),
    logSink: () => undefined,
  });
}

/** A handler whose usage log lines are kept in `lines`. */
function loggingHandler(): { handler: GatewayHandler; lines: string[] } {
  const lines: string[] = [];
  const config = testConfig();
  const handler = createHandler({
    config,
    ddb: aws.ddb,
    kms: aws.kms,
    upstream: createUpstream(config, { bedrock }),
    logSink: (l) => lines.push(l),
  });
  return { handler, lines };
}

async function send(handler: GatewayHandler, event: FrontDoorEvent) {
  const requestId = `hard-${++n}`;
  const response = await handler(event, context(requestId));
  const item = (await aws.scanAll()).find((i) => i.request_id?.S === requestId);
  return { response, item, record: item ? usageRecordFromItem(item).record : undefined };
}

/** A load-balancer event with multi-value headers on, as Ephemera's target group sends it. */
function multiValueEvent(headers: Record<string, string[]>, body: unknown): ALBEvent {
  const single = albEvent({ path: '/v1/chat/completions', body });
  return {
    requestContext: single.requestContext,
    httpMethod: 'POST',
    path: '/v1/chat/completions',
    multiValueHeaders: { 'content-type': ['application/json'], ...headers },
    multiValueQueryStringParameters: {},
    body: single.body,
    isBase64Encoded: false,
  };
}

const chat = { model: 'chat-small', messages: [{ role: 'user', content: 'hi' }] };
const converseOk = {
  output: { message: { role: 'assistant' as const, content: [{ text: 'ok' }] } },
  stopReason: 'end_turn' as const,
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
};
const novaAnswer = (images: Buffer[]) => ({
  body: Buffer.from(JSON.stringify({ images: images.map((b) => b.toString('base64')) })),
  contentType: 'application/json',
});

beforeAll(async () => {
  aws = await startLocalAws();
  const store = new KeyStore({
    ddb: aws.ddb,
    tableName: testConfig().keyTableName,
    hasher: createKmsHasher({ kms: aws.kms, keyId: HMAC_KEY_ID }),
  });
  ({ key, id: keyId } = await store.create({ name: 'hardening', scopes: ['inference'] }));
});

afterAll(async () => {
  bedrockMock.restore();
  await aws.stop();
});

beforeEach(() => {
  bedrockMock.reset();
  bedrockMock.on(InvokeModelCommand).resolves(novaAnswer([pngBytes('x')]) as never);
});

describe('the opt-out is recorded whenever it is valid, whatever else fails', () => {
  test('with an invalid X-Ephemera-Metadata (400)', async () => {
    const { response, record } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/chat/completions',
        headers: {
          ...bearer(key),
          'x-ephemera-metadata': 'customer_id=has space',
          'x-ephemera-learning-opt-out': 'true',
        },
        body: chat,
      }),
    );
    expect(response.statusCode).toBe(400);
    expect(record).toMatchObject({ opt_out: true, status: 400, api_key_id: keyId });
  });

  test('with a bad body (400)', async () => {
    const { response, record } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': 'TRUE' },
        rawBody: '{not json',
      }),
    );
    expect(response.statusCode).toBe(400);
    expect(record).toMatchObject({ opt_out: true });
  });

  test('with a bad key: there is no usage item, but the log line carries it', async () => {
    const { handler, lines } = loggingHandler();
    const { response, item } = await send(
      handler,
      albEvent({
        path: '/v1/chat/completions',
        headers: { authorization: 'Bearer nope', 'x-ephemera-learning-opt-out': 'true' },
        body: chat,
      }),
    );
    expect(response.statusCode).toBe(401);
    expect(item).toBeUndefined();
    expect(JSON.parse(lines[0])).toMatchObject({ opt_out: true, auth_failure: 'malformed' });
  });

  test('on an unknown path (404): the log line carries it', async () => {
    const { handler, lines } = loggingHandler();
    const { response, item } = await send(
      handler,
      albEvent({
        path: '/v1/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': 'true' },
        body: chat,
      }),
    );
    expect(response.statusCode).toBe(404);
    expect(item).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ route: 'unmatched', status: 404, opt_out: true });
  });

  test('on a wrong method (405): the log line carries it', async () => {
    const { handler, lines } = loggingHandler();
    const { response } = await send(
      handler,
      albEvent({
        method: 'GET',
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': 'true' },
      }),
    );
    expect(response.statusCode).toBe(405);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      route: 'chat_completions',
      status: 405,
      opt_out: true,
    });
  });

  test('an invalid opt-out on an unknown path is still a 404, and nothing is recorded for it', async () => {
    const { handler, lines } = loggingHandler();
    const { response } = await send(
      handler,
      albEvent({
        path: '/v1/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': 'maybe' },
        body: chat,
      }),
    );
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(lines[0])).not.toHaveProperty('opt_out');
  });

  test.each([
    ['InternalServerException', 502],
    ['ModelTimeoutException', 504],
  ])('when the upstream fails (%s, %i): the usage item carries it', async (name, status) => {
    bedrockMock.on(ConverseCommand).rejects(Object.assign(new Error('upstream'), { name }));
    const { response, record } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/chat/completions',
        headers: { ...bearer(key), 'x-ephemera-learning-opt-out': 'true' },
        body: chat,
      }),
    );
    expect(response.statusCode).toBe(status);
    expect(record).toMatchObject({ opt_out: true, status, api_key_id: keyId });
  });
});

describe('repeated headers (multi-value headers on)', () => {
  test('the first customer_id wins across repeated X-Ephemera-Metadata headers', async () => {
    bedrockMock.on(InvokeModelCommand).resolves({});
    const { response, record } = await send(
      handlerWith(),
      multiValueEvent(
        {
          authorization: [`Bearer ${key}`],
          'x-ephemera-metadata': ['team=a', 'customer_id=first-one', 'customer_id=second-one'],
        },
        { ...chat, model: 'no-such-model' },
      ),
    );
    expect(response.statusCode).toBe(404);
    expect(record?.customer_hash).toBe(customerHashOf('first-one'));
    // The answer has the shape the load balancer reads when multi-value headers are on.
    expect(response.multiValueHeaders?.['X-Ephemera-Retention']).toEqual([
      'content=none; metadata=30d',
    ]);
    expect(response.headers).toBeUndefined();
  });

  test('a malformed pair in any of the repeated headers is a 400', async () => {
    const { response } = await send(
      handlerWith(),
      multiValueEvent(
        {
          authorization: [`Bearer ${key}`],
          'x-ephemera-metadata': ['customer_id=ok', 'broken pair'],
        },
        chat,
      ),
    );
    expect(response.statusCode).toBe(400);
  });

  test('two Authorization headers are refused, not guessed between', async () => {
    const { response } = await send(
      handlerWith(),
      multiValueEvent({ authorization: [`Bearer ${key}`, 'Bearer other'] }, chat),
    );
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: {
        type: 'invalid_request_error',
        message: "Malformed Authorization header: expected 'Bearer eph_<key id>_<secret>'",
        param: null,
        code: 'invalid_api_key',
      },
    });
  });

  test('repeated opt-out headers: each must be valid, and any true opts out', async () => {
    const { record } = await send(
      handlerWith(),
      multiValueEvent(
        {
          authorization: [`Bearer ${key}`],
          'x-ephemera-learning-opt-out': ['false', 'true'],
        },
        { ...chat, model: 'no-such-model' },
      ),
    );
    expect(record?.opt_out).toBe(true);
  });

  test('through API Gateway: the first customer_id wins across repeated X-Ephemera-Metadata headers', async () => {
    const event = apiGatewayEvent({
      path: '/v1/chat/completions',
      headers: bearer(key),
      body: { ...chat, model: 'no-such-model' },
    });
    // API Gateway's REST proxy keeps every value in multiValueHeaders and only
    // the last in headers.
    event.multiValueHeaders['X-Ephemera-Metadata'] = [
      'customer_id=first-one',
      'customer_id=second-one',
    ];
    event.headers['X-Ephemera-Metadata'] = 'customer_id=second-one';
    const { response, record } = await send(handlerWith(), event);
    expect(response.statusCode).toBe(404);
    expect(record?.customer_hash).toBe(customerHashOf('first-one'));
  });
});

describe('images by URL are on record before they are uploaded', () => {
  test('every key and the customer hash are in the usage table when the first upload starts', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const s3Mock = mockClient(s3);
    const seenAtUpload: Array<{ keys: readonly string[]; customer?: string }> = [];
    s3Mock.on(PutObjectCommand).callsFake(async () => {
      const items = (await aws.scanAll()).filter((i) => i.request_id?.S === `hard-${n}`);
      const stored = items[0] ? usageRecordFromItem(items[0]) : undefined;
      seenAtUpload.push({
        keys: stored?.imageKeys ?? [],
        customer: stored?.record.customer_hash,
      });
      return {};
    });
    bedrockMock
      .on(InvokeModelCommand)
      .resolves(novaAnswer([pngBytes('a'), pngBytes('b')]) as never);
    try {
      const { response, item } = await send(
        handlerWith(testConfig(), s3),
        albEvent({
          path: '/v1/images/generations',
          headers: { ...bearer(key), 'x-ephemera-metadata': 'customer_id=img-customer' },
          body: { model: 'image-gen', prompt: 'p', n: 2, response_format: 'url' },
        }),
      );
      expect(response.statusCode).toBe(200);
      const final = usageRecordFromItem(item!);
      expect(seenAtUpload).toHaveLength(2);
      for (const seen of seenAtUpload) {
        expect([...seen.keys].sort()).toEqual([...final.imageKeys].sort());
        expect(seen.customer).toBe(customerHashOf('img-customer'));
      }
    } finally {
      s3Mock.restore();
    }
  });

  test('no record, no upload: when the record cannot be written, nothing is stored (503)', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const s3Mock = mockClient(s3);
    s3Mock.on(PutObjectCommand).resolves({});
    try {
      const { response } = await send(
        handlerWith(testConfig({ USAGE_TABLE_NAME: 'no-such-table' }), s3),
        albEvent({
          path: '/v1/images/generations',
          headers: bearer(key),
          body: { model: 'image-gen', prompt: 'p', response_format: 'url' },
        }),
      );
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
      expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    } finally {
      s3Mock.restore();
    }
  });
});

describe('defaults that keep the promises', () => {
  test('an image request without response_format stores nothing (b64_json)', async () => {
    const before = (await aws.listObjects()).length;
    const { response, item } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/images/generations',
        headers: bearer(key),
        body: { model: 'image-gen', prompt: 'a cat', size: '512x512' },
      }),
    );
    expect(response.statusCode).toBe(200);
    expect((json(response).data as Array<Record<string, unknown>>)[0]).toHaveProperty('b64_json');
    expect(response.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    expect((await aws.listObjects()).length).toBe(before);
    expect(usageRecordFromItem(item!).imageKeys).toEqual([]);
  });

  test('a remote image URL in a chat message is refused by default, saying why and how to change it', async () => {
    const { response } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/chat/completions',
        headers: bearer(key),
        body: {
          model: 'chat-small',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is this' },
                { type: 'image_url', image_url: { url: 'https://169.254.169.254/latest/' } },
              ],
            },
          ],
        },
      }),
    );
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({
      error: {
        type: 'invalid_request_error',
        message:
          'messages[0].content[1].image_url.url must be a data:image/ URL: remote image URLs are refused because the model upstream would fetch them from inside the private network (a deployment can allow them with remoteImageUrls=allow)',
        param: 'messages[0].content[1].image_url.url',
        code: null,
      },
    });
    expect(bedrockMock.calls()).toHaveLength(0);
  });

  test('data: image URLs are accepted', async () => {
    bedrockMock.on(InvokeModelCommand).resolves({});
    const { ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
    bedrockMock.on(ConverseCommand).resolves(converseOk as never);
    const { response } = await send(
      handlerWith(),
      albEvent({
        path: '/v1/chat/completions',
        headers: bearer(key),
        body: {
          model: 'chat-small',
          messages: [
            {
              role: 'user',
              content: [
                {
                  type: 'image_url',
                  image_url: { url: `data:image/png;base64,${pngBytes().toString('base64')}` },
                },
              ],
            },
          ],
        },
      }),
    );
    expect(response.statusCode).toBe(200);
  });
});

describe('guesses at a real key id', () => {
  test('after five wrong secrets the gateway answers 429 with Retry-After, without a KMS call', async () => {
    const handler = handlerWith();
    const wrong = (i: number) => `Bearer eph_${keyId}_${'B'.repeat(41)}${'CDEFG'[i]}A`;
    for (let i = 0; i < 5; i++) {
      const { response } = await send(
        handler,
        albEvent({ path: '/v1/models', headers: { authorization: wrong(i) } }),
      );
      expect(response.statusCode).toBe(401);
    }
    aws.kmsMock.resetHistory();
    const { response } = await send(
      handler,
      albEvent({ path: '/v1/models', headers: { authorization: wrong(0) } }),
    );
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['Retry-After']).toBe('1');
    expect(aws.kmsMock.calls()).toHaveLength(0);
  });
});
