import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  CUSTOMER_INDEX,
  MetadataStore,
  MetadataStoreProps,
  TTL_ATTRIBUTE,
} from '../../lib/metadata-store';
import { logicalId, testKey, testStack } from '../support/stacks';

function build(props: Partial<MetadataStoreProps> = {}) {
  const stack = testStack();
  const key = testKey(stack, 'MetadataKey');
  const store = new MetadataStore(stack, 'Store', { encryptionKey: key, ...props });
  return { stack, key, store, template: Template.fromStack(stack) };
}

describe('MetadataStore', () => {
  const { key, store, template } = build();
  const tables = template.findResources('AWS::DynamoDB::Table');

  test('creates exactly three tables: usage, keys, deletion jobs', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    expect(store.tables).toEqual([store.usageTable, store.keyTable, store.deletionTable]);
  });

  test('usage table: request_id, with GSI by_customer on customer_hash + timestamp', () => {
    expect(tables[logicalId(store.usageTable)].Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'request_id', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'request_id', AttributeType: 'S' },
        { AttributeName: 'customer_hash', AttributeType: 'S' },
        { AttributeName: 'timestamp', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by_customer',
          KeySchema: [
            { AttributeName: 'customer_hash', KeyType: 'HASH' },
            { AttributeName: 'timestamp', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    expect(CUSTOMER_INDEX).toBe('by_customer');
  });

  test('key table: key_id, no index', () => {
    const props = tables[logicalId(store.keyTable)].Properties;
    expect(props.KeySchema).toEqual([{ AttributeName: 'key_id', KeyType: 'HASH' }]);
    expect(props.AttributeDefinitions).toEqual([{ AttributeName: 'key_id', AttributeType: 'S' }]);
    expect(props.GlobalSecondaryIndexes).toBeUndefined();
  });

  test('deletion-job table: deletion_id, and a sparse keys-only index of open jobs by request time', () => {
    const props = tables[logicalId(store.deletionTable)].Properties;
    expect(props.KeySchema).toEqual([{ AttributeName: 'deletion_id', KeyType: 'HASH' }]);
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'pending',
        KeySchema: [
          { AttributeName: 'pending', KeyType: 'HASH' },
          { AttributeName: 'requested_at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
  });

  test('every table: on demand, KMS with the metadata key, ttl, 1-day PITR, deletion protection, retained', () => {
    expect(TTL_ATTRIBUTE).toBe('ttl');
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(key), 'Arn'] },
        },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: {
          PointInTimeRecoveryEnabled: true,
          RecoveryPeriodInDays: 1,
        },
        DeletionProtectionEnabled: true,
      });
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
  });

  test('no table has streams, provisioned throughput or a resource policy', () => {
    for (const table of Object.values(tables)) {
      expect(table.Properties.StreamSpecification).toBeUndefined();
      expect(table.Properties.ProvisionedThroughput).toBeUndefined();
      expect(table.Properties.ResourcePolicy).toBeUndefined();
      expect(table.Properties.KinesisStreamSpecification).toBeUndefined();
    }
  });

  test('deletionProtection false and removalPolicy DESTROY apply to every table', () => {
    const custom = build({ deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
    custom.template.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { DeletionProtectionEnabled: false },
      3,
    );
    custom.template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ BillingMode: 'PAY_PER_REQUEST' }),
    });
  });
});
