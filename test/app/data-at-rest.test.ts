/**
 * Keeps the data-at-rest table in docs/security.md true: every stateful resource the
 * stack synthesizes has a row, every row names a resource that exists, and
 * each row's retention and key are what the template holds.
 */
import * as fs from 'fs';
import { CfnResource } from 'aws-cdk-lib';
import * as path from 'path';
import { cdkJsonContext, constructPaths, defaultStack } from '../support/ephemera-app';

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
  /** The configuration the row's store exists with (`accessLogs: true`), from the store column. */
  onlyWith?: Record<string, unknown>;
}

/**
 * Stores that exist only with a configuration switch on say so in their first
 * column: "only with `key: value`", or several such pairs joined by "and". A
 * store exists in a configuration where every pair holds, cdk.json's defaults
 * counting (the REST API's access log is there by default).
 */
const ONLY_WITH = /only with (`\w+: [^`\s]+`(?: and `\w+: [^`\s]+`)*)/;
const SWITCH = /`(\w+): ([^`\s]+)`/g;

const contextValue = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : v);

function readTable(): Row[] {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
  const block = doc.split('<!-- data-at-rest:begin -->')[1]?.split('<!-- data-at-rest:end -->')[0];
  if (!block) throw new Error('docs/security.md has no data-at-rest table between its markers');
  return block
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s|:-]+$/.test(l) && !/^\|\s*Store\s*\|/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    )
    .map(([store, construct, , retention, key]) => {
      const only = ONLY_WITH.exec(store);
      return {
        store,
        construct: construct.replace(/`/g, ''),
        retention,
        key,
        ...(only
          ? {
              onlyWith: Object.fromEntries(
                [...only[1].matchAll(SWITCH)].map((m) => [m[1], contextValue(m[2])]),
              ),
            }
          : {}),
      };
    });
}

type Resource = {
  Type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw CloudFormation JSON
  Properties?: Record<string, any>;
  Metadata?: Record<string, unknown>;
};

const statefulByContext = new Map<string, ReturnType<typeof synthStateful>>();

/** The stateful resources with `context`, synthesized once per context in this file. */
function statefulOf(context: Record<string, unknown>): ReturnType<typeof synthStateful> {
  const key = JSON.stringify(context);
  if (!statefulByContext.has(key)) statefulByContext.set(key, synthStateful(context));
  return statefulByContext.get(key)!;
}

function synthStateful(context: Record<string, unknown>) {
  const { stack, template } = defaultStack({ context });
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const paths = constructPaths(stack);
  const keyIds: Record<string, string> = {
    'metadata CMK': stack.getLogicalId(stack.keys.metadataKey.node.defaultChild as CfnResource),
    'images CMK': stack.getLogicalId(stack.keys.imagesKey.node.defaultChild as CfnResource),
    'logs CMK': stack.getLogicalId(stack.keys.logsKey.node.defaultChild as CfnResource),
    'queues CMK': stack.getLogicalId(stack.keys.queuesKey.node.defaultChild as CfnResource),
  };
  const stateful = Object.entries(resources)
    .filter(([, r]) => STATEFUL_TYPES.includes(r.Type))
    .map(([id, resource]) => ({ path: paths.get(id) ?? id, resource }));
  return { stateful, keyIds };
}

describe('data-at-rest table (docs/security.md)', () => {
  const rows = readTable();
  /** The rows of the stores that exist with `context` over cdk.json's. */
  const rowsWith = (context: Record<string, unknown>) => {
    const effective = { ...cdkJsonContext(), ...context };
    return rows.filter(
      (r) => !r.onlyWith || Object.entries(r.onlyWith).every(([k, v]) => effective[k] === v),
    );
  };
  const variants = [
    { name: 'the default configuration', context: {}, rows: rowsWith({}) },
    ...[...new Set(rows.flatMap((r) => (r.onlyWith ? [JSON.stringify(r.onlyWith)] : [])))].map(
      (switchOn) => {
        const context = JSON.parse(switchOn) as Record<string, unknown>;
        return { name: `with ${switchOn}`, context, rows: rowsWith(context) };
      },
    ),
  ];

  test('there are conditional rows (access logs), and the default stack has stateful resources', () => {
    expect(variants.length).toBeGreaterThanOrEqual(2);
    expect(statefulOf({}).stateful.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(variants)('$name', ({ context, rows: expected }) => {
    const { stateful, keyIds } = statefulOf(context);

    test('every stateful resource has exactly one row, and every row a resource', () => {
      expect(stateful.map((s) => s.path).sort()).toEqual(expected.map((r) => r.construct).sort());
    });

    test.each(stateful.map((s) => [s.path, s.resource] as const))(
      '%s: retention and key match the template',
      (constructPath, resource) => {
        const row = expected.find((r) => r.construct === constructPath);
        expect(row).toBeDefined();
        expect({ path: constructPath, key: keyOf(resource, keyIds) }).toEqual({
          path: constructPath,
          key: row!.key,
        });
        expect(retentionMatches(resource, row!.retention)).toBe(true);
      },
    );
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
      if (retention.startsWith('until replaced')) {
        // Kept until overwritten: no expiration, and no versions to outlive a replacement.
        const expires = (p.LifecycleConfiguration?.Rules ?? []).some(
          (rule: { ExpirationInDays?: number; ExpirationDate?: string }) =>
            rule.ExpirationInDays !== undefined || rule.ExpirationDate !== undefined,
        );
        return !expires && p.VersioningConfiguration === undefined;
      }
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
