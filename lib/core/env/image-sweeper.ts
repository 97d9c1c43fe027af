/**
 * The image sweeper's environment (lambda/image-sweeper): written by the
 * ShortTtlImageBucket construct, read by the sweeper at cold start, built by
 * local mode.
 */

import { defineEnv, int, text } from '../handler-env';
import { BUCKET_NAME } from './formats';

export const imageSweeperEnv = defineEnv('image sweeper', {
  /** The bucket that holds the images. */
  bucketName: text('IMAGE_BUCKET_NAME', BUCKET_NAME),
  /** Deletions attempted per run before the rest is left to the next run. */
  maxDeletesPerRun: int('MAX_DELETES_PER_RUN', { min: 1, max: 10_000_000 }, 50_000),
});
