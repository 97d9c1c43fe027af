/**
 * Keeps the README's data-at-rest table true: every stateful resource the
 * stack synthesizes has a row, every row names a resource that exists, and
 * each row's retention and key are what the template holds.
 */
import * as fs from 'fs';
import { CfnResource } from 'aws-cdk-lib';
import * as path from 'path';
import { constructPaths, defaultStack } from '../support/ephemera-app';

const STATEFUL_TYPES = [
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Logs::LogGroup',
  'AWS::SQS::Queue',
  'AWS::SNS::Topic',
  'AWS::SecretsManager::Secret',
  'AWS::EFS::FileSystem',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::Kinesis::Stream',
  'AWS::KinesisFirehose::DeliveryStream',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::OpenSearchService::Domain',
];

interface Row {
  store: string;
  construct: string;
  retention: string;
  key: string;
}

function readTable(): Row[] {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = readme
    .split('<!-- data-at-rest:begin -->')[1]
    ?.split('<!-- data-at-rest:end -->')[0];
  if (!block) throw new Error('README.md has no data-at-rest table between its markers');
  return block
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s|:-]+$/.test(l) && !/^\|\s*Store\s*\|/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    )
    .map(([store, construct, , retention, key]) => ({
      store,
      construct: construct.replace(/`/g, ''),
      retention,
      key,
    }));
}

type Resource = {
  Type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw CloudFormation JSON
  Properties?: Record<string, any>;
  Metadata?: Record<string, unknown>;
};

describe('README data-at-rest table', () => {
  const { stack, template } = defaultStack();
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const stateful = Object.entries(resources).filter(([, r]) => STATEFUL_TYPES.includes(r.Type));
  const rows = readTable();
  const paths = constructPaths(stack);
  const pathOf = (id: string) => paths.get(id) ?? id;
  const keyIds: Record<string, string> = {
    'metadata CMK': stack.getLogicalId(stack.keys.metadataKey.node.defaultChild as CfnResource),
    'images CMK': stack.getLogicalId(stack.keys.imagesKey.node.defaultChild as CfnResource),
    'logs CMK': stack.getLogicalId(stack.keys.logsKey.node.defaultChild as CfnResource),
    'queues CMK': stack.getLogicalId(stack.keys.queuesKey.node.defaultChild as CfnResource),
  };

  test('the stack has stateful resources and the table has rows', () => {
    expect(stateful.length).toBeGreaterThanOrEqual(8);
    expect(rows.length).toBe(stateful.length);
  });

  test.each(stateful.map(([id, r]) => [pathOf(id), id, r] as const))(
    '%s has a row whose retention and key match the template',
    (constructPath, _id, resource) => {
      const row = rows.find((r) => r.construct === constructPath);
      expect(row).toBeDefined();
      expect({ path: constructPath, key: keyOf(resource, keyIds) }).toEqual({
        path: constructPath,
        key: row!.key,
      });
      expect(retentionMatches(resource, row!.retention)).toBe(true);
    },
  );

  test('every row names a resource the stack synthesizes', () => {
    const synthesized = stateful.map(([id]) => pathOf(id));
    for (const row of rows) expect(synthesized).toContain(row.construct);
  });
});

/** The key column for a resource: which project CMK encrypts it, or SSE-S3. */
function keyOf(r: Resource, keyIds: Record<string, string>): string {
  const p = r.Properties ?? {};
  const ref =
    p.KmsKeyId ??
    p.KmsMasterKeyId ??
    p.SSESpecification?.KMSMasterKeyId ??
    p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault
      ?.KMSMasterKeyID;
  const sse =
    p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault
      ?.SSEAlgorithm;
  if (!ref && sse === 'AES256') return 'SSE-S3 (ALB supports no other)';
  const logicalId = ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
  const name = Object.entries(keyIds).find(([, id]) => id === logicalId)?.[0];
  return name ?? `unknown key ${JSON.stringify(ref)}`;
}

/** Whether the retention column states what the template does. */
function retentionMatches(r: Resource, retention: string): boolean {
  const p = r.Properties ?? {};
  switch (r.Type) {
    case 'AWS::DynamoDB::Table':
      return (
        p.TimeToLiveSpecification?.Enabled === true &&
        retention.startsWith(`TTL attribute \`${p.TimeToLiveSpecification.AttributeName}\``)
      );
    case 'AWS::S3::Bucket': {
      const days = (p.LifecycleConfiguration?.Rules ?? [])
        .filter(
          (rule: {
            Status?: string;
            Prefix?: string;
            TagFilters?: unknown;
            ExpirationInDays?: number;
          }) => rule.Status === 'Enabled' && !rule.Prefix && !rule.TagFilters,
        )
        .map(
          (rule: {
            Status?: string;
            Prefix?: string;
            TagFilters?: unknown;
            ExpirationInDays?: number;
          }) => rule.ExpirationInDays,
        );
      return days.length > 0 && retention.startsWith(`lifecycle ${Math.min(...days)} d`);
    }
    case 'AWS::Logs::LogGroup':
      return (
        typeof p.RetentionInDays === 'number' && retention.startsWith(`${p.RetentionInDays} d`)
      );
    case 'AWS::SQS::Queue':
      return retention.startsWith(`${Math.round(p.MessageRetentionPeriod / 86400)} d`);
    case 'AWS::SNS::Topic':
      return retention.startsWith('n/a');
    default:
      return false;
  }
}
