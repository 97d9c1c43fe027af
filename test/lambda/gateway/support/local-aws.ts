/**
 * Real DynamoDB (dynalite) and S3 (s3rver) servers on 127.0.0.1 for the gateway
 * tests (local/stores.ts), each on a random port with its data in a temp dir
 * removed on stop.
 * KMS GenerateMac is mocked with a local HMAC, so keyed hashes behave like KMS's.
 */

import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  GenerateMacCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { createKmsHasher } from '../../../../lib/core/keyed-hash';
import { KeyStore, type Scope } from '../../../../lib/core/key-store';
import { startLocalStores } from '../../../../local/stores';

export const USAGE_TABLE = 'ephemera-usage';
export const KEY_TABLE = 'ephemera-keys';
export const DELETION_TABLE = 'ephemera-deletions';
export const SIGNING_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/signing-test';
export const IMAGE_BUCKET = 'ephemera-images';
export const HMAC_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/hmac-test';
const HMAC_TEST_KEY = Buffer.from('gateway-test-hmac-key');

export interface LocalAws {
  readonly ddb: DynamoDBClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly kmsMock: AwsClientStub<KMSClient>;
  /** The public half of the receipt-signing key (DER SubjectPublicKeyInfo, as GetPublicKey returns it). */
  readonly signingPublicKeyDer: Buffer;
  /** Creates an API key in the key table; returns the whole `eph_...` secret. */
  createKey(name: string, scopes: Scope[]): Promise<string>;
  /** Every item of every table (keys, usage, deletion jobs). */
  scanAll(): Promise<Record<string, AttributeValue>[]>;
  /** Every object in the image bucket: key, bytes and head metadata. */
  listObjects(): Promise<{ key: string; body: Buffer; head: Record<string, unknown> }[]>;
  stop(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  const stores = await startLocalStores({
    names: {
      usageTable: USAGE_TABLE,
      keyTable: KEY_TABLE,
      deletionTable: DELETION_TABLE,
      imageBucket: IMAGE_BUCKET,
    },
  });
  const { ddb, s3 } = stores;
  // Mocked below; signs (if it ever reached a server) with the stores' per-run credentials.
  const kms = new KMSClient({ region: 'us-east-1', credentials: stores.credentials });
  const kmsMock = mockClient(kms);
  kmsMock.on(GenerateMacCommand).callsFake((input: { Message?: Uint8Array }) => ({
    Mac: createHmac('sha256', HMAC_TEST_KEY)
      .update(Buffer.from(input.Message ?? new Uint8Array()))
      .digest(),
    MacAlgorithm: 'HMAC_SHA_256',
  }));

  // KMS Sign and GetPublicKey on an ECC_NIST_P256 key, as the signing key answers them.
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  kmsMock
    .on(SignCommand)
    .callsFake((input: { Message?: Uint8Array; SigningAlgorithm?: string }) => {
      if (input.SigningAlgorithm !== 'ECDSA_SHA_256') throw new Error('unexpected algorithm');
      return {
        Signature: createSign('sha256')
          .update(Buffer.from(input.Message ?? new Uint8Array()))
          .sign({ key: signing.privateKey as KeyObject, dsaEncoding: 'der' }),
        SigningAlgorithm: 'ECDSA_SHA_256',
        KeyId: SIGNING_KEY_ID,
      };
    });
  const signingPublicKeyDer = signing.publicKey.export({ type: 'spki', format: 'der' });
  kmsMock.on(GetPublicKeyCommand).resolves({
    KeyId: SIGNING_KEY_ID,
    PublicKey: signingPublicKeyDer,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY',
  });

  return {
    ddb,
    s3,
    kms,
    kmsMock,
    signingPublicKeyDer,
    async createKey(name, scopes) {
      const store = new KeyStore({
        ddb,
        tableName: KEY_TABLE,
        hasher: createKmsHasher({ kms, keyId: HMAC_KEY_ID }),
      });
      return (await store.create({ name, scopes })).key;
    },
    async scanAll() {
      const items: Record<string, AttributeValue>[] = [];
      for (const table of [KEY_TABLE, USAGE_TABLE, DELETION_TABLE]) {
        let start: Record<string, AttributeValue> | undefined;
        do {
          const out = await ddb.send(
            new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
          );
          items.push(...(out.Items ?? []));
          start = out.LastEvaluatedKey;
        } while (start);
      }
      return items;
    },
    async listObjects() {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: IMAGE_BUCKET }));
      return Promise.all(
        (out.Contents ?? []).map(async ({ Key }) => {
          const key = Key as string;
          const got = await s3.send(new GetObjectCommand({ Bucket: IMAGE_BUCKET, Key: key }));
          const body = Buffer.from(
            await (
              got.Body as { transformToByteArray(): Promise<Uint8Array> }
            ).transformToByteArray(),
          );
          const head = await s3.send(new HeadObjectCommand({ Bucket: IMAGE_BUCKET, Key: key }));
          return { key, body, head: { ...head, $metadata: undefined } as Record<string, unknown> };
        }),
      );
    },
    async stop() {
      kmsMock.restore();
      await stores.stop();
    },
  };
}
