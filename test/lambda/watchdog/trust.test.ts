/**
 * The watchdog's trust store metrics (DynamoDB and S3 mocked): whether
 * outbound TLS verification is off, and how many uploaded certificates expire
 * within TRUST_EXPIRY_WARNING_DAYS (expired ones included).
 */

import { DynamoDBClient, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { TRUST_EXPIRY_WARNING_DAYS } from '../../../lib/core/config-objects';
import type { TrustDocument } from '../../../lambda/shared/trust/trust-document';
import { createWatchdog, WATCHDOG_LOG_SCHEMA } from '../../../lambda/watchdog/watchdog';
import { makeCa } from '../../support/tls-fixtures';
import { CONFIG_BUCKET, fakeTrustBucket, type FakeTrustBucket } from '../../support/trust-bucket';

const DAY = 86_400_000;
const NOW = new Date();
const ddb = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const ddbMock = mockClient(ddb);
let bucket: FakeTrustBucket;
let bundle: string;
let far: string;
let lines: string[];

const CONFIG = {
  deletionTableName: 'ephemera-deletions',
  keyTableName: 'ephemera-keys',
  deployment: 'Ephemera',
  overdueHours: 12,
  keyWarningDays: 7,
};

const doc = (mode: TrustDocument['mode'], pem: string): TrustDocument => ({
  mode,
  pem,
  updatedAt: NOW.toISOString(),
});

const run = (configBucketName: string | null = CONFIG_BUCKET) =>
  createWatchdog({
    config: { ...CONFIG, ...(configBucketName ? { configBucketName } : {}) },
    ddb,
    s3: bucket.s3,
    now: () => NOW,
    logSink: (l) => lines.push(l),
  })();

beforeAll(async () => {
  bucket = fakeTrustBucket();
  const soon = (await makeCa('Soon', { notAfter: new Date(NOW.getTime() + 10 * DAY) })).cert;
  const edge = (
    await makeCa('Edge', {
      notAfter: new Date(NOW.getTime() + TRUST_EXPIRY_WARNING_DAYS * DAY - 60_000),
    })
  ).cert;
  const expired = (await makeCa('Expired', { expired: true })).cert;
  far = (await makeCa('Far', { notAfter: new Date(NOW.getTime() + 365 * DAY) })).cert;
  bundle = soon + edge + expired + far;
});

afterAll(() => {
  ddbMock.restore();
  bucket.mock.restore();
});

beforeEach(() => {
  lines = [];
  bucket.clear();
  bucket.failReads = false;
  bucket.gets.length = 0;
  ddbMock.reset();
  ddbMock.on(QueryCommand).resolves({ Count: 0 });
  ddbMock.on(ScanCommand).resolves({ Count: 0 });
});

test('counts certificates expiring within the warning window (expired included) and publishes both metrics', async () => {
  bucket.put(doc('uploaded_only', bundle));
  await expect(run()).resolves.toEqual({
    overdueJobs: 0,
    keysExpiring: 0,
    insecureTrustAll: 0,
    trustCertificatesExpiring: 3,
  });
  const line = JSON.parse(lines[0]) as Record<string, unknown>;
  expect(line).toMatchObject({
    event: 'watchdog',
    insecure_trust_all: 0,
    trust_certs_expiring: 3,
    InsecureTrustAll: 0,
    TrustCertificatesExpiringSoon: 3,
    Deployment: 'Ephemera',
  });
  const metrics = (line._aws as { CloudWatchMetrics: Array<{ Metrics: unknown[] }> })
    .CloudWatchMetrics[0].Metrics;
  expect(metrics).toEqual(
    expect.arrayContaining([
      { Name: 'InsecureTrustAll', Unit: 'Count' },
      { Name: 'TrustCertificatesExpiringSoon', Unit: 'Count' },
    ]),
  );
  expect(lines[0]).not.toContain('BEGIN');
  expect(bucket.gets[0]).toMatchObject({ Bucket: CONFIG_BUCKET });
});

test('insecure_trust_all is 1; nothing expiring is 0', async () => {
  bucket.put(doc('insecure_trust_all', far));
  await expect(run()).resolves.toMatchObject({ insecureTrustAll: 1, trustCertificatesExpiring: 0 });
  expect(JSON.parse(lines[0])).toMatchObject({
    InsecureTrustAll: 1,
    TrustCertificatesExpiringSoon: 0,
  });
});

test('no trust store object: the defaults (verification on, nothing uploaded)', async () => {
  await expect(run()).resolves.toMatchObject({ insecureTrustAll: 0, trustCertificatesExpiring: 0 });
});

test('an unreadable trust store: the other metrics still go out, the trust ones are absent and flagged', async () => {
  bucket.failReads = true;
  await expect(run()).resolves.toEqual({
    overdueJobs: 0,
    keysExpiring: 0,
    trustStoreUnreadable: true,
  });
  const line = JSON.parse(lines[0]) as Record<string, unknown>;
  expect(line).toMatchObject({ trust_store_unreadable: true, OverdueDeletionJobs: 0 });
  expect(line.InsecureTrustAll).toBeUndefined();
  expect(line.TrustCertificatesExpiringSoon).toBeUndefined();
});

test('without a config bucket: no S3 call, no trust fields', async () => {
  await expect(run(null)).resolves.toEqual({ overdueJobs: 0, keysExpiring: 0 });
  expect(bucket.gets).toHaveLength(0);
  expect(JSON.parse(lines[0]).InsecureTrustAll).toBeUndefined();
});

test('a bucket without an S3 client is a startup error', () => {
  expect(() =>
    createWatchdog({ config: { ...CONFIG, configBucketName: CONFIG_BUCKET }, ddb }),
  ).toThrow(/S3 client/);
  expect(WATCHDOG_LOG_SCHEMA.insecure_trust_all).toEqual({ kind: 'int', min: 0, max: 1 });
});
