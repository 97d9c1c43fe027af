/** The watchdog on real dynalite: what it counts, and the metrics it publishes. */

import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createWatchdog } from '../../../lambda/watchdog/watchdog';
import { newDeletionId, newJobItem } from '../../../lambda/shared/deletion-job';
import {
  DELETION_TABLE,
  KEY_TABLE,
  startLocalAws,
  type LocalAws,
} from '../gateway/support/local-aws';

const NOW = new Date('2030-03-01T12:00:00.000Z');
const HOUR = 3_600_000;
const hash = 'ab'.repeat(32);
let aws: LocalAws;

async function job(hoursAgo: number, open: boolean): Promise<void> {
  const id = newDeletionId();
  await aws.ddb.send(
    new PutItemCommand({
      TableName: DELETION_TABLE,
      Item: newJobItem(id, hash, new Date(NOW.getTime() - hoursAgo * HOUR)),
    }),
  );
  if (!open) {
    await aws.ddb.send(
      new UpdateItemCommand({
        TableName: DELETION_TABLE,
        Key: { deletion_id: { S: id } },
        UpdateExpression: 'SET #s = :done REMOVE #p',
        ExpressionAttributeNames: { '#s': 'status', '#p': 'pending' },
        ExpressionAttributeValues: { ':done': { S: 'done' } },
      }),
    );
  }
}

async function key(id: string, expiresInDays: number, revoked = false): Promise<void> {
  const expires = Math.floor(NOW.getTime() / 1000) + Math.round(expiresInDays * 86_400);
  await aws.ddb.send(
    new PutItemCommand({
      TableName: KEY_TABLE,
      Item: {
        key_id: { S: id },
        expires_at: { N: String(expires) },
        ...(revoked ? { revoked_at: { N: String(expires - 86_400) } } : {}),
      },
    }),
  );
}

beforeAll(async () => {
  aws = await startLocalAws();
  await job(13, true); // overdue
  await job(30, true); // overdue
  await job(1, true); // open, not overdue
  await job(20, false); // done long ago: not open
  await key('k1aaaaaaaaaaaaaa', 3); // expiring soon
  await key('k2aaaaaaaaaaaaaa', 30);
  await key('k3aaaaaaaaaaaaaa', 2, true); // revoked: not reported
  await key('k4aaaaaaaaaaaaaa', -1); // already expired: not reported
});

afterAll(async () => {
  await aws.stop();
});

test('counts open jobs past 12 hours and live keys within 7 days of expiry, and publishes both', async () => {
  const lines: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  const recording = new Proxy(aws.ddb, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: { input: Record<string, unknown> }) => {
        inputs.push(command.input);
        return (target.send as (c: unknown) => Promise<unknown>)(command);
      };
    },
  });
  const watchdog = createWatchdog({
    config: {
      deletionTableName: DELETION_TABLE,
      keyTableName: KEY_TABLE,
      deployment: 'Ephemera',
      overdueHours: 12,
      keyWarningDays: 7,
    },
    ddb: recording,
    now: () => NOW,
    logSink: (l) => lines.push(l),
  });
  await expect(watchdog()).resolves.toEqual({ overdueJobs: 2, keysExpiring: 1 });
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({
    event: 'watchdog',
    overdue_jobs: 2,
    keys_expiring: 1,
    Deployment: 'Ephemera',
    OverdueDeletionJobs: 2,
    KeysExpiringSoon: 1,
    _aws: {
      CloudWatchMetrics: [
        {
          Namespace: 'Ephemera',
          Dimensions: [['Deployment']],
          Metrics: [
            { Name: 'OverdueDeletionJobs', Unit: 'Count' },
            { Name: 'KeysExpiringSoon', Unit: 'Count' },
          ],
        },
      ],
    },
  });
  expect(lines[0]).not.toMatch(/k1a|ababab/);
  // DynamoDB refuses Select COUNT with a projection (dynalite does not check it).
  expect(inputs).toHaveLength(2);
  for (const input of inputs) {
    expect(input.Select).toBe('COUNT');
    expect(input.ProjectionExpression).toBeUndefined();
  }
});
