/**
 * Starting local mode as `npm run local` does: bad starts end with one clear
 * line on stderr and a non-zero exit, a second local mode on a data folder in
 * use among them; a second start with the same data folder reuses the
 * certificate, the data and the keys.
 */

import { makeCa, makeLeaf, startTlsServer, type TlsServer } from '../support/tls-fixtures';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer, startLocalProcess } from '../../local/child-process';

const ROOT = join(__dirname, '..', '..');

/** Runs local mode to its exit; returns the exit code and the lines it wrote about itself. */
function runToExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stderr,
        lines: stderr.split('\n').filter((l) => l.startsWith('ephemera local:')),
      });
    });
  });
}

describe('local mode starts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ephemera-starts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('a bad start says why in one line', () => {
    let busy: Server;
    let busyPort: number;
    let privateUpstream: TlsServer;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      // Answers over TLS with a certificate of a CA nobody trusts yet.
      privateUpstream = await startTlsServer(await makeLeaf(await makeCa('Unknown CA')));
      // Takes connections and never answers.
      busy = createServer((socket) => sockets.add(socket));
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      busyPort = (busy.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => busy.close(r));
      await privateUpstream.close();
    });

    it.each([
      [
        'a port in use',
        () => [['--in-memory', '--port', String(busyPort)], {}] as const,
        1,
        /port \d+ on 127\.0\.0\.1 is in use/,
      ],
      [
        'a data folder that cannot be used',
        () => [['--port', '0'], { EPHEMERA_DATA_DIR: '/dev/null/data' }] as const,
        1,
        /cannot use the data folder \/dev\/null\/data \(ENOTDIR\)/,
      ],
      [
        'an http:// upstream that is not loopback',
        () =>
          [
            ['--in-memory', '--port', '0'],
            { EPHEMERA_UPSTREAM_URL: 'http://models.example.com' },
          ] as const,
        1,
        /EPHEMERA_UPSTREAM_URL must use https:\/\/ unless the host is a loopback address/,
      ],
      [
        'an upstream that does not answer',
        () =>
          [
            ['--in-memory', '--port', '0'],
            { EPHEMERA_UPSTREAM_URL: `http://127.0.0.1:${busyPort}` },
          ] as const,
        1,
        /the upstream at http:\/\/127\.0\.0\.1:\d+ does not answer/,
      ],
      [
        'an upstream whose certificate is not trusted yet, without EPHEMERA_MODELS',
        () =>
          [['--in-memory', '--port', '0'], { EPHEMERA_UPSTREAM_URL: privateUpstream.url }] as const,
        1,
        /the upstream at https:\/\/127\.0\.0\.1:\d+ presents a certificate this trust store does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): name its models with EPHEMERA_MODELS to start anyway, then upload its CA with PUT \/v1\/trust\/certificates/,
      ],
      [
        'a trust-all switch that is not a boolean',
        () =>
          [['--in-memory', '--port', '0'], { EPHEMERA_ALLOW_INSECURE_TRUST_ALL: 'yes' }] as const,
        2,
        /EPHEMERA_ALLOW_INSECURE_TRUST_ALL must be true or false/,
      ],
      [
        'an image TTL out of range',
        () => [['--in-memory', '--port', '0'], { EPHEMERA_IMAGE_TTL_SECONDS: '0' }] as const,
        2,
        /EPHEMERA_IMAGE_TTL_SECONDS must be a whole number from 1 to 86400/,
      ],
      [
        'a bad --port',
        () => [['--port', 'https'], {}] as const,
        2,
        /--port must be a whole number/,
      ],
      ['an unknown option', () => [['--verbose'], {}] as const, 2, /Unknown option '--verbose'/],
    ])('%s', async (_what, input, code, message) => {
      const [args, env] = input();
      const result = await runToExit([...args], { ...env });
      expect(result.code).toBe(code);
      expect(result.lines).toHaveLength(1);
      expect(result.lines[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    });
  });

  it('reuses the certificate, the data and the keys on a second start', async () => {
    const dataDir = join(dir, 'data');
    const first = await startLocalProcess({ env: { EPHEMERA_DATA_DIR: dataDir } });
    const ca = readFileSync(first.caCertPath, 'utf8');
    expect(first.adminKey).toMatch(/^eph_/);
    expect(first.inferenceKey).toMatch(/^eph_/);
    expect(first.output()).toContain(`\nexport EPHEMERA_ADMIN_KEY=${first.adminKey}\n`);
    expect(first.output()).toContain(`\nexport EPHEMERA_INFERENCE_KEY=${first.inferenceKey}\n`);
    expect(first.output()).toContain('DEMO MODEL');
    const made = await first.call('/v1/chat/completions', {
      headers: { ...bearer(first.inferenceKey), 'x-ephemera-metadata': 'customer_id=again' },
      body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] },
    });
    expect(made.status).toBe(200);

    // A second local mode on the same folder, while the first runs: one line, exit 1.
    const owner = readFileSync(join(dataDir, 'local-mode.lock'), 'utf8').trim();
    expect(owner).toMatch(/^\d+$/);
    const refused = await runToExit(['--port', '0'], { EPHEMERA_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.lines).toEqual([
      `ephemera local: the data folder ${dataDir} is in use by another local mode (pid ${owner}): stop it, or choose another with EPHEMERA_DATA_DIR`,
    ]);
    expect(refused.stderr).not.toMatch(/unexpected|^\s+at /m);
    // The first goes on as it was.
    const still = await first.call('/v1/models', { headers: bearer(first.inferenceKey) });
    expect(still.status).toBe(200);
    await first.stop();

    const second = await startLocalProcess({ env: { EPHEMERA_DATA_DIR: dataDir } });
    try {
      expect(second.adminKey).toBeUndefined();
      expect(second.output()).not.toContain('EPHEMERA_ADMIN_KEY=');
      expect(second.output()).toContain('printed on the first start');
      expect(second.caCertPath).toBe(first.caCertPath);
      expect(readFileSync(second.caCertPath, 'utf8')).toBe(ca);
      // The first start's keys still work, and its records are still there.
      const logs = await second.call('/v1/logs', {
        headers: { ...bearer(first.adminKey), 'x-ephemera-metadata': 'customer_id=again' },
      });
      expect(logs.status).toBe(200);
      expect(JSON.parse(logs.body).data).toHaveLength(1);
      const chat = await second.call('/v1/chat/completions', {
        headers: bearer(first.inferenceKey),
        body: { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] },
      });
      expect(chat.status).toBe(200);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
