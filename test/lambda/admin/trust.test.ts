/**
 * The trust store routes of the admin API (keys on real dynalite, the config
 * bucket's object in a mocked S3): every route, refused uploads that leave
 * the store as it was, the mode rules, the warning header on every answer
 * while verification is off, conflicts, an unavailable S3, who may call, and
 * that no certificate or key material reaches a log line.
 */

import type { ALBEvent, ALBResult } from 'aws-lambda';
import { createAdminHandler, type AdminHandler } from '../../../lambda/admin/admin';
import { parseAdminConfig, type AdminConfig } from '../../../lambda/admin/config';
import { ADMIN_PATH_PATTERNS, matchAdminRoute } from '../../../lambda/admin/routes';
import { TRUST_MESSAGES } from '../../../lambda/admin/trust';
import type { JobQueue } from '../../../lambda/shared/deletion-queue';
import { DEFAULT_TRUST, type TrustDocument } from '../../../lambda/shared/trust/trust-document';
import {
  INSECURE_TRUST_ALL_WARNING,
  TRUST_WARNING_HEADER,
} from '../../../lambda/shared/trust/warning';
import { TRUST_BUNDLE_MAX_BYTES } from '../../../lib/core/config-objects';
import { makeCa, makeLeaf, type TestCa } from '../../support/tls-fixtures';
import { CONFIG_BUCKET, fakeTrustBucket, type FakeTrustBucket } from '../../support/trust-bucket';
import {
  DELETION_TABLE,
  HMAC_KEY_ID,
  KEY_TABLE,
  startLocalAws,
  USAGE_TABLE,
  type LocalAws,
} from '../gateway/support/local-aws';

const T0 = new Date();
let clock = T0.getTime();
const now = () => new Date(clock);

let aws: LocalAws;
let bucket: FakeTrustBucket;
let adminKey: string;
let inferenceKey: string;
let strict: AdminHandler; // insecure_trust_all not allowed
let lenient: AdminHandler; // insecure_trust_all allowed
let unconfigured: AdminHandler; // no config bucket
let caA: TestCa;
let caB: TestCa;
let leafPem: string;
let expiredPem: string;
const lines: string[] = [];
let n = 0;

const queue: JobQueue = { send: async () => undefined };

const ENV = {
  KEY_TABLE_NAME: KEY_TABLE,
  USAGE_TABLE_NAME: USAGE_TABLE,
  DELETION_TABLE_NAME: DELETION_TABLE,
  DELETION_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/deletions',
  HMAC_KEY_ID,
  METADATA_RETENTION_DAYS: '30',
};

interface Call {
  readonly handler?: AdminHandler;
  readonly method: string;
  readonly path: string;
  readonly key?: string | null;
  readonly body?: string;
  readonly base64?: boolean;
  readonly contentType?: string;
  /** Query parameters, as the load balancer passes them (percent-encoded). */
  readonly query?: Record<string, string[]>;
  readonly headers?: Record<string, string[]>;
}

async function call(c: Call): Promise<{
  status: number;
  json: Record<string, unknown>;
  res: ALBResult;
  header: (name: string) => string | undefined;
}> {
  const key = c.key === undefined ? adminKey : c.key;
  const event: ALBEvent = {
    requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:::targetgroup/a/1' } },
    httpMethod: c.method,
    path: c.path,
    multiValueHeaders: {
      'content-type': [c.contentType ?? 'application/x-pem-file'],
      ...(key ? { authorization: [`Bearer ${key}`] } : {}),
      ...c.headers,
    },
    multiValueQueryStringParameters: c.query ?? {},
    body: c.body === undefined ? null : c.base64 ? Buffer.from(c.body).toString('base64') : c.body,
    isBase64Encoded: c.base64 === true,
  };
  const res = await (c.handler ?? strict)(event, { awsRequestId: `trust-${++n}` });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(res.body ?? '') as Record<string, unknown>;
  } catch {
    // Not JSON (the PEM download).
  }
  return {
    status: res.statusCode,
    json,
    res,
    header: (name) => {
      const value = res.multiValueHeaders?.[name]?.[0];
      return value === undefined ? undefined : String(value);
    },
  };
}

const stored = (): TrustDocument | undefined => {
  if (!bucket.object) return undefined;
  const o = JSON.parse(bucket.object.text) as Record<string, string>;
  return { mode: o.mode as TrustDocument['mode'], pem: o.pem, updatedAt: o.updated_at };
};
const putPem = (pem: string, handler?: AdminHandler) =>
  call({
    method: 'PUT',
    path: '/v1/trust/certificates',
    body: pem,
    ...(handler ? { handler } : {}),
  });
const putMode = (mode: unknown, handler?: AdminHandler) =>
  call({
    method: 'PUT',
    path: '/v1/trust/mode',
    body: JSON.stringify({ mode }),
    contentType: 'application/json',
    ...(handler ? { handler } : {}),
  });

function handlerWith(config: AdminConfig): AdminHandler {
  return createAdminHandler({
    config,
    ddb: aws.ddb,
    kms: aws.kms,
    queue,
    now,
    s3: bucket.s3,
    logSink: (l) => lines.push(l),
  });
}

beforeAll(async () => {
  aws = await startLocalAws();
  bucket = fakeTrustBucket();
  adminKey = await aws.createKey('admin', ['admin']);
  inferenceKey = await aws.createKey('inference', ['inference']);
  strict = handlerWith(parseAdminConfig({ ...ENV, CONFIG_BUCKET_NAME: CONFIG_BUCKET }));
  lenient = handlerWith(
    parseAdminConfig({
      ...ENV,
      CONFIG_BUCKET_NAME: CONFIG_BUCKET,
      ALLOW_INSECURE_TRUST_ALL: 'true',
    }),
  );
  unconfigured = handlerWith(parseAdminConfig(ENV));
  caA = await makeCa('Admin CA A');
  caB = await makeCa('Admin CA B');
  leafPem = (await makeLeaf(caA, { hosts: ['model.internal'] })).cert;
  expiredPem = (await makeCa('Admin expired CA', { expired: true })).cert;
});

afterAll(async () => {
  bucket.mock.restore();
  await aws.stop();
});

beforeEach(() => {
  bucket.clear();
  bucket.failReads = false;
  bucket.failWrites = false;
  bucket.beforeWrite = undefined;
  bucket.puts.length = 0;
  bucket.gets.length = 0;
});

describe('configuration and routes', () => {
  test('the admin path patterns cover the trust routes', () => {
    expect(ADMIN_PATH_PATTERNS).toEqual(expect.arrayContaining(['/v1/trust', '/v1/trust/*']));
    expect(matchAdminRoute('GET', '/v1/trust')).toEqual({ kind: 'found', route: 'trust_get' });
    expect(matchAdminRoute('PUT', '/v1/trust/certificates')).toEqual({
      kind: 'found',
      route: 'trust_certs_put',
    });
    expect(matchAdminRoute('PATCH', '/v1/trust/mode')).toEqual({
      kind: 'method_not_allowed',
      route: 'trust_mode_put',
      allow: 'PUT',
    });
  });

  test('CONFIG_BUCKET_NAME is optional; ALLOW_INSECURE_TRUST_ALL defaults to false', () => {
    const plain = parseAdminConfig(ENV);
    expect(plain.configBucketName).toBeUndefined();
    expect(plain.allowInsecureTrustAll).toBe(false);
    expect(() => parseAdminConfig({ ...ENV, CONFIG_BUCKET_NAME: 'Not_A_Bucket' })).toThrow(
      /CONFIG_BUCKET_NAME must be an S3 bucket name/,
    );
    expect(() => parseAdminConfig({ ...ENV, ALLOW_INSECURE_TRUST_ALL: 'yes' })).toThrow(
      /ALLOW_INSECURE_TRUST_ALL must be true or false/,
    );
  });

  test('a bucket without an S3 client is a startup error', () => {
    expect(() =>
      createAdminHandler({
        config: parseAdminConfig({ ...ENV, CONFIG_BUCKET_NAME: CONFIG_BUCKET }),
        ddb: aws.ddb,
        kms: aws.kms,
        queue,
      }),
    ).toThrow(/S3 client/);
  });

  test('without a config bucket every trust route is a 404 trust_store_not_configured', async () => {
    const gets = bucket.gets.length;
    for (const [method, path] of [
      ['GET', '/v1/trust'],
      ['PUT', '/v1/trust/certificates'],
      ['GET', '/v1/trust/certificates'],
      ['DELETE', '/v1/trust/certificates'],
      ['PUT', '/v1/trust/mode'],
    ]) {
      const r = await call({ handler: unconfigured, method, path, body: caA.cert });
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ error: { code: 'trust_store_not_configured' } });
      expect(r.header(TRUST_WARNING_HEADER)).toBeUndefined();
    }
    expect(bucket.gets.length).toBe(gets);
  });
});

describe('who may call the trust routes', () => {
  test.each([
    ['no key', null, 401],
    ['an inference key', () => inferenceKey, 403],
  ])('%s is refused on every route, and nothing is written', async (_l, keyOf, status) => {
    for (const [method, path] of [
      ['GET', '/v1/trust'],
      ['PUT', '/v1/trust/certificates'],
      ['GET', '/v1/trust/certificates'],
      ['DELETE', '/v1/trust/certificates'],
      ['PUT', '/v1/trust/mode'],
    ]) {
      const r = await call({
        method,
        path,
        key: typeof keyOf === 'function' ? keyOf() : keyOf,
        body: caA.cert,
      });
      expect(r.status).toBe(status);
    }
    expect(bucket.puts.length).toBe(0);
  });
});

describe('certificates', () => {
  test('GET /v1/trust before anything was uploaded: the defaults', async () => {
    const r = await call({ method: 'GET', path: '/v1/trust' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      mode: 'uploaded_and_public',
      certificates: [],
      updated_at: DEFAULT_TRUST.updatedAt,
      insecure_trust_all_allowed: false,
    });
    expect(r.header('X-Ephemera-Retention')).toBe('content=none; metadata=30d');
    expect((await call({ handler: lenient, method: 'GET', path: '/v1/trust' })).json).toMatchObject(
      {
        insecure_trust_all_allowed: true,
      },
    );
  });

  test('upload, read back, replace, download', async () => {
    const r = await putPem(`${caA.cert}\n${leafPem}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      mode: 'uploaded_and_public',
      updated_at: now().toISOString(),
      insecure_trust_all_allowed: false,
    });
    const certs = r.json.certificates as Array<Record<string, string>>;
    expect(certs.map((c) => c.subject)).toEqual([
      'CN=Admin CA A, O=Ephemera tests',
      'CN=model.internal',
    ]);
    expect(certs[1].issuer).toBe('CN=Admin CA A, O=Ephemera tests');
    expect(Object.keys(certs[0]).sort()).toEqual([
      'fingerprint_sha256',
      'issuer',
      'not_after',
      'subject',
    ]);
    expect(certs[0].fingerprint_sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(bucket.puts.at(-1)).toMatchObject({ IfNoneMatch: '*' });
    expect(stored()).toEqual({
      mode: 'uploaded_and_public',
      pem: caA.cert + leafPem,
      updatedAt: now().toISOString(),
    });

    const got = await call({ method: 'GET', path: '/v1/trust' });
    expect(got.json).toEqual(r.json);

    // Replace semantics: the new bundle is all there is.
    clock += 1000;
    const replaced = await putPem(caB.cert);
    expect(replaced.status).toBe(200);
    expect((replaced.json.certificates as unknown[]).length).toBe(1);
    expect(stored()?.pem).toBe(caB.cert);

    const download = await call({ method: 'GET', path: '/v1/trust/certificates' });
    expect(download.status).toBe(200);
    expect(download.res.body).toBe(caB.cert);
    expect(download.header('Content-Type')).toBe('application/x-pem-file');
  });

  test('a base64 body (as the load balancer may send it) and any content type', async () => {
    const r = await call({
      method: 'PUT',
      path: '/v1/trust/certificates',
      body: caA.cert,
      base64: true,
      contentType: 'application/octet-stream',
    });
    expect(r.status).toBe(200);
    expect(stored()?.pem).toBe(caA.cert);
  });

  test.each([
    ['a private key', () => `${caA.cert}${caA.key}`, 400, 'certificate 2 of 2 is a private key'],
    ['an expired certificate', () => expiredPem, 400, 'certificate 1 of 1 expired on'],
    ['garbage', () => 'not a certificate', 400, 'text outside PEM blocks at line 1'],
    ['an empty body', () => '', 400, 'the bundle holds no certificate'],
    [
      'a truncated block',
      () => caB.cert.split('\n').slice(0, 3).join('\n'),
      400,
      'certificate 1 of 1 is truncated',
    ],
    [
      'a bundle over the limit',
      () => caB.cert + ' '.repeat(TRUST_BUNDLE_MAX_BYTES),
      413,
      'the bundle exceeds',
    ],
  ])('%s is refused and the previous bundle stays', async (_l, bodyOf, status, message) => {
    await putPem(leafPem);
    const before = bucket.object;
    const puts = bucket.puts.length;
    const r = await putPem(bodyOf());
    expect(r.status).toBe(status);
    const error = r.json.error as { message: string; type: string; code: string | null };
    expect(error.message.startsWith(message)).toBe(true);
    expect(error.type).toBe('invalid_request_error');
    if (status === 413) expect(error.code).toBe('request_too_large');
    expect(bucket.object).toBe(before);
    expect(bucket.puts.length).toBe(puts);
    const body = caA.key.split('\n')[1];
    expect(r.res.body).not.toContain(body);
  });

  test('a base64 body over the limit is a 413 before it is parsed', async () => {
    const r = await call({
      method: 'PUT',
      path: '/v1/trust/certificates',
      body: 'A'.repeat(TRUST_BUNDLE_MAX_BYTES + 1),
      base64: true,
    });
    expect(r.status).toBe(413);
  });

  test('DELETE: no certificates and the mode back to uploaded_and_public; the download is then a 404', async () => {
    await putPem(caA.cert);
    expect((await putMode('uploaded_only')).status).toBe(200);
    const r = await call({ method: 'DELETE', path: '/v1/trust/certificates' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ mode: 'uploaded_and_public', certificates: [] });
    expect(stored()).toMatchObject({ mode: 'uploaded_and_public', pem: '' });
    const download = await call({ method: 'GET', path: '/v1/trust/certificates' });
    expect(download.status).toBe(404);
    expect(download.json).toEqual({
      error: {
        message: 'no certificates uploaded',
        type: 'invalid_request_error',
        param: null,
        code: 'no_certificates',
      },
    });
  });

  test('DELETE resets insecure_trust_all too (never leaves verification off)', async () => {
    await putMode('insecure_trust_all', lenient);
    const r = await call({ handler: lenient, method: 'DELETE', path: '/v1/trust/certificates' });
    expect(r.json.mode).toBe('uploaded_and_public');
    expect(r.header(TRUST_WARNING_HEADER)).toBeUndefined();
  });
});

describe('mode', () => {
  test('an unknown mode is a 400 naming the param', async () => {
    for (const mode of ['public', 42, null, undefined]) {
      const r = await putMode(mode);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({
        error: { type: 'invalid_request_error', param: 'mode' },
      });
    }
    const notJson = await call({ method: 'PUT', path: '/v1/trust/mode', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(bucket.puts.length).toBe(0);
  });

  test('uploaded_only needs certificates', async () => {
    const r = await putMode('uploaded_only');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'no_certificates', param: 'mode' } });
    expect(bucket.puts.length).toBe(0);
    await putPem(caA.cert);
    const ok = await putMode('uploaded_only');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ mode: 'uploaded_only' });
    expect(stored()).toMatchObject({ mode: 'uploaded_only', pem: caA.cert });
    // A new bundle keeps the mode.
    expect((await putPem(caB.cert)).json.mode).toBe('uploaded_only');
  });

  test('insecure_trust_all is a 403 unless the deployment allows it', async () => {
    const r = await putMode('insecure_trust_all');
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({
      error: {
        type: 'invalid_request_error',
        code: 'insecure_trust_all_not_allowed',
        param: 'mode',
      },
    });
    expect(bucket.puts.length).toBe(0);
    const ok = await putMode('insecure_trust_all', lenient);
    expect(ok.status).toBe(200);
    expect(stored()?.mode).toBe('insecure_trust_all');
  });

  test('the same mode again changes nothing', async () => {
    await putPem(caA.cert);
    const puts = bucket.puts.length;
    expect((await putMode('uploaded_and_public')).status).toBe(200);
    expect(bucket.puts.length).toBe(puts);
  });
});

describe('the warning header', () => {
  test('is on every admin answer while verification is off, from the answer that turned it off', async () => {
    const off = await putMode('insecure_trust_all', lenient);
    expect(off.header(TRUST_WARNING_HEADER)).toBe(INSECURE_TRUST_ALL_WARNING);
    expect(INSECURE_TRUST_ALL_WARNING).toBe(
      'outbound TLS verification is off (insecure_trust_all)',
    );
    const answers = [
      await call({ handler: lenient, method: 'GET', path: '/v1/trust' }),
      await call({ handler: lenient, method: 'GET', path: '/v1/keys' }),
      await call({ handler: lenient, method: 'GET', path: '/v1/keys', key: inferenceKey }),
      await call({ handler: lenient, method: 'GET', path: '/v1/keys', key: null }),
      await call({ handler: lenient, method: 'GET', path: '/v1/nothing-here' }),
      await call({ handler: lenient, method: 'POST', path: '/v1/trust' }),
      await call({ handler: lenient, method: 'GET', path: '/healthz' }),
      await putPem('garbage', lenient),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 403, 401, 404, 405, 200, 400]);
    for (const a of answers)
      expect(a.header(TRUST_WARNING_HEADER)).toBe(INSECURE_TRUST_ALL_WARNING);

    // Another instance sees it too, through the store.
    const fresh = handlerWith(
      parseAdminConfig({
        ...ENV,
        CONFIG_BUCKET_NAME: CONFIG_BUCKET,
        ALLOW_INSECURE_TRUST_ALL: 'true',
      }),
    );
    const other = await call({ handler: fresh, method: 'GET', path: '/v1/keys' });
    expect(other.header(TRUST_WARNING_HEADER)).toBe(INSECURE_TRUST_ALL_WARNING);

    // A route that reads X-Ephemera-Metadata adds its warnings after this one, in the same header.
    const typo = await call({
      handler: lenient,
      method: 'GET',
      path: '/v1/logs',
      headers: { 'x-ephemera-metadata': ['customerid=abc'] },
      query: { filter: ['request_id::none'] },
    });
    expect(typo.status).toBe(200);
    expect(typo.header(TRUST_WARNING_HEADER)).toBe(
      `${INSECURE_TRUST_ALL_WARNING}, unknown metadata parameter 'customerid' (known: customer_id)`,
    );

    // Back on: gone from the next answer on.
    const on = await putMode('uploaded_and_public', lenient);
    expect(on.header(TRUST_WARNING_HEADER)).toBeUndefined();
    const after = await call({ handler: lenient, method: 'GET', path: '/v1/keys' });
    expect(after.header(TRUST_WARNING_HEADER)).toBeUndefined();
  });

  test('an unreadable store adds no header and fails no other route', async () => {
    bucket.failReads = true;
    const keys = await call({ handler: unconfigured, method: 'GET', path: '/v1/keys' });
    expect(keys.status).toBe(200);
    const fresh = handlerWith(parseAdminConfig({ ...ENV, CONFIG_BUCKET_NAME: CONFIG_BUCKET }));
    const r = await call({ handler: fresh, method: 'GET', path: '/v1/keys' });
    expect(r.status).toBe(200);
    expect(r.header(TRUST_WARNING_HEADER)).toBeUndefined();
  });
});

describe('store failures', () => {
  test('a change made by someone else between the read and the write is a 409, and theirs stays', async () => {
    await putPem(caA.cert);
    bucket.beforeWrite = () => {
      bucket.beforeWrite = undefined;
      bucket.put({ mode: 'uploaded_only', pem: caB.cert, updatedAt: now().toISOString() });
    };
    const r = await putPem(leafPem);
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      error: {
        message: 'the trust store changed while this request ran; retry',
        type: 'invalid_request_error',
        param: null,
        code: 'trust_store_conflict',
      },
    });
    expect(stored()).toMatchObject({ mode: 'uploaded_only', pem: caB.cert });
  });

  test('S3 unavailable: 503 on the trust routes', async () => {
    bucket.failReads = true;
    expect((await call({ method: 'GET', path: '/v1/trust' })).status).toBe(503);
    bucket.failReads = false;
    bucket.failWrites = true;
    const r = await putPem(caA.cert);
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ error: { type: 'server_error', code: 'service_unavailable' } });
  });

  test('a stored bundle changed behind the API is a 500 on GET, and can be replaced', async () => {
    bucket.put({ mode: 'uploaded_and_public', pem: 'junk', updatedAt: now().toISOString() });
    expect((await call({ method: 'GET', path: '/v1/trust' })).status).toBe(500);
    expect((await putPem(caA.cert)).status).toBe(200);
  });
});

describe('log lines', () => {
  test('trust routes log mode and count, never certificate or key material', async () => {
    lines.length = 0;
    await putPem(`${caA.cert}${caB.cert}`);
    await putPem(`${caA.cert}${caA.key}`);
    await call({ method: 'GET', path: '/v1/trust/certificates' });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({
      event: 'admin',
      route: 'trust_certs_put',
      method: 'PUT',
      status: 200,
      trust_mode: 'uploaded_and_public',
      certificate_count: 2,
    });
    expect(parsed[1]).toMatchObject({ status: 400, error_type: 'invalid_request_error' });
    expect(parsed[2]).toMatchObject({ route: 'trust_certs_get', status: 200 });
    const all = lines.join('\n');
    expect(all).not.toContain('BEGIN');
    for (const pem of [caA.cert, caB.cert, caA.key]) {
      expect(all).not.toContain(pem.split('\n')[1].slice(0, 20));
    }
    for (const line of parsed) expect(line.dropped_fields).toBeUndefined();
  });
});

describe('repairing a stored document that does not decode', () => {
  const CANARY = 'SECRET-CANARY-5e1d';
  const REPAIR = { repair: ['true'] };
  const UNDECODABLE = [
    ['not JSON (a torn write)', () => `{"version":1,"mode":"uploaded_only","pem":"${CANARY}`],
    [
      'the wrong shape',
      () => JSON.stringify({ version: 1, mode: CANARY, pem: CANARY, updated_at: CANARY }),
    ],
    [
      'a newer version',
      () =>
        JSON.stringify({
          version: 2,
          mode: 'uploaded_only',
          pem: `${caA.cert}${CANARY}`,
          updated_at: now().toISOString(),
          pinned: [CANARY],
        }),
    ],
  ] as const;

  /** Every answer and log line of a test, to search for anything of the stored object. */
  const shown: string[] = [];
  const seen = async (r: Promise<Awaited<ReturnType<typeof call>>>) => {
    const answer = await r;
    shown.push(answer.res.body ?? '', JSON.stringify(answer.res.multiValueHeaders ?? {}));
    return answer;
  };
  const expectNothingShown = (etag: string) => {
    const all = [...shown, ...lines].join('\n');
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain(etag);
    expect(all).not.toContain('etag');
  };
  const lastLine = () => JSON.parse(lines.at(-1)!) as Record<string, unknown>;

  beforeEach(() => {
    shown.length = 0;
    lines.length = 0;
  });

  test('the message names the exact repair requests', () => {
    expect(TRUST_MESSAGES.undecodable).toBe(
      'The stored trust store document cannot be decoded (a corrupted write, or a newer version of the document); reset it with DELETE /v1/trust/certificates?repair=true, or replace it with PUT /v1/trust/certificates?repair=true and a PEM body',
    );
  });

  test.each(UNDECODABLE)(
    '%s: every route without repair=true is a 503 naming the repair, and nothing is written',
    async (_label, textOf) => {
      bucket.putText(textOf());
      const before = bucket.object!;
      const answers = [
        await seen(call({ method: 'GET', path: '/v1/trust' })),
        await seen(call({ method: 'GET', path: '/v1/trust/certificates' })),
        await seen(putPem(caA.cert)),
        await seen(call({ method: 'DELETE', path: '/v1/trust/certificates' })),
        await seen(
          call({ method: 'DELETE', path: '/v1/trust/certificates', query: { repair: ['false'] } }),
        ),
        await seen(putMode('uploaded_and_public')),
        await seen(call({ method: 'GET', path: '/v1/trust', query: REPAIR })),
      ];
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect(r.json).toEqual({
          error: {
            message: TRUST_MESSAGES.undecodable,
            type: 'server_error',
            param: null,
            code: 'trust_store_undecodable',
          },
        });
        expect(r.header('x-should-retry')).toBe('false');
      }
      expect(bucket.puts).toHaveLength(0);
      expect(bucket.object).toBe(before);
      expect(lines).toHaveLength(answers.length);
      for (const line of lines.map((l) => JSON.parse(l) as Record<string, unknown>)) {
        expect(line).toMatchObject({ status: 503, error_type: 'server_error' });
        expect(line.trust_repaired).toBeUndefined();
        expect(line.trust_mode).toBeUndefined();
      }
      expectNothingShown(before.etag);
    },
  );

  test.each(UNDECODABLE)(
    '%s: DELETE ?repair=true resets to the default document, conditional on the object read',
    async (_label, textOf) => {
      bucket.putText(textOf());
      const etag = bucket.object!.etag;
      clock += 1000;
      const r = await seen(
        call({ method: 'DELETE', path: '/v1/trust/certificates', query: REPAIR }),
      );
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        mode: 'uploaded_and_public',
        certificates: [],
        updated_at: now().toISOString(),
        insecure_trust_all_allowed: false,
      });
      expect(bucket.puts).toHaveLength(1);
      expect(bucket.puts[0].IfMatch).toBe(etag);
      expect(bucket.puts[0].IfNoneMatch).toBeUndefined();
      expect(stored()).toEqual({
        mode: 'uploaded_and_public',
        pem: '',
        updatedAt: now().toISOString(),
      });
      expect(lastLine()).toMatchObject({
        route: 'trust_certs_delete',
        status: 200,
        trust_repaired: true,
        trust_mode: 'uploaded_and_public',
        certificate_count: 0,
      });
      expect(lastLine().dropped_fields).toBeUndefined();

      // The following reads show the valid document, here and on another instance.
      const got = await seen(call({ method: 'GET', path: '/v1/trust' }));
      expect(got.status).toBe(200);
      expect(got.json).toEqual(r.json);
      const fresh = handlerWith(parseAdminConfig({ ...ENV, CONFIG_BUCKET_NAME: CONFIG_BUCKET }));
      expect((await seen(call({ handler: fresh, method: 'GET', path: '/v1/trust' }))).json).toEqual(
        r.json,
      );
      expect(lastLine().trust_repaired).toBeUndefined();
      expectNothingShown(etag);
    },
  );

  test.each(UNDECODABLE)(
    '%s: PUT ?repair=true writes the bundle with the default mode',
    async (_label, textOf) => {
      bucket.putText(textOf());
      const etag = bucket.object!.etag;
      const r = await seen(
        call({ method: 'PUT', path: '/v1/trust/certificates', body: caB.cert, query: REPAIR }),
      );
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        mode: 'uploaded_and_public',
        updated_at: now().toISOString(),
      });
      expect((r.json.certificates as Array<{ subject: string }>).map((c) => c.subject)).toEqual([
        'CN=Admin CA B, O=Ephemera tests',
      ]);
      expect(bucket.puts).toHaveLength(1);
      expect(bucket.puts[0].IfMatch).toBe(etag);
      expect(stored()).toEqual({
        mode: 'uploaded_and_public',
        pem: caB.cert,
        updatedAt: now().toISOString(),
      });
      expect(lastLine()).toMatchObject({
        route: 'trust_certs_put',
        status: 200,
        trust_repaired: true,
        certificate_count: 1,
      });
      const got = await seen(call({ method: 'GET', path: '/v1/trust' }));
      expect(got.status).toBe(200);
      expect(got.json).toEqual(r.json);
      const download = await seen(call({ method: 'GET', path: '/v1/trust/certificates' }));
      expect(download.res.body).toBe(caB.cert);
      expectNothingShown(etag);
    },
  );

  test('PUT ?repair=true with a refused bundle writes nothing', async () => {
    bucket.putText(`${CANARY} {`);
    const before = bucket.object!;
    const r = await seen(
      call({ method: 'PUT', path: '/v1/trust/certificates', body: 'garbage', query: REPAIR }),
    );
    expect(r.status).toBe(400);
    expect(bucket.puts).toHaveLength(0);
    expect(bucket.object).toBe(before);
    expectNothingShown(before.etag);
  });

  test.each([
    ['DELETE', () => call({ method: 'DELETE', path: '/v1/trust/certificates', query: REPAIR })],
    [
      'PUT',
      () => call({ method: 'PUT', path: '/v1/trust/certificates', body: caA.cert, query: REPAIR }),
    ],
  ])(
    'a %s repair racing another write is a 409, and the other write stays',
    async (_label, repair) => {
      // Someone repaired it first, with a document that decodes.
      bucket.putText(`${CANARY} {`);
      const first = bucket.object!.etag;
      bucket.beforeWrite = () => {
        bucket.beforeWrite = undefined;
        bucket.put({ mode: 'uploaded_only', pem: caB.cert, updatedAt: now().toISOString() });
      };
      const r = await seen(repair());
      expect(r.status).toBe(409);
      expect(r.json).toEqual({
        error: {
          message: TRUST_MESSAGES.repairConflict,
          type: 'invalid_request_error',
          param: null,
          code: 'trust_store_conflict',
        },
      });
      expect(bucket.puts.at(-1)?.IfMatch).toBe(first);
      expect(stored()).toMatchObject({ mode: 'uploaded_only', pem: caB.cert });
      expect(lastLine()).toMatchObject({ status: 409, error_type: 'invalid_request_error' });
      expect(lastLine().trust_repaired).toBeUndefined();

      // Another writer's object that does not decode either: still not overwritten.
      bucket.putText(`${CANARY} [`);
      const second = bucket.object!.etag;
      bucket.beforeWrite = () => {
        bucket.beforeWrite = undefined;
        bucket.putText(`{"version":3,"pem":"${CANARY}"}`);
      };
      expect((await seen(repair())).status).toBe(409);
      expect(bucket.object!.text).toBe(`{"version":3,"pem":"${CANARY}"}`);
      expectNothingShown(first);
      expectNothingShown(second);
    },
  );

  test.each([
    [
      'a document that decodes',
      () => bucket.put({ mode: 'uploaded_only', pem: caA.cert, updatedAt: now().toISOString() }),
    ],
    ['no document at all', () => bucket.clear()],
  ])('a repair over %s is a 409 nothing_to_repair and writes nothing', async (_label, setUp) => {
    setUp();
    const before = bucket.object;
    for (const r of [
      await call({ method: 'DELETE', path: '/v1/trust/certificates', query: REPAIR }),
      await call({ method: 'PUT', path: '/v1/trust/certificates', body: caB.cert, query: REPAIR }),
    ]) {
      expect(r.status).toBe(409);
      expect(r.json).toEqual({
        error: {
          message: TRUST_MESSAGES.nothingToRepair,
          type: 'invalid_request_error',
          param: 'repair',
          code: 'nothing_to_repair',
        },
      });
    }
    expect(bucket.puts).toHaveLength(0);
    expect(bucket.object).toBe(before);
    // repair=false is the ordinary request.
    const plain = await call({
      method: 'DELETE',
      path: '/v1/trust/certificates',
      query: { repair: ['false'] },
    });
    expect(plain.status).toBe(200);
  });

  test.each([
    ['yes', { repair: ['yes'] }],
    ['1', { repair: ['1'] }],
    ['empty', { repair: [''] }],
    ['given twice', { repair: ['true', 'true'] }],
  ])('repair=%s is a 400 naming the param, and nothing is written', async (_label, query) => {
    bucket.putText(`${CANARY} {`);
    for (const r of [
      await call({ method: 'DELETE', path: '/v1/trust/certificates', query }),
      await call({ method: 'PUT', path: '/v1/trust/certificates', body: caA.cert, query }),
    ]) {
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({
        error: {
          message: 'repair must be true or false, given once',
          type: 'invalid_request_error',
          param: 'repair',
        },
      });
    }
    const malformed = await call({
      method: 'DELETE',
      path: '/v1/trust/certificates',
      query: { repair: ['%ZZ'] },
    });
    expect(malformed.status).toBe(400);
    expect(bucket.puts).toHaveLength(0);
  });
});
