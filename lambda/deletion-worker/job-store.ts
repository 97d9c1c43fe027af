/**
 * The deletion worker's job store: the deletion table's job items as the
 * worker reads and moves them. A job is worked on under a lease (one
 * invocation at a time); every write after the claim is conditional on
 * holding it, and a write that finds the lease gone throws {@link LeaseLost}.
 *
 * A page of erasure is a batch: noted on the job before anything is erased
 * ({@link JobStore.beginBatch}), and committed once erased
 * ({@link JobStore.commitBatch}: its counts added and the cursor moved, in
 * one update that only succeeds while that batch is the job's batch). So a
 * successor finds an interrupted batch, finishes it, and commits it exactly once.
 */

import {
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { jobFromItem, type DeletionBatch, type DeletionJob } from '../shared/deletion-job';

/** Lease length: the longest an invocation can run (Lambda's 15 minutes). */
export const LEASE_MS = 15 * 60 * 1000;

/** Another invocation took the job: this one stops working on it. */
export class LeaseLost extends Error {}

export interface JobStore {
  /** The job, read consistently; undefined when there is none. */
  read(deletionId: string): Promise<DeletionJob | undefined>;
  /** Takes the job for `owner`, unless another live invocation holds it (false) or it is done. */
  claim(job: DeletionJob, owner: string): Promise<boolean>;
  /** Notes the page about to be erased. */
  beginBatch(job: DeletionJob, owner: string, batch: DeletionBatch): Promise<void>;
  /** Adds a finished batch's counts and moves the cursor: exactly once per batch. */
  commitBatch(job: DeletionJob, owner: string, batch: DeletionBatch): Promise<DeletionJob>;
  /** Best effort: lets a retry start at once instead of waiting for the lease to run out. */
  release(job: DeletionJob, owner: string): Promise<void>;
  /** Closes the job with its signed receipt (`receipt`: its JSON) at `completedAt`. */
  close(
    job: DeletionJob,
    owner: string,
    receipt: string,
    completedAt: string,
  ): Promise<DeletionJob>;
}

export interface JobStoreOptions {
  readonly ddb: DynamoDBClient;
  /** The deletion table. */
  readonly tableName: string;
  readonly now: () => Date;
}

export function createJobStore({ ddb, tableName, now }: JobStoreOptions): JobStore {
  const jobKey = (id: string) => ({ deletion_id: { S: id } });

  /** An update that only a lease holder may make; a lost lease ends the run. */
  async function guarded(command: UpdateItemCommand): Promise<UpdateItemCommandOutput> {
    try {
      return await ddb.send(command);
    } catch (err) {
      if (isConditionalFailure(err)) throw new LeaseLost();
      throw err;
    }
  }

  return {
    async read(id) {
      const out = await ddb.send(
        new GetItemCommand({ TableName: tableName, Key: jobKey(id), ConsistentRead: true }),
      );
      return jobFromItem(out.Item);
    },

    async claim(job, owner) {
      const nowMs = now().getTime();
      try {
        await ddb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: jobKey(job.deletionId),
            UpdateExpression: 'SET #status = :running, lease_owner = :me, lease_until = :until',
            ConditionExpression:
              '#status <> :done AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':running': { S: 'running' },
              ':done': { S: 'done' },
              ':me': { S: owner },
              ':until': { N: String(nowMs + LEASE_MS) },
              ':now': { N: String(nowMs) },
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionalFailure(err)) return false;
        throw err;
      }
    },

    async beginBatch(job, owner, batch) {
      await guarded(
        new UpdateItemCommand({
          TableName: tableName,
          Key: jobKey(job.deletionId),
          UpdateExpression: 'SET #batch = :batch',
          ConditionExpression: 'lease_owner = :me AND attribute_not_exists(#batch)',
          ExpressionAttributeNames: { '#batch': 'batch' },
          ExpressionAttributeValues: {
            ':me': { S: owner },
            ':batch': {
              M: {
                id: { S: batch.id },
                request_ids: { L: batch.requestIds.map((id) => ({ S: id })) },
                records: { N: String(batch.records) },
                images: { N: String(batch.images) },
                ...(batch.next ? { next: { M: batch.next } } : {}),
              },
            },
          },
        }),
      );
    },

    async commitBatch(job, owner, batch) {
      const cursor = batch.next;
      const out = await guarded(
        new UpdateItemCommand({
          TableName: tableName,
          Key: jobKey(job.deletionId),
          UpdateExpression:
            (cursor ? 'SET #cursor = :cursor ' : '') +
            'ADD records_erased :records, images_erased :images REMOVE #batch' +
            (cursor ? '' : ', #cursor'),
          ConditionExpression: 'lease_owner = :me AND #batch.id = :batch',
          ExpressionAttributeNames: { '#batch': 'batch', '#cursor': 'cursor' },
          ExpressionAttributeValues: {
            ':me': { S: owner },
            ':batch': { S: batch.id },
            ':records': { N: String(batch.records) },
            ':images': { N: String(batch.images) },
            ...(cursor ? { ':cursor': { M: cursor } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const updated = jobFromItem(out.Attributes);
      if (!updated) throw new Error('Erasure failed: job unreadable after commit');
      return updated;
    },

    async release(job, owner) {
      try {
        await guarded(
          new UpdateItemCommand({
            TableName: tableName,
            Key: jobKey(job.deletionId),
            UpdateExpression: 'SET lease_until = :zero',
            ConditionExpression: 'lease_owner = :me',
            ExpressionAttributeValues: { ':zero': { N: '0' }, ':me': { S: owner } },
          }),
        );
      } catch {
        // The lease runs out by itself.
      }
    },

    async close(job, owner, receipt, completedAt) {
      const out = await guarded(
        new UpdateItemCommand({
          TableName: tableName,
          Key: jobKey(job.deletionId),
          UpdateExpression:
            'SET #status = :done, completed_at = :at, receipt = :receipt REMOVE #pending, lease_owner, lease_until, #cursor',
          ConditionExpression: 'lease_owner = :me AND attribute_not_exists(#batch)',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#pending': 'pending',
            '#cursor': 'cursor',
            '#batch': 'batch',
          },
          ExpressionAttributeValues: {
            ':done': { S: 'done' },
            ':at': { S: completedAt },
            ':receipt': { S: receipt },
            ':me': { S: owner },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return jobFromItem(out.Attributes) ?? job;
    },
  };
}

function isConditionalFailure(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}
