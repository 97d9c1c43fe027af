/**
 * The watchdog: a scheduled check of what must not be forgotten. It counts
 * deletion jobs still open 12 hours after they were requested (the promise is
 * 24) and API keys that expire within 7 days, and publishes both as
 * CloudWatch metrics (embedded metric format, dimension `Deployment`), which
 * alarms watch. It reads ids and dates only.
 */

import {
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DELETION_PENDING_INDEX } from '../../lib/core/tables';
import { createAllowlistLogger, type LineSink, type LogSchema } from '../shared/allowlist-logger';

export const WATCHDOG_LOG_SCHEMA = {
  overdue_jobs: { kind: 'int', min: 0 },
  keys_expiring: { kind: 'int', min: 0 },
  duration_ms: { kind: 'int', min: 0 },
} as const satisfies LogSchema;

export const WATCHDOG_METRIC_DIMENSION = 'Deployment';

export interface WatchdogConfig {
  readonly deletionTableName: string;
  readonly keyTableName: string;
  /** The metrics' `Deployment` dimension (the stack's name). */
  readonly deployment: string;
  /** An open job older than this is overdue. */
  readonly overdueHours: number;
  /** A live key expiring within this many days is reported. */
  readonly keyWarningDays: number;
}

export interface WatchdogDeps {
  readonly config: WatchdogConfig;
  readonly ddb: DynamoDBClient;
  readonly now?: () => Date;
  readonly logSink?: LineSink;
}

export interface WatchdogResult {
  readonly overdueJobs: number;
  readonly keysExpiring: number;
}

export function createWatchdog(deps: WatchdogDeps): () => Promise<WatchdogResult> {
  const { config, ddb } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = createAllowlistLogger('watchdog', WATCHDOG_LOG_SCHEMA, deps.logSink, {
    namespace: 'Ephemera',
    dimensions: { [WATCHDOG_METRIC_DIMENSION]: config.deployment },
    metrics: [
      { name: 'OverdueDeletionJobs', field: 'overdue_jobs', unit: 'Count' },
      { name: 'KeysExpiringSoon', field: 'keys_expiring', unit: 'Count' },
    ],
  });

  async function overdueJobs(at: Date): Promise<number> {
    const before = new Date(at.getTime() - config.overdueHours * 3600_000).toISOString();
    return countAll((start) =>
      ddb.send(
        new QueryCommand({
          TableName: config.deletionTableName,
          IndexName: DELETION_PENDING_INDEX,
          KeyConditionExpression: '#pending = :p AND requested_at <= :before',
          ExpressionAttributeNames: { '#pending': 'pending' },
          ExpressionAttributeValues: { ':p': { S: '1' }, ':before': { S: before } },
          Select: 'COUNT',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
  }

  async function keysExpiring(at: Date): Promise<number> {
    const nowS = Math.floor(at.getTime() / 1000);
    const soon = nowS + config.keyWarningDays * 86_400;
    // Select COUNT returns no attributes (and DynamoDB refuses it with a projection).
    return countAll((start) =>
      ddb.send(
        new ScanCommand({
          TableName: config.keyTableName,
          FilterExpression:
            'attribute_not_exists(revoked_at) AND expires_at > :now AND expires_at <= :soon',
          ExpressionAttributeValues: { ':now': { N: String(nowS) }, ':soon': { N: String(soon) } },
          Select: 'COUNT',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
  }

  return async () => {
    const at = now();
    const [overdue, expiring] = await Promise.all([overdueJobs(at), keysExpiring(at)]);
    logger.write({
      overdue_jobs: overdue,
      keys_expiring: expiring,
      duration_ms: Math.max(0, now().getTime() - at.getTime()),
    });
    return { overdueJobs: overdue, keysExpiring: expiring };
  };
}

type Key = Record<string, AttributeValue>;

/** Adds up `Count` over every page of a query or scan. */
async function countAll(
  page: (start: Key | undefined) => Promise<{ Count?: number; LastEvaluatedKey?: Key }>,
): Promise<number> {
  let count = 0;
  let start: Key | undefined;
  do {
    const out = await page(start);
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}
