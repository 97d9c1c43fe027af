/**
 * dynalite (the local DynamoDB) listening on a Unix socket, for `./stores`,
 * which puts a SigV4-checking front on 127.0.0.1 before it. Runs in this
 * process, or as its own process (this file is then the child's entry point,
 * run with tsx, and is driven over an IPC channel).
 *
 * Compaction: with a `path`, dynalite keeps its data in LevelDB, where a
 * deleted item stays in the files (the write-ahead log and the sorted tables)
 * until LevelDB compacts them. {@link DynaliteBackend.compact} makes LevelDB
 * rewrite every table so that deleted items are really gone from the disk.
 * dynalite does not export its store, so it is caught where dynalite makes it:
 * `dynalite()` calls `require('dynalite/db').create(options)` (the same module
 * object), which is wrapped for that one call.
 *
 * Store failures: dynalite throws an error its LevelDB store reports (a full
 * disk: `IO error: ...: No space left on device`) from inside a callback,
 * which would stop the whole process. Each of its actions is wrapped (in the
 * module cache, before dynalite reads them) so that such an error is the
 * request's own failure instead: a DynamoDB `InternalServerError` (HTTP
 * 500), and `onStoreError` is told. After a no-space error the store takes no
 * writes (reads go on) until {@link DynaliteBackend.reopen}: LevelDB may have
 * written part of a record to its log, and reopening it (which recovers the
 * log into a table and starts a new one) is what makes later writes safe
 * again.
 */

import type { Server } from 'node:http';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Whether an error means the disk (or the user's quota) is full. */
export function isNoSpaceError(err: unknown, depth = 0): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null | undefined;
  if (!e || typeof e !== 'object' || depth > 3) return false;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
  // LevelDB's IO errors carry the system's text, not its code.
  if (
    typeof e.message === 'string' &&
    /No space left on device|Disk quota exceeded/.test(e.message)
  ) {
    return true;
  }
  return isNoSpaceError(e.cause, depth + 1);
}

/** Per dynalite store (the object its actions get): who to tell of a failure, and whether writes are held. */
interface StoreGuard {
  onStoreError(err: unknown): void;
  /** Set by a no-space error; cleared by a reopen. */
  readOnly: boolean;
}
const guards = new WeakMap<object, StoreGuard>();

/** Actions that only read. Every other action writes (or may). */
const READ_ACTIONS = new Set([
  'batchGetItem',
  'describeTable',
  'describeTimeToLive',
  'getItem',
  'listTables',
  'listTagsOfResource',
  'query',
  'scan',
]);

/** What DynamoDB answers for a failure of its own; never the store's message. */
const INTERNAL_ERROR = {
  statusCode: 500,
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
};

// dynalite ships no types: an action, as its request handler calls it.
type ActionCallback = (err: unknown, data?: unknown) => void;
type Action = (store: object, data: unknown, cb: ActionCallback) => void;

/** An action whose store errors become its request's 500 (see the top of this file). */
function guardedAction(name: string, action: Action): Action {
  const writes = !READ_ACTIONS.has(name);
  return (store, data, cb) => {
    const guard = guards.get(store);
    if (writes && guard?.readOnly) return void setImmediate(cb, INTERNAL_ERROR);
    let answered = false;
    const done: ActionCallback = (err, result) => {
      if (answered) return;
      answered = true;
      if (err && !(err as { statusCode?: unknown }).statusCode) {
        if (guard && isNoSpaceError(err)) guard.readOnly = true;
        guard?.onStoreError(err);
        return cb(INTERNAL_ERROR);
      }
      cb(err, result);
    };
    try {
      action(store, data, done);
    } catch (err) {
      done(err);
    }
  };
}

/**
 * Loads dynalite with every action guarded: the action modules are wrapped in
 * the module cache first, and dynalite (which reads them when it is loaded)
 * is loaded afresh if something loaded it before.
 */
function loadGuardedDynalite(): (opts: Record<string, unknown>) => Server {
  const main = require.resolve('dynalite');
  const actionsDir = join(dirname(main), 'actions');
  for (const file of readdirSync(actionsDir).filter((f) => f.endsWith('.js'))) {
    const id = require.resolve(join(actionsDir, file));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const action = require(id) as Action & { guarded?: true };
    if (action.guarded) continue;
    const guarded = Object.assign(guardedAction(file.slice(0, -3), action), { guarded: true });
    require.cache[id]!.exports = guarded;
  }
  delete require.cache[main];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(main) as (opts: Record<string, unknown>) => Server;
}

const dynalite = loadGuardedDynalite();
// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynaliteDb = require('dynalite/db') as { create: (opts: Record<string, unknown>) => Store };

/** What dynalite's store holds that compaction needs: its LevelDB handle. */
interface Store {
  readonly db: LevelHandle;
}

/** The parts of classic-level (on disk) or memory-level (in memory) used here. */
interface LevelHandle {
  put(key: string, value: unknown): Promise<void>;
  open(): Promise<void>;
  /** dynalite replaces close() with its graceful close and keeps the store's own here. */
  close: { _original?: () => Promise<void> } & (() => Promise<void>);
  del(key: string): Promise<void>;
  /** abstract-level: every iterator registers itself here when made, and leaves when closed. */
  attachResource(resource: Resource): void;
  detachResource(resource: Resource): void;
  /** classic-level only: memory-level has nothing on disk to compact. */
  compactRange?: (start: Buffer, end: Buffer, options: { keyEncoding: 'buffer' }) => Promise<void>;
  readonly location?: string;
}

/** An abstract-level resource; iterators have `next`. */
interface Resource {
  close(): Promise<void>;
  next?: (...args: unknown[]) => Promise<unknown>;
  return?: () => Promise<void>;
}

export interface DynaliteBackend {
  /** Rewrites the whole store on disk without deleted data; nothing to do in memory. */
  compact(): Promise<void>;
  /**
   * Closes and opens the store on disk again, and takes writes again after a
   * no-space error (see the top of this file); nothing to do in memory.
   * Rejects (and writes stay held) when it cannot be opened, as on a disk
   * that is still full.
   */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export interface DynaliteBackendOptions {
  /** Told of every store failure (never of a refused request); see {@link isNoSpaceError}. */
  readonly onStoreError?: (err: unknown) => void;
}

/**
 * Keys below and above every key dynalite writes (its keys start with ASCII
 * prefixes: `table~`, `item-`, `index-`, `tag-`). Written before each
 * compaction pass so that the memtable LevelDB flushes spans the whole key
 * range, which makes the manual compaction take every table at every level.
 */
const LOW_MARKER = '\u0000ephemera-compaction';
const HIGH_MARKER = '\uffff\uffffephemera-compaction';
const FULL_RANGE = [Buffer.alloc(0), Buffer.alloc(64, 0xff)] as const;

/**
 * Closes each iterator when it has yielded its last item, and gives it the
 * `return()` that dynalite's streams call when they are destroyed early.
 *
 * Why: dynalite (4.0) reads through abstract-level iterators but closes none
 * of them (it calls `iterator.return`, which abstract-level iterators do not
 * have). Each open iterator holds a LevelDB snapshot, and LevelDB keeps every
 * value a live snapshot can see: a deleted item written after the first
 * ListTables would survive every compaction. Returns the iterators still
 * open, with when each was last read.
 */
function closeIteratorsWhenDone(db: LevelHandle): Map<Resource, number> {
  const open = new Map<Resource, number>();
  const attach = db.attachResource.bind(db);
  const detach = db.detachResource.bind(db);
  db.attachResource = (resource) => {
    attach(resource);
    const next = resource.next?.bind(resource);
    if (!next) return;
    open.set(resource, Date.now());
    resource.next = async (...args) => {
      open.set(resource, Date.now());
      const item = await next(...args);
      if (item === undefined) await resource.close();
      else open.set(resource, Date.now());
      return item;
    };
    resource.return ??= () => resource.close();
  };
  db.detachResource = (resource) => {
    open.delete(resource);
    detach(resource);
  };
  return open;
}

/** dynalite's server and its store, caught as dynalite creates it. */
function createDynalite(opts: Record<string, unknown>): { server: Server; store: Store } {
  const original = dynaliteDb.create;
  let store: Store | undefined;
  dynaliteDb.create = (o) => (store = original(o));
  let server: Server;
  try {
    server = dynalite(opts);
  } finally {
    dynaliteDb.create = original;
  }
  if (!store?.db) {
    throw new Error('dynalite did not create its store through dynalite/db: is it a new version?');
  }
  return { server, store };
}

/** An iterator not read for this long was left by its reader (dynalite reads without pauses). */
const ABANDONED_AFTER_MS = 5_000;
/** How long a compaction waits for iterators in use to finish. */
const SETTLE_MS = 2_000;

/**
 * Lets go of the snapshots iterators hold before a compaction: closes the
 * abandoned ones, and waits a little for those in use to finish.
 */
async function releaseSnapshots(open: Map<Resource, number>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const now = Date.now();
    for (const [iterator, lastRead] of open) {
      if (now - lastRead > ABANDONED_AFTER_MS) await iterator.close().catch(() => undefined);
    }
    if (open.size === 0 || now > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Compacts the LevelDB store so that no file holds a deleted value.
 *
 * LevelDB drops a deleted value only when one compaction reads both it and
 * its deletion. `compactRange` (LevelDB's CompactRange) first flushes the
 * memtable to a new table, which keeps both, and may place it at level 2
 * when nothing overlaps it; it then compacts level by level down to the
 * deepest level that had files *before* the flush, so that new table can be
 * left as it is. Hence two passes: the second compacts what the first
 * flushed. The markers, written before each pass, make each flushed table
 * span the whole key range, so every compaction step takes every table of
 * the next level with it. (test/local/stand-in-compaction.test.ts greps the
 * files, and fails without the markers, with one pass, or with dynalite's
 * iterators left open.)
 */
async function compactStore(db: LevelHandle): Promise<void> {
  if (typeof db.compactRange !== 'function') return; // in memory
  for (let pass = 0; pass < 2; pass++) {
    await db.put(LOW_MARKER, 0);
    await db.put(HIGH_MARKER, 0);
    await db.compactRange(FULL_RANGE[0], FULL_RANGE[1], { keyEncoding: 'buffer' });
  }
  await db.del(LOW_MARKER);
  await db.del(HIGH_MARKER);
  // LevelDB's info log names the last key of each manual compaction step:
  // it could name a deleted item. Unlinked, it is gone from the folder.
  if (db.location) {
    for (const name of ['LOG', 'LOG.old']) rmSync(join(db.location, name), { force: true });
  }
}

/** Starts dynalite in this process on a Unix socket. */
export async function startDynaliteBackend(
  opts: Record<string, unknown>,
  socketPath: string,
  options: DynaliteBackendOptions = {},
): Promise<DynaliteBackend> {
  const { server, store } = createDynalite(opts);
  const guard: StoreGuard = {
    onStoreError: (err) => options.onStoreError?.(err),
    readOnly: false,
  };
  guards.set(store, guard);
  const openIterators = closeIteratorsWhenDone(store.db);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let compacting: Promise<void> = Promise.resolve();
  return {
    compact() {
      // One compaction at a time; a failed one does not block the next.
      const run = compacting.then(async () => {
        await releaseSnapshots(openIterators);
        await compactStore(store.db);
      });
      compacting = run.catch(() => undefined);
      return run;
    },
    reopen() {
      // In turn with compactions; iterators are closed with the store.
      const run = compacting.then(async () => {
        const db = store.db;
        if (typeof db.compactRange === 'function') {
          await (db.close._original ?? db.close).call(db);
          await db.open();
        }
        guard.readOnly = false;
      });
      compacting = run.catch(() => undefined);
      return run;
    },
    async close() {
      await compacting;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Messages between `./stores` and this file run as a child process. */
export type HostRequest = { readonly type: 'compact' | 'reopen'; readonly id: number };
export type HostReply =
  | { readonly type: 'listening' }
  | { readonly type: 'compacted' | 'reopened'; readonly id: number; readonly ok: boolean }
  | { readonly type: 'failed'; readonly code: string }
  /** A store failure: whether it was a full disk, nothing else about it. */
  | { readonly type: 'store-error'; readonly noSpace: boolean };

/** The child: options in argv[2] (JSON), socket path in argv[3]; exits when the parent goes. */
async function runAsChild(): Promise<void> {
  const send = (message: HostReply) => process.send?.(message);
  let backend: DynaliteBackend;
  try {
    backend = await startDynaliteBackend(
      JSON.parse(process.argv[2]) as Record<string, unknown>,
      process.argv[3],
      { onStoreError: (err) => send({ type: 'store-error', noSpace: isNoSpaceError(err) }) },
    );
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    send({ type: 'failed', code: typeof code === 'string' ? code : 'error' });
    process.exit(1);
  }
  process.on('message', (message: HostRequest) => {
    if (message?.type !== 'compact' && message?.type !== 'reopen') return;
    const type = message.type === 'compact' ? 'compacted' : 'reopened';
    (message.type === 'compact' ? backend.compact() : backend.reopen()).then(
      () => send({ type, id: message.id, ok: true }),
      () => send({ type, id: message.id, ok: false }),
    );
  });
  process.on('disconnect', () => {
    setTimeout(() => process.exit(0), 1000).unref();
    void backend.close().then(() => process.exit(0));
  });
  send({ type: 'listening' });
}

if (require.main === module) void runAsChild();
