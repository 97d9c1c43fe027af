/**
 * Lambda entry point of the receipt webhook (an SQS event source with batch
 * item failures). Configuration is read at cold start; clients are created
 * once. Outbound TLS trusts what the deployment's trust store says (the
 * config bucket's trust object, re-read when it is older than its maximum
 * age); without a config bucket, the public CA roots only.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { TRUST_STORE_OBJECT_KEY } from '../../lib/core/config-objects';
import { PUBLIC_ONLY, S3TrustStore, TrustSource } from '../shared/trust/trust-source';
import { trustedFetch } from '../shared/trust/trusted-fetch';
import { parseWebhookConfig } from './config';
import { createReceiptWebhook } from './deliver';

export { createReceiptWebhook } from './deliver';

const config = parseWebhookConfig(process.env);

const trust = config.configBucketName
  ? new TrustSource({
      store: new S3TrustStore({
        s3: new S3Client({}),
        bucket: config.configBucketName,
        key: TRUST_STORE_OBJECT_KEY,
      }),
      allowInsecureTrustAll: config.allowInsecureTrustAll,
    })
  : PUBLIC_ONLY;

export const handler = createReceiptWebhook({
  config,
  ddb: new DynamoDBClient({}),
  fetch: trustedFetch(trust),
});
