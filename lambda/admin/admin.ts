/**
 * The admin API (promises P7 and P8): erasure requests and their status,
 * log queries, API keys. Only keys with the `admin` scope get in; an
 * inference key is a 403. Every request writes one metadata-only log line
 * (the customer as its keyed hash); nothing writes or deletes a usage record
 * or touches an image here.
 *
 * Per request: route (404/405) → API key (401/403/429/503) → the route.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LineSink } from '../shared/allowlist-logger';
import { authenticate, type KeyVerifier } from '../shared/authenticate';
import {
  toFrontDoorResult,
  toHttpRequest,
  type FrontDoorEvent,
  type FrontDoorResult,
  type HttpResult,
} from '../shared/http-event';
import { HttpError, MESSAGES } from '../shared/http-errors';
import { errorResult, jsonResult } from '../shared/http-results';
import type { JobQueue } from '../shared/deletion-queue';
import { createKmsHasher, type KeyedHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import { USAGE_METHODS } from '../shared/usage-record';
import { createAdminLogger, type AdminLogRecord } from './admin-log';
import type { AdminConfig } from './config';
import type { AdminRequest, AdminServices } from './context';
import { deletionStatus, requestErasure } from './erasure';
import { createKey, listKeys, revokeKey, rotateKey } from './keys';
import { queryLogs } from './logs';
import { matchAdminRoute, type AdminRoute } from './routes';
import { unroutedError } from '../shared/router';
import {
  deleteCertificates,
  getCertificates,
  getTrust,
  putCertificates,
  putMode,
  recordedTrustMode,
} from './trust';
import { requestIdOf, type InvocationContext } from '../shared/request-id';
import { RETENTION_HEADER, retentionHeader } from '../shared/retention-header';
import type { TrustMode } from '../shared/trust/trust-document';
import { S3TrustStore, TrustSource } from '../shared/trust/trust-source';
import { trustWarningHeaders, trustWarningText } from '../shared/trust/warning';
import { warningHeader } from '../shared/warning-header';

export interface AdminDeps {
  readonly config: AdminConfig;
  readonly ddb: DynamoDBClient;
  readonly kms: KMSClient;
  /** Where deletion job ids go. */
  readonly queue: JobQueue;
  /** Where log lines go. @default stdout */
  readonly logSink?: LineSink;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default a KMS GenerateMac hasher on `config.hmacKeyId` */
  readonly hasher?: KeyedHasher;
  /**
   * S3 for the trust store in `config.configBucketName` (required when it is
   * set). Without a bucket the trust routes answer 404.
   */
  readonly s3?: S3Client;
}

export type AdminHandler = (
  event: FrontDoorEvent,
  context?: InvocationContext,
) => Promise<FrontDoorResult>;

type Route = (svc: AdminServices, req: AdminRequest) => Promise<HttpResult>;

const ROUTES: Record<Exclude<AdminRoute, 'healthz'>, Route> = {
  user_data_delete: requestErasure,
  deletion_status: deletionStatus,
  logs: queryLogs,
  keys_create: createKey,
  keys_list: listKeys,
  keys_rotate: rotateKey,
  keys_revoke: revokeKey,
  trust_get: getTrust,
  trust_certs_put: putCertificates,
  trust_certs_get: getCertificates,
  trust_certs_delete: deleteCertificates,
  trust_mode_put: putMode,
};

/** What an erasure request leaves: the job, kept for audit. */
const DELETION_JOB_DAYS = 400;

export function createAdminHandler(deps: AdminDeps): AdminHandler {
  const { config } = deps;
  const now = deps.now ?? (() => new Date());
  const hasher = deps.hasher ?? createKmsHasher({ kms: deps.kms, keyId: config.hmacKeyId });
  const keys = new KeyStore({
    ddb: deps.ddb,
    tableName: config.keyTableName,
    hasher,
    now,
    maxExpiresInDays: config.maxKeyAgeDays,
  });
  const verifier: KeyVerifier = keys;
  const trust = trustServices(deps);
  const svc: AdminServices = {
    config,
    ddb: deps.ddb,
    hasher,
    keys,
    queue: deps.queue,
    now,
    ...(trust ? { trust } : {}),
  };
  const logger = createAdminLogger(deps.logSink);

  /**
   * The mode the warning header reflects: what a trust route just read or
   * wrote, else the cached trust store. A store that cannot be read adds no
   * header and fails nothing.
   */
  async function warningMode(recorded: TrustMode | undefined): Promise<TrustMode | undefined> {
    if (!trust) return undefined;
    if (recorded) return recorded;
    try {
      return (await trust.source.current()).mode;
    } catch {
      return undefined;
    }
  }

  return async function handler(event, context) {
    const started = performance.now();
    const http = toHttpRequest(event);
    const match = matchAdminRoute(http.method, http.path);
    if (match.kind === 'found' && match.route === 'healthz') {
      // Health checks read nothing: the header reflects the cache, when there is one.
      return toFrontDoorResult(
        event,
        jsonResult(
          200,
          JSON.stringify({ status: 'ok' }),
          trustWarningHeaders(trust?.source.peek()?.mode),
        ),
      );
    }
    const startedAt = now();
    const record: AdminLogRecord = {
      request_id: requestIdOf(context),
      timestamp: startedAt.toISOString(),
      method: (USAGE_METHODS as readonly string[]).includes(http.method) ? http.method : 'OTHER',
      route: match.kind === 'found' ? match.route : 'unmatched',
    };

    const warnings: string[] = [];
    let response: HttpResult;
    try {
      if (match.kind !== 'found') throw unroutedError(match, http.method, http.path);
      record.api_key_id = await authenticate(verifier, http, 'admin', (reason) => {
        record.auth_failure = reason;
      });
      const route = match.route as Exclude<AdminRoute, 'healthz'>;
      response = await ROUTES[route](svc, {
        http,
        record,
        warnings,
        ...(match.id !== undefined ? { id: match.id } : {}),
      });
    } catch (err) {
      const httpError =
        err instanceof HttpError ? err : new HttpError(500, 'server_error', MESSAGES.internal);
      record.error_type = httpError.type;
      response = errorResult(httpError);
    }

    record.status = response.statusCode;
    record.latency_ms = Math.max(0, Math.round(performance.now() - started));
    try {
      logger.write(record);
    } catch {
      // A failing log sink must not fail the request; there is nothing safe to add.
    }
    const keptDays =
      match.kind === 'found' && match.route === 'user_data_delete' && response.statusCode === 202
        ? DELETION_JOB_DAYS
        : config.metadataRetentionDays;
    response.headers = {
      ...response.headers,
      ...warningHeader([
        trustWarningText(await warningMode(recordedTrustMode(record))),
        ...warnings,
      ]),
      [RETENTION_HEADER]: retentionHeader({ metadataDays: keptDays }),
      'X-Request-Id': String(record.request_id),
    };
    return toFrontDoorResult(event, response);
  };
}

/** The trust store and its cache, when the deployment has a config bucket. */
function trustServices(deps: AdminDeps): AdminServices['trust'] {
  const bucket = deps.config.configBucketName;
  if (bucket === undefined) return undefined;
  if (!deps.s3) throw new Error('The admin API needs an S3 client for CONFIG_BUCKET_NAME');
  const store = new S3TrustStore({ s3: deps.s3, bucket });
  return {
    store,
    source: new TrustSource({
      store,
      allowInsecureTrustAll: deps.config.allowInsecureTrustAll,
    }),
    allowInsecureTrustAll: deps.config.allowInsecureTrustAll,
  };
}
