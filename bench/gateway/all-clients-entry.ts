/**
 * The gateway as it was bundled before per-upstream bundles (the cold-start
 * baseline): the handler plus every AWS client it could use, created at load
 * (Bedrock, Secrets Manager, S3 and the presigner), in one CommonJS file.
 */

import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export { handler } from '../../lambda/gateway/index';

export const clients = [
  new BedrockRuntimeClient({}),
  new SecretsManagerClient({}),
  new S3Client({}),
  getSignedUrl,
];
