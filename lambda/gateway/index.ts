/**
 * Lambda entry point of the gateway (an ALB target).
 *
 * Configuration is read and validated here, at module load (cold start), and SDK
 * clients are created once; a bad environment fails the init with a message
 * naming the variables. For openai-compatible upstreams with a secret, the
 * secret read starts here too.
 */

import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConfig } from './config';
import { createHandler } from './gateway';

export { createHandler } from './gateway';
export type { GatewayDeps, GatewayHandler } from './gateway';

const config = parseConfig(process.env);

export const handler = createHandler({
  config,
  ddb: new DynamoDBClient({}),
  s3: new S3Client({}),
  kms: new KMSClient({}),
  ...(config.upstream.kind === 'bedrock' ? { bedrock: new BedrockRuntimeClient({}) } : {}),
  ...(config.upstream.kind === 'openai-compatible' && config.upstream.secretArn
    ? { secrets: new SecretsManagerClient({}) }
    : {}),
});
