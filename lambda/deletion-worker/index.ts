/**
 * Lambda entry point of the deletion worker (an SQS event source with batch
 * item failures), on the shared skeleton (`../shared/handler`): configuration
 * read at cold start, clients created once.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsJobQueue } from '../shared/deletion-queue';
import { lambdaEntry } from '../shared/handler';
import { sqsReceiptQueue } from '../shared/receipt-queue';
import { parseWorkerConfig } from './config';
import { createWorker } from './worker';

export { createWorker } from './worker';

export const { handler } = lambdaEntry({
  name: 'deletion worker',
  parseConfig: parseWorkerConfig,
  clients: (config) => {
    const sqs = new SQSClient({});
    return {
      ddb: new DynamoDBClient({}),
      s3: new S3Client({}),
      kms: new KMSClient({}),
      queue: sqsJobQueue(sqs, config.deletionQueueUrl),
      ...(config.receiptQueueUrl
        ? { receiptQueue: sqsReceiptQueue(sqs, config.receiptQueueUrl) }
        : {}),
    };
  },
  create: (config, clients) => createWorker({ config, ...clients }),
});
