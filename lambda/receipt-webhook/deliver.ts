/**
 * The receipt webhook (promise P7): delivers each signed erasure receipt to
 * the deployment's HTTPS endpoint.
 *
 * Each message of the receipt queue holds a job id (`{"deletion_id":"..."}`,
 * nothing else). For each, the handler reads the job from the deletion table
 * (consistent read) and POSTs its id, status, deadline, counts and receipt,
 * the receipt exactly as `GET /v1/user_data/deletions/{id}` returns it (one
 * rendering, `jobView`), with the job id in `X-Ephemera-Deletion-Id` so the
 * receiver can drop a receipt it already has. A 2xx answer is a delivery;
 * anything else (another status, a refused certificate, no answer within the
 * timeout, a body that is not a job id, a job that cannot be read) is a
 * failure reported for that message alone: SQS delivers it again after the
 * visibility timeout, and after the last attempt moves it to the dead-letter
 * queue, which raises an alarm.
 *
 * Outbound TLS goes through the injected fetch, which honours the
 * deployment's trust store. Log lines are metadata: the job id, outcome,
 * status code, attempt, duration and error names; never a message body, a
 * receipt or the URL.
 */

import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  createAllowlistLogger,
  ID_PATTERNS,
  type LineSink,
  type LogSchema,
} from '../shared/allowlist-logger';
import { jobFromItem, jobView, type DeletionJob } from '../shared/deletion-job';
import { awsErrorName } from '../../lib/core/keyed-hash';
import { parseReceiptMessageBody } from '../shared/receipt-queue';
import type { WebhookConfig } from './config';

/** How the webhook reaches the receiver (the trust-store-aware fetch in AWS). */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

export const WEBHOOK_USER_AGENT = 'ephemera-receipt-webhook';
/** The idempotency header: the job id, the same on every delivery of one receipt. */
export const DELETION_ID_HEADER = 'X-Ephemera-Deletion-Id';

export const DELIVERY_OUTCOMES = [
  /** The receiver answered 2xx. */
  'delivered',
  /** The receiver answered, but not 2xx. */
  'rejected',
  /** No answer within the timeout. */
  'timeout',
  /** No answer: connection, TLS (an untrusted certificate) or trust-store failure. */
  'network_error',
  /** The message is not a receipt message. */
  'malformed',
  /** No job has this id. */
  'unknown_job',
  /** The job is not done with a signed receipt. */
  'not_done',
  /** The job could not be read. */
  'read_failed',
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** One line per message: ids, outcome, numbers and error names only. */
export const WEBHOOK_LOG_SCHEMA = {
  deletion_id: ID_PATTERNS.token,
  outcome: { kind: 'enum', values: DELIVERY_OUTCOMES },
  /** The receiver's HTTP status. */
  status_code: { kind: 'int', min: 100, max: 599 },
  /** Which delivery of the message this is (SQS ApproximateReceiveCount). */
  attempt: { kind: 'int', min: 1 },
  duration_ms: { kind: 'int', min: 0 },
  /** The error's class or AWS error name; never a message. */
  error_name: { kind: 'id', pattern: /^[A-Za-z][A-Za-z0-9_.]{0,127}$/, maxLength: 128 },
  /** A Node.js or OpenSSL error code (`ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`). */
  error_code: { kind: 'id', pattern: /^[A-Z][A-Z0-9_]{0,63}$/, maxLength: 64 },
} as const satisfies LogSchema;

export interface WebhookDeps {
  readonly config: WebhookConfig;
  readonly ddb: DynamoDBClient;
  readonly fetch: WebhookFetch;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default stdout */
  readonly logSink?: LineSink;
}

export type WebhookHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** What the receiver gets: the job as the admin API shows it, cut to what a receipt needs. */
export function webhookPayload(job: DeletionJob): string {
  const view = jobView(job);
  return JSON.stringify({
    deletion_id: view.deletion_id,
    status: view.status,
    deadline: view.deadline,
    counts: view.counts,
    receipt: view.receipt,
  });
}

interface Attempt {
  outcome: DeliveryOutcome;
  deletionId?: string;
  statusCode?: number;
  errorName?: string;
  errorCode?: string;
}

export function createReceiptWebhook(deps: WebhookDeps): WebhookHandler {
  const { config, ddb } = deps;
  const now = deps.now ?? Date.now;
  const logger = createAllowlistLogger('receipt_webhook', WEBHOOK_LOG_SCHEMA, deps.logSink);

  async function readJob(deletionId: string): Promise<DeletionJob | undefined> {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: config.deletionTableName,
        Key: { deletion_id: { S: deletionId } },
        ConsistentRead: true,
      }),
    );
    return jobFromItem(out.Item);
  }

  /** POSTs the payload; the answer's status, or why there was none. */
  async function post(deletionId: string, body: string): Promise<Attempt> {
    const signal = AbortSignal.timeout(config.timeoutMs);
    let onAbort: (() => void) | undefined;
    // Settles when the timeout fires, even if the fetch ignores the signal.
    const timedOut = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    timedOut.catch(() => undefined);
    try {
      const response = await Promise.race([
        deps.fetch(config.webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': WEBHOOK_USER_AGENT,
            [DELETION_ID_HEADER]: deletionId,
          },
          body,
          // A redirect is an answer that is not 2xx: the receipt goes to the configured URL only.
          redirect: 'manual',
          signal,
        }),
        timedOut,
      ]);
      // The answer's body is never read.
      response.body?.cancel().catch(() => undefined);
      const statusCode = response.status;
      return {
        deletionId,
        statusCode,
        outcome: statusCode >= 200 && statusCode <= 299 ? 'delivered' : 'rejected',
      };
    } catch (err) {
      return {
        deletionId,
        outcome: signal.aborted ? 'timeout' : 'network_error',
        errorName: errorName(err),
        errorCode: errorCode(err),
      };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async function deliver(message: SQSRecord): Promise<Attempt> {
    const deletionId = parseReceiptMessageBody(message.body);
    if (!deletionId) return { outcome: 'malformed' };
    let job: DeletionJob | undefined;
    try {
      job = await readJob(deletionId);
    } catch (err) {
      return { deletionId, outcome: 'read_failed', errorName: awsErrorName(err) ?? 'Error' };
    }
    if (!job) return { deletionId, outcome: 'unknown_job' };
    if (job.status !== 'done' || !job.receipt) return { deletionId, outcome: 'not_done' };
    return post(deletionId, webhookPayload(job));
  }

  return async function handler(event) {
    const records = event.Records ?? [];
    const failures = await Promise.all(
      records.map(async (message) => {
        const started = now();
        let attempt: Attempt;
        try {
          attempt = await deliver(message);
        } catch (err) {
          attempt = { outcome: 'network_error', errorName: errorName(err) };
        }
        try {
          logger.write({
            deletion_id: attempt.deletionId,
            outcome: attempt.outcome,
            status_code: attempt.statusCode,
            attempt: Number(message.attributes?.ApproximateReceiveCount),
            duration_ms: Math.max(0, Math.round(now() - started)),
            error_name: attempt.errorName,
            error_code: attempt.errorCode,
          });
        } catch {
          // Logging must not change the outcome.
        }
        return attempt.outcome === 'delivered' ? [] : [{ itemIdentifier: message.messageId }];
      }),
    );
    return { batchItemFailures: failures.flat() };
  };
}

/** The error's AWS name or class name (`TimeoutError`, `TypeError`); never its message. */
function errorName(err: unknown): string {
  return awsErrorName(err) ?? 'Error';
}

/** A Node.js or OpenSSL error code, from the error or its cause (fetch wraps them). */
function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
