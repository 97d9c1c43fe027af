/**
 * The watchdog: a scheduled check of what must not be forgotten. It counts
 * deletion jobs still open 12 hours after they were requested (the promise is
 * 24) and API keys that expire within 7 days, and, with a config bucket, reads
 * the outbound trust store: whether TLS verification is off
 * (`insecure_trust_all`) and how many uploaded certificates expire within
 * TRUST_EXPIRY_WARNING_DAYS (or have expired). It publishes all of them as
 * CloudWatch metrics (embedded metric format, dimension `Deployment`), which
 * alarms watch. It reads ids and dates only (of certificates: their expiry).
 */

import {
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { TRUST_EXPIRY_WARNING_DAYS } from '../../lib/core/config-objects';
import { DELETION_PENDING_INDEX } from '../../lib/core/tables';
import { createAllowlistLogger, type LineSink, type LogSchema } from '../shared/allowlist-logger';
import { summariseBundle } from '../shared/trust/pem-bundle';
import { S3TrustStore } from '../shared/trust/trust-source';

export const WATCHDOG_LOG_SCHEMA = {
  overdue_jobs: { kind: 'int', min: 0 },
  keys_expiring: { kind: 'int', min: 0 },
  /** 1 while outbound TLS verification is off (trust mode insecure_trust_all). */
  insecure_trust_all: { kind: 'int', min: 0, max: 1 },
  /** Uploaded certificates expiring within TRUST_EXPIRY_WARNING_DAYS, expired ones included. */
  trust_certs_expiring: { kind: 'int', min: 0 },
  /** The trust store could not be read (the two fields above are then absent). */
  trust_store_unreadable: { kind: 'bool' },
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
  /** The config bucket holding the trust store; unset: no trust metrics. */
  readonly configBucketName?: string;
}

export interface WatchdogDeps {
  readonly config: WatchdogConfig;
  readonly ddb: DynamoDBClient;
  /** S3 for the trust store (required with `config.configBucketName`). */
  readonly s3?: S3Client;
  readonly now?: () => Date;
  readonly logSink?: LineSink;
}

export interface WatchdogResult {
  readonly overdueJobs: number;
  readonly keysExpiring: number;
  /** With a config bucket whose trust store was read: 1 when verification is off. */
  readonly insecureTrustAll?: number;
  /** With a config bucket whose trust store was read: certificates expiring soon or expired. */
  readonly trustCertificatesExpiring?: number;
  /** With a config bucket: true when the trust store could not be read. */
  readonly trustStoreUnreadable?: boolean;
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
      { name: 'InsecureTrustAll', field: 'insecure_trust_all', unit: 'Count' },
      { name: 'TrustCertificatesExpiringSoon', field: 'trust_certs_expiring', unit: 'Count' },
    ],
  });
  const bucket = config.configBucketName;
  if (bucket !== undefined && !deps.s3) {
    throw new Error('The watchdog needs an S3 client for CONFIG_BUCKET_NAME');
  }
  const trustStore =
    bucket !== undefined && deps.s3 ? new S3TrustStore({ s3: deps.s3, bucket }) : undefined;

  /** The trust metrics; undefined when the store cannot be read (or a stored certificate parsed). */
  async function trustState(
    at: Date,
  ): Promise<{ insecureTrustAll: number; trustCertificatesExpiring: number } | undefined> {
    if (!trustStore) return undefined;
    try {
      const { doc } = await trustStore.read();
      const soon = at.getTime() + TRUST_EXPIRY_WARNING_DAYS * 86_400_000;
      const expiring = summariseBundle(doc.pem).filter(
        (c) => Date.parse(c.notAfter) <= soon,
      ).length;
      return {
        insecureTrustAll: doc.mode === 'insecure_trust_all' ? 1 : 0,
        trustCertificatesExpiring: expiring,
      };
    } catch {
      return undefined;
    }
  }

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
    const [overdue, expiring, trust] = await Promise.all([
      overdueJobs(at),
      keysExpiring(at),
      trustState(at),
    ]);
    logger.write({
      overdue_jobs: overdue,
      keys_expiring: expiring,
      ...(trust
        ? {
            insecure_trust_all: trust.insecureTrustAll,
            trust_certs_expiring: trust.trustCertificatesExpiring,
          }
        : {}),
      ...(trustStore && !trust ? { trust_store_unreadable: true } : {}),
      duration_ms: Math.max(0, now().getTime() - at.getTime()),
    });
    return {
      overdueJobs: overdue,
      keysExpiring: expiring,
      ...(trust ?? {}),
      ...(trustStore && !trust ? { trustStoreUnreadable: true } : {}),
    };
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
