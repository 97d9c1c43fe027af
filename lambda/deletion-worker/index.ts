/**
 * Lambda entry point of the deletion worker (an SQS event source with batch
 * item failures). Configuration is read at cold start; clients are created once.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsJobQueue } from '../shared/job-queue';
import { sqsReceiptQueue } from '../shared/receipt-queue';
import { parseWorkerConfig } from './config';
import { createWorker } from './worker';

export { createWorker } from './worker';

const config = parseWorkerConfig(process.env);
const sqs = new SQSClient({});

export const handler = createWorker({
  config,
  ddb: new DynamoDBClient({}),
  s3: new S3Client({}),
  kms: new KMSClient({}),
  queue: sqsJobQueue(sqs, config.deletionQueueUrl),
  ...(config.receiptQueueUrl ? { receiptQueue: sqsReceiptQueue(sqs, config.receiptQueueUrl) } : {}),
});
