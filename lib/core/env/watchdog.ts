/**
 * The watchdog's environment (lambda/watchdog): written by the Watchdog
 * construct, read by the watchdog at cold start. The construct's
 * `overdueAfter` and `keyExpiryWarning` default to, and are bounded by, the
 * values here.
 */

import { defineEnv, int, optionalText, text } from '../handler-env';
import { BUCKET_NAME, STACK_NAME, TABLE_NAME } from './formats';

export const watchdogEnv = defineEnv('watchdog', {
  deletionTableName: text('DELETION_TABLE_NAME', TABLE_NAME),
  keyTableName: text('KEY_TABLE_NAME', TABLE_NAME),
  /** The stack, as the metrics' dimension. */
  deployment: text('DEPLOYMENT', STACK_NAME),
  /** Hours after which an open erasure job counts as overdue. */
  overdueHours: int('OVERDUE_HOURS', { min: 1, max: 24 }, 12),
  /** Days before expiry at which a live API key counts as expiring. */
  keyWarningDays: int('KEY_WARNING_DAYS', { min: 1, max: 90 }, 7),
  /** The config bucket holding the trust store, whose certificates are watched too. */
  configBucketName: optionalText('CONFIG_BUCKET_NAME', BUCKET_NAME),
});
