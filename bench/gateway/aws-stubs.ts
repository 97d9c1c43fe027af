/**
 * AWS SDK clients for the gateway bench: either stubbed at the SDK's middleware
 * level (a terminal middleware at the `initialize` step returns canned outputs,
 * so no serialization, signing or I/O happens and the measured time is
 * Ephemera's own), or pointed at dynalite and s3rver on loopback (`--e2e`).
 *
 * KMS is always stubbed (there is no local KMS): GenerateMac answers with a
 * local HMAC, and the hasher's cache is warm after the first request anyway.
 */

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const region = 'us-east-1';
const HMAC_KEY = Buffer.from('bench-hmac-key');

type Outputs = (command: string, input: Record<string, unknown>) => Record<string, unknown>;

interface StackClient {
  middlewareStack: {
    add(
      mw: (
        next: unknown,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/** Adds a terminal middleware that answers every command with `outputs(commandName, input)`. */
export function stubClient<C>(client: C, outputs: Outputs): C {
  (client as unknown as StackClient).middlewareStack.add(
    (_next, context) => async (args) => ({
      output: { $metadata: {}, ...outputs(context.commandName ?? '', args.input) },
      response: {},
    }),
    { step: 'initialize', name: 'benchTerminalStub', priority: 'high' },
  );
  return client;
}

export function stubbedKms(): KMSClient {
  return stubClient(new KMSClient({ region, credentials }), (command, input) => {
    if (command !== 'GenerateMacCommand') throw new Error(`unexpected KMS command ${command}`);
    return {
      Mac: createHmac('sha256', HMAC_KEY)
        .update(Buffer.from(input.Message as Uint8Array))
        .digest(),
    };
  });
}

/**
 * A DynamoDB client stub: PutItem on the key table remembers the item (so
 * KeyStore.create works), GetItem returns it, any other PutItem succeeds.
 */
export function stubbedDynamoDb(keyTable: string): DynamoDBClient {
  const keys = new Map<string, Record<string, AttributeValue>>();
  return stubClient(new DynamoDBClient({ region, credentials }), (command, input) => {
    const item = input.Item as Record<string, AttributeValue> | undefined;
    if (command === 'PutItemCommand') {
      if (input.TableName === keyTable && item?.key_id?.S) keys.set(item.key_id.S, item);
      return {};
    }
    if (command === 'GetItemCommand') {
      const id = (input.Key as Record<string, AttributeValue>).key_id.S as string;
      return keys.has(id) ? { Item: keys.get(id) } : {};
    }
    throw new Error(`unexpected DynamoDB command ${command}`);
  });
}

export function stubbedS3(): S3Client {
  return stubClient(new S3Client({ region, credentials }), (command) => {
    if (command !== 'PutObjectCommand') throw new Error(`unexpected S3 command ${command}`);
    return { ETag: '"bench"' };
  });
}

// Neither server ships types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

export interface LocalServers {
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  stop(): Promise<void>;
}

/** dynalite and s3rver on 127.0.0.1 (random ports), data in a temp dir removed on stop. */
export async function startLocalServers(names: {
  usageTable: string;
  keyTable: string;
  bucket: string;
}): Promise<LocalServers> {
  const dir = mkdtempSync(join(tmpdir(), 'ephemera-bench-gateway-'));
  const ddbServer = dynalite({ createTableMs: 0, path: join(dir, 'dynamodb') });
  await new Promise<void>((resolve) => ddbServer.listen(0, '127.0.0.1', resolve));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: names.bucket }],
  });
  const s3Address = await s3rver.run();
  const ddb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(ddbServer.address() as AddressInfo).port}`,
    region,
    credentials,
  });
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${s3Address.port}`,
    region,
    credentials,
    forcePathStyle: true,
  });
  for (const [table, key] of [
    [names.keyTable, 'key_id'],
    [names.usageTable, 'request_id'],
  ]) {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      }),
    );
  }
  return {
    ddb,
    s3,
    async stop() {
      ddb.destroy();
      s3.destroy();
      await s3rver.close();
      await new Promise<void>((resolve) => ddbServer.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
