/**
 * The receipt webhook against real HTTPS receivers on 127.0.0.1 (certificates
 * from private test CAs), with DynamoDB and S3 mocked: a receipt is delivered
 * exactly as the admin API returns it and still verifies; every kind of
 * failure (an error status, a redirect, no answer in time, a refused
 * certificate, a malformed message, a job that is not done) is reported for
 * its message alone; the trust store's modes decide which servers are
 * reached; log lines hold metadata only.
 */

import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  DynamoDBClient,
  GetItemCommand,
  type AttributeValue,
  type GetItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { deletionStatus } from '../../../lambda/admin/erasure';
import type { AdminRequest, AdminServices } from '../../../lambda/admin/context';
import { parseWebhookConfig, type WebhookConfig } from '../../../lambda/receipt-webhook/config';
import {
  createReceiptWebhook,
  DELETION_ID_HEADER,
  WEBHOOK_LOG_SCHEMA,
  type WebhookFetch,
} from '../../../lambda/receipt-webhook/deliver';
import { newDeletionId, newJobItem } from '../../../lambda/shared/deletion-job';
import {
  RECEIPT_ALGORITHM,
  receiptJson,
  signReceipt,
  verifyReceipt,
  type Receipt,
} from '../../../lambda/shared/receipt';
import { receiptMessageBody } from '../../../lambda/shared/receipt-queue';
import { encodeTrustDocument } from '../../../lambda/shared/trust/trust-document';
import {
  PUBLIC_ONLY,
  S3TrustStore,
  TrustSource,
  type TrustReader,
} from '../../../lambda/shared/trust/trust-source';
import { trustedFetch } from '../../../lambda/shared/trust/trusted-fetch';
import type { TrustMode } from '../../../lambda/shared/trust/trust-document';
import {
  makeCa,
  makeLeaf,
  startTlsServer,
  type ReceivedRequest,
  type TestCa,
  type TlsServer,
} from '../../support/tls-fixtures';

const TABLE = 'ephemera-deletions';
const BUCKET = 'ephemera-config';
const SIGNING_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/receipt-signing';
/** Canaries: a store named in the receipt, a path segment of the webhook URL, a message body. */
const RECEIPT_CANARY = 'receipt-canary-5b1e';
const PATH_CANARY = 'path-canary-93ad';
const BODY_CANARY = 'BODY-CANARY-c4f2 customer@example.com';
const CUSTOMER_HASH = 'ab'.repeat(32);
/** What no log line may hold: receipt content, the URL, a message body. */
const CANARIES = [
  RECEIPT_CANARY,
  PATH_CANARY,
  'CANARY',
  'example.com',
  CUSTOMER_HASH,
  'signature',
  SIGNING_KEY,
  'https://',
  '127.0.0.1',
];

const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicKeyDer = signing.publicKey.export({ type: 'spki', format: 'der' });

const ddb = new DynamoDBClient({ region: 'eu-west-1' });
const ddbMock = mockClient(ddb);
/** The deletion table's items, by id. */
const items = new Map<string, Record<string, AttributeValue>>();
const reads: GetItemCommandInput[] = [];

let ca: TestCa;
let otherCa: TestCa;
/** Serves a leaf of `ca`, the CA a deployment uploads. */
let trusted: TlsServer;
/** Serves a leaf of `otherCa`, which nothing trusts. */
let unrelated: TlsServer;
/** Answers with the status its path names (`/status/500`), or 200. */
let answers: TlsServer;
let lines: string[] = [];
const allLines: string[] = [];

async function doneJob(): Promise<{ id: string; receipt: Receipt }> {
  const id = newDeletionId();
  const requestedAt = new Date('2030-01-01T00:00:00.000Z');
  const kms = new KMSClient({ region: 'eu-west-1' });
  mockClient(kms)
    .on(SignCommand)
    .callsFake((input: { Message?: Uint8Array }) => ({
      Signature: createSign('sha256')
        .update(Buffer.from(input.Message ?? new Uint8Array()))
        .sign({ key: signing.privateKey as KeyObject, dsaEncoding: 'der' }),
    }));
  const receipt = await signReceipt(kms, {
    deletion_id: id,
    customer_hash: CUSTOMER_HASH,
    requested_at: requestedAt.toISOString(),
    completed_at: '2030-01-01T00:07:00.000Z',
    records_erased: 41,
    images_erased: 3,
    excludes: [{ store: RECEIPT_CANARY, retention_days: 1 }],
    signing_key: SIGNING_KEY,
    algorithm: RECEIPT_ALGORITHM,
  });
  items.set(id, {
    ...newJobItem(id, CUSTOMER_HASH, requestedAt),
    status: { S: 'done' },
    records_erased: { N: '41' },
    images_erased: { N: '3' },
    completed_at: { S: receipt.completed_at },
    receipt: { S: receiptJson(receipt) },
  });
  return { id, receipt };
}

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `msg-${i}`,
      receiptHandle: 'r',
      body,
      attributes: {
        ApproximateReceiveCount: String(i + 3),
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:receipts',
      awsRegion: 'eu-west-1',
    })),
  };
}

/** A trust reader over a mocked config bucket holding a document with `mode` and `ca` uploaded. */
function trustStore(mode: TrustMode, pem: string, allowInsecureTrustAll = true): TrustReader {
  const s3 = new S3Client({ region: 'eu-west-1' });
  mockClient(s3)
    .on(GetObjectCommand, { Bucket: BUCKET, Key: 'trust/trust-store.json' })
    .callsFake(() => {
      const text = encodeTrustDocument({ mode, pem, updatedAt: '2030-01-01T00:00:00.000Z' });
      return {
        Body: { transformToString: async () => text },
        ContentLength: Buffer.byteLength(text),
        ETag: '"v1"',
      };
    });
  return new TrustSource({
    store: new S3TrustStore({ s3, bucket: BUCKET }),
    allowInsecureTrustAll,
  });
}

function webhook(url: string, fetch: WebhookFetch, extra: Partial<WebhookConfig> = {}) {
  return createReceiptWebhook({
    config: {
      deletionTableName: TABLE,
      webhookUrl: url,
      timeoutMs: 2_000,
      allowInsecureTrustAll: false,
      ...extra,
    },
    ddb,
    fetch,
    logSink: (l) => lines.push(l),
  });
}

const uploaded = (mode: TrustMode) => trustedFetch(trustStore(mode, ca.cert));
const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  ca = await makeCa('Receipt webhook test CA');
  otherCa = await makeCa('Unrelated test CA');
  trusted = await startTlsServer(await makeLeaf(ca));
  unrelated = await startTlsServer(await makeLeaf(otherCa));
  answers = await startTlsServer(await makeLeaf(ca), {
    handler: (received: ReceivedRequest, res: ServerResponse) => {
      const m = /\/status\/(\d{3})$/.exec(received.path);
      const status = m ? Number(m[1]) : 200;
      if (status === 0) return; // never answers
      res.writeHead(status, {
        'content-type': 'text/plain',
        ...(status >= 300 && status < 400 ? { location: `${trusted.url}/elsewhere` } : {}),
      });
      res.end(`answer ${status}`);
    },
  });
});

afterAll(async () => {
  await Promise.all([trusted.close(), unrelated.close(), answers.close()]);
});

beforeEach(() => {
  lines = [];
  reads.length = 0;
  ddbMock.reset();
  ddbMock.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    reads.push(input);
    const id = input.Key?.deletion_id?.S ?? '';
    return { Item: input.TableName === TABLE ? items.get(id) : undefined };
  });
});

describe('a delivered receipt', () => {
  test('is POSTed once, exactly as the admin API returns it, and verifies', async () => {
    const { id, receipt } = await doneJob();
    const url = `${trusted.url}/hooks/${PATH_CANARY}`;
    const before = trusted.requests.length;
    const event = sqsEvent(receiptMessageBody(id));
    const result = await webhook(url, uploaded('uploaded_and_public'))(event);
    expect(result).toEqual({ batchItemFailures: [] });

    // One consistent read of the job.
    expect(reads).toEqual([
      { TableName: TABLE, Key: { deletion_id: { S: id } }, ConsistentRead: true },
    ]);

    const sent = trusted.requests.slice(before);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/hooks/${PATH_CANARY}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toBe('ephemera-receipt-webhook');
    expect(request.headers[DELETION_ID_HEADER.toLowerCase()]).toBe(id);

    const body = request.body.toString('utf8');
    const payload = JSON.parse(body) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual([
      'deletion_id',
      'status',
      'deadline',
      'counts',
      'receipt',
    ]);
    expect(payload).toMatchObject({
      deletion_id: id,
      status: 'done',
      deadline: '2030-01-02T00:00:00.000Z',
      counts: { records_erased: 41, images_erased: 3 },
    });

    // What GET /v1/user_data/deletions/{id} answers, byte for byte in the receipt.
    const svc = { ddb, config: { deletionTableName: TABLE } } as unknown as AdminServices;
    const req = { id, record: {} } as unknown as AdminRequest;
    const get = await deletionStatus(svc, req);
    const getBody = JSON.parse(String(get.body)) as Record<string, unknown>;
    expect(payload.receipt).toEqual(getBody.receipt);
    const receiptText = (text: string) => text.slice(text.indexOf('"receipt":'), -1);
    expect(receiptText(body)).toBe(receiptText(String(get.body)));
    expect(receiptText(body)).toBe(`"receipt":${receiptJson(receipt)}`);
    for (const key of ['deletion_id', 'status', 'deadline', 'counts']) {
      expect(payload[key]).toEqual(getBody[key]);
    }

    // The receiver can check it offline with the signing key's public half.
    expect(verifyReceipt(payload.receipt as Receipt, publicKeyDer)).toBe(true);
    expect(
      verifyReceipt({ ...(payload.receipt as Receipt), records_erased: 40 }, publicKeyDer),
    ).toBe(false);

    expect(logged()).toEqual([
      {
        event: 'receipt_webhook',
        deletion_id: id,
        outcome: 'delivered',
        status_code: 200,
        attempt: 3,
        duration_ms: expect.any(Number),
      },
    ]);
  });

  test.each([200, 201, 202, 204, 299])('%d is a delivery', async (status) => {
    const { id } = await doneJob();
    const result = await webhook(
      `${answers.url}/status/${status}`,
      uploaded('uploaded_and_public'),
    )(sqsEvent(receiptMessageBody(id)));
    expect(result.batchItemFailures).toEqual([]);
    expect(logged()[0]).toMatchObject({ outcome: 'delivered', status_code: status });
  });
});

describe('failures are reported for their message alone', () => {
  test.each([400, 404, 409, 429, 500, 503])('%d: a batch item failure', async (status) => {
    const { id } = await doneJob();
    const event = sqsEvent(receiptMessageBody(id));
    const result = await webhook(
      `${answers.url}/status/${status}`,
      uploaded('uploaded_and_public'),
    )(event);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logged()[0]).toMatchObject({
      deletion_id: id,
      outcome: 'rejected',
      status_code: status,
      attempt: 3,
    });
  });

  test('a redirect is not followed: a failure, and the other server hears nothing', async () => {
    const { id } = await doneJob();
    const before = trusted.requests.length;
    const result = await webhook(
      `${answers.url}/status/307`,
      uploaded('uploaded_and_public'),
    )(sqsEvent(receiptMessageBody(id)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(trusted.requests.length).toBe(before);
  });

  test('no answer within the timeout: a failure', async () => {
    const { id } = await doneJob();
    const started = Date.now();
    const result = await webhook(`${answers.url}/status/000`, uploaded('uploaded_and_public'), {
      timeoutMs: 300,
    })(sqsEvent(receiptMessageBody(id)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logged()[0]).toMatchObject({
      deletion_id: id,
      outcome: 'timeout',
      error_name: 'TimeoutError',
    });
  });

  test('the timeout holds even against a fetch that ignores the signal', async () => {
    const { id } = await doneJob();
    const never: WebhookFetch = () => new Promise<Response>(() => undefined);
    const result = await webhook(trusted.url, never, { timeoutMs: 200 })(
      sqsEvent(receiptMessageBody(id)),
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logged()[0]).toMatchObject({ outcome: 'timeout' });
  });

  test('nobody listening: a failure', async () => {
    const { id } = await doneJob();
    const result = await webhook(
      'https://127.0.0.1:9/hook',
      uploaded('uploaded_and_public'),
    )(sqsEvent(receiptMessageBody(id)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(logged()[0]).toMatchObject({
      outcome: 'network_error',
      error_name: 'TypeError',
      error_code: 'ECONNREFUSED',
    });
  });

  test('a malformed message fails (to end in the dead-letter queue) and its body is never logged', async () => {
    const { id } = await doneJob();
    const before = trusted.requests.length;
    const event = sqsEvent(
      BODY_CANARY,
      JSON.stringify({ deletion_id: id, note: BODY_CANARY }),
      id,
      receiptMessageBody(id),
    );
    const result = await webhook(trusted.url, uploaded('uploaded_and_public'))(event);
    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: 'msg-0' },
      { itemIdentifier: 'msg-1' },
      { itemIdentifier: 'msg-2' },
    ]);
    // The good message in the same batch is delivered; the bad ones reach nobody.
    expect(trusted.requests.length).toBe(before + 1);
    const lineOf = (attempt: number) => logged().find((l) => l.attempt === attempt);
    for (const attempt of [3, 4, 5]) {
      expect(lineOf(attempt)).toEqual({
        event: 'receipt_webhook',
        outcome: 'malformed',
        attempt,
        duration_ms: expect.any(Number),
      });
    }
    expect(lineOf(6)).toMatchObject({ outcome: 'delivered', deletion_id: id });
    expect(lines.join('\n')).not.toContain('CANARY');
    expect(lines.join('\n')).not.toContain('example.com');
  });

  test('a job that does not exist, is not done, or cannot be read: failures, nothing sent', async () => {
    const unknown = newDeletionId();
    const open = newDeletionId();
    items.set(open, newJobItem(open, CUSTOMER_HASH, new Date('2030-01-01T00:00:00.000Z')));
    const broken = newDeletionId();
    ddbMock
      .on(GetItemCommand, { Key: { deletion_id: { S: broken } } })
      .rejects(
        Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }),
      );
    const before = trusted.requests.length;
    const event = sqsEvent(
      receiptMessageBody(unknown),
      receiptMessageBody(open),
      receiptMessageBody(broken),
    );
    const result = await webhook(trusted.url, uploaded('uploaded_and_public'))(event);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      'msg-0',
      'msg-1',
      'msg-2',
    ]);
    expect(trusted.requests.length).toBe(before);
    const byId = (id: string) => logged().find((l) => l.deletion_id === id);
    expect(byId(unknown)).toMatchObject({ outcome: 'unknown_job' });
    expect(byId(open)).toMatchObject({ outcome: 'not_done' });
    expect(byId(broken)).toMatchObject({
      outcome: 'read_failed',
      error_name: 'ProvisionedThroughputExceededException',
    });
  });

  test('a trust store that cannot be read fails closed: nothing sent', async () => {
    const { id } = await doneJob();
    const s3 = new S3Client({ region: 'eu-west-1' });
    mockClient(s3)
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const reader = new TrustSource({ store: new S3TrustStore({ s3, bucket: BUCKET }) });
    const before = trusted.requests.length;
    const result = await webhook(
      trusted.url,
      trustedFetch(reader),
    )(sqsEvent(receiptMessageBody(id)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(trusted.requests.length).toBe(before);
    expect(logged()[0]).toMatchObject({ outcome: 'network_error', error_name: 'TrustStoreError' });
  });
});

describe('outbound trust follows the trust store', () => {
  /** Delivers one receipt to `server` through `fetch`: delivered, or refused. */
  async function reach(server: TlsServer, fetch: WebhookFetch): Promise<boolean> {
    const { id } = await doneJob();
    const before = server.requests.length;
    const result = await webhook(server.url, fetch)(sqsEvent(receiptMessageBody(id)));
    const delivered = result.batchItemFailures.length === 0;
    expect(server.requests.length).toBe(before + (delivered ? 1 : 0));
    return delivered;
  }

  test.each([
    ['uploaded_and_public', true, false],
    ['uploaded_only', true, false],
    ['insecure_trust_all', true, true],
  ] as const)(
    '%s: a server of the uploaded CA reached: %s; of an unrelated CA: %s',
    async (mode, trustedReached, unrelatedReached) => {
      const fetch = uploaded(mode);
      expect(await reach(trusted, fetch)).toBe(trustedReached);
      expect(await reach(unrelated, fetch)).toBe(unrelatedReached);
      if (!unrelatedReached) {
        expect(logged()[1]).toMatchObject({
          outcome: 'network_error',
          error_name: 'TypeError',
          error_code: expect.stringMatching(/CERT|VERIFY|SIGNATURE/),
        });
      }
    },
  );

  test('insecure_trust_all left in the store, where the deployment does not allow it: verified anyway', async () => {
    const fetch = trustedFetch(trustStore('insecure_trust_all', ca.cert, false));
    expect(await reach(trusted, fetch)).toBe(true);
    expect(await reach(unrelated, fetch)).toBe(false);
  });

  test('uploaded_only with nothing uploaded reaches nobody', async () => {
    const fetch = trustedFetch(trustStore('uploaded_only', ''));
    expect(await reach(trusted, fetch)).toBe(false);
  });

  test('without a config bucket (public CAs only), a private CA is refused', async () => {
    expect(await reach(trusted, trustedFetch(PUBLIC_ONLY))).toBe(false);
  });
});

describe('configuration', () => {
  const env = { DELETION_TABLE_NAME: TABLE, RECEIPT_WEBHOOK_URL: 'https://hooks.example.com/r' };

  test('defaults: a 10-second timeout, public CAs only', () => {
    expect(parseWebhookConfig(env)).toEqual({
      deletionTableName: TABLE,
      webhookUrl: 'https://hooks.example.com/r',
      timeoutMs: 10_000,
      allowInsecureTrustAll: false,
    });
    expect(parseWebhookConfig({ ...env, CONFIG_BUCKET_NAME: BUCKET }).configBucketName).toBe(
      BUCKET,
    );
  });

  test.each([
    [
      'http://hooks.example.com/r',
      'must be an https:// URL without credentials, query or fragment',
    ],
    ['https://hooks.example.com/r?token=secret-canary', 'must be an https:// URL'],
    ['https://hooks.example.com/r#secret-canary', 'must be an https:// URL'],
    ['https://user:secret-canary@hooks.example.com/r', 'must not carry credentials'],
    ['not a url secret-canary', 'must be an https:// URL'],
  ])('%s is refused at cold start, without repeating it', (url, problem) => {
    let message = '';
    try {
      parseWebhookConfig({ ...env, RECEIPT_WEBHOOK_URL: url });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('Invalid receipt webhook configuration: RECEIPT_WEBHOOK_URL');
    expect(message).toContain(problem);
    expect(message).not.toContain('secret-canary');
    expect(message).not.toContain('hooks.example.com');
  });

  test('the table and the URL are required', () => {
    expect(() => parseWebhookConfig({})).toThrow(
      'Invalid receipt webhook configuration: DELETION_TABLE_NAME is required (a DynamoDB table name); RECEIPT_WEBHOOK_URL is required',
    );
  });
});

test('log lines: metadata fields only, never a receipt, a URL path or a message body', () => {
  // Every line written by this file's tests (each was also checked after its test).
  expect(allLines.length).toBeGreaterThan(30);
  const text = allLines.join('\n');
  for (const canary of CANARIES) expect(text).not.toContain(canary);
  for (const line of allLines) {
    for (const field of Object.keys(JSON.parse(line) as object)) {
      expect(['event', ...Object.keys(WEBHOOK_LOG_SCHEMA)]).toContain(field);
    }
  }
});

afterEach(() => {
  allLines.push(...lines);
  const text = lines.join('\n');
  for (const canary of CANARIES) expect(text).not.toContain(canary);
  for (const line of logged()) {
    for (const field of Object.keys(line)) {
      expect(['event', ...Object.keys(WEBHOOK_LOG_SCHEMA)]).toContain(field);
    }
  }
});
