/**
 * Lambda entry point of the admin API (a load-balancer target, behind the same
 * front door as the gateway). Configuration is read and validated at cold
 * start; SDK clients are created once.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsJobQueue } from '../shared/job-queue';
import { createAdminHandler } from './admin';
import { parseAdminConfig } from './config';

export { createAdminHandler } from './admin';

const config = parseAdminConfig(process.env);

export const handler = createAdminHandler({
  config,
  ddb: new DynamoDBClient({}),
  kms: new KMSClient({}),
  queue: sqsJobQueue(new SQSClient({}), config.deletionQueueUrl),
  // The trust store lives in the config bucket, when the deployment has one.
  ...(config.configBucketName !== undefined ? { s3: new S3Client({}) } : {}),
});
