/**
 * Lambda entry point of the receipt webhook (an SQS event source with batch
 * item failures), on the shared skeleton (`../shared/handler`): configuration
 * read at cold start, clients created once. Outbound TLS trusts what the
 * deployment's trust store says (the config bucket's trust object, re-read
 * when it is older than its maximum age); without a config bucket, the public
 * CA roots only.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { TRUST_STORE_OBJECT_KEY } from '../../lib/core/config-objects';
import { lambdaEntry } from '../shared/handler';
import { PUBLIC_ONLY, S3TrustStore, TrustSource } from '../shared/trust/trust-source';
import { trustedFetch } from '../shared/trust/trusted-fetch';
import { parseWebhookConfig } from './config';
import { createReceiptWebhook } from './deliver';

export { createReceiptWebhook } from './deliver';

export const { handler } = lambdaEntry({
  name: 'receipt webhook',
  parseConfig: parseWebhookConfig,
  clients: (config) => {
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
    return { ddb: new DynamoDBClient({}), fetch: trustedFetch(trust) };
  },
  create: (config, clients) => createReceiptWebhook({ config, ...clients }),
});
