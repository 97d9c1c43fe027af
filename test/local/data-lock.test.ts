/**
 * The data folder's lock (`local/data-lock.ts`): made exclusively with the
 * owner's pid, refused while its owner runs, taken over when its owner is
 * gone (or names this process without it holding the lock, as a container's
 * new run can), and removed on release and on exit. (The second start of a
 * real local mode on one folder: test/local/starts.test.ts.)
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFolderInUse, LOCK_FILE, lockDataFolder } from '../../local/data-lock';

const ROOT = join(__dirname, '..', '..');

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

describe('the data folder lock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ephemera-lock-'));
    file = join(dir, LOCK_FILE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the owner’s pid, refuses a second taker, and is gone once released', () => {
    const lock = lockDataFolder(dir);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    expect(() => lockDataFolder(dir)).toThrow(
      `the data folder ${dir} is in use by another local mode (pid ${process.pid}): stop it, or choose another with EPHEMERA_DATA_DIR`,
    );
    lock.release();
    expect(existsSync(file)).toBe(false);
    lockDataFolder(dir).release();
  });

  it('refuses while another running process holds it', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(file, `${other.pid}\n`);
      let error: unknown;
      try {
        lockDataFolder(dir);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DataFolderInUse);
      expect(error).toMatchObject({ pid: other.pid });
      expect(readFileSync(file, 'utf8')).toBe(`${other.pid}\n`);
    } finally {
      other.kill();
    }
  });

  it.each([
    ['whose process is gone', () => `${deadPid()}\n`],
    ['naming this process, which does not hold it', () => `${process.pid}\n`],
    ['that names no process', () => 'not a pid'],
  ])('takes over a lock %s', (_what, content) => {
    writeFileSync(file, content());
    const lock = lockDataFolder(dir);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('is removed when its process exits without releasing it', () => {
    const script = `require(${JSON.stringify(join(ROOT, 'local', 'data-lock.ts'))}).lockDataFolder(${JSON.stringify(dir)}); process.exit(3);`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(run.status).toBe(3);
    expect(existsSync(file)).toBe(false);
  });
});
