/**
 * Local stand-ins for the stack's stores: dynalite for DynamoDB and s3rver for
 * S3, with the tables and indexes the stack creates
 * (`test/app/local-stores.test.ts` compares them with the synthesized
 * template) and the image bucket. Used by local mode, the tests and the
 * benchmarks.
 *
 * Only the starting process can use them: each start makes random
 * credentials (or takes the ones given), and every request must carry a
 * valid SigV4 signature made with them. dynalite and s3rver listen on Unix
 * sockets in a private (0700) temporary directory; the only way in is a
 * checking front on 127.0.0.1 (`./signed-front`), HTTPS for S3 when given a
 * certificate. The data directory and its subdirectories are 0700.
 *
 * A store failure (a full disk) fails its request alone, with the service's
 * own 500, and `onStoreError` is told: see `./dynalite-host` and
 * `./s3rver-store`. After a full disk, {@link LocalStores.reopen} makes the
 * DynamoDB store take writes again.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DELETION_PENDING_INDEX, USAGE_CUSTOMER_INDEX } from '../lib/core/tables';
import {
  startDynaliteBackend,
  type DynaliteBackend,
  type HostReply,
  type HostRequest,
} from './dynalite-host';
import { makeObjectWritesAtomic } from './s3rver-store';
import { startSignedFront } from './signed-front';
import { newLocalCredentials, type LocalCredentials } from './sigv4';

export { newLocalCredentials, type LocalCredentials } from './sigv4';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
  run(): Promise<AddressInfo | string>;
  close(): Promise<void>;
  readonly store: Parameters<typeof makeObjectWritesAtomic>[0];
};

export const LOCAL_REGION = 'us-east-1';

export interface StoreNames {
  readonly usageTable: string;
  readonly keyTable: string;
  readonly deletionTable: string;
  readonly imageBucket: string;
  /** The config bucket (the trust store). @default - none */
  readonly configBucket?: string;
}

export const DEFAULT_STORE_NAMES: StoreNames = {
  usageTable: 'ephemera-usage',
  keyTable: 'ephemera-keys',
  deletionTable: 'ephemera-deletions',
  imageBucket: 'ephemera-images',
  configBucket: 'ephemera-config',
};

/** The tables as the stack defines them (key schema and indexes). */
export function tableDefinitions(names: StoreNames): CreateTableCommandInput[] {
  const s = (name: string) => ({ AttributeName: name, AttributeType: 'S' as const });
  return [
    {
      TableName: names.usageTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [s('request_id'), s('customer_hash'), s('timestamp')],
      KeySchema: [{ AttributeName: 'request_id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: USAGE_CUSTOMER_INDEX,
          KeySchema: [
            { AttributeName: 'customer_hash', KeyType: 'HASH' },
            { AttributeName: 'timestamp', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    {
      TableName: names.keyTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [s('key_id')],
      KeySchema: [{ AttributeName: 'key_id', KeyType: 'HASH' }],
    },
    {
      TableName: names.deletionTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [s('deletion_id'), s('pending'), s('requested_at')],
      KeySchema: [{ AttributeName: 'deletion_id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: DELETION_PENDING_INDEX,
          KeySchema: [
            { AttributeName: 'pending', KeyType: 'HASH' },
            { AttributeName: 'requested_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    },
  ];
}

export interface LocalStores {
  readonly names: StoreNames;
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  readonly ddbEndpoint: string;
  readonly s3Endpoint: string;
  /** Where the data lives. */
  readonly dir: string;
  /** The per-run credentials every request must be signed with (SigV4). */
  readonly credentials: LocalCredentials;
  /**
   * Makes deleted DynamoDB items unreadable from the files: compacts the whole
   * LevelDB store (a deleted item stays in LevelDB's files until then).
   * Nothing to do in memory.
   */
  compact(): Promise<void>;
  /**
   * After a full disk: closes and opens the DynamoDB store again, so that it
   * takes writes again (it holds them after a no-space error). Rejects while
   * it cannot be opened.
   */
  reopen(): Promise<void>;
  /** Stops both servers; removes their data unless it lives in a directory that was given. */
  stop(): Promise<void>;
}

export interface LocalStoreOptions {
  /** Where the data lives (kept after stop). @default - a temporary directory, removed on stop */
  readonly dir?: string;
  /** Keep nothing on disk: DynamoDB in memory, S3 in a temporary directory removed on stop. @default false */
  readonly inMemory?: boolean;
  readonly names?: StoreNames;
  /**
   * Run DynamoDB in a child process, so its work does not share this
   * process's event loop (as with a real service). @default false
   */
  readonly separateProcess?: boolean;
  /** Ports to listen on. @default 0 (any free port) */
  readonly ddbPort?: number;
  readonly s3Port?: number;
  /**
   * Serve S3 over HTTPS with this certificate (PEM chain and key), so that
   * presigned URLs are `https://` as in AWS; the returned client trusts `ca`.
   * @default - plain HTTP on loopback
   */
  readonly s3Tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** The credentials requests must be signed with. @default - new random ones */
  readonly credentials?: LocalCredentials;
  /**
   * Told of each failure of a store (never of a refused request): a full disk
   * is one (`isNoSpaceError` in `./dynalite-host`). The error is the store's
   * and may name files: it is for looking at, not for printing.
   */
  readonly onStoreError?: (err: unknown) => void;
}

/** An S3 client for the local S3 at `endpoint`, signing with `credentials`, trusting `ca` (PEM) when it serves HTTPS. */
export function localS3Client(
  endpoint: string,
  credentials: LocalCredentials,
  ca?: string,
): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials,
    forcePathStyle: true,
    ...(ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }) } : {}),
  });
}

/** Makes a directory readable by its owner only, whether it was there or not (mkdir's mode does not change an existing one, and the umask applies). */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Starts dynalite and s3rver behind checking fronts on 127.0.0.1 and creates the tables and the bucket if missing. */
export async function startLocalStores(options: LocalStoreOptions = {}): Promise<LocalStores> {
  const names = options.names ?? DEFAULT_STORE_NAMES;
  const credentials = options.credentials ?? newLocalCredentials();
  // In memory, or without a directory: everything in a temporary one, removed on stop.
  const temporary = options.dir === undefined || options.inMemory === true;
  const dir = temporary ? mkdtempSync(join(tmpdir(), 'ephemera-stores-')) : options.dir!;
  privateDir(dir);
  privateDir(join(dir, 's3'));
  if (!options.inMemory) privateDir(join(dir, 'dynamodb'));
  // The backends' sockets: a short path (sockets have a ~100-byte limit), 0700.
  const sockets = mkdtempSync(join(tmpdir(), 'ephemera-sock-'));
  chmodSync(sockets, 0o700);
  const ddbSocket = join(sockets, 'dynamodb.sock');
  const s3Socket = join(sockets, 's3.sock');

  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  stops.push(() => {
    rmSync(sockets, { recursive: true, force: true });
    if (temporary) rmSync(dir, { recursive: true, force: true });
  });

  try {
    const dynaliteOptions = {
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.inMemory ? {} : { path: join(dir, 'dynamodb') }),
    };
    const onStoreError = (err: unknown) => options.onStoreError?.(err);
    const ddbBackend = options.separateProcess
      ? await startDynaliteProcess(dynaliteOptions, ddbSocket, onStoreError)
      : await startDynaliteBackend(dynaliteOptions, ddbSocket, { onStoreError });
    stops.push(() => ddbBackend.close());
    const s3rver = new S3rver({
      port: s3Socket,
      silent: true,
      directory: join(dir, 's3'),
      configureBuckets: [
        names.imageBucket,
        ...(names.configBucket ? [names.configBucket] : []),
      ].map((name) => ({ name })),
    });
    makeObjectWritesAtomic(s3rver.store, onStoreError);
    await s3rver.run();
    stops.push(() => s3rver.close());

    const ddbFront = await startSignedFront({
      service: 'dynamodb',
      credentials,
      backendSocket: ddbSocket,
      port: options.ddbPort ?? 0,
    });
    stops.push(() => ddbFront.close());
    const s3Front = await startSignedFront({
      service: 's3',
      credentials,
      backendSocket: s3Socket,
      port: options.s3Port ?? 0,
      ...(options.s3Tls ? { tls: { cert: options.s3Tls.cert, key: options.s3Tls.key } } : {}),
    });
    stops.push(() => s3Front.close());

    const ddbEndpoint = `http://127.0.0.1:${ddbFront.port}`;
    const s3Endpoint = `${options.s3Tls ? 'https' : 'http'}://127.0.0.1:${s3Front.port}`;
    const ddb = new DynamoDBClient({ endpoint: ddbEndpoint, region: LOCAL_REGION, credentials });
    const s3 = localS3Client(s3Endpoint, credentials, options.s3Tls?.ca);
    stops.push(() => {
      ddb.destroy();
      s3.destroy();
    });
    const existing = new Set((await ddb.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of tableDefinitions(names)) {
      if (!existing.has(table.TableName!)) await ddb.send(new CreateTableCommand(table));
    }
    // dynalite answers CreateTable before the table is ACTIVE, and refuses
    // item calls until then: wait, as a deployment waits for its tables.
    for (const table of tableDefinitions(names)) await waitUntilActive(ddb, table.TableName!);

    let stopped: Promise<void> | undefined;
    return {
      names,
      ddb,
      s3,
      ddbEndpoint,
      s3Endpoint,
      dir,
      credentials,
      compact: () => ddbBackend.compact(),
      reopen: () => ddbBackend.reopen(),
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function waitUntilActive(ddb: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((i) => i.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * dynalite in a child process (`./dynalite-host` run with tsx), on the
 * socket; it exits when this process goes (its IPC channel closes).
 */
async function startDynaliteProcess(
  opts: Record<string, unknown>,
  socketPath: string,
  onStoreError: (err: unknown) => void,
): Promise<DynaliteBackend> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'dynalite-host.ts'), JSON.stringify(opts), socketPath],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with code ${code}`)));
    child.on('message', (m: HostReply) => {
      if (m?.type === 'listening') resolve();
      if (m?.type === 'failed') reject(new Error(`dynalite could not start (${m.code})`));
    });
  });
  child.removeAllListeners('exit');
  let next = 0;
  const pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  child.on('message', (m: HostReply) => {
    if (m?.type === 'store-error') {
      // Only what it was: the child does not send the error itself.
      const err = m.noSpace ? Object.assign(new Error('No space'), { code: 'ENOSPC' }) : undefined;
      onStoreError(err ?? new Error('dynalite store failure'));
      return;
    }
    if (m?.type !== 'compacted' && m?.type !== 'reopened') return;
    const waiter = pending.get(m.id);
    pending.delete(m.id);
    const what = m.type === 'compacted' ? 'compact' : 'reopen';
    if (m.ok) waiter?.resolve();
    else waiter?.reject(new Error(`dynalite could not ${what} its store`));
  });
  child.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('dynalite exited'));
    pending.clear();
  });
  const ask = (type: HostRequest['type']) =>
    new Promise<void>((resolve, reject) => {
      if (!child.connected) return reject(new Error('dynalite is not running'));
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ type, id } satisfies HostRequest);
    });
  return {
    compact: () => ask('compact'),
    reopen: () => ask('reopen'),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
