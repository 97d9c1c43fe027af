/**
 * `DELETE /v1/user_data` and `GET /v1/user_data/deletions/{id}` (promise P7).
 *
 * A request names the customer in `X-Ephemera-Metadata: customer_id=X`
 * (preferred) or `?customer_id=X`, both checked by the one customer-id rule
 * (`lib/core/customer-id`): the header as sent, the query once
 * percent-decoded, so both forms name the same customer. It writes a deletion job holding only the customer's keyed hash,
 * then a marker that points the customer at that job (a conditional write, so
 * concurrent requests agree on one job); then it queues the job id. While a job is queued or running, asking again for the
 * same customer returns that job. Nothing here touches usage records or images:
 * the deletion worker does.
 */

import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  isDeletionId,
  jobFromItem,
  jobView,
  markerId,
  newDeletionId,
  newJobItem,
  type DeletionJob,
} from '../shared/deletion-job';
import { headerValues } from '../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import { jsonResult } from '../shared/http-results';
import type { HttpResult } from '../shared/http-event';
import { customerHash } from '../../lib/core/keyed-hash';
import { CUSTOMER_ID_MESSAGES, CUSTOMER_ID_PARAMS, isCustomerId } from '../../lib/core/customer-id';
import {
  METADATA_HEADER,
  metadataWarnings,
  parseMetadataHeaders,
} from '../../lib/core/metadata-header';
import type { AdminRequest, AdminServices } from './context';

export const ERASURE_MESSAGES = {
  noCustomer:
    'Name the customer to erase: X-Ephemera-Metadata: customer_id=<id> (preferred) or ?customer_id=<id>',
  twoCustomers:
    'The header and the query name different customers; name the customer once (X-Ephemera-Metadata: customer_id=<id> preferred)',
  queryCustomerInvalid: CUSTOMER_ID_MESSAGES.query,
  repeatedQueryCustomer: 'Give customer_id once',
  malformedQuery: 'The query string is not valid percent-encoding',
  notQueued:
    'The deletion job was recorded but could not be queued yet; send the same request again to queue it',
  badDeletionId: "A deletion id is 'del_' followed by 22 letters, digits, '_' or '-'",
  noSuchDeletion: 'No deletion job has this id',
} as const;

/**
 * The customer id a request names, from the header or the query. The
 * header's unknown parameters go to `warnings` (a typo such as `customerid`
 * then answers 400 naming it, rather than a bare "name the customer").
 */
export function customerIdOf(http: AdminRequest['http'], warnings: string[] = []): string {
  const header = parseMetadataHeaders(headerValues(http, METADATA_HEADER));
  if (!header.ok) throw invalidRequest(header.message, CUSTOMER_ID_PARAMS.header);
  warnings.push(...metadataWarnings(header.unknown));
  if (http.queryMalformed) throw invalidRequest(ERASURE_MESSAGES.malformedQuery);
  const query = http.query.get('customer_id') ?? [];
  if (query.length > 1) throw invalidRequest(ERASURE_MESSAGES.repeatedQueryCustomer, 'customer_id');
  if (query.length === 1 && !isCustomerId(query[0])) {
    throw invalidRequest(ERASURE_MESSAGES.queryCustomerInvalid, CUSTOMER_ID_PARAMS.query);
  }
  const fromQuery = query[0];
  if (
    header.customerId !== undefined &&
    fromQuery !== undefined &&
    fromQuery !== header.customerId
  ) {
    throw invalidRequest(ERASURE_MESSAGES.twoCustomers, 'customer_id');
  }
  const id = header.customerId ?? fromQuery;
  if (id === undefined) throw invalidRequest(ERASURE_MESSAGES.noCustomer, 'customer_id');
  return id;
}

async function hashOf(svc: AdminServices, customerId: string): Promise<string> {
  try {
    return await customerHash(svc.hasher, customerId);
  } catch {
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
}

async function getItem(
  svc: AdminServices,
  key: string,
): Promise<Record<string, AttributeValue> | undefined> {
  try {
    const out = await svc.ddb.send(
      new GetItemCommand({
        TableName: svc.config.deletionTableName,
        Key: { deletion_id: { S: key } },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  } catch {
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
}

/** The customer's marker: the job it points at, if any. */
async function markedJob(
  svc: AdminServices,
  hash: string,
): Promise<{ markerJobId?: string; job?: DeletionJob }> {
  const marker = await getItem(svc, markerId(hash));
  const markerJobId = marker?.job_id?.S;
  if (!markerJobId) return {};
  return { markerJobId, job: jobFromItem(await getItem(svc, markerJobId)) };
}

const isOpen = (job: DeletionJob | undefined): job is DeletionJob =>
  job !== undefined && (job.status === 'queued' || job.status === 'running');

/** Hands the job id to the queue and notes that it did. */
async function enqueue(svc: AdminServices, job: DeletionJob): Promise<void> {
  try {
    await svc.queue.send(job.deletionId, svc.config.deletionDelaySeconds);
    await svc.ddb.send(
      new UpdateItemCommand({
        TableName: svc.config.deletionTableName,
        Key: { deletion_id: { S: job.deletionId } },
        UpdateExpression: 'SET enqueued = :true',
        ConditionExpression: 'attribute_exists(deletion_id)',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
  } catch {
    // The job and its marker exist: the same request again re-queues it, and
    // the watchdog alarms on a job left pending.
    throw new HttpError(503, 'server_error', ERASURE_MESSAGES.notQueued, {
      code: 'service_unavailable',
    });
  }
}

function accepted(job: DeletionJob): HttpResult {
  return jsonResult(
    202,
    JSON.stringify({ deletion_id: job.deletionId, status: job.status, deadline: job.deadline }),
  );
}

/** `DELETE /v1/user_data`. */
export async function requestErasure(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const hash = await hashOf(svc, customerIdOf(req.http, req.warnings));

  const current = await markedJob(svc, hash);
  if (isOpen(current.job)) {
    req.record.deletion_id = current.job.deletionId;
    if (!current.job.enqueued) await enqueue(svc, current.job);
    return accepted(current.job);
  }

  // The job first, then the marker that makes it the customer's open job: the
  // marker never points at a job that does not exist. Of two concurrent
  // requests for one customer, one marker write wins; the loser withdraws its
  // job and answers with the winner's.
  const deletionId = newDeletionId();
  const item = newJobItem(deletionId, hash, svc.now());
  req.record.deletion_id = deletionId;
  try {
    await svc.ddb.send(
      new PutItemCommand({
        TableName: svc.config.deletionTableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(deletion_id)',
      }),
    );
  } catch {
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
  try {
    await svc.ddb.send(
      new PutItemCommand({
        TableName: svc.config.deletionTableName,
        Item: { deletion_id: { S: markerId(hash) }, job_id: { S: deletionId }, ttl: item.ttl },
        ConditionExpression: current.markerJobId
          ? 'job_id = :previous'
          : 'attribute_not_exists(deletion_id)',
        ...(current.markerJobId
          ? { ExpressionAttributeValues: { ':previous': { S: current.markerJobId } } }
          : {}),
      }),
    );
  } catch (err) {
    await withdraw(svc, deletionId);
    if ((err as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException') {
      const winner = await markedJob(svc, hash);
      if (isOpen(winner.job)) {
        req.record.deletion_id = winner.job.deletionId;
        return accepted(winner.job);
      }
    }
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
  const job = jobFromItem(item)!;
  await enqueue(svc, job);
  return accepted(job);
}

/**
 * Takes back a job that never became the customer's open job: out of the
 * open-job index, and no longer a job (`superseded` is not a job status, so
 * its id answers 404). Best effort: at worst the watchdog reports it.
 */
async function withdraw(svc: AdminServices, deletionId: string): Promise<void> {
  try {
    await svc.ddb.send(
      new UpdateItemCommand({
        TableName: svc.config.deletionTableName,
        Key: { deletion_id: { S: deletionId } },
        UpdateExpression: 'SET #status = :superseded REMOVE #pending',
        ExpressionAttributeNames: { '#status': 'status', '#pending': 'pending' },
        ExpressionAttributeValues: { ':superseded': { S: 'superseded' } },
      }),
    );
  } catch {
    // Nothing more to do here.
  }
}

/** `GET /v1/user_data/deletions/{id}`. */
export async function deletionStatus(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  if (!isDeletionId(req.id)) throw invalidRequest(ERASURE_MESSAGES.badDeletionId, 'deletion_id');
  req.record.deletion_id = req.id;
  const job = jobFromItem(await getItem(svc, req.id));
  if (!job) throw new HttpError(404, 'invalid_request_error', ERASURE_MESSAGES.noSuchDeletion);
  return jsonResult(200, JSON.stringify(jobView(job)));
}
