/**
 * Local mode on a full disk answers 503 (type `server_error`, code
 * `local_storage_full`) while it lasts, stops nothing, damages nothing, and
 * serves again once there is room:
 *
 * - on a real full disk: a small tmpfs holds the data folder (when this
 *   machine lets the tests mount one: root on Linux; skipped otherwise), a
 *   filler file takes every free byte. An image (S3's files) and then key
 *   creations (DynamoDB's LevelDB log) run into it; after the filler goes,
 *   what was there before is intact, in this run and after a restart;
 * - in this process, anywhere: the S3 stand-in's object writes fail with
 *   ENOSPC and the free space reads 0 (injected), then both come back.
 */

import { execFileSync } from 'node:child_process';
import fs, {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import fsp from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { bearer, startLocalProcess, type Answer } from '../../local/child-process';
import { startLocalMode, type LocalMode } from '../../local/local-mode';

const FULL = { type: 'server_error', code: 'local_storage_full' };
const chat = { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello' }] };
const image = { model: 'demo-image', prompt: 'a lighthouse', response_format: 'url' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error of a 503 answer, or the status when it is not one. */
function refusal(answer: Answer): unknown {
  if (answer.status !== 503) return answer.status;
  expect(answer.headers['retry-after']).toBeDefined();
  const { error } = JSON.parse(answer.body) as { error: { message: string } };
  expect(error.message).toMatch(/^Local storage is full/);
  return error;
}

/** Fills the file system that holds `dir` to the last byte; returns the filler's path. */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'a');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Asks until `ok` holds for the answer (or the time is up); the last answer. */
async function until(ask: () => Promise<Answer>, ok: (a: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await ask();
    if (ok(answer) || Date.now() > deadline) return answer;
    await sleep(250);
  }
}

/** Every file under `dir`. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

/** Mounts a tmpfs of `size` on a new directory; undefined when this machine does not allow it. */
function mountTmpfs(size: string): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ephemera-full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
      stdio: 'ignore',
    });
    return dir;
  } catch {
    rmdirSync(dir);
    return undefined;
  }
}

const mounted = mountTmpfs('48m');
if (!mounted) {
  process.stderr.write(
    'full-disk.test.ts: cannot mount a tmpfs here (needs root on Linux); the real full disk is skipped, the injected one runs\n',
  );
}
// At the top: it runs even when the tests that use the mount are filtered out.
afterAll(() => {
  if (!mounted) return;
  execFileSync('umount', [mounted], { stdio: 'ignore' });
  rmdirSync(mounted);
});

(mounted ? describe : describe.skip)('local mode on a real full disk (tmpfs)', () => {
  const dataDir = join(mounted ?? '', 'data');

  it('answers 503 while the disk is full, and serves again, with nothing lost, once there is room', async () => {
    let local = await startLocalProcess({ env: { EPHEMERA_DATA_DIR: dataDir } });
    try {
      const tagged = { ...bearer(local.inferenceKey), 'x-ephemera-metadata': 'customer_id=before' };
      expect(
        (await local.call('/v1/chat/completions', { headers: tagged, body: chat })).status,
      ).toBe(200);
      const made = await local.call('/v1/images/generations', { headers: tagged, body: image });
      expect(made.status).toBe(200);
      const url = (JSON.parse(made.body) as { data: { url: string }[] }).data[0].url;
      const bytes = (await local.get(url)).body;
      expect(bytes.length).toBeGreaterThan(0);

      // S3 runs into it: an image cannot be stored.
      let filler = fill(mounted!);
      const refused = await local.call('/v1/images/generations', {
        headers: bearer(local.inferenceKey),
        body: image,
      });
      expect(refusal(refused)).toMatchObject(FULL);
      // Every request, while it lasts; the process goes on.
      const models = await local.call('/v1/models', { headers: bearer(local.inferenceKey) });
      expect(refusal(models)).toMatchObject(FULL);
      expect(local.output()).toContain('Local storage is full');

      rmSync(filler);
      const back = await until(
        () =>
          local.call('/v1/chat/completions', { headers: bearer(local.inferenceKey), body: chat }),
        (a) => a.status === 200,
      );
      expect(back.status).toBe(200);
      expect(local.output()).toContain('There is room again');
      // What was there before is intact.
      expect((await local.get(url)).body).toBe(bytes);
      const adminKey = local.adminKey;
      const before = () =>
        local.call('/v1/logs', {
          headers: { ...bearer(adminKey), 'x-ephemera-metadata': 'customer_id=before' },
        });
      expect((JSON.parse((await before()).body) as { data: unknown[] }).data).toHaveLength(2);
      expect(filesUnder(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      // DynamoDB runs into it: new keys until one cannot be written.
      filler = fill(mounted!);
      const keys: string[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 500; i++) {
        last = await local.call('/v1/keys', {
          headers: bearer(local.adminKey),
          body: { name: `k${i}`, scopes: ['inference'] },
        });
        if (last.status !== 201) break;
        keys.push((JSON.parse(last.body) as { key: string }).key);
      }
      expect(refusal(last!)).toMatchObject(FULL);
      rmSync(filler);
      const again = await until(
        () => local.call('/v1/models', { headers: bearer(local.inferenceKey) }),
        (a) => a.status === 200,
      );
      expect(again.status).toBe(200);
      const newKey = await local.call('/v1/keys', {
        headers: bearer(local.adminKey),
        body: { name: 'after', scopes: ['inference'] },
      });
      expect(newKey.status).toBe(201);
      keys.push((JSON.parse(newKey.body) as { key: string }).key);
      expect(local.output()).not.toMatch(/unexpected|^\s+at /m);
      await local.stop();

      // A restart reads everything back: the records, and every key that was written.
      local = await startLocalProcess({ env: { EPHEMERA_DATA_DIR: dataDir } });
      expect((JSON.parse((await before()).body) as { data: unknown[] }).data).toHaveLength(2);
      for (const key of keys) {
        expect({
          key,
          status: (await local.call('/v1/models', { headers: bearer(key) })).status,
        }).toEqual({
          key,
          status: 200,
        });
      }
    } finally {
      await local.stop();
    }
  }, 120_000);
});

describe('local mode on a full disk, injected', () => {
  let root: string;
  let local: LocalMode;
  let ca: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ephemera-full-injected-'));
    mkdirSync(join(root, 'data'));
    local = await startLocalMode({
      port: 0,
      dataDir: join(root, 'data'),
      logSink: () => undefined,
    });
    ca = readFileSync(local.caCertPath, 'utf8');
  }, 60_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await local?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function call(url: string, key?: string, body?: unknown): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: body === undefined ? 'GET' : 'POST',
          ca,
          headers: { ...(key ? bearer(key) : {}), 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('latin1'),
              arrivals: [],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
  const api = (path: string, body?: unknown) =>
    call(`${local.url}${path}`, local.inferenceKey, body);

  it('answers 503 while writes fail for want of space, and serves again when they do not', async () => {
    const made = await api('/v1/images/generations', image);
    expect(made.status).toBe(200);
    const url = (JSON.parse(made.body) as { data: { url: string }[] }).data[0].url;
    const bytes = (await call(url)).body;

    const s3Dir = join(root, 'data', 'stores', 's3');
    const createWriteStream = fs.createWriteStream;
    const writes = jest.spyOn(fs, 'createWriteStream').mockImplementation(((
      path: fs.PathLike,
      options?: unknown,
    ) => {
      if (!String(path).startsWith(s3Dir)) {
        return createWriteStream(path, options as Parameters<typeof createWriteStream>[1]);
      }
      return new Writable({
        write(_chunk, _encoding, callback) {
          callback(
            Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
          );
        },
      });
    }) as typeof fs.createWriteStream);
    const statfs = jest
      .spyOn(fsp, 'statfs')
      .mockResolvedValue({ bavail: 0, bsize: 4096 } as Awaited<ReturnType<typeof fsp.statfs>>);

    expect(refusal(await api('/v1/images/generations', image))).toMatchObject(FULL);
    expect(writes).toHaveBeenCalled();
    expect(refusal(await api('/v1/chat/completions', chat))).toMatchObject(FULL);
    await sleep(1_500);
    expect(statfs).toHaveBeenCalled();
    expect(refusal(await api('/v1/models'))).toMatchObject(FULL);
    // The object that was there is whole, and no half-written file is left.
    expect((await call(url)).body).toBe(bytes);
    expect(filesUnder(s3Dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    writes.mockRestore();
    statfs.mockRestore();
    const back = await until(
      () => api('/v1/chat/completions', chat),
      (a) => a.status === 200,
    );
    expect(back.status).toBe(200);
    expect((await api('/v1/images/generations', image)).status).toBe(200);
  }, 60_000);
});
