/**
 * Local mode on a full disk: a passing condition, not a crash.
 *
 * The stores report their failures here (`./stores`); a failure that means
 * the disk is full (ENOSPC, or a quota: EDQUOT) makes the storage *full*.
 * While it is full, the front door answers every request with a 503 in
 * OpenAI's error shape (type `server_error`, code `local_storage_full`),
 * the deletion worker waits, and the DynamoDB store takes no writes. Every
 * second the free space where the stores live is read (statfs); once there is
 * {@link ROOM_BYTES} again, the DynamoDB store is reopened (what makes its
 * writes safe again) and requests are served again. Nothing a request sent
 * is involved: the guard knows only that a write failed, and where.
 */

import { statfs } from 'node:fs/promises';
import { HttpError } from '../lambda/shared/http-errors';
import { isNoSpaceError } from './dynalite-host';

export { isNoSpaceError } from './dynalite-host';

/** Free space that counts as room again: LevelDB writes tables of up to a few MB. */
export const ROOM_BYTES = 16 * 1024 * 1024;
/** How often the free space is read while the storage is full. */
export const CHECK_EVERY_MS = 1_000;

export const STORAGE_FULL_MESSAGE =
  'Local storage is full: local mode cannot write its data until there is free disk space again; retry later';

/** The answer to every request while the storage is full. */
export const storageFull = (): HttpError =>
  new HttpError(503, 'server_error', STORAGE_FULL_MESSAGE, {
    code: 'local_storage_full',
    headers: { 'Retry-After': String(CHECK_EVERY_MS / 1000) },
  });

export interface StorageGuardOptions {
  /** Where the stores keep their files: its file system's free space is read. */
  readonly dir: string;
  /** Makes the stores safe to write again (reopens DynamoDB's); a rejection: still full. */
  readonly recover: () => Promise<void>;
  /** Told when the storage becomes full, and when it has room again. */
  readonly onChange?: (full: boolean) => void;
}

export interface StorageGuard {
  /** Whether a write failed for want of space and there has not been room since. */
  readonly full: boolean;
  /** A store failure: makes the storage full when it means that. */
  report(err: unknown): void;
  /** Resolves at once while there is room, else once there is (or the guard stops). */
  room(): Promise<void>;
  stop(): void;
}

/** Free bytes on the file system that holds `dir`, for an unprivileged writer. */
async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

export function storageGuard(options: StorageGuardOptions): StorageGuard {
  let full = false;
  let stopped = false;
  let checking = false;
  let timer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];

  const release = () => {
    for (const resolve of waiters.splice(0)) resolve();
  };

  async function check(): Promise<void> {
    if (checking || stopped) return;
    checking = true;
    try {
      if ((await freeBytes(options.dir)) < ROOM_BYTES) return;
      await options.recover();
      if (stopped) return;
      full = false;
      clearInterval(timer);
      timer = undefined;
      release();
      options.onChange?.(false);
    } catch {
      // Still full (or unreadable): the next check tries again.
    } finally {
      checking = false;
    }
  }

  return {
    get full() {
      return full;
    },
    report(err) {
      if (stopped || full || !isNoSpaceError(err)) return;
      full = true;
      options.onChange?.(true);
      timer = setInterval(() => void check(), CHECK_EVERY_MS);
      timer.unref();
    },
    room() {
      if (!full || stopped) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      release();
      waiters = [];
    },
  };
}
