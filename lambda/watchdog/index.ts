/** Lambda entry point of the watchdog (run on a schedule). */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { EnvReader, NAME_PATTERN } from '../shared/env';
import { createWatchdog } from './watchdog';

export { createWatchdog } from './watchdog';

const r = new EnvReader(process.env);
const config = {
  deletionTableName: r.str('DELETION_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
  keyTableName: r.str('KEY_TABLE_NAME', NAME_PATTERN, 'a DynamoDB table name'),
  deployment: r.str('DEPLOYMENT', /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a stack name'),
  overdueHours: r.int('OVERDUE_HOURS', { min: 1, max: 24 }, 12),
  keyWarningDays: r.int('KEY_WARNING_DAYS', { min: 1, max: 90 }, 7),
  configBucketName: r.optional(
    'CONFIG_BUCKET_NAME',
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'an S3 bucket name',
  ),
};
r.check('watchdog');

const watchdog = createWatchdog({
  config,
  ddb: new DynamoDBClient({}),
  ...(config.configBucketName !== undefined ? { s3: new S3Client({}) } : {}),
});

export const handler = async (): Promise<void> => {
  await watchdog();
};
