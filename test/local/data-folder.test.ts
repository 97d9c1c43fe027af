/**
 * Local mode's data folder is its owner's only, even when it was already
 * there with a looser mode (mkdir's mode does not change an existing folder,
 * and the umask applies to a new one): the folder and the stores' folders are
 * 0700, the KMS key file 0600. The stand-ins it starts take this run's
 * credentials, which `services` hands to tests, and nothing else.
 */

import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startLocalMode, type LocalMode } from '../../local/local-mode';
import { LOCAL_REGION, newLocalCredentials, type LocalCredentials } from '../../local/stores';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('local mode on a data folder', () => {
  let root: string;
  let dataDir: string;
  let local: LocalMode;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ephemera-data-folder-'));
    dataDir = join(root, 'data');
    // Left by an earlier run, or made by hand, readable by everyone.
    mkdirSync(join(dataDir, 'stores', 'dynamodb'), { recursive: true });
    for (const dir of [dataDir, join(dataDir, 'stores'), join(dataDir, 'stores', 'dynamodb')]) {
      chmodSync(dir, 0o755);
    }
    local = await startLocalMode({ port: 0, dataDir, logSink: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('the folder and the stores are 0700, the KMS key file 0600', () => {
    expect(modeOf(dataDir)).toBe(0o700);
    for (const dir of ['stores', 'stores/dynamodb', 'stores/s3']) {
      expect({ dir, mode: modeOf(join(dataDir, dir)) }).toEqual({ dir, mode: 0o700 });
    }
    expect(modeOf(join(dataDir, 'kms.json'))).toBe(0o600);
  });

  test('services hands over this run’s credentials; the stand-ins take no others', async () => {
    const { credentials, dynamodb } = local.services;
    expect(credentials.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    const client = (c: LocalCredentials) =>
      new DynamoDBClient({
        endpoint: dynamodb,
        region: LOCAL_REGION,
        credentials: c,
        maxAttempts: 1,
      });
    const mine = client(credentials);
    const other = client(newLocalCredentials());
    try {
      const { TableNames } = await mine.send(new ListTablesCommand({}));
      expect(TableNames).toContain(local.services.names.usageTable);
      await expect(other.send(new ListTablesCommand({}))).rejects.toMatchObject({
        name: 'UnrecognizedClientException',
      });
    } finally {
      mine.destroy();
      other.destroy();
    }
  });
});

test('a data folder and KMS key file loosened between starts are made private again', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ephemera-data-folder-'));
  try {
    const first = await startLocalMode({ port: 0, dataDir: root, logSink: () => undefined });
    await first.stop();
    chmodSync(join(root, 'kms.json'), 0o644);
    chmodSync(root, 0o755);
    const second = await startLocalMode({ port: 0, dataDir: root, logSink: () => undefined });
    await second.stop();
    expect(modeOf(root)).toBe(0o700);
    expect(modeOf(join(root, 'kms.json'))).toBe(0o600);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, 60_000);
