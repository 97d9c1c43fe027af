/**
 * The shared request path on its own: a route is one module and one row of a
 * table, and the pipeline gives it the key check, the error mapping and the
 * usage record; `modelRoute` gives a route that names a model its body,
 * validation and model steps. Plus the pure pieces (deadline, record start,
 * router, model lookup).
 */

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { HttpError } from '../../../lambda/shared/http-errors';
import { jsonResult } from '../../../lambda/shared/http-results';
import { createUsageLogger } from '../../../lambda/shared/usage-record';
import { deadlineMs } from '../../../lambda/gateway/pipeline/deadline';
import { findModel, modelRoute } from '../../../lambda/gateway/pipeline/model-route';
import { createPipeline } from '../../../lambda/gateway/pipeline/pipeline';
import { startRecord, usageMethod } from '../../../lambda/gateway/pipeline/request-state';
import type { KeyedRoute, RouteRow } from '../../../lambda/gateway/pipeline/route';
import type { GatewayServices } from '../../../lambda/gateway/pipeline/services';
import { createRouter } from '../../../lambda/shared/router';
import type { Upstream } from '../../../lambda/gateway/upstream-contract';
import { albEvent, context, json, testConfig } from './support/fixtures';

const KEY_ID = 'abcdefghij012345';
const SECRET = 'CANARY-pipeline-4f1d';

const ddb = new DynamoDBClient({ region: 'us-east-1' });
const ddbMock = mockClient(ddb);
afterAll(() => ddbMock.restore());

const upstream: Upstream = {
  kind: 'openai-compatible',
  chat: async () => ({ choices: [], inputTokens: 0, outputTokens: 0 }),
  images: async () => ({ images: [] }),
  embeddings: async () => ({ vectors: [], inputTokens: 0 }),
};

function services(lines: string[]): GatewayServices {
  const config = testConfig();
  return {
    config,
    ddb,
    upstream,
    hasher: { mac: async () => Buffer.alloc(32) },
    keys: {
      verify: async (authorization) =>
        authorization === 'Bearer good'
          ? { ok: true, keyId: KEY_ID, scopes: ['inference'] }
          : { ok: false, status: 401, reason: 'missing' },
    },
    logger: createUsageLogger((line) => lines.push(line)),
    now: () => new Date('2030-01-01T00:00:00.000Z'),
    models: new Map(config.models.map((m) => [m.id, m])),
  };
}

/** A new route: one module (this object) and one row. */
const echo: KeyedRoute = {
  kind: 'keyed',
  handle: async (_svc, state) => jsonResult(200, JSON.stringify({ route: state.record.route })),
};
const failing: KeyedRoute = {
  kind: 'keyed',
  handle: async () => {
    throw new Error(SECRET);
  },
};
const counted = modelRoute<{ readonly model: string; readonly n: number }>({
  validate: (body) =>
    typeof body.model === 'string' && typeof body.n === 'number'
      ? { ok: true, value: { model: body.model, n: body.n } }
      : { ok: false, message: 'n must be a number' },
  modelKind: 'chat',
  describe: (request) => ({ n: request.n }),
  answer: async ({ model }) => jsonResult(200, JSON.stringify({ model: model.id })),
});

const TABLE: readonly RouteRow[] = [
  { method: 'POST', path: '/v1/echo', name: 'models', route: echo },
  { method: 'POST', path: '/v1/fail', name: 'image_generations', route: failing },
  { method: 'POST', path: '/v1/count', name: 'chat_completions', route: counted },
];

describe('pipeline', () => {
  let lines: string[];
  let handler: ReturnType<typeof createPipeline>;
  beforeEach(() => {
    ddbMock.reset();
    ddbMock.on(PutItemCommand).resolves({});
    lines = [];
    handler = createPipeline(TABLE, services(lines));
  });
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  it('gives a new row the key check, the headers and one record', async () => {
    const refused = await handler(albEvent({ path: '/v1/echo', body: {} }), context('r1'));
    expect(refused.statusCode).toBe(401);
    expect(ddbMock.commandCalls(PutItemCommand)).toHaveLength(0);

    const result = await handler(
      albEvent({ path: '/v1/echo', body: {}, headers: { authorization: 'Bearer good' } }),
      context('r2'),
    );
    expect(result.statusCode).toBe(200);
    expect(json(result)).toEqual({ route: 'models' });
    expect(result.headers?.['X-Request-Id']).toBe('r2');
    expect(result.headers?.['X-Ephemera-Retention']).toBe('content=none; metadata=30d');
    expect(ddbMock.commandCalls(PutItemCommand)).toHaveLength(1);
    expect(logged()).toEqual([
      expect.objectContaining({ route: 'models', status: 401, auth_failure: 'missing' }),
      expect.objectContaining({
        route: 'models',
        status: 200,
        api_key_id: KEY_ID,
        record_written: true,
      }),
    ]);
  });

  it('answers 404 and 405 from the table', async () => {
    const missing = await handler(albEvent({ path: '/v1/nowhere' }), context('r3'));
    expect(missing.statusCode).toBe(404);
    const wrongMethod = await handler(albEvent({ path: '/v1/echo' }), context('r4'));
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers?.Allow).toBe('POST');
    expect(logged().map((l) => l.route)).toEqual(['unmatched', 'models']);
  });

  it('maps a failure without reading its message', async () => {
    const result = await handler(
      albEvent({ path: '/v1/fail', body: {}, headers: { authorization: 'Bearer good' } }),
      context('r5'),
    );
    expect(result.statusCode).toBe(500);
    expect(json(result)).toMatchObject({ error: { type: 'server_error', code: null } });
    expect(JSON.stringify(result) + lines.join('\n')).not.toContain(SECRET);
    expect(logged()[0]).toMatchObject({ error_type: 'server_error', status: 500 });
  });

  it('runs body, validation and model for a modelRoute, and records the model', async () => {
    const ask = (body: unknown) =>
      handler(
        albEvent({ path: '/v1/count', body, headers: { authorization: 'Bearer good' } }),
        context('r6'),
      );
    expect((await ask({ model: 'chat-small' })).statusCode).toBe(400);
    expect((await ask({ model: 'image-gen', n: 1 })).statusCode).toBe(404);
    const ok = await ask({ model: 'chat-small', n: 2 });
    expect(json(ok)).toEqual({ model: 'chat-small' });
    expect(logged()[2]).toMatchObject({ model: 'chat-small', n: 2, status: 200 });
  });
});

describe('pipeline pieces', () => {
  it('deadline: the cap, within the Lambda time less the reserve, at least 1 s', () => {
    expect(deadlineMs(10_000, undefined)).toBe(10_000);
    expect(deadlineMs(10_000, 8_000)).toBe(5_000);
    expect(deadlineMs(10_000, 2_000)).toBe(1_000);
    expect(deadlineMs(10_000, Number.NaN)).toBe(10_000);
  });

  it('record start: method, route and expiry', () => {
    expect(usageMethod('PROPFIND')).toBe('OTHER');
    expect(startRecord('id-1', new Date(0), 'GET', 'models', 2)).toEqual({
      request_id: 'id-1',
      timestamp: '1970-01-01T00:00:00.000Z',
      method: 'GET',
      route: 'models',
      ttl: 2 * 86_400,
    });
  });

  it('router: exact paths, 405 with the allowed method', () => {
    const match = createRouter([{ method: 'POST', path: '/v1/x', name: 'models' }]);
    expect(match('POST', '/v1/x')).toEqual({ kind: 'found', route: 'models' });
    expect(match('GET', '/v1/x')).toEqual({
      kind: 'method_not_allowed',
      route: 'models',
      allow: 'POST',
    });
    expect(match('POST', '/v1/x/')).toEqual({ kind: 'not_found' });
  });

  it('model: a model of another kind is not found', () => {
    const models = new Map(testConfig().models.map((m) => [m.id, m]));
    expect(findModel(models, 'chat-small', 'chat').id).toBe('chat-small');
    expect(() => findModel(models, 'chat-small', 'image')).toThrow(HttpError);
    expect(() => findModel(models, 'nope', 'chat')).toThrow(HttpError);
  });
});
