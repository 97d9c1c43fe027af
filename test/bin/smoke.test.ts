/**
 * `npm run smoke` against local mode over HTTPS (in its own process, as CI
 * runs it): every check passes, through the CLI, with the receipt verified
 * against the local signing key (the KMS stand-in's public half, as
 * `aws kms get-public-key` would give it, written as PEM).
 *
 * Then each check is made to fail once, against a deliberately broken
 * target: an HTTPS proxy on 127.0.0.1 in front of local mode with one
 * mutation (TLS 1.0/1.1 served, TLS 1.3 not served, the retention header
 * stripped from 404s, a wrong key let through, a chat answer without
 * choices, a stream without [DONE], no Responses API, a vector missing, a
 * canary echoed into an error, an image kept alive, no grace on rotation,
 * revocation ignored, a receipt that lies about its counts, a forged
 * signature). Each shows that its check FAILs, and the run still cleans up.
 */

import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  receiptPayload,
  signReceipt,
  type Receipt,
  type ReceiptFields,
} from '../../lambda/shared/receipt';
import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';
import { LOCAL_REGION } from '../../local/stores';
import { main, parseSmokeArgs, UsageError } from '../../bin/smoke';
import { CHECKS, redact, runSmoke, type SmokeReport } from '../../bin/smoke/runner';
import { createTarget } from '../../bin/smoke/target';
import { makeCa, makeLeaf, type TestLeaf } from '../support/tls-fixtures';
import {
  jsonOf,
  startMutatingProxy,
  withJson,
  type Mutation,
  type ProxiedAnswer,
  type ProxiedRequest,
} from './support/mutating-proxy';

const ROOT = join(__dirname, '..', '..');
const IMAGE_TTL_SECONDS = 2;
const RETENTION = 'content=none; metadata=30d';

/** An answer the proxy makes up, with the headers a real one has (so only the intended check fails). */
function madeUp(status: number, json: unknown): ProxiedAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-ephemera-retention': RETENTION },
    body: Buffer.from(JSON.stringify(json), 'utf8'),
  };
}
const bodyJson = (req: ProxiedRequest) => {
  try {
    return JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
/** A receipt's signed fields. */
function unsigned(receipt: Receipt): ReceiptFields {
  const fields: Record<string, unknown> = { ...receipt };
  delete fields.signature;
  return fields as unknown as ReceiptFields;
}
const route = (req: ProxiedRequest) => req.path.split('?')[0];

describe('npm run smoke against local mode', () => {
  let local: LocalProcess;
  let kms: KMSClient;
  let dir: string;
  let leaf: TestLeaf;
  /** The proxy's CA and local mode's: what `--ca` is given for a proxied run. */
  let caBundle: string;
  let receiptKeyPem: string;
  let receiptKeyFile: string;

  beforeAll(async () => {
    // Erasure jobs start 3.3 s after their request; images live 2 s.
    local = await startLocalProcess({
      args: ['--in-memory'],
      env: {
        EPHEMERA_REQUEST_TIMEOUT_SECONDS: '3',
        EPHEMERA_IMAGE_TTL_SECONDS: String(IMAGE_TTL_SECONDS),
      },
    });
    const { credentials } = local.services;
    kms = new KMSClient({ region: LOCAL_REGION, credentials, endpoint: local.services.kms });
    dir = mkdtempSync(join(tmpdir(), 'ephemera-smoke-'));

    // The signing key's ARN is in any receipt: erase a customer no one used, read its receipt.
    const erase = await local.call('/v1/user_data', {
      method: 'DELETE',
      headers: {
        ...bearer(local.adminKey),
        'x-ephemera-metadata': `customer_id=probe-${randomBytes(4).toString('hex')}`,
      },
    });
    const { deletion_id: id } = JSON.parse(erase.body) as { deletion_id: string };
    let receipt: Receipt | undefined;
    for (let i = 0; i < 60 && !receipt; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const job = await local.call(`/v1/user_data/deletions/${id}`, {
        headers: bearer(local.adminKey),
      });
      receipt = (JSON.parse(job.body) as { receipt?: Receipt }).receipt;
    }
    const key = await kms.send(new GetPublicKeyCommand({ KeyId: receipt!.signing_key }));
    // DER SubjectPublicKeyInfo to PEM, as `openssl pkey -pubin -inform DER` writes it.
    const base64 = Buffer.from(key.PublicKey!)
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n');
    receiptKeyPem = `-----BEGIN PUBLIC KEY-----\n${base64}\n-----END PUBLIC KEY-----\n`;
    receiptKeyFile = join(dir, 'receipt-key.pem');
    writeFileSync(receiptKeyFile, receiptKeyPem);

    const ca = await makeCa('Smoke proxy CA');
    leaf = await makeLeaf(ca);
    caBundle = ca.cert + local.ca;
  }, 90_000);

  afterAll(async () => {
    kms?.destroy();
    await local?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check through the CLI (npm run smoke), and prints no key', async () => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/smoke.ts',
        '--url',
        local.url,
        '--ca',
        local.caCertPath,
        '--wait-ttl',
        '--receipt-key',
        receiptKeyFile,
        '--erasure-timeout',
        '60',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: '', EPHEMERA_ADMIN_KEY: local.adminKey },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const wallSeconds = (Date.now() - started) / 1000;
    console.log(`npm run smoke against local mode: ${wallSeconds.toFixed(1)} s wall\n${stdout}`);

    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l));
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(CHECKS.map((c) => c.id));
    expect(lines.every((l) => l.startsWith('PASS'))).toBe(true);
    expect(stdout).toMatch(/13 passed, 0 failed, 0 skipped in \d+\.\d s/);
    expect(stdout).toContain('cleanup: temporary key revoked');
    expect(stdout).toContain('cleanup: customer smoke-');
    for (const text of [stdout, stderr]) {
      expect(text).not.toContain(local.adminKey);
      expect(text).not.toContain('eph_');
    }
  }, 120_000);

  /** One smoke run through a proxy with this mutation, limited to `only`. */
  async function runBroken(mutation: Mutation, only: string[]): Promise<SmokeReport> {
    const proxy = await startMutatingProxy(local, leaf, mutation);
    try {
      const target = createTarget({ url: proxy.url, adminKey: local.adminKey!, caPem: caBundle });
      return await runSmoke(target, {
        only,
        waitTtl: true,
        receiptKeyPem,
        erasureTimeoutMs: 60_000,
      });
    } finally {
      await proxy.close();
    }
  }
  const statusOf = (report: SmokeReport, id: string) =>
    report.results.find((r) => r.id === id)?.status;

  /** The key of a request's Authorization header: `{id, secret}` of `eph_<id>_<secret>`. */
  const bearerOf = (req: ProxiedRequest) => {
    const m = /^Bearer eph_([a-z0-9]{16})_(\S+)$/.exec(String(req.headers.authorization ?? ''));
    return m ? { id: m[1], secret: m[2] } : undefined;
  };

  const rotated = new Map<string, string>();
  const keptImages: string[] = [];
  const keptBytes = new Map<number, ProxiedAnswer>();

  const MUTATIONS: [string, string, Mutation, string[]][] = [
    ['serves TLS 1.0 and 1.1', 'tls', { tls: { minVersion: 'TLSv1' } }, []],
    ['negotiates TLS 1.2 at most', 'tls', { tls: { maxVersion: 'TLSv1.2' } }, []],
    [
      'strips X-Ephemera-Retention from 404s',
      'retention',
      {
        respond: async (_req, answer) => {
          if (answer.status === 404) delete answer.headers['x-ephemera-retention'];
          return answer;
        },
      },
      [],
    ],
    [
      'lets a wrong key through',
      'auth',
      {
        respond: async (req, answer, tools) =>
          answer.status === 401 && req.headers.authorization
            ? tools.forward({ ...req, headers: { ...req.headers, ...bearer(local.inferenceKey) } })
            : answer,
      },
      [],
    ],
    [
      'answers a chat completion without choices',
      'chat',
      {
        respond: async (req, answer) => {
          const json = jsonOf(answer);
          if (route(req) !== '/v1/chat/completions' || answer.status !== 200 || !json?.choices) {
            return answer;
          }
          return withJson(answer, { ...json, choices: [] });
        },
      },
      [],
    ],
    [
      'ends a stream without data: [DONE]',
      'chat-stream',
      {
        respond: async (req, answer) =>
          route(req) === '/v1/chat/completions' && bodyJson(req)?.stream === true
            ? {
                ...answer,
                body: Buffer.from(answer.body.toString('utf8').replace('data: [DONE]\n\n', '')),
              }
            : answer,
      },
      [],
    ],
    [
      'does not serve the Responses API',
      'responses',
      {
        intercept: async (req) =>
          route(req) === '/v1/responses'
            ? madeUp(404, {
                error: {
                  message: 'Invalid URL (POST /v1/responses)',
                  type: 'invalid_request_error',
                  param: null,
                  code: null,
                },
              })
            : undefined,
      },
      [],
    ],
    [
      'drops a vector from an embeddings answer',
      'embeddings',
      {
        respond: async (req, answer) => {
          const json = jsonOf(answer);
          if (
            route(req) !== '/v1/embeddings' ||
            answer.status !== 200 ||
            !Array.isArray(json?.data)
          ) {
            return answer;
          }
          return withJson(answer, { ...json, data: (json.data as unknown[]).slice(0, 1) });
        },
      },
      [],
    ],
    [
      'echoes the request into an error body',
      'canary',
      {
        respond: async (req, answer) => {
          const json = jsonOf(answer) as { error?: { message?: string } } | undefined;
          if (answer.status < 400 || !json?.error || req.body.length === 0) return answer;
          return withJson(answer, {
            ...json,
            error: {
              ...json.error,
              message: `${json.error.message} (you sent ${req.body.toString('utf8')})`,
            },
          });
        },
      },
      [],
    ],
    [
      'keeps an image alive past its TTL',
      'image-ttl',
      {
        intercept: async (req, tools) => {
          const m = /^\/kept\/(\d+)$/.exec(req.path);
          if (!m) return undefined;
          const n = Number(m[1]);
          if (!keptBytes.has(n)) keptBytes.set(n, await tools.get(keptImages[n]));
          return keptBytes.get(n);
        },
        respond: async (req, answer, tools) => {
          const json = jsonOf(answer) as { data?: { url?: string }[] } | undefined;
          if (route(req) !== '/v1/images/generations' || !json?.data) return answer;
          const data = json.data.map((image) => {
            if (!image.url) return image;
            keptImages.push(image.url);
            return { ...image, url: `${tools.url}/kept/${keptImages.length - 1}` };
          });
          return withJson(answer, { ...json, data });
        },
      },
      [],
    ],
    [
      'ends the old secret at once on rotation (no grace)',
      'key-rotation',
      {
        intercept: async (req) => {
          const key = bearerOf(req);
          if (!key || !rotated.has(key.id) || rotated.get(key.id) === key.secret) return undefined;
          return madeUp(401, {
            error: {
              message: 'Invalid API key',
              type: 'invalid_request_error',
              param: null,
              code: 'invalid_api_key',
            },
          });
        },
        respond: async (req, answer) => {
          const m = /^\/v1\/keys\/([a-z0-9]{16})\/rotate$/.exec(route(req));
          const key = (jsonOf(answer) as { key?: string } | undefined)?.key;
          if (m && answer.status === 200 && key)
            rotated.set(m[1], key.slice(`eph_${m[1]}_`.length));
          return answer;
        },
      },
      [],
    ],
    [
      'ignores revocation',
      'key-revocation',
      {
        intercept: async (req) => {
          const m = /^\/v1\/keys\/([a-z0-9]{16})$/.exec(route(req));
          return req.method === 'DELETE' && m
            ? madeUp(200, { id: m[1], revoked: true })
            : undefined;
        },
      },
      [],
    ],
    [
      'lies about the erasure counts in a receipt signed with the real key',
      'erasure',
      {
        respond: async (req, answer) => {
          const job = jsonOf(answer) as
            { counts: { records_erased: number }; receipt?: Receipt } | undefined;
          if (!route(req).startsWith('/v1/user_data/deletions/') || !job?.receipt) return answer;
          const fields = unsigned(job.receipt);
          const receipt = await signReceipt(kms, {
            ...fields,
            records_erased: fields.records_erased + 1000,
          });
          return withJson(answer, {
            ...job,
            counts: { ...job.counts, records_erased: receipt.records_erased },
            receipt,
          });
        },
      },
      ['receipt'],
    ],
    [
      'forges the receipt signature',
      'receipt',
      {
        respond: async (req, answer) => {
          const job = jsonOf(answer) as { receipt?: Receipt } | undefined;
          if (!route(req).startsWith('/v1/user_data/deletions/') || !job?.receipt) return answer;
          const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
          const fields = unsigned(job.receipt);
          const forged = sign('sha256', receiptPayload(fields), {
            key: privateKey,
            dsaEncoding: 'der',
          }).toString('base64');
          return withJson(answer, { ...job, receipt: { ...job.receipt, signature: forged } });
        },
      },
      ['erasure'],
    ],
  ];

  it('has a mutation for every check', () => {
    expect(new Set(MUTATIONS.map(([, check]) => check))).toEqual(new Set(CHECKS.map((c) => c.id)));
  });

  it.each(MUTATIONS)(
    'a target that %s fails the %s check',
    async (_what, check, mutation, stillPassing) => {
      const report = await runBroken(mutation, [check, ...stillPassing]);
      const result = report.results.find((r) => r.id === check)!;
      expect(result).toMatchObject({ status: 'FAIL' });
      console.log(`FAIL  ${check.padEnd(15)} ${result.detail}`);
      for (const other of stillPassing) expect(statusOf(report, other)).toBe('PASS');
      expect(report.ok).toBe(false);
      // Whatever failed, what the run made is cleaned up (`tls` and `retention` alone make nothing).
      expect(report.cleanup.some((line) => line.startsWith('FAILED'))).toBe(false);
      if (!['tls', 'retention'].includes(check)) {
        expect(report.cleanup.join('\n')).toMatch(/temporary key revoked/);
      }
    },
    90_000,
  );

  it('leaves no temporary key unrevoked but the one whose revocation was ignored', async () => {
    const keys: { name: string; revoked_at?: string }[] = [];
    let cursor: string | null = null;
    do {
      const answer = await local.call(`/v1/keys?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: bearer(local.adminKey),
      });
      const page = JSON.parse(answer.body) as { data: typeof keys; next_cursor: string | null };
      keys.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    const smoke = keys.filter((k) => k.name.startsWith('ephemera-smoke-'));
    expect(smoke.length).toBeGreaterThanOrEqual(MUTATIONS.length - 2);
    expect(smoke.filter((k) => !k.revoked_at)).toHaveLength(1);
  });

  it('cleans up when stopped half-way', async () => {
    const controller = new AbortController();
    const target = createTarget({ url: local.url, adminKey: local.adminKey!, caPem: local.ca });
    const report = await runSmoke(target, {
      only: ['auth', 'chat', 'canary'],
      signal: controller.signal,
      onResult: () => controller.abort(),
    });
    expect(report.results.map((r) => `${r.id} ${r.status}`)).toEqual([
      'auth PASS',
      'chat FAIL',
      'canary FAIL',
    ]);
    expect(report.results[1].detail).toBe('not run: stopped');
    expect(report.cleanup).toEqual([
      'temporary key revoked',
      expect.stringMatching(
        /^erasure of smoke-[0-9a-f]{24} requested \(del_[\w-]+\); it completes on its own$/,
      ),
    ]);
  });

  it('exits 1 when a check fails', async () => {
    const proxy = await startMutatingProxy(local, leaf, { tls: { maxVersion: 'TLSv1.2' } });
    const caFile = join(dir, 'bundle.pem');
    writeFileSync(caFile, caBundle);
    const out: string[] = [];
    try {
      const code = await main(['--url', proxy.url, '--ca', caFile, '--only', 'tls'], {
        out: (line) => out.push(line),
        err: (line) => out.push(line),
        env: { EPHEMERA_ADMIN_KEY: local.adminKey },
      });
      expect(code).toBe(1);
    } finally {
      await proxy.close();
    }
    expect(out.join('\n')).toMatch(/^FAIL {2}tls {13}TLS 1\.3 not negotiated/m);
    expect(out.join('\n')).toMatch(/0 passed, 1 failed, 0 skipped in/);
  });
});

describe('npm run smoke: command line', () => {
  const KEY = `eph_${'a'.repeat(16)}_${'B'.repeat(43)}`;

  it('reads the options', () => {
    expect(
      parseSmokeArgs(
        [
          '--url',
          'https://api.example.com/',
          '--wait-ttl',
          '--erasure-timeout',
          '20m',
          '--only',
          'tls,auth',
        ],
        { EPHEMERA_ADMIN_KEY: KEY },
      ),
    ).toEqual({
      url: 'https://api.example.com',
      adminKey: KEY,
      waitTtl: true,
      erasureTimeoutMs: 20 * 60_000,
      only: ['tls', 'auth'],
    });
    expect(
      parseSmokeArgs(['--url', 'https://abc.execute-api.eu-west-1.amazonaws.com/api/'], {
        EPHEMERA_ADMIN_KEY: KEY,
      })?.url,
    ).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/api');
    expect(parseSmokeArgs(['--help'])).toBeUndefined();
  });

  it.each([
    ['no --url', ['--admin-key', KEY], /--url is required/],
    ['an http URL', ['--url', 'http://api.example.com', '--admin-key', KEY], /https/],
    [
      'a URL ending in /v1',
      ['--url', 'https://api.example.com/v1', '--admin-key', KEY],
      /without \/v1/,
    ],
    [
      'a URL with a query',
      ['--url', 'https://api.example.com/?x=1', '--admin-key', KEY],
      /without \/v1 or a query/,
    ],
    ['no admin key', ['--url', 'https://api.example.com'], /EPHEMERA_ADMIN_KEY/],
    [
      'a malformed admin key',
      ['--url', 'https://x.example', '--admin-key', `${KEY}x`],
      /not of the form/,
    ],
    [
      'a zero erasure timeout',
      ['--url', 'https://x.example', '--admin-key', KEY, '--erasure-timeout', '0'],
      /erasure-timeout/,
    ],
    [
      'an unknown check',
      ['--url', 'https://x.example', '--admin-key', KEY, '--only', 'nope'],
      /unknown check nope/,
    ],
  ])('refuses %s', (_what, argv, message) => {
    expect(() => parseSmokeArgs(argv, {})).toThrow(UsageError);
    expect(() => parseSmokeArgs(argv, {})).toThrow(message);
  });

  it('never echoes a malformed admin key, and exits 2 on a usage error', async () => {
    const secret = `eph_${'a'.repeat(16)}_${'C'.repeat(40)}`;
    const out: string[] = [];
    const code = await main(['--url', 'https://x.example', '--admin-key', secret], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      env: {},
    });
    expect(code).toBe(2);
    expect(out.join('\n')).not.toContain(secret);
  });

  it('redacts keys from every line', () => {
    expect(redact(`saw ${KEY} and hunter2`, ['hunter2'])).toBe('saw <redacted> and <redacted>');
  });
});
