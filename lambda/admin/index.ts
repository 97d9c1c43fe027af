/**
 * Lambda entry point of the admin API (a load-balancer target, behind the same
 * front door as the gateway), on the shared skeleton (`../shared/handler`):
 * configuration read and validated at cold start, SDK clients created once.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsJobQueue } from '../shared/deletion-queue';
import { lambdaEntry } from '../shared/handler';
import { createAdminHandler } from './admin';
import { parseAdminConfig } from './config';

export { createAdminHandler } from './admin';

export const { handler } = lambdaEntry({
  name: 'admin API',
  parseConfig: parseAdminConfig,
  clients: (config) => ({
    ddb: new DynamoDBClient({}),
    kms: new KMSClient({}),
    queue: sqsJobQueue(new SQSClient({}), config.deletionQueueUrl),
    // The trust store lives in the config bucket, when the deployment has one.
    ...(config.configBucketName !== undefined ? { s3: new S3Client({}) } : {}),
  }),
  create: (config, clients) => createAdminHandler({ config, ...clients }),
});
