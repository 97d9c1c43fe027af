/**
 * Lambda entry point of the watchdog (run on a schedule), on the shared
 * skeleton (`../shared/handler`): configuration read at cold start, clients
 * created once.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lambdaEntry } from '../shared/handler';
import { parseWatchdogConfig as parseConfig } from './config';
import { createWatchdog } from './watchdog';

export { createWatchdog } from './watchdog';

export const { handler } = lambdaEntry({
  name: 'watchdog',
  parseConfig,
  clients: (config) => ({
    ddb: new DynamoDBClient({}),
    ...(config.configBucketName !== undefined ? { s3: new S3Client({}) } : {}),
  }),
  create: (config, clients) => {
    const watchdog = createWatchdog({ config, ...clients });
    return async (): Promise<void> => {
      await watchdog();
    };
  },
});
