/**
 * Local stand-ins for the stack's stores: dynalite for DynamoDB and s3rver for
 * S3, on 127.0.0.1 only, with the tables and indexes the stack creates
 * (`test/app/local-stores.test.ts` compares them with the synthesized
 * template) and the image bucket. Used by local mode, the tests and the
 * benchmarks.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
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

// Neither server ships types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

/** Credentials the local servers accept (s3rver checks signatures with these). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
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
}

/** An S3 client for s3rver at `endpoint`, trusting `ca` (PEM) when it serves HTTPS. */
export function localS3Client(endpoint: string, ca?: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    ...(ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }) } : {}),
  });
}

/** Starts dynalite and s3rver on 127.0.0.1 and creates the tables and the bucket if missing. */
export async function startLocalStores(options: LocalStoreOptions = {}): Promise<LocalStores> {
  const names = options.names ?? DEFAULT_STORE_NAMES;
  // In memory, or without a directory: everything in a temporary one, removed on stop.
  const temporary = options.dir === undefined || options.inMemory === true;
  const dir = temporary ? mkdtempSync(join(tmpdir(), 'ephemera-stores-')) : options.dir!;
  mkdirSync(join(dir, 's3'), { recursive: true });
  const dynaliteOptions = {
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.inMemory ? {} : { path: join(dir, 'dynamodb') }),
  };
  const ddbServer = options.separateProcess
    ? await startDynaliteProcess(dynaliteOptions, options.ddbPort ?? 0)
    : await startDynalite(dynaliteOptions, options.ddbPort ?? 0);
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port ?? 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [names.imageBucket, ...(names.configBucket ? [names.configBucket] : [])].map(
      (name) => ({ name }),
    ),
    ...(options.s3Tls ? { cert: options.s3Tls.cert, key: options.s3Tls.key } : {}),
  });
  let s3Address: AddressInfo;
  try {
    s3Address = await s3rver.run();
  } catch (err) {
    await ddbServer.close();
    throw err;
  }
  const ddbEndpoint = `http://127.0.0.1:${ddbServer.port}`;
  const s3Endpoint = `${options.s3Tls ? 'https' : 'http'}://127.0.0.1:${s3Address.port}`;
  const ddb = new DynamoDBClient({
    endpoint: ddbEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const s3 = localS3Client(s3Endpoint, options.s3Tls?.ca);
  const existing = new Set((await ddb.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const table of tableDefinitions(names)) {
    if (!existing.has(table.TableName!)) await ddb.send(new CreateTableCommand(table));
  }
  // dynalite answers CreateTable before the table is ACTIVE, and refuses
  // item calls until then: wait, as a deployment waits for its tables.
  for (const table of tableDefinitions(names)) await waitUntilActive(ddb, table.TableName!);
  return {
    names,
    ddb,
    s3,
    ddbEndpoint,
    s3Endpoint,
    dir,
    async stop() {
      ddb.destroy();
      s3.destroy();
      await s3rver.close();
      await ddbServer.close();
      if (temporary) rmSync(dir, { recursive: true, force: true });
    },
  };
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

interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

async function startDynalite(opts: Record<string, unknown>, port: number): Promise<RunningServer> {
  const server = dynalite(opts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** dynalite in a child process; it exits when this process goes (its stdin closes). */
async function startDynaliteProcess(
  opts: Record<string, unknown>,
  port: number,
): Promise<RunningServer> {
  const program = [
    `const server = require(${JSON.stringify(require.resolve('dynalite'))})(${JSON.stringify(opts)});`,
    `server.listen(${port}, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`,
    `process.stdin.on('end', () => {`,
    `  server.close(() => process.exit(0));`,
    `  setTimeout(() => process.exit(0), 1000).unref();`,
    `}).resume();`,
  ].join('\n');
  const child = spawn(process.execPath, ['-e', program], { stdio: ['pipe', 'pipe', 'inherit'] });
  const listening = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with code ${code}`)));
    child.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
  });
  return {
    port: listening,
    close: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
