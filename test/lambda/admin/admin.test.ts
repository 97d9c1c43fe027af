/**
 * The admin API end to end on real dynalite: erasure requests, job status,
 * log queries and keys over HTTP; who may call it; every bad input; and that
 * no customer id ever appears raw in a log line, an item, a queue message or
 * an answer.
 */

import { createHmac } from 'node:crypto';
import { PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { createAdminHandler, type AdminHandler } from '../../../lambda/admin/admin';
import { parseAdminConfig, type AdminConfig } from '../../../lambda/admin/config';
import type { JobQueue } from '../../../lambda/shared/deletion-queue';
import { createKmsHasher } from '../../../lib/core/keyed-hash';
import { KeyStore } from '../../../lib/core/key-store';
import { usageItem } from '../../../lambda/shared/usage-record';
import {
  DELETION_TABLE,
  HMAC_KEY_ID,
  KEY_TABLE,
  startLocalAws,
  USAGE_TABLE,
  type LocalAws,
} from '../gateway/support/local-aws';

const T0 = new Date('2030-06-01T12:00:00.000Z');
const CANARY = 'CANARY-admin-7c1d';

let aws: LocalAws;
let config: AdminConfig;
let adminKey: string;
let inferenceKey: string;
let revokedKey: string;
let expiredKey: string;
let clock = T0.getTime();
const now = () => new Date(clock);
const lines: string[] = [];
const answers: string[] = [];
const sent: Array<{ id: string; delay: number }> = [];
let queueFails = false;
const queue: JobQueue = {
  async send(id, delay) {
    if (queueFails) throw new Error(`queue down ${CANARY}`);
    sent.push({ id, delay });
  },
};
let handler: AdminHandler;
let n = 0;

const hashOf = (id: string) =>
  createHmac('sha256', Buffer.from('gateway-test-hmac-key')).update(`customer:${id}`).digest('hex');

interface Call {
  readonly method: string;
  readonly path: string;
  readonly key?: string;
  readonly headers?: Record<string, string[]>;
  readonly query?: Record<string, string[]>;
  readonly body?: unknown;
  readonly rawBody?: string;
}

/** A load-balancer event with multi-value headers (query encoded as the ALB passes it). */
function event(call: Call): ALBEvent {
  const body = call.rawBody ?? (call.body === undefined ? null : JSON.stringify(call.body));
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/admin/1' },
    },
    httpMethod: call.method,
    path: call.path,
    multiValueHeaders: {
      'content-type': ['application/json'],
      ...(call.key ? { authorization: [`Bearer ${call.key}`] } : {}),
      ...call.headers,
    },
    multiValueQueryStringParameters: Object.fromEntries(
      Object.entries(call.query ?? {}).map(([k, vs]) => [
        encodeURIComponent(k),
        vs.map((v) => encodeURIComponent(v)),
      ]),
    ),
    body,
    isBase64Encoded: false,
  };
}

async function call(
  c: Call,
): Promise<{ status: number; json: Record<string, unknown>; res: ALBResult }> {
  const res = await handler(event(c), { awsRequestId: `adm-${++n}` });
  answers.push(res.body ?? '');
  return {
    status: res.statusCode,
    json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {},
    res,
  };
}

const header = (res: ALBResult, name: string) => res.multiValueHeaders?.[name]?.[0];
const erase = (customer: string, key: string | null = adminKey) =>
  call({
    method: 'DELETE',
    path: '/v1/user_data',
    ...(key ? { key } : {}),
    headers: { 'x-ephemera-metadata': [`customer_id=${customer}`] },
  });

async function seedRecord(
  requestId: string,
  customerId: string,
  timestamp: Date,
  ttlDays = 30,
): Promise<void> {
  await aws.ddb.send(
    new PutItemCommand({
      TableName: USAGE_TABLE,
      Item: usageItem({
        request_id: requestId,
        timestamp: timestamp.toISOString(),
        customer_hash: hashOf(customerId),
        route: 'chat_completions',
        method: 'POST',
        status: 200,
        model: 'chat-small',
        input_tokens: 3,
        ttl: Math.floor(timestamp.getTime() / 1000) + ttlDays * 86_400,
      }),
    }),
  );
}

beforeAll(async () => {
  aws = await startLocalAws();
  config = parseAdminConfig({
    KEY_TABLE_NAME: KEY_TABLE,
    USAGE_TABLE_NAME: USAGE_TABLE,
    DELETION_TABLE_NAME: DELETION_TABLE,
    DELETION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/deletions',
    HMAC_KEY_ID,
    METADATA_RETENTION_DAYS: '30',
    MAX_KEY_AGE_DAYS: '90',
    DELETION_DELAY_SECONDS: '330',
  });
  const hasher = createKmsHasher({ kms: aws.kms, keyId: HMAC_KEY_ID });
  const store = new KeyStore({ ddb: aws.ddb, tableName: KEY_TABLE, hasher, now });
  adminKey = (await store.create({ name: 'admin', scopes: ['admin'] })).key;
  inferenceKey = (await store.create({ name: 'inference', scopes: ['inference'] })).key;
  const revoked = await store.create({ name: 'revoked', scopes: ['admin'] });
  await store.revoke(revoked.id);
  revokedKey = revoked.key;
  const past = new KeyStore({
    ddb: aws.ddb,
    tableName: KEY_TABLE,
    hasher,
    now: () => new Date(T0.getTime() - 10 * 86_400_000),
  });
  expiredKey = (await past.create({ name: 'expired', scopes: ['admin'], expiresInDays: 1 })).key;
  handler = createAdminHandler({
    config,
    ddb: aws.ddb,
    kms: aws.kms,
    queue,
    now,
    logSink: (l) => lines.push(l),
  });
});

afterAll(async () => {
  await aws.stop();
});

describe('who may call the admin API', () => {
  test.each([
    ['no key', undefined, 401, 'invalid_api_key'],
    ['an inference key', () => inferenceKey, 403, 'insufficient_scope'],
    ['a revoked admin key', () => revokedKey, 401, 'invalid_api_key'],
    ['an expired admin key', () => expiredKey, 401, 'invalid_api_key'],
  ])('%s is refused, and nothing is queued', async (_label, keyOf, status, code) => {
    const before = sent.length;
    const { status: got, json } = await erase(`${CANARY}-who`, keyOf ? keyOf() : null);
    expect(got).toBe(status);
    // OpenAI's type for a bad key (and here a missing scope): the reason is in code.
    expect(json).toMatchObject({ error: { type: 'invalid_request_error', code, param: null } });
    expect(sent.length).toBe(before);
  });

  test('an inference key is told which scope it lacks', async () => {
    const { json } = await call({ method: 'GET', path: '/v1/keys', key: inferenceKey });
    expect(json).toEqual({
      error: {
        message: "This API key lacks the 'admin' scope",
        type: 'invalid_request_error',
        param: null,
        code: 'insufficient_scope',
      },
    });
  });

  test('unknown paths are 404 and wrong methods 405 with Allow', async () => {
    const unknown = await call({ method: 'GET', path: '/v1/user', key: adminKey });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({
      error: {
        message: 'Invalid URL (GET /v1/user)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    const wrong = await call({ method: 'GET', path: '/v1/user_data', key: adminKey });
    expect(wrong.status).toBe(405);
    expect(header(wrong.res, 'Allow')).toBe('DELETE');
  });

  test('an unknown route names a path only when it is plain, and never the query', async () => {
    const unsafe = await call({
      method: 'DELETE',
      path: `/v1/user_data/${CANARY}%20x`,
      key: adminKey,
      query: { customer_id: [CANARY] },
    });
    expect(unsafe.status).toBe(404);
    expect((unsafe.json.error as { message: string }).message).toBe(
      'Invalid URL (DELETE <path not shown>)',
    );
    const plain = await call({ method: 'GET', path: '/v1/keyz', query: { customer_id: [CANARY] } });
    expect((plain.json.error as { message: string }).message).toBe('Invalid URL (GET /v1/keyz)');
    expect(plain.res.body).not.toContain(CANARY);
  });
});

describe("every error status: OpenAI's type, code and param (docs/http-api.md)", () => {
  const cases: [string, () => Call, number, string, string | null, string | null][] = [
    [
      'a bad query parameter',
      () => ({ method: 'GET', path: '/v1/logs', key: adminKey, query: { filter: ['x::y'] } }),
      400,
      'invalid_request_error',
      null,
      'filter',
    ],
    [
      'no key',
      () => ({ method: 'GET', path: '/v1/keys' }),
      401,
      'invalid_request_error',
      'invalid_api_key',
      null,
    ],
    [
      'an inference key',
      () => ({ method: 'GET', path: '/v1/keys', key: inferenceKey }),
      403,
      'invalid_request_error',
      'insufficient_scope',
      null,
    ],
    [
      'an unknown route',
      () => ({ method: 'GET', path: '/v1/nope', key: adminKey }),
      404,
      'invalid_request_error',
      null,
      null,
    ],
    [
      'an unknown deletion job',
      () => ({
        method: 'GET',
        path: `/v1/user_data/deletions/del_${'B'.repeat(22)}`,
        key: adminKey,
      }),
      404,
      'invalid_request_error',
      null,
      null,
    ],
    [
      'a wrong method',
      () => ({ method: 'PUT', path: '/v1/keys', key: adminKey }),
      405,
      'invalid_request_error',
      null,
      null,
    ],
    [
      'a body over 1 MB',
      () => ({
        method: 'POST',
        path: '/v1/keys',
        key: adminKey,
        rawBody: ' '.repeat(1024 * 1024 + 1),
      }),
      413,
      'invalid_request_error',
      'request_too_large',
      null,
    ],
  ];
  test.each(cases)('%s: %i %s, code %s, param %s', async (_label, c, status, type, code, param) => {
    const { status: got, json } = await call(c());
    expect(got).toBe(status);
    expect(json.error).toMatchObject({ type, code, param });
  });

  test('409 and 503 too', async () => {
    const created = await call({
      method: 'POST',
      path: '/v1/keys',
      key: adminKey,
      body: { name: 'conflict', scopes: ['inference'] },
    });
    const id = created.json.id as string;
    await call({ method: 'DELETE', path: `/v1/keys/${id}`, key: adminKey });
    const conflict = await call({ method: 'POST', path: `/v1/keys/${id}/rotate`, key: adminKey });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'key_revoked',
      param: null,
    });
    queueFails = true;
    try {
      const unavailable = await erase(`${CANARY}-503`);
      expect(unavailable.status).toBe(503);
      expect(unavailable.json.error).toMatchObject({
        type: 'server_error',
        code: 'service_unavailable',
        param: null,
      });
    } finally {
      queueFails = false;
    }
  });
});

describe('DELETE /v1/user_data', () => {
  test('queues a job naming the customer only by its hash, and answers 202 with a 24-hour deadline', async () => {
    const { status, json, res } = await erase(`${CANARY}-alice`);
    expect(status).toBe(202);
    expect(Object.keys(json).sort()).toEqual(['deadline', 'deletion_id', 'status']);
    expect(json.status).toBe('queued');
    expect(json.deletion_id).toMatch(/^del_[A-Za-z0-9_-]{22}$/);
    expect(json.deadline).toBe(new Date(clock + 86_400_000).toISOString());
    expect(header(res, 'X-Ephemera-Retention')).toBe('content=none; metadata=400d');
    expect(sent.at(-1)).toEqual({ id: json.deletion_id, delay: 330 });
    const items = await aws.scanAll();
    const job = items.find((i) => i.deletion_id?.S === json.deletion_id)!;
    expect(job.customer_hash.S).toBe(hashOf(`${CANARY}-alice`));
    expect(job.status.S).toBe('queued');
    expect(job.enqueued.BOOL).toBe(true);
  });

  test('the query form names the same customer, and an open job comes back (idempotent)', async () => {
    const first = await erase(`${CANARY}-bob`);
    const again = await call({
      method: 'DELETE',
      path: '/v1/user_data',
      key: adminKey,
      query: { customer_id: [`${CANARY}-bob`] },
    });
    expect(again.status).toBe(202);
    expect(again.json.deletion_id).toBe(first.json.deletion_id);
  });

  test('concurrent requests for one customer get one job', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => erase(`${CANARY}-race`)));
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(new Set(results.map((r) => r.json.deletion_id)).size).toBe(1);
  });

  test('a finished job does not stop a new request: it gets a new job', async () => {
    const first = await erase(`${CANARY}-carol`);
    await aws.ddb.send(
      new UpdateItemCommand({
        TableName: DELETION_TABLE,
        Key: { deletion_id: { S: first.json.deletion_id as string } },
        UpdateExpression: 'SET #s = :done REMOVE pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': { S: 'done' } },
      }),
    );
    const second = await erase(`${CANARY}-carol`);
    expect(second.status).toBe(202);
    expect(second.json.deletion_id).not.toBe(first.json.deletion_id);
  });

  test('a job that could not be queued is queued by the same request sent again', async () => {
    queueFails = true;
    const failed = await erase(`${CANARY}-dave`);
    queueFails = false;
    expect(failed.status).toBe(503);
    expect(failed.json).toMatchObject({
      error: {
        message:
          'The deletion job was recorded but could not be queued yet; send the same request again to queue it',
      },
    });
    const before = sent.length;
    const retried = await erase(`${CANARY}-dave`);
    expect(retried.status).toBe(202);
    expect(sent.length).toBe(before + 1);
    // Once queued, asking again queues nothing more.
    await erase(`${CANARY}-dave`);
    expect(sent.length).toBe(before + 1);
  });

  test.each([
    [
      'no customer',
      {},
      'Name the customer to erase: X-Ephemera-Metadata: customer_id=<id> (preferred) or ?customer_id=<id>',
      'customer_id',
    ],
    [
      'a customer id with a space (header)',
      { headers: { 'x-ephemera-metadata': [`customer_id=${CANARY} x`] } },
      "X-Ephemera-Metadata: customer_id must be 1-128 characters of visible ASCII ('!' to '~') other than ';', '=', ',' and '%'; map other ids to ones that fit, for example a hash of your own",
      'X-Ephemera-Metadata',
    ],
    [
      'a customer id with a space (query)',
      { query: { customer_id: [`${CANARY} x`] } },
      "customer_id must be 1-128 characters of visible ASCII ('!' to '~') other than ';', '=', ',' and '%' once percent-decoded; map other ids to ones that fit, for example a hash of your own",
      'customer_id',
    ],
    [
      'two customers',
      {
        headers: { 'x-ephemera-metadata': [`customer_id=${CANARY}-1`] },
        query: { customer_id: [`${CANARY}-2`] },
      },
      'The header and the query name different customers; name the customer once (X-Ephemera-Metadata: customer_id=<id> preferred)',
      'customer_id',
    ],
    [
      'the query id twice',
      { query: { customer_id: [`${CANARY}-1`, `${CANARY}-1`] } },
      'Give customer_id once',
      'customer_id',
    ],
  ])('%s is a 400 that changes nothing', async (_label, extra, message, param) => {
    const before = (await aws.scanAll()).length;
    const sentBefore = sent.length;
    const { status, json } = await call({
      method: 'DELETE',
      path: '/v1/user_data',
      key: adminKey,
      ...extra,
    });
    expect(status).toBe(400);
    expect(json).toEqual({ error: { message, type: 'invalid_request_error', param, code: null } });
    expect((await aws.scanAll()).length).toBe(before);
    expect(sent.length).toBe(sentBefore);
  });

  test('a malformed percent-escape in the query is a 400', async () => {
    const res = await handler(
      {
        ...event({ method: 'DELETE', path: '/v1/user_data', key: adminKey }),
        multiValueQueryStringParameters: { customer_id: ['%E0%A4%A'] },
      },
      { awsRequestId: 'adm-bad-escape' },
    );
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /v1/user_data/deletions/{id}', () => {
  test('answers the job: status, deadline and counts', async () => {
    const { json: created } = await erase(`${CANARY}-erin`);
    const { status, json } = await call({
      method: 'GET',
      path: `/v1/user_data/deletions/${created.deletion_id as string}`,
      key: adminKey,
    });
    expect(status).toBe(200);
    expect(json).toEqual({
      deletion_id: created.deletion_id,
      status: 'queued',
      requested_at: new Date(clock).toISOString(),
      deadline: created.deadline,
      counts: { records_erased: 0, images_erased: 0 },
    });
  });

  test('a malformed id is a 400; an unknown one a 404', async () => {
    const bad = await call({ method: 'GET', path: '/v1/user_data/deletions/nope', key: adminKey });
    expect(bad.status).toBe(400);
    const unknown = await call({
      method: 'GET',
      path: `/v1/user_data/deletions/del_${'A'.repeat(22)}`,
      key: adminKey,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { message: 'No deletion job has this id' } });
  });
});

describe('GET /v1/logs', () => {
  const frank = `${CANARY}-frank`;
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      await seedRecord(`frank-${i}`, frank, new Date(T0.getTime() - (5 - i) * 60_000));
    }
    // Past its retention, not yet removed by DynamoDB: never shown.
    await seedRecord('frank-old', frank, new Date(T0.getTime() - 40 * 86_400_000));
    await seedRecord('grace-0', `${CANARY}-grace`, new Date(T0.getTime() - 60_000));
  });

  test("lists the customer's live records, newest first, the customer shown only as its hash", async () => {
    const { status, json } = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      headers: { 'x-ephemera-metadata': [`customer_id=${frank}`] },
    });
    expect(status).toBe(200);
    const data = json.data as Array<Record<string, unknown>>;
    expect(data.map((r) => r.request_id)).toEqual([
      'frank-4',
      'frank-3',
      'frank-2',
      'frank-1',
      'frank-0',
    ]);
    expect(data[0]).toMatchObject({ customer_hash: hashOf(frank), model: 'chat-small' });
    expect(data[0]).not.toHaveProperty('ttl');
    expect(json.next_cursor).toBeNull();
  });

  test('pages with limit and cursor, and the filter form gives the same pages', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const { json } = await call({
        method: 'GET',
        path: '/v1/logs',
        key: adminKey,
        query: {
          filter: [`customer_id::${frank}`],
          limit: ['2'],
          ...(cursor ? { cursor: [cursor] } : {}),
        },
      });
      seen.push(...(json.data as Array<{ request_id: string }>).map((r) => r.request_id));
      cursor = json.next_cursor as string | null;
      if (!cursor) break;
    }
    expect(seen).toEqual(['frank-4', 'frank-3', 'frank-2', 'frank-1', 'frank-0']);
  });

  test("a cursor from one customer's listing is a 400 for another's", async () => {
    const { json } = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      query: { filter: [`customer_id::${frank}`], limit: ['1'] },
    });
    const { status, json: refused } = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      query: { filter: [`customer_id::${CANARY}-grace`], cursor: [json.next_cursor as string] },
    });
    expect(status).toBe(400);
    expect(refused).toMatchObject({
      error: {
        message:
          'cursor must be a next_cursor value returned by a previous call for the same records',
        param: 'cursor',
      },
    });
  });

  test('one request by its id', async () => {
    const { json } = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      query: { filter: ['request_id::grace-0'] },
    });
    expect((json.data as Array<{ request_id: string }>).map((r) => r.request_id)).toEqual([
      'grace-0',
    ]);
    const expired = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      query: { filter: ['request_id::frank-old'] },
    });
    expect(expired.json.data).toEqual([]);
  });

  test.each([
    [{ query: { filter: ['customer::x'] } }, 'filter'],
    [{ query: { filter: [`customer_id::${CANARY}`], limit: ['0'] } }, 'limit'],
    [{ query: { filter: [`customer_id::${CANARY}`], limit: ['201'] } }, 'limit'],
    [{ query: { filter: [`customer_id::${CANARY}`], cursor: ['!!'] } }, 'cursor'],
    [{}, 'filter'],
  ])('bad input %j is a 400 naming %s', async (extra, param) => {
    const { status, json } = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      ...extra,
    });
    expect(status).toBe(400);
    expect((json.error as { param: string }).param).toBe(param);
  });
});

describe('API keys over HTTP', () => {
  const verify = (key: string) =>
    new KeyStore({
      ddb: aws.ddb,
      tableName: KEY_TABLE,
      hasher: createKmsHasher({ kms: aws.kms, keyId: HMAC_KEY_ID }),
      now,
    }).verify(`Bearer ${key}`, 'inference');

  test('create: 201 with the secret once; list: no secrets; rotate: both work in the grace period; revoke: at once', async () => {
    const created = await call({
      method: 'POST',
      path: '/v1/keys',
      key: adminKey,
      body: { name: 'ci', scopes: ['inference'] },
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json).sort()).toEqual(['expires_at', 'id', 'key', 'name', 'scopes']);
    expect(created.json.expires_at).toBe(new Date(clock + 90 * 86_400_000).toISOString());
    const key = created.json.key as string;
    const id = created.json.id as string;
    await expect(verify(key)).resolves.toMatchObject({ ok: true, keyId: id });

    const listed = await call({
      method: 'GET',
      path: '/v1/keys',
      key: adminKey,
      query: { limit: ['100'] },
    });
    expect(listed.status).toBe(200);
    const body = JSON.stringify(listed.json);
    expect(body).toContain(id);
    expect(body).not.toContain(key.slice(21));
    expect(body).not.toMatch(/mac/);

    const rotated = await call({
      method: 'POST',
      path: `/v1/keys/${id}/rotate`,
      key: adminKey,
      body: { grace_seconds: 60 },
    });
    expect(rotated.status).toBe(200);
    const newKey = rotated.json.key as string;
    expect(rotated.json.previous_valid_until).toBe(new Date(clock + 60_000).toISOString());
    await expect(verify(newKey)).resolves.toMatchObject({ ok: true });
    await expect(verify(key)).resolves.toMatchObject({ ok: true });
    // The grace period's last millisecond, then its end.
    clock += 59_999;
    await expect(verify(key)).resolves.toMatchObject({ ok: true });
    clock += 1;
    await expect(verify(key)).resolves.toMatchObject({ ok: false, reason: 'invalid' });
    clock -= 60_000;

    const revoked = await call({ method: 'DELETE', path: `/v1/keys/${id}`, key: adminKey });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toEqual({ id, revoked: true });
    await expect(verify(newKey)).resolves.toMatchObject({ ok: false, reason: 'revoked' });
    const again = await call({ method: 'POST', path: `/v1/keys/${id}/rotate`, key: adminKey });
    expect(again.status).toBe(409);
  });

  test.each([
    [
      'a key older than the maximum age',
      400,
      {
        method: 'POST',
        path: '/v1/keys',
        body: { name: 'x', scopes: ['inference'], expires_in_days: 91 },
      },
    ],
    [
      'an unknown scope',
      400,
      { method: 'POST', path: '/v1/keys', body: { name: 'x', scopes: ['root'] } },
    ],
    ['a body that is not JSON', 400, { method: 'POST', path: '/v1/keys', rawBody: '{nope' }],
    [
      'a body over 1 MB',
      413,
      { method: 'POST', path: '/v1/keys', rawBody: 'x'.repeat(1024 * 1024 + 1) },
    ],
    ['a malformed key id', 400, { method: 'DELETE', path: '/v1/keys/NOT-AN-ID' }],
    ['revoking an unknown key', 404, { method: 'DELETE', path: `/v1/keys/${'z'.repeat(16)}` }],
    ['rotating an unknown key', 404, { method: 'POST', path: `/v1/keys/${'z'.repeat(16)}/rotate` }],
    ['a bad cursor', 400, { method: 'GET', path: '/v1/keys', query: { cursor: ['bogus'] } }],
  ])('%s is a %d that changes nothing', async (_label, status, c) => {
    const before = JSON.stringify(await aws.scanAll());
    const result = await call({ key: adminKey, ...c });
    expect(result.status).toBe(status);
    expect(JSON.stringify(await aws.scanAll())).toBe(before);
  });
});

describe('unknown X-Ephemera-Metadata parameters', () => {
  const WARNING = 'X-Ephemera-Warning';
  const typo = "unknown metadata parameter 'customerid' (known: customer_id)";
  const metadata = (value: string) => ({ 'x-ephemera-metadata': [value] });

  test('erasure: a typo answers the 400 with a warning naming it; beside customer_id, a 202 with it', async () => {
    const before = lines.length;
    const missed = await call({
      method: 'DELETE',
      path: '/v1/user_data',
      key: adminKey,
      headers: metadata(`customerid=${CANARY}-ivy`),
    });
    expect(missed.status).toBe(400);
    expect((missed.json.error as { param: string }).param).toBe('customer_id');
    expect(header(missed.res, WARNING)).toBe(typo);

    const both = await call({
      method: 'DELETE',
      path: '/v1/user_data',
      key: adminKey,
      headers: metadata(`customerid=${CANARY}-ivy; customer_id=${CANARY}-ivy`),
    });
    expect(both.status).toBe(202);
    expect(header(both.res, WARNING)).toBe(typo);

    const plain = await call({
      method: 'DELETE',
      path: '/v1/user_data',
      key: adminKey,
      headers: metadata(`CUSTOMER_ID=${CANARY}-ivy`),
    });
    expect(plain.status).toBe(202);
    expect(header(plain.res, WARNING)).toBeUndefined();
    // The log lines hold nothing of the parameter.
    expect(lines.slice(before).join('\n')).not.toMatch(/customerid/i);
  });

  test('log query: warns about a typo, not about customer_id', async () => {
    const warned = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      headers: metadata(`customerid=${CANARY}`),
      query: { filter: ['request_id::nothing-here'] },
    });
    expect(warned.status).toBe(200);
    expect(header(warned.res, WARNING)).toBe(typo);
    const plain = await call({
      method: 'GET',
      path: '/v1/logs',
      key: adminKey,
      headers: metadata(`Customer_Id=${CANARY}`),
    });
    expect(plain.status).toBe(200);
    expect(header(plain.res, WARNING)).toBeUndefined();
  });

  test('routes that do not read the header do not warn', async () => {
    const keys = await call({
      method: 'GET',
      path: '/v1/keys',
      key: adminKey,
      headers: metadata('customerid=x'),
    });
    expect(keys.status).toBe(200);
    expect(header(keys.res, WARNING)).toBeUndefined();
  });
});

describe('no customer id leaves the admin API raw', () => {
  test('no canary in any log line, table item, queue message or answer', async () => {
    const everything = [
      ...lines,
      ...answers,
      JSON.stringify(sent),
      JSON.stringify(await aws.scanAll()),
    ].join('\n');
    expect(answers.length).toBeGreaterThan(20);
    expect(everything).not.toContain(CANARY);
    // Nor the customer's hash: an erasure is named by its deletion id only.
    expect(lines.join('\n')).not.toContain(hashOf(`${CANARY}-alice`));
    expect(lines.join('\n')).not.toMatch(/[0-9a-f]{64}/);
    expect(lines.join('\n')).toContain('"deletion_id":"del_');
  });

  test('every log line holds only the admin schema fields', () => {
    const allowed = new Set([
      'event',
      'request_id',
      'timestamp',
      'api_key_id',
      'route',
      'method',
      'status',
      'latency_ms',
      'error_type',
      'auth_failure',
      'deletion_id',
      'target_key_id',
      'result_count',
    ]);
    for (const line of lines) {
      for (const field of Object.keys(JSON.parse(line) as Record<string, AttributeValue>)) {
        expect(allowed.has(field)).toBe(true);
      }
    }
  });
});
