/**
 * Image sweeper Lambda: run on a schedule (EventBridge, every 5 minutes by
 * default) to delete images whose TTL has passed. The logic lives in
 * `sweep.ts`; this entry point, on the shared skeleton (`../shared/handler`),
 * reads the configuration once at cold start and wires the S3 client.
 *
 * Environment:
 * - IMAGE_BUCKET_NAME (required): the image bucket.
 * - MAX_DELETES_PER_RUN (optional, 1-10000000, default 50000): deletions per run.
 */

import { S3Client } from '@aws-sdk/client-s3';
import { lambdaEntry } from '../shared/handler';
import { readSweeperConfig } from './config';
import { createHandler } from './sweep';

export { createHandler, SWEEP_LOG_SCHEMA } from './sweep';
export type { SweepHandler, SweepSummary, SweeperDeps, TimeBudget } from './sweep';

export const { handler } = lambdaEntry({
  name: 'image sweeper',
  parseConfig: readSweeperConfig,
  clients: () => ({ s3: new S3Client({}) }),
  create: (config, { s3 }) =>
    createHandler({
      s3,
      bucketName: config.bucketName,
      maxDeletesPerRun: config.maxDeletesPerRun,
    }),
});
