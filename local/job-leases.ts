/**
 * Local mode and the deletion worker's leases (`lease_owner`, `lease_until`
 * on a job item).
 *
 * In AWS a job's lease guards it against a second invocation while SQS's
 * visibility timeout (90 minutes) outlasts it. Locally one process owns the
 * data folder, so when local mode starts, a lease still held belongs to a run
 * that is gone (killed while it worked): {@link reclaimLease} clears it, and
 * the job, queued again, resumes at once instead of after 15 minutes. The
 * batch the dead run had open stays on the job; the worker finishes it first,
 * so counts stay exact.
 *
 * {@link leaseWait} is the local queue's `visibleAgainIn`: after a delivery
 * the worker reported as failed or busy, how long until the job's lease could
 * have run out; 0 when the lease is free (released by the failed run, run out,
 * or the job closed), so a passing failure is retried promptly.
 *
 * Only ids, owners and times are read or written: nothing about the customer.
 */

import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { jobFromItem } from '../lambda/shared/deletion-job';

/** Added to a lease's end, so the retry comes after it (the worker's claim needs `lease_until < now`). */
export const LEASE_MARGIN_MS = 1_000;

const key = (deletionId: string) => ({ deletion_id: { S: deletionId } });

/**
 * Clears the lease of an open job, if it has one: a conditional update that
 * only succeeds while the owner read is still the owner, so a claim made since
 * (by this process's own worker) is kept. Returns whether a lease was cleared.
 */
export async function reclaimLease(
  ddb: DynamoDBClient,
  tableName: string,
  deletionId: string,
): Promise<boolean> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: tableName, Key: key(deletionId), ConsistentRead: true }),
  );
  const owner = out.Item?.lease_owner?.S;
  if (owner === undefined) return false;
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(deletionId),
        UpdateExpression: 'REMOVE lease_owner, lease_until',
        ConditionExpression: 'lease_owner = :dead AND attribute_exists(#pending)',
        ExpressionAttributeNames: { '#pending': 'pending' },
        ExpressionAttributeValues: { ':dead': { S: owner } },
      }),
    );
    return true;
  } catch (err) {
    if ((err as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException') {
      return false;
    }
    throw err;
  }
}

/**
 * Milliseconds until the job's lease could have run out (plus
 * {@link LEASE_MARGIN_MS}); 0 when no live lease holds it.
 */
export function leaseWait(
  ddb: DynamoDBClient,
  tableName: string,
  now: () => number = Date.now,
): (deletionId: string) => Promise<number> {
  return async (deletionId) => {
    const out = await ddb.send(
      new GetItemCommand({ TableName: tableName, Key: key(deletionId), ConsistentRead: true }),
    );
    const job = jobFromItem(out.Item);
    if (!job || job.status === 'done' || job.leaseUntil === undefined) return 0;
    const left = job.leaseUntil - now();
    return left < 0 ? 0 : left + LEASE_MARGIN_MS;
  };
}
