/**
 * Lambda handler of the integration tests' key issuer: creates one API key in
 * the deployment's key table with the project's own key store (the same
 * `eph_<id>_<secret>` format and keyed hash the gateway verifies), and returns
 * it to the assertion that invoked it. Deployed only by the integration tests.
 *
 * Event: `{ "name": "...", "scopes": ["inference"] | ["admin"] }`.
 * Result: `{ "id": "<key id>", "key": "eph_..." }`. The key expires after a day.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { KeyStore, type Scope } from '../../../lib/core/key-store';
import { createKmsHasher } from '../../../lib/core/keyed-hash';

const ddb = new DynamoDBClient({});
const kms = new KMSClient({});

export interface IssueKeyEvent {
  readonly name?: string;
  readonly scopes?: Scope[];
}

export async function handler(event: IssueKeyEvent): Promise<{ id: string; key: string }> {
  const tableName = process.env.KEY_TABLE_NAME;
  const hmacKeyId = process.env.HMAC_KEY_ID;
  if (!tableName || !hmacKeyId) throw new Error('KEY_TABLE_NAME and HMAC_KEY_ID must be set');
  const store = new KeyStore({
    ddb,
    tableName,
    hasher: createKmsHasher({ kms, keyId: hmacKeyId }),
  });
  const created = await store.create({
    name: event.name ?? 'integ',
    scopes: event.scopes ?? ['inference'],
    expiresInDays: 1,
  });
  return { id: created.id, key: created.key };
}
