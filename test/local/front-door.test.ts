/**
 * Local mode's load balancer: real HTTP requests become the events an ALB
 * sends a Lambda target with multi-value headers on (compared with the shape
 * AWS documents), results and streams go back as HTTP, and the listener
 * rules pick the handler. A refusal (local mode's full disk) answers instead
 * of the handlers; at the deadline an answer not begun is a 502. (Cutting a
 * stalled stream and a slow body, over TLS against local mode:
 * test/local/deadlines.test.ts.)
 */

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { ADMIN_PATH_PATTERNS } from '../../lib/core/routes';
import { HttpError } from '../../lambda/shared/http-errors';
import { toHttpRequest } from '../../lambda/shared/http-event';
import {
  frontDoor,
  frontDoorServerOptions,
  LOCAL_TARGET_GROUP_ARN,
  rawQueryParameters,
  routeFor,
  type LocalHandler,
  type LocalRoute,
} from '../../local/front-door';

/** The multi-value event AWS documents for a Lambda target ("Receive events from the load balancer"). */
const DOCUMENTED: ALBEvent = {
  requestContext: {
    elb: {
      targetGroupArn:
        'arn:aws:elasticloadbalancing:region:123456789012:targetgroup/my-target-group/6d0ecf831eec9f09',
    },
  },
  httpMethod: 'GET',
  path: '/',
  multiValueQueryStringParameters: { myKey: ['val1', 'val2'] },
  multiValueHeaders: {
    accept: ['text/html,application/xhtml+xml'],
    'accept-language': ['en-US,en;q=0.8'],
    'content-type': ['text/plain'],
    cookie: ['name1=value1', 'name2=value2'],
    host: ['lambda-846800462-us-east-2.elb.amazonaws.com'],
    'user-agent': ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6)'],
    'x-amzn-trace-id': ['Root=1-5bdb40ca-556d8b0c50dc66f0511bf520'],
    'x-forwarded-for': ['72.21.198.64'],
    'x-forwarded-port': ['443'],
    'x-forwarded-proto': ['https'],
  },
  isBase64Encoded: false,
  body: 'request_body',
};

/** The shape of a value: its type, and for objects the shapes of its fields. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value;
}

describe('local front door', () => {
  let server: Server;
  let port: number;
  const events: ALBEvent[] = [];
  let answer: (event: ALBEvent) => Promise<ALBResult> = async () => ({
    statusCode: 200,
    body: 'ok',
  });
  const routes: LocalRoute[] = [];
  let refusal: HttpError | undefined;
  const handler =
    (name: string): LocalHandler =>
    async (event) => {
      events.push({ ...event, requestContext: { elb: { targetGroupArn: name } } });
      return answer(event);
    };

  function send(
    path: string,
    options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer } = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string; at: number[] }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: options.method ?? 'GET',
          headers: options.headers,
        },
        (res) => {
          const chunks: string[] = [];
          const at: number[] = [];
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            chunks.push(c);
            at.push(performance.now());
          });
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: chunks.join(''), at }),
          );
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    server = createServer(frontDoor(routes, { timeoutMs: 1000, refuse: () => refusal }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    events.length = 0;
    answer = async () => ({ statusCode: 200, body: 'ok' });
    refusal = undefined;
  });

  it('answers 503 until handlers are added', async () => {
    const res = await send('/v1/models');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).error.type).toBe('server_error');
    routes.push(
      { paths: ADMIN_PATH_PATTERNS, handler: handler('admin') },
      { paths: [], handler: handler('gateway') },
    );
  });

  it('sends the event AWS documents, field for field', async () => {
    await send('/?myKey=val1&myKey=val2', {
      headers: {
        'content-type': 'text/plain',
        'x-ephemera-metadata': ['customer_id=a', 'customer_id=b'],
        'x-forwarded-proto': 'https',
      },
      method: 'POST',
      body: Buffer.from('request_body'),
    });
    const event = events[0];
    expect(event.multiValueQueryStringParameters).toEqual({ myKey: ['val1', 'val2'] });
    expect(event.body).toBe('request_body');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.multiValueHeaders?.['x-ephemera-metadata']).toEqual([
      'customer_id=a',
      'customer_id=b',
    ]);
    // Same fields, same types, as the documented event (header names aside).
    const withoutHeaders = (e: ALBEvent) => ({ ...e, multiValueHeaders: {} });
    expect(shape(withoutHeaders(event))).toEqual(shape(withoutHeaders(DOCUMENTED)));
    expect(shape(event.multiValueHeaders)).toMatchObject({ host: ['string'] });
  });

  it('appends the address it saw to X-Forwarded-For, as the load balancer does', async () => {
    await send('/v1/models');
    expect(events[0].multiValueHeaders?.['x-forwarded-for']).toEqual(['127.0.0.1']);
    expect(toHttpRequest(events[0]).clientAddress).toBe('127.0.0.1');
    await send('/v1/models', { headers: { 'x-forwarded-for': '203.0.113.1' } });
    expect(events[1].multiValueHeaders?.['x-forwarded-for']).toEqual(['203.0.113.1, 127.0.0.1']);
    expect(toHttpRequest(events[1]).clientAddress).toBe('127.0.0.1');
  });

  it('passes query names and values as sent; the handlers decode them', async () => {
    await send('/v1/logs?filter=customer_id%3A%3Acaf%C3%A9+x&a=1&a=2&flag&=v');
    const event = events[0];
    expect(event.multiValueQueryStringParameters).toEqual({
      filter: ['customer_id%3A%3Acaf%C3%A9+x'],
      a: ['1', '2'],
      flag: [''],
      '': ['v'],
    });
    expect(toHttpRequest(event).query.get('filter')).toEqual(['customer_id::café x']);
    expect(rawQueryParameters('')).toEqual({});
  });

  it('routes as the listener rules do', async () => {
    for (const path of ['/v1/keys', '/v1/keys/abc/rotate', '/v1/user_data', '/v1/logs']) {
      await send(path);
    }
    for (const path of ['/v1/models', '/v1/keysx', '/healthz', '/nope']) await send(path);
    expect(events.map((e) => e.requestContext.elb.targetGroupArn)).toEqual([
      'admin',
      'admin',
      'admin',
      'admin',
      'gateway',
      'gateway',
      'gateway',
      'gateway',
    ]);
    expect(routeFor([], '/')).toBeUndefined();
    expect(LOCAL_TARGET_GROUP_ARN).toMatch(/^arn:aws:elasticloadbalancing:/);
  });

  it('passes text bodies as text and anything else as base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251]);
    await send('/v1/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: Buffer.from('{"a":"é"}'),
    });
    await send('/v1/x', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    await send('/v1/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bytes,
    });
    expect(events.map((e) => [e.body, e.isBase64Encoded])).toEqual([
      ['{"a":"é"}', false],
      [bytes.toString('base64'), true],
      [bytes.toString('base64'), true],
    ]);
  });

  it('refuses a body over 1 MB before any handler runs', async () => {
    const res = await send('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(1024 * 1024 + 1, 0x20),
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.type).toBe('invalid_request_error');
    expect(events).toHaveLength(0);
  });

  it('writes multi-value and single-value headers, and base64 bodies', async () => {
    answer = async () => ({
      statusCode: 201,
      multiValueHeaders: { 'X-A': ['1'], 'Set-Cookie': ['a=1', 'b=2'] },
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    const res = await send('/v1/x');
    expect(res).toMatchObject({ status: 201, body: 'hi' });
    expect(res.headers['x-a']).toBe('1');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('answers 502 without a word of the error when a handler throws', async () => {
    answer = async () => {
      throw new Error('secret detail');
    };
    const res = await send('/v1/x');
    expect(res.status).toBe(502);
    expect(res.body).not.toContain('secret');
  });

  it('answers a refusal instead of the handlers while there is one, and in place of a 5xx', async () => {
    refusal = new HttpError(503, 'server_error', 'Local storage is full');
    const refused = await send('/v1/models');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).error.message).toBe('Local storage is full');
    expect(events).toHaveLength(0);
    // A handler's 5xx that came while there is one: the refusal says why.
    const during = new HttpError(503, 'server_error', 'Local storage is full');
    answer = async () => {
      refusal = during;
      return { statusCode: 500, body: 'store failed' };
    };
    refusal = undefined;
    const replaced = await send('/v1/x');
    expect([replaced.status, JSON.parse(replaced.body).error.message]).toEqual([
      503,
      'Local storage is full',
    ]);
    // Once it is gone, answers are the handler's again.
    refusal = undefined;
    answer = async () => ({ statusCode: 404, body: 'nope' });
    expect((await send('/v1/x')).body).toBe('nope');
  });

  it('answers 502 at the deadline for a handler still running, and ignores what it does later', async () => {
    let late = false;
    routes.unshift({
      paths: ['/late'],
      handler: async (_event, _context, stream) => {
        await new Promise((r) => setTimeout(r, 1500));
        // Too late: nothing of this reaches the client, and nothing fails.
        stream.start(200, {});
        await stream.write('late');
        late = true;
        return { statusCode: 200, body: '' };
      },
    });
    try {
      const started = performance.now();
      const res = await send('/late');
      expect(res.status).toBe(502);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(performance.now() - started).toBeLessThan(1400);
      const until = Date.now() + 2000;
      while (!late && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(late).toBe(true);
      expect((await send('/v1/x')).body).toBe('ok');
    } finally {
      routes.shift();
    }
  });

  it('sets the server’s body and header deadlines from the request timeout', () => {
    expect(frontDoorServerOptions(3_000)).toEqual({
      requestTimeout: 3_000,
      headersTimeout: 3_000,
      connectionsCheckingInterval: 1_000,
    });
    expect(frontDoorServerOptions(300_000)).toEqual({
      requestTimeout: 300_000,
      headersTimeout: 60_000,
      connectionsCheckingInterval: 1_000,
    });
  });

  it('streams what a handler writes as it writes it, and tells it when the client leaves', async () => {
    let aborted = false;
    routes.unshift({
      paths: ['/stream'],
      handler: async (_event, _context, stream) => {
        stream.start(200, { 'Content-Type': 'text/event-stream' });
        for (let i = 0; i < 4; i++) {
          await stream.write(`data: ${i}\n\n`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return { statusCode: 200, body: '' };
      },
    });
    const res = await send('/stream');
    expect(res.body).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n');
    expect(res.at.length).toBeGreaterThanOrEqual(3);
    expect(res.at.at(-1)! - res.at[0]).toBeGreaterThan(100);

    routes[0] = {
      paths: ['/stream'],
      handler: async (_event, _context, stream) => {
        stream.start(200, {});
        await stream.write('x');
        await new Promise((r) => stream.signal.addEventListener('abort', r));
        aborted = true;
        await stream.write('after');
        return { statusCode: 200, body: '' };
      },
    };
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/stream' }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end();
    });
    const until = Date.now() + 2000;
    while (!aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(true);
    routes.shift();
  });
});
