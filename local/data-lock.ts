/**
 * One local mode per data folder. Two processes on one folder would share
 * LevelDB (which refuses the second), the KMS key file and the open deletion
 * jobs (each would take over the other's leases as a dead run's).
 *
 * The lock is a file in the folder, `local-mode.lock`, created exclusively
 * (`wx`) and holding the owner's process id. A lock whose process is gone (a
 * crash, a SIGKILL) is stale and taken over: it is first moved aside under a
 * name of this process's own (a rename: only one starter can move it), and
 * taken over only if what was moved is the stale lock that was read, so that
 * two starters racing for a stale lock cannot both win. A lock naming this
 * very process is stale too (a container gives a new run the pid of the old
 * one) unless this process holds it. The lock is removed on stop, and on
 * exit if it is still there.
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'local-mode.lock';

/** The folder is in use by a running process. */
export class DataFolderInUse extends Error {
  override readonly name = 'DataFolderInUse';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the data folder ${dir} is in use by another local mode (pid ${pid}): stop it, or choose another with EPHEMERA_DATA_DIR`,
    );
  }
}

export interface DataFolderLock {
  readonly path: string;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

/** Lock files this process holds. */
const held = new Set<string>();

const codeOf = (err: unknown) => (err as { code?: unknown } | null)?.code;

/** Whether a process with this id runs (EPERM: it does, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return codeOf(err) === 'EPERM';
  }
}

/** The pid a lock file names; 'gone' without a file; undefined when it names none. */
function ownerOf(file: string): number | 'gone' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 'gone';
    throw err;
  }
  return /^\d{1,10}\n?$/.test(text) ? Number(text) : undefined;
}

/** The owner of a lock, waiting a little for one being written (created, its pid not yet in). */
function settledOwnerOf(file: string): number | 'gone' | undefined {
  for (let i = 0; i < 20; i++) {
    const owner = ownerOf(file);
    if (owner !== undefined) return owner;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  return undefined;
}

/** Whether the process a lock names holds it now. */
function holds(pid: number, file: string): boolean {
  return pid === process.pid ? held.has(file) : running(pid);
}

/**
 * Takes the folder's lock; throws {@link DataFolderInUse} when a running
 * process holds it, or the file system's error when the lock cannot be made.
 */
export function lockDataFolder(dir: string): DataFolderLock {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return taken(file);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
    const owner = settledOwnerOf(file);
    if (owner === 'gone') continue; // released meanwhile
    if (owner !== undefined && holds(owner, file)) throw new DataFolderInUse(dir, owner);
    // Stale: move it aside, then check that what moved is what was read.
    const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.stale`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') continue;
      throw err;
    }
    const moved = ownerOf(aside);
    if (moved !== owner && typeof moved === 'number' && holds(moved, file)) {
      // Another starter's fresh lock: put it back (unless a third made one meanwhile).
      try {
        linkSync(aside, file);
      } catch {
        // Its owner still runs; it finds its lock gone only when it stops.
      }
      rmSync(aside, { force: true });
      throw new DataFolderInUse(dir, moved);
    }
    rmSync(aside, { force: true });
  }
  throw new Error(`could not lock the data folder ${dir}`);
}

function taken(file: string): DataFolderLock {
  held.add(file);
  const removeIfMine = () => {
    try {
      if (ownerOf(file) === process.pid) unlinkSync(file);
    } catch {
      // Nothing to do: a stale lock is taken over by the next start.
    }
  };
  const onExit = () => {
    if (held.has(file)) removeIfMine();
  };
  process.on('exit', onExit);
  return {
    path: file,
    release() {
      if (!held.has(file)) return;
      process.off('exit', onExit);
      removeIfMine();
      held.delete(file);
    },
  };
}
