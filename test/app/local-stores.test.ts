/**
 * Local mode, the integration tests and the benchmarks run against dynalite
 * with the tables `local/stores.ts` creates. This keeps those tables the same
 * as the ones the stack deploys: key schema, attribute types, indexes and
 * their projections.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_STORE_NAMES, startLocalStores, tableDefinitions } from '../../local/stores';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultStackTemplate } from '../support/synths';

interface Shape {
  keySchema: unknown;
  attributes: unknown;
  indexes: unknown;
}

const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
  String(a.AttributeName).localeCompare(String(b.AttributeName));

function shape(table: {
  KeySchema?: unknown[];
  AttributeDefinitions?: { AttributeName?: string }[];
  GlobalSecondaryIndexes?: { IndexName?: string; KeySchema?: unknown; Projection?: unknown }[];
}): Shape {
  return {
    keySchema: table.KeySchema,
    attributes: [...(table.AttributeDefinitions ?? [])].sort(byName),
    indexes: (table.GlobalSecondaryIndexes ?? [])
      .map((i) => ({ name: i.IndexName, keySchema: i.KeySchema, projection: i.Projection }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
  };
}

// The default stack's template, synthesized once per run (test/support/synths.ts).
const template = Template.fromJSON(defaultStackTemplate().template);
const deployed = Object.entries(template.findResources('AWS::DynamoDB::Table')).map(
  ([logicalId, r]) => ({ logicalId, shape: shape(r.Properties) }),
);

const local = tableDefinitions(DEFAULT_STORE_NAMES);

test('the stack and local mode have the same number of tables', () => {
  expect(local).toHaveLength(deployed.length);
});

test.each([
  ['UsageTable', DEFAULT_STORE_NAMES.usageTable],
  ['KeyTable', DEFAULT_STORE_NAMES.keyTable],
  ['DeletionTable', DEFAULT_STORE_NAMES.deletionTable],
])('%s is created locally as the stack defines it', (construct, localName) => {
  const stackTable = deployed.filter((t) => t.logicalId.includes(construct));
  expect(stackTable).toHaveLength(1);
  const localTable = local.find((t) => t.TableName === localName)!;
  expect(shape(localTable)).toEqual(stackTable[0].shape);
});

test('dynalite accepts the definitions and reports the same indexes back', async () => {
  const stores = await startLocalStores({ inMemory: true });
  try {
    for (const definition of local) {
      const { Table } = await stores.ddb.send(
        new DescribeTableCommand({ TableName: definition.TableName }),
      );
      expect(Table?.KeySchema).toEqual(definition.KeySchema);
      expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(
        (definition.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort(),
      );
    }
  } finally {
    await stores.stop();
  }
});

test('stores listen on loopback only and remove a temporary directory on stop', async () => {
  const stores = await startLocalStores();
  try {
    expect(new URL(stores.ddbEndpoint).hostname).toBe('127.0.0.1');
    expect(new URL(stores.s3Endpoint).hostname).toBe('127.0.0.1');
    expect(existsSync(stores.dir)).toBe(true);
  } finally {
    await stores.stop();
  }
  expect(existsSync(stores.dir)).toBe(false);
});

test('a directory that was given keeps its data across restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ephemera-stores-test-'));
  try {
    const first = await startLocalStores({ dir });
    await first.ddb.send(
      new PutItemCommand({
        TableName: DEFAULT_STORE_NAMES.keyTable,
        Item: { key_id: { S: 'kept' } },
      }),
    );
    await first.stop();
    const second = await startLocalStores({ dir });
    try {
      const { Item } = await second.ddb.send(
        new GetItemCommand({
          TableName: DEFAULT_STORE_NAMES.keyTable,
          Key: { key_id: { S: 'kept' } },
        }),
      );
      expect(Item?.key_id.S).toBe('kept');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
