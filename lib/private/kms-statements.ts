import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

/** AWS services a project key may be used through. */
export type KeyService = 'dynamodb' | 'sqs' | 's3' | 'secretsmanager';

/** The condition that limits a key's use to calls through `service` in the scope's region. */
export function viaService(
  scope: IConstruct,
  service: KeyService,
): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'kms:ViaService': `${service}.${Stack.of(scope).region}.amazonaws.com` },
  };
}

/**
 * `actions` on `key`, only when the call comes through `service` in the
 * scope's region (`kms:ViaService`): a role that may read a table cannot use
 * its key for anything else.
 */
export function keyViaService(
  scope: IConstruct,
  key: kms.IKey,
  service: KeyService,
  actions: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions,
    resources: [key.keyArn],
    conditions: viaService(scope, service),
  });
}

/** The data-key actions DynamoDB needs to read and write a table under `key`. */
export const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** `kms:GenerateMac` on the HMAC key, HMAC-SHA-256 only: keyed hashes of secrets and customer ids. */
export function generateMacStatement(hmacKey: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:GenerateMac'],
    resources: [hmacKey.keyArn],
    conditions: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
  });
}
