import * as fs from 'fs';
import * as path from 'path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import {
  CUSTOMER_INDEX,
  type IMetadataStore,
  MetadataStore,
  MetadataStoreProps,
  TTL_ATTRIBUTE,
} from '../../lib/metadata-store';
import { logicalId, statementsOfRole, testKey, testStack } from '../support/stacks';

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

describe('MetadataStore grants', () => {
  const stack = testStack();
  const key = testKey(stack, 'MetadataKey');
  const store = new MetadataStore(stack, 'Store', { encryptionKey: key });
  const role = (id: string) =>
    new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const grants: Record<string, (g: iam.IGrantable) => iam.Grant> = {
    request: (g) => store.grantAuthenticateAndRecordUsage(g),
    admin: (g) => store.grantKeyAdminAndErasureRequests(g),
    erase: (g) => store.grantEraseCustomer(g),
    count: (g) => store.grantCountOpenJobsAndKeys(g),
    receipts: (g) => store.grantReadDeletionJobs(g),
  };
  const roles = Object.fromEntries(
    Object.entries(grants).map(([name, grant]) => {
      const r = role(name);
      expect(grant(r).success).toBe(true);
      return [name, r];
    }),
  );
  const template = Template.fromStack(stack);
  const arn = (c: IConstruct) => ({ 'Fn::GetAtt': [logicalId(c), 'Arn'] });
  const index = (table: IConstruct, name: string) => ({
    'Fn::Join': ['', [arn(table), `/index/${name}`]],
  });
  const keyStatement = (actions: string[]) => ({
    Effect: 'Allow',
    Action: actions,
    Resource: [arn(key)],
    Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
  });
  const allow = (actions: string[], resource: unknown) => ({
    Effect: 'Allow',
    Action: actions.map((a) => `dynamodb:${a}`).sort(),
    Resource: [resource],
  });
  const readWriteKey = keyStatement(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);

  test('the request path: read one key record, write usage records', () => {
    expect(statementsOfRole(template, roles.request)).toEqual([
      allow(['GetItem'], arn(store.keyTable)),
      allow(['PutItem'], arn(store.usageTable)),
      readWriteKey,
    ]);
  });

  test('key administration and erasure requests: keys, usage read by id and customer, deletion jobs', () => {
    expect(statementsOfRole(template, roles.admin)).toEqual([
      allow(['GetItem', 'PutItem', 'UpdateItem', 'Scan'], arn(store.keyTable)),
      allow(['GetItem'], arn(store.usageTable)),
      allow(['Query'], index(store.usageTable, CUSTOMER_INDEX)),
      allow(['GetItem', 'PutItem', 'UpdateItem'], arn(store.deletionTable)),
      readWriteKey,
    ]);
  });

  test('erasure: query by customer, batch read and delete usage, update deletion jobs', () => {
    expect(statementsOfRole(template, roles.erase)).toEqual([
      allow(['Query'], index(store.usageTable, CUSTOMER_INDEX)),
      allow(['BatchGetItem', 'BatchWriteItem'], arn(store.usageTable)),
      allow(['GetItem', 'UpdateItem'], arn(store.deletionTable)),
      readWriteKey,
    ]);
  });

  test('counting and reading receipts decrypt only: they write nothing', () => {
    expect(statementsOfRole(template, roles.count)).toEqual([
      allow(['Query'], index(store.deletionTable, 'pending')),
      allow(['Scan'], arn(store.keyTable)),
      keyStatement(['kms:Decrypt']),
    ]);
    expect(statementsOfRole(template, roles.receipts)).toEqual([
      allow(['GetItem'], arn(store.deletionTable)),
      keyStatement(['kms:Decrypt']),
    ]);
  });
});

describe('MetadataStore.fromMetadataStoreAttributes', () => {
  const stack = testStack();
  const tableArn = (name: string) => `arn:aws:dynamodb:eu-west-1:111111111111:table/${name}`;
  const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
  const store: IMetadataStore = MetadataStore.fromMetadataStoreAttributes(stack, 'Imported', {
    usageTableArn: tableArn('usage'),
    keyTableArn: tableArn('keys'),
    deletionTableArn: tableArn('deletions'),
    encryptionKeyArn: keyArn,
  });
  const role = new iam.Role(stack, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  store.grantEraseCustomer(role);
  const template = Template.fromStack(stack);

  test('refers to the tables and key by ARN, and creates nothing', () => {
    expect([store.usageTable, store.keyTable, store.deletionTable].map((t) => t.tableName)).toEqual(
      ['usage', 'keys', 'deletions'],
    );
    expect(store.encryptionKey.keyArn).toBe(keyArn);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('grants the same statements on the imported ARNs (policy of the grantee only)', () => {
    expect(statementsOfRole(template, role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [`${tableArn('usage')}/index/${CUSTOMER_INDEX}`],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
        Resource: [tableArn('usage')],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: [tableArn('deletions')],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: [keyArn],
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      },
    ]);
  });
});

/** `dynamodb:<Action>` in code (quoted, or built from the `dynamodb:` prefix). */
const DYNAMODB_ACTION = /['"`]dynamodb:/;

/** Every .ts file under `dir`. */
function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? sourceFiles(path.join(dir, e.name))
        : e.name.endsWith('.ts')
          ? [path.join(dir, e.name)]
          : [],
    );
}

test('no file of lib/ but metadata-store.ts names a DynamoDB action: table access goes through its grants', () => {
  const lib = path.join(__dirname, '..', '..', 'lib');
  const files = sourceFiles(lib);
  const naming = files
    .filter((f) => DYNAMODB_ACTION.test(fs.readFileSync(f, 'utf8')))
    .map((f) => path.relative(lib, f));
  expect(naming).toEqual(['metadata-store.ts']);
  // The check can fail: the grants themselves are found.
  expect(files.length).toBeGreaterThan(20);
});
