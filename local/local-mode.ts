/**
 * Local mode: the real handlers behind an HTTPS server on 127.0.0.1, with
 * local stand-ins for the AWS services they call, so the HTTP contract can be
 * tried (and tested end to end) without an AWS account.
 *
 * | In AWS | Here |
 * |---|---|
 * | ALB listener (TLS 1.3 + 1.2), rules, Lambda targets | `node:https` with `minVersion: 'TLSv1.2'` and `./front-door` |
 * | ACM certificate | a local CA and server certificate (`./certificate`) |
 * | DynamoDB tables, image bucket | dynalite and s3rver (over HTTPS) (`./stores`) |
 * | KMS (GenerateMac, Sign, GetPublicKey) | `./kms`, the KMS JSON protocol |
 * | SQS deletion queue + event source mapping | `./in-memory-deletion-queue` |
 * | EventBridge schedule of the image sweeper | a 10-second timer |
 * | Bedrock or the configured upstream | `EPHEMERA_UPSTREAM_URL`, else the demo model (`./demo-model`) |
 *
 * Each handler is created with the same config parser and factory as its
 * Lambda entry point; a new handler plugs in as one more entry in `routes`.
 * The watchdog is not run: its alarms go to an SNS topic that has no local
 * counterpart.
 *
 * Bounds: one local mode per data folder (`./data-lock`); a full disk makes
 * requests answer 503 until there is room again, and stops nothing
 * (`./storage-guard`); the front door keeps the deployed deadlines
 * (`./front-door`). The receipt-signing public key is written to the data
 * folder as PEM, so receipts can be checked with openssl.
 */

import { randomBytes, createPublicKey } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import {
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { parseModels, type ModelConfig } from '../lib/core/models';
import { ADMIN_PATH_PATTERNS } from '../lib/core/routes';
import { DELETION_PENDING_INDEX } from '../lib/core/tables';
import {
  erasureQueueDelaySeconds,
  erasureWaitSeconds,
  upstreamTimeoutMs,
} from '../lib/core/request-deadlines';
import { checkUpstreamBaseUrl } from '../lib/core/upstream-url';
import { adminEnv } from '../lib/core/env/admin';
import { deletionWorkerEnv } from '../lib/core/env/deletion-worker';
import { gatewayEnv } from '../lib/core/env/gateway';
import { imageSweeperEnv } from '../lib/core/env/image-sweeper';
import { settingDefault } from '../lib/core/handler-env';
import { readSweeperConfig } from '../lambda/image-sweeper/config';
import { createAdminHandler } from '../lambda/admin/admin';
import { parseAdminConfig } from '../lambda/admin/config';
import { parseWorkerConfig } from '../lambda/deletion-worker/config';
import { LEASE_MS } from '../lambda/deletion-worker/job-store';
import { createWorker } from '../lambda/deletion-worker/worker';
import { parseConfig } from '../lambda/gateway/config';
import { createHandler as createGateway } from '../lambda/gateway/gateway';
import { createUpstream } from '../lambda/gateway/upstreams';
import { createHandler as createSweeper, SWEEP_LOG_SCHEMA } from '../lambda/image-sweeper/sweep';
import { createAllowlistLogger, type LineSink } from '../lambda/shared/allowlist-logger';
import { createKmsHasher } from '../lib/core/keyed-hash';
import type { JobQueue } from '../lambda/shared/deletion-queue';
import { KeyStore } from '../lib/core/key-store';
import { trustedFetch, type FetchLike } from '../lambda/shared/trust/trusted-fetch';
import { S3TrustStore, TrustSource } from '../lambda/shared/trust/trust-source';
import { ensureLocalCertificate, tlsServerOptions } from './certificate';
import {
  DEMO_CHAT_MODEL,
  DEMO_EMBEDDING_MODEL,
  DEMO_IMAGE_MODEL,
  startDemoModel,
} from './demo-model';
import { DataFolderInUse, lockDataFolder } from './data-lock';
import {
  frontDoor,
  frontDoorServerOptions,
  type LocalHandler,
  type LocalRoute,
} from './front-door';
import { localJobQueue } from './in-memory-deletion-queue';
import { leaseWait, reclaimLease } from './job-leases';
import { startLocalKms } from './kms';
import { isNoSpaceError, storageFull, storageGuard, type StorageGuard } from './storage-guard';
import { LOCAL_REGION, startLocalStores, type LocalCredentials, type StoreNames } from './stores';

/** A start that cannot go on, with a one-line reason for the user. */
/** Locally the gateway re-reads the trust store every second (60 s when deployed), so changes show at once. */
const TRUST_MAX_AGE_MS = 1_000;

export class LocalModeError extends Error {
  override readonly name = 'LocalModeError';
}

export const DEFAULT_PORT = 8443;
export const DEFAULT_DATA_DIR = '.ephemera';
/** The `imageTtlMinutes` default, in seconds. */
export const DEFAULT_IMAGE_TTL_SECONDS = settingDefault('imageTtlMinutes', 60);
/**
 * Local trials may keep images for as little as a second (a deployment's
 * minimum is `imageTtlMinutes`' 5 minutes); the longest is the deployment's.
 */
export const IMAGE_TTL_RANGE = { min: 1, max: gatewayEnv.vars.imageTtlSeconds.range.max } as const;
/** The gateway's contract with local mode's image TTL range: the TTL given is the TTL read. */
const LOCAL_GATEWAY_ENV = gatewayEnv.withRanges({ imageTtlSeconds: IMAGE_TTL_RANGE });
export const SWEEP_INTERVAL_SECONDS = 10;
/** The longest a request may run, as the deployed gateway function's default timeout. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 300;
export const REQUEST_TIMEOUT_RANGE = { min: 2, max: 900 } as const;
/** The deletion worker's time budget (its function's timeout). */
const WORKER_TIMEOUT_MS = 15 * 60_000;
/** Stands in for the queue URL the handlers' parsers require; nothing calls it. */
const LOCAL_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/ephemera-local-deletions';
/** How long the upstream has to answer `GET /v1/models` at start. */
const UPSTREAM_PROBE_MS = 5_000;
/** The receipt-signing public key (PEM), in the data folder (in memory: next to the CA certificate). */
export const RECEIPT_KEY_FILE = 'receipt-signing-key.pem';

export interface LocalModeOptions {
  /** @default 8443 (0: any free port) */
  readonly port?: number;
  /** Where state lives. @default '.ephemera' */
  readonly dataDir?: string;
  /** Keep nothing on disk. @default false */
  readonly inMemory?: boolean;
  /** An OpenAI-compatible server (`http://` for loopback hosts only). @default - the demo model */
  readonly upstreamUrl?: string;
  /**
   * The models offered, as the `models` configuration key writes them (JSON).
   * @default - with an upstream URL, every model it lists, as chat models; else the demo's
   */
  readonly modelsJson?: string;
  /** @default 3600 */
  readonly imageTtlSeconds?: number;
  /** The demo model's delay between streamed words. @default 25 */
  readonly demoWordDelayMs?: number;
  /** Whether the trust store may be set to `insecure_trust_all`. @default false */
  readonly allowInsecureTrustAll?: boolean;
  /**
   * The longest a request may run, in seconds (the deployed gateway's
   * `gatewayTimeoutSeconds`). The upstream's deadline and the erasure wait
   * (how long a deletion job waits so that requests in flight are erased
   * too) follow from it exactly as they do when deployed.
   * @default 300
   */
  readonly requestTimeoutSeconds?: number;
  /** Where the handlers' log lines go. @default stdout */
  readonly logSink?: LineSink;
  /** Records the deletion worker reads and erases per page (1-1000). @default 1000 (as deployed) */
  readonly deletionPageSize?: number;
}

export interface LocalMode {
  readonly url: string;
  readonly port: number;
  readonly caCertPath: string;
  /** The receipt-signing public key as PEM, for `openssl dgst -verify` (EPHEMERA_RECEIPT_KEY). */
  readonly receiptKeyPath: string;
  /** Where state lives; undefined in memory. */
  readonly dataDir?: string;
  /** Keys made by this start (first start only). */
  readonly adminKey?: string;
  readonly inferenceKey?: string;
  /** True when the built-in demo model answers. */
  readonly demo: boolean;
  readonly upstreamOrigin?: string;
  /** Why the upstream may not answer yet (its certificate is not trusted). */
  readonly upstreamWarning?: string;
  readonly models: readonly ModelConfig[];
  readonly imageTtlSeconds: number;
  /** The local AWS stand-ins, for tests and tools that look inside (loopback only). */
  readonly services: {
    readonly dynamodb: string;
    readonly s3: string;
    readonly kms: string;
    readonly names: StoreNames;
    /** This run's random credentials: the stand-ins refuse requests not signed (SigV4) with them. */
    readonly credentials: LocalCredentials;
  };
  stop(): Promise<void>;
}

/** Checks the options; throws {@link LocalModeError} with a one-line reason. */
export function checkOptions(options: LocalModeOptions): void {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new LocalModeError('--port must be a whole number from 1 to 65535');
  }
  const ttl = options.imageTtlSeconds ?? DEFAULT_IMAGE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < IMAGE_TTL_RANGE.min || ttl > IMAGE_TTL_RANGE.max) {
    throw new LocalModeError(
      `EPHEMERA_IMAGE_TTL_SECONDS must be a whole number from ${IMAGE_TTL_RANGE.min} to ${IMAGE_TTL_RANGE.max}`,
    );
  }
  if (options.upstreamUrl !== undefined) {
    const checked = checkUpstreamBaseUrl(options.upstreamUrl, { allowLoopbackHttp: true });
    if (!checked.ok) throw new LocalModeError(`EPHEMERA_UPSTREAM_URL ${checked.problem}`);
  }
  const timeout = options.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
  if (
    !Number.isInteger(timeout) ||
    timeout < REQUEST_TIMEOUT_RANGE.min ||
    timeout > REQUEST_TIMEOUT_RANGE.max
  ) {
    throw new LocalModeError(
      `EPHEMERA_REQUEST_TIMEOUT_SECONDS must be a whole number from ${REQUEST_TIMEOUT_RANGE.min} to ${REQUEST_TIMEOUT_RANGE.max}`,
    );
  }
}

/** Makes the data folder (0700) and checks that it can be read and written. */
function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode leaves an existing folder as it is (and the umask applies): the owner's only.
    chmodSync(dir, 0o700);
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new LocalModeError(
      `cannot use the data folder ${dir} (${code}): choose another with EPHEMERA_DATA_DIR, or use --in-memory`,
    );
  }
}

/** Takes the data folder's lock (`./data-lock`); a one-line error when another local mode has it. */
function lockData(dir: string): () => void {
  try {
    return lockDataFolder(dir).release;
  } catch (err) {
    if (err instanceof DataFolderInUse) throw new LocalModeError(err.message);
    const code = (err as { code?: string }).code ?? 'error';
    throw new LocalModeError(
      `cannot lock the data folder ${dir} (${code}): choose another with EPHEMERA_DATA_DIR, or use --in-memory`,
    );
  }
}

/** Writes the receipt-signing public key (as GetPublicKey gives it) as PEM, atomically. */
async function writeReceiptKey(kms: KMSClient, keyId: string, file: string): Promise<void> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const pem = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, pem, { mode: 0o644, flag: 'wx' });
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** What the upstream said to `GET /v1/models`. */
type UpstreamProbe =
  | { readonly kind: 'models'; readonly ids: string[] }
  | { readonly kind: 'untrusted'; readonly code: string };

/** TLS errors that mean "a server answered, with a certificate the trust store does not trust". */
const CERTIFICATE_ERROR =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_\w+|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * Asks the upstream for its models, over the trust store's TLS; a one-line
 * error when it does not answer, and `untrusted` when it answers with a
 * certificate the trust store does not (yet) trust.
 */
async function probeUpstream(baseUrl: string, fetchWith: FetchLike): Promise<UpstreamProbe> {
  const origin = new URL(baseUrl).origin;
  let res: Response;
  try {
    res = await fetchWith(`${baseUrl}/v1/models`, {
      method: 'GET',
      signal: AbortSignal.timeout(UPSTREAM_PROBE_MS),
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = (err as { code?: string }).code ?? cause?.code;
    if (code && CERTIFICATE_ERROR.test(code)) return { kind: 'untrusted', code };
    const why = code ?? cause?.message ?? (err as Error).name;
    throw new LocalModeError(
      `the upstream at ${origin} does not answer (${why}): start it, or unset EPHEMERA_UPSTREAM_URL to use the demo model`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new LocalModeError(
      `the upstream at ${origin} answered GET /v1/models with ${res.status}: is it an OpenAI-compatible server?`,
    );
  }
  const parsed = (await res.json().catch(() => undefined)) as { data?: unknown } | undefined;
  const ids = Array.isArray(parsed?.data)
    ? parsed.data.flatMap((m: unknown) =>
        typeof (m as { id?: unknown })?.id === 'string' ? [(m as { id: string }).id] : [],
      )
    : undefined;
  if (!ids) {
    throw new LocalModeError(
      `the upstream at ${origin} answered GET /v1/models without a model list: is it an OpenAI-compatible server?`,
    );
  }
  return { kind: 'models', ids };
}

/** A Lambda-like time budget from now. */
function budget(ms: number): { getRemainingTimeInMillis(): number } {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
}

/** Parses a model list with the deployment's parser; a one-line error when it is wrong. */
function modelsFrom(json: string): ModelConfig[] {
  const problems: string[] = [];
  const models = parseModels(json, problems, 'EPHEMERA_MODELS');
  if (problems.length > 0) throw new LocalModeError(problems.join('; '));
  return models;
}

/**
 * Queues every job still open (queued or running when local mode last
 * stopped). This process owns the data folder, so a lease such a job still
 * holds is a dead run's: it is cleared first, and the job resumes at once
 * (see `./job-leases`).
 */
async function requeueOpenJobs(
  ddb: DynamoDBClient,
  tableName: string,
  queue: JobQueue,
): Promise<void> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: DELETION_PENDING_INDEX,
        KeyConditionExpression: '#pending = :p',
        ExpressionAttributeNames: { '#pending': 'pending' },
        ExpressionAttributeValues: { ':p': { S: '1' } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const id = item.deletion_id?.S;
      if (!id) continue;
      await reclaimLease(ddb, tableName, id);
      await queue.send(id, 0);
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new LocalModeError(
            `port ${port} on 127.0.0.1 is in use: stop what uses it, or choose another with --port`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new LocalModeError(`port ${port} needs privileges: choose one above 1023 with --port`),
        );
      } else {
        reject(new LocalModeError(`cannot listen on 127.0.0.1:${port} (${err.code ?? 'error'})`));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolvePort((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/**
 * Starts local mode. Everything started is stopped again if a later step
 * fails, so a failed start leaves nothing running.
 */
export async function startLocalMode(options: LocalModeOptions = {}): Promise<LocalMode> {
  checkOptions(options);
  const inMemory = options.inMemory === true;
  const dataDir = inMemory ? undefined : resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  if (dataDir) prepareDataDir(dataDir);
  const imageTtlSeconds = options.imageTtlSeconds ?? DEFAULT_IMAGE_TTL_SECONDS;
  const requestTimeoutSeconds = options.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  // Before anything touches the folder; released last.
  if (dataDir) stops.push(lockData(dataDir));

  try {
    const cert = await ensureLocalCertificate(dataDir ? resolve(dataDir, 'tls') : undefined);
    stops.push(() => cert.dispose());

    // Listen first: a port in use is the most common bad start, and the cheapest to report.
    const routes: LocalRoute[] = [];
    // The stores' guard against a full disk, made once they run.
    const storage: { guard?: StorageGuard } = {};
    const timeoutMs = requestTimeoutSeconds * 1000;
    const server = createServer(
      { ...tlsServerOptions(cert), ...frontDoorServerOptions(timeoutMs) },
      frontDoor(routes, {
        timeoutMs,
        refuse: () => (storage.guard?.full ? storageFull() : undefined),
      }),
    );
    const port = await listen(server, options.port ?? DEFAULT_PORT);
    stops.push(
      () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    );

    // The AWS services.
    const stores = await startLocalStores({
      ...(dataDir ? { dir: resolve(dataDir, 'stores') } : {}),
      inMemory,
      s3Tls: { cert: cert.certPem, key: cert.keyPem, ca: cert.caCertPem },
      onStoreError: (err) => storage.guard?.report(err),
    });
    stops.push(() => stores.stop());
    const guard = storageGuard({
      dir: stores.dir,
      recover: () => stores.reopen(),
      onChange: (full) =>
        process.stderr.write(
          full
            ? `Local storage is full (${stores.dir}): requests are answered 503 until there is room again\n`
            : 'There is room again: local mode serves requests again\n',
        ),
    });
    storage.guard = guard;
    stops.push(() => guard.stop());
    // One set of random credentials for this run: only this process can use the stand-ins.
    const kmsServer = await startLocalKms({
      ...(dataDir ? { stateFile: resolve(dataDir, 'kms.json') } : {}),
      credentials: stores.credentials,
    });
    stops.push(() => kmsServer.stop());
    const kms = new KMSClient({
      endpoint: kmsServer.endpoint,
      region: LOCAL_REGION,
      credentials: stores.credentials,
    });
    stops.push(() => kms.destroy());
    const { ddb, s3, names } = stores;
    const receiptKeyPath = resolve(dataDir ?? dirname(cert.caCertPath), RECEIPT_KEY_FILE);
    await writeReceiptKey(kms, kmsServer.signingKeyArn, receiptKeyPath);

    // The outbound trust store, read as the gateway reads it (every second here).
    const trust = new TrustSource({
      store: new S3TrustStore({ s3, bucket: names.configBucket! }),
      allowInsecureTrustAll: options.allowInsecureTrustAll ?? false,
      maxAgeMs: TRUST_MAX_AGE_MS,
    });

    // The upstream: the user's server, or the demo model.
    let upstreamUrl: string;
    let models: ModelConfig[];
    let upstreamWarning: string | undefined;
    if (options.upstreamUrl !== undefined) {
      const checked = checkUpstreamBaseUrl(options.upstreamUrl, { allowLoopbackHttp: true });
      upstreamUrl = checked.ok ? checked.url : '';
      const probe = await probeUpstream(upstreamUrl, trustedFetch(trust));
      if (probe.kind === 'untrusted') {
        upstreamWarning = `its certificate is not trusted (${probe.code}): upload its CA with PUT /v1/trust/certificates (see the outbound trust store in docs/http-api.md)`;
        if (!options.modelsJson) {
          throw new LocalModeError(
            `the upstream at ${new URL(upstreamUrl).origin} presents a certificate this trust store does not trust (${probe.code}): name its models with EPHEMERA_MODELS to start anyway, then upload its CA with PUT /v1/trust/certificates`,
          );
        }
      }
      models = options.modelsJson
        ? modelsFrom(options.modelsJson)
        : (probe.kind === 'models' ? probe.ids : []).flatMap((id) =>
            modelsFrom(JSON.stringify([{ id, upstreamId: id, kind: 'chat' }])),
          );
      if (models.length === 0) {
        throw new LocalModeError(
          'the upstream lists no models: pull or load one, or name them with EPHEMERA_MODELS',
        );
      }
    } else {
      const demo = await startDemoModel({
        ...(options.demoWordDelayMs !== undefined ? { wordDelayMs: options.demoWordDelayMs } : {}),
      });
      stops.push(() => demo.stop());
      upstreamUrl = demo.baseUrl;
      models = modelsFrom(
        options.modelsJson ??
          JSON.stringify([
            { id: DEMO_CHAT_MODEL, upstreamId: DEMO_CHAT_MODEL, kind: 'chat' },
            { id: DEMO_IMAGE_MODEL, upstreamId: DEMO_IMAGE_MODEL, kind: 'image' },
            { id: DEMO_EMBEDDING_MODEL, upstreamId: DEMO_EMBEDDING_MODEL, kind: 'embedding' },
          ]),
      );
    }

    // The handlers' environments, written through their contracts as the
    // constructs write them, and read by the handlers' own parsers.
    const tables = {
      usageTableName: names.usageTable,
      keyTableName: names.keyTable,
      deletionTableName: names.deletionTable,
    };
    const trustStore = {
      configBucketName: names.configBucket!,
      allowInsecureTrustAll: options.allowInsecureTrustAll ?? false,
    };
    const metadataRetentionDays = settingDefault('metadataRetentionDays');
    const parsed = parseConfig(
      gatewayEnv.write({
        ...tables,
        ...trustStore,
        imageBucketName: names.imageBucket,
        hmacKeyId: kmsServer.hmacKeyArn,
        upstreamKind: 'openai-compatible',
        // The gateway's own parser accepts https only; the loopback URL checked
        // above replaces this placeholder below.
        upstreamBaseUrl: 'https://upstream.local.invalid',
        models,
        imageTtlSeconds,
        metadataRetentionDays,
        // As deployed: every deadline follows from the longest request.
        upstreamTimeoutMs: upstreamTimeoutMs(requestTimeoutSeconds),
        ...gatewayEnv.fromSettings(),
      }),
      LOCAL_GATEWAY_ENV,
    );
    const gatewayConfig = {
      ...parsed,
      upstream: { kind: 'openai-compatible' as const, baseUrl: upstreamUrl },
    };
    const logSink = options.logSink;
    const logs = logSink ? { logSink } : {};

    // The queue feeds the worker, which hands long jobs back to the queue.
    const workerConfig = parseWorkerConfig(
      deletionWorkerEnv.write({
        ...tables,
        imageBucketName: names.imageBucket,
        signingKeyId: kmsServer.signingKeyArn,
        deletionQueueUrl: LOCAL_QUEUE_URL,
        erasureWaitSeconds: erasureWaitSeconds(requestTimeoutSeconds),
        pageSize: options.deletionPageSize,
      }),
    );
    // As in AWS, a failed delivery stays invisible at least as long as the
    // worker's lease, unless the job's lease is free sooner (released by a
    // failed run): then it is retried after a few seconds.
    // After each delivery the store is compacted, so what a job erased is
    // gone from the data folder's files too, not only from the tables.
    // While the storage is full a delivery waits for room, so that a full
    // disk does not count against the job's deliveries.
    const deliver = async (event: Parameters<typeof worker>[0]) => {
      await guard.room();
      if (guard.full) {
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      }
      try {
        return await worker(event, budget(WORKER_TIMEOUT_MS));
      } finally {
        await stores.compact().catch(() => undefined);
      }
    };
    const queue = localJobQueue(deliver, {
      visibilityTimeoutSeconds: LEASE_MS / 1000,
      visibleAgainIn: leaseWait(ddb, names.deletionTable),
      onDeadLetter: () => {
        process.stderr.write('A deletion job failed 5 times and was set aside (the DLQ in AWS)\n');
      },
    });
    stops.push(() => queue.stop());
    // Before the queue stops: a delivery waiting for room goes on (and fails) at once.
    stops.push(() => guard.stop());
    const worker = createWorker({ config: workerConfig, ddb, s3, kms, queue, ...logs });

    // One reader of the trust store for the upstream's TLS and the warning header.
    const gateway = createGateway({
      config: gatewayConfig,
      ddb,
      kms,
      s3,
      upstream: createUpstream(gatewayConfig, { trust }),
      trust,
      ...logs,
    });
    const admin = createAdminHandler({
      config: parseAdminConfig(
        adminEnv.write({
          ...tables,
          ...trustStore,
          deletionQueueUrl: LOCAL_QUEUE_URL,
          hmacKeyId: kmsServer.hmacKeyArn,
          metadataRetentionDays,
          deletionDelaySeconds: erasureQueueDelaySeconds(requestTimeoutSeconds),
        }),
      ),
      ddb,
      kms,
      s3,
      queue,
      ...logs,
    });

    // The listener rules: the admin paths, then the gateway for everything else.
    routes.push(
      { paths: ADMIN_PATH_PATTERNS, handler: admin as LocalHandler },
      { paths: [], handler: gateway as LocalHandler },
    );

    // The image sweeper's schedule; a run's line is printed only when it did something.
    const sweepLog = createAllowlistLogger('sweep', SWEEP_LOG_SCHEMA, logSink);
    const sweep = createSweeper({
      s3,
      ...readSweeperConfig(imageSweeperEnv.write({ bucketName: names.imageBucket })),
      logger: { write: (r) => (r.deleted || r.errors ? sweepLog.write(r) : undefined) },
    });
    let sweeping: Promise<unknown> = Promise.resolve();
    const sweepTimer = setInterval(() => {
      sweeping = sweeping.then(() => sweep(undefined, budget(60_000)).catch(() => undefined));
    }, SWEEP_INTERVAL_SECONDS * 1000);
    stops.push(async () => {
      clearInterval(sweepTimer);
      await sweeping;
    });

    // Jobs still open from an earlier run are queued again.
    await requeueOpenJobs(ddb, names.deletionTable, queue);

    // First start: an admin key and an inference key.
    const keys = new KeyStore({
      ddb,
      tableName: names.keyTable,
      hasher: createKmsHasher({ kms, keyId: kmsServer.hmacKeyArn }),
    });
    const existing = await ddb.send(new ScanCommand({ TableName: names.keyTable, Limit: 1 }));
    let adminKey: string | undefined;
    let inferenceKey: string | undefined;
    if ((existing.Items ?? []).length === 0) {
      adminKey = (await keys.create({ name: 'local-admin', scopes: ['admin'] })).key;
      inferenceKey = (await keys.create({ name: 'local-inference', scopes: ['inference'] })).key;
    }

    return {
      url: `https://127.0.0.1:${port}`,
      port,
      caCertPath: cert.caCertPath,
      receiptKeyPath,
      ...(dataDir ? { dataDir } : {}),
      ...(adminKey ? { adminKey } : {}),
      ...(inferenceKey ? { inferenceKey } : {}),
      demo: options.upstreamUrl === undefined,
      ...(options.upstreamUrl !== undefined ? { upstreamOrigin: new URL(upstreamUrl).origin } : {}),
      ...(upstreamWarning ? { upstreamWarning } : {}),
      models,
      imageTtlSeconds,
      services: {
        dynamodb: stores.ddbEndpoint,
        s3: stores.s3Endpoint,
        kms: kmsServer.endpoint,
        names,
        credentials: stores.credentials,
      },
      stop,
    };
  } catch (err) {
    await stop();
    if (!(err instanceof LocalModeError) && isNoSpaceError(err)) {
      throw new LocalModeError(
        `the disk that holds ${dataDir ?? 'the temporary folder'} is full (ENOSPC): free some space${dataDir ? ', or choose another folder with EPHEMERA_DATA_DIR' : ''}`,
      );
    }
    throw err;
  }
}
