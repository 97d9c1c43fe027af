/**
 * Local mode forgets for real: dynalite keeps its data in LevelDB files, where
 * a deleted item stays readable (in the write-ahead log, then in the sorted
 * tables) until LevelDB compacts them. `stores.compact()` compacts the whole
 * store; afterwards no file under the data directory holds a deleted item's
 * bytes.
 *
 * Each check greps every file under the directory for a random canary. The
 * controls make the check able to fail: the canary is found after the write,
 * and still found after the delete (deleting alone does not erase it); a
 * canary of an item that is kept is found after compaction (the compacted,
 * Snappy-compressed tables still show what they hold).
 *
 * A table file compresses its blocks with Snappy, which may write a run of
 * bytes seen earlier in a block as a back-reference: a grep of the raw file
 * can miss a value the table holds. So each table file is also read as
 * LevelDB reads it, block by block, decompressed (`../support/leveldb-table`).
 * The canary is 16 random CJK characters (48 bytes of UTF-8).
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import { startLocalStores, type LocalStores } from '../../local/stores';
import { tableBlocks } from '../support/leveldb-table';

/** Every file under dir (recursively). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** The files under dir that hold text: in their bytes, or in a decompressed table block. */
function grep(dir: string, text: string): string[] {
  const needle = Buffer.from(text, 'utf8');
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    if (bytes.includes(needle)) return true;
    return /\.(ldb|sst)$/.test(file) && tableBlocks(bytes).some((block) => block.includes(needle));
  });
}

/** 16 random characters from U+4E00..U+9FFF. */
const canary = (): string =>
  String.fromCodePoint(
    ...[...randomBytes(32)]
      .map((_, i, b) => (i % 2 === 0 ? 0x4e00 + (((b[i] << 8) | b[i + 1]) % 0x5200) : -1))
      .filter((c) => c >= 0),
  );
const id = () => `id-${randomBytes(8).toString('hex')}`;

describe.each([
  ['in this process', false],
  ['in its own process', true],
])('compaction of the local DynamoDB (dynalite %s)', (_label, separateProcess) => {
  let dir: string;
  let stores: LocalStores;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ephemera-compaction-'));
    stores = await startLocalStores({ dir, separateProcess });
  }, 60_000);
  afterAll(async () => {
    await stores?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const table = () => stores.names.usageTable;
  /** An item in the usage table (and its customer index), with `secret` in one attribute. */
  const put = (key: string, secret: string) =>
    stores.ddb.send(
      new PutItemCommand({
        TableName: table(),
        Item: {
          request_id: { S: key },
          customer_hash: { S: `customer-${key}` },
          timestamp: { S: new Date().toISOString() },
          note: { S: secret },
        },
      }),
    );
  const remove = (key: string) =>
    stores.ddb.send(new DeleteItemCommand({ TableName: table(), Key: { request_id: { S: key } } }));
  const get = async (key: string) =>
    (
      await stores.ddb.send(
        new GetItemCommand({ TableName: table(), Key: { request_id: { S: key } } }),
      )
    ).Item;

  test('a deleted item is in the files until compaction, and nowhere after it', async () => {
    const [erasedId, erased] = [id(), canary()];
    const [keptId, kept] = [id(), canary()];
    await put(erasedId, erased);
    await put(keptId, kept);
    expect(grep(dir, erased).length).toBeGreaterThan(0); // the control: the grep sees the data

    await remove(erasedId);
    expect(await get(erasedId)).toBeUndefined();
    expect(grep(dir, erased).length).toBeGreaterThan(0); // deleted, yet still on disk

    await stores.compact();
    expect(grep(dir, erased)).toEqual([]);
    expect(grep(dir, kept).length).toBeGreaterThan(0); // compacted tables still show their data
    expect((await get(keptId))?.note.S).toBe(kept);
  });

  test('an item already compacted into the tables is gone after its deletion and another compaction', async () => {
    const [erasedId, erased] = [id(), canary()];
    await put(erasedId, erased);
    // Now in a sorted (compressed) table, not only in the log.
    await stores.compact();
    expect(grep(dir, erased)).toEqual([expect.stringMatching(/\.ldb$/)]); // the control

    await remove(erasedId);
    expect(grep(dir, erased).length).toBeGreaterThan(0);
    await stores.compact();
    expect(grep(dir, erased)).toEqual([]);
  });

  test('a Scan or Query before the deletion does not keep the item on disk', async () => {
    // dynalite leaves its iterators open; each holds a LevelDB snapshot that
    // would keep the deleted item through every compaction.
    const [erasedId, erased] = [id(), canary()];
    await put(erasedId, erased);
    await stores.ddb.send(new ScanCommand({ TableName: table() }));
    await stores.ddb.send(new ScanCommand({ TableName: table(), Limit: 1 }));
    await stores.ddb.send(
      new QueryCommand({
        TableName: table(),
        IndexName: USAGE_CUSTOMER_INDEX,
        KeyConditionExpression: 'customer_hash = :c',
        ExpressionAttributeValues: { ':c': { S: `customer-${erasedId}` } },
      }),
    );
    await remove(erasedId);
    await stores.compact();
    expect(grep(dir, erased)).toEqual([]);
  });

  test('compaction keeps serving, and a restart on the folder sees the same data', async () => {
    const [keptId, kept] = [id(), canary()];
    await put(keptId, kept);
    const writes = Array.from({ length: 20 }, (_, i) => put(`during-${i}-${keptId}`, `v-${i}`));
    await Promise.all([stores.compact(), ...writes]);
    expect((await get(`during-19-${keptId}`))?.note.S).toBe('v-19');
    await stores.stop();
    stores = await startLocalStores({ dir, separateProcess });
    expect((await get(keptId))?.note.S).toBe(kept);
  });
});

test('in memory, compact() has nothing to do and resolves', async () => {
  const stores = await startLocalStores({ inMemory: true });
  try {
    await expect(stores.compact()).resolves.toBeUndefined();
  } finally {
    await stores.stop();
  }
});

test('the data directory and its stores are readable by the owner only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ephemera-private-'));
  const storesDir = join(dir, 'stores');
  try {
    const stores = await startLocalStores({ dir: storesDir });
    await stores.stop();
    for (const path of [storesDir, join(storesDir, 'dynamodb'), join(storesDir, 's3')]) {
      expect({ path, mode: statSync(path).mode & 0o777 }).toEqual({ path, mode: 0o700 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
