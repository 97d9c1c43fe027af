/**
 * The kinds of text the handlers' environments carry (names, ids, ARNs,
 * URLs), each written once for every contract.
 */

import type { TextFormat } from '../handler-env';

/** A DynamoDB table name. */
export const TABLE_NAME: TextFormat = {
  pattern: /^[A-Za-z0-9._-]{3,255}$/,
  what: 'a DynamoDB table name',
};

/** An S3 general purpose bucket name: 3-63 of a-z, 0-9, `.` and `-`, no `..`. */
export const BUCKET_NAME: TextFormat = {
  pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  what: 'an S3 bucket name',
  accepts: (s) => !s.includes('..'),
};

/** A standard SQS queue URL. */
export const QUEUE_URL: TextFormat = {
  pattern: /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/,
  what: 'an SQS queue URL',
};

/** A KMS key id, alias or ARN. */
export const KMS_KEY_ID: TextFormat = {
  pattern: /^[A-Za-z0-9:/_-]{1,2048}$/,
  what: 'a KMS key id or ARN',
};

/** A KMS key ARN. */
export const KMS_KEY_ARN: TextFormat = {
  pattern: /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
  what: 'a KMS key ARN',
};

/** A Secrets Manager secret ARN. */
export const SECRET_ARN: TextFormat = {
  pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
  what: 'a Secrets Manager secret ARN',
};

/** A CloudFormation stack name. */
export const STACK_NAME: TextFormat = {
  pattern: /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
  what: 'a stack name',
};
