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
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalStores, type LocalStores } from '../../local/stores';

export type { LocalStores };

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

/** dynalite and s3rver on 127.0.0.1 (random ports), data in a temp dir removed on stop. */
export function startLocalServers(names: {
  usageTable: string;
  keyTable: string;
  bucket: string;
}): Promise<LocalStores> {
  return startLocalStores({
    names: {
      usageTable: names.usageTable,
      keyTable: names.keyTable,
      deletionTable: 'ephemera-bench-deletions',
      imageBucket: names.bucket,
    },
  });
}
