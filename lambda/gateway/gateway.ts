/**
 * The gateway (promises P1, P2, P4): authenticate, forward to the model
 * upstream, return the result, and leave behind one usage record.
 *
 * `createHandler` is the composition: the instance's services, built once
 * from the dependencies and their defaults, and the route table (`./routes`,
 * one module per route) run through the one request path every route shares
 * (`./pipeline/pipeline`).
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LineSink } from '../shared/allowlist-logger';
import type { KeyVerifier } from '../shared/authenticate';
import { createUsageLogger } from '../shared/usage-record';
import { createKmsHasher, type KeyedHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import type { GatewayConfig } from './config';
import { createPipeline, type GatewayHandler } from './pipeline/pipeline';
import type { GatewayServices } from './pipeline/services';
import { ROUTE_TABLE } from './routes';
import { createTrustReader, type GatewayTrust } from './trust';
import type { Upstream } from './upstream-contract';

export type { GatewayHandler } from './pipeline/pipeline';
export { CLIENT_CLOSED_STATUS, toHttpError } from './pipeline/errors';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly ddb: DynamoDBClient;
  readonly kms: KMSClient;
  /** The model upstream (`createUpstream` in ./upstreams builds the configured one). */
  readonly upstream: Upstream;
  /**
   * S3 for images asked for by URL.
   * @default - a client created on the first such request (S3 and its
   *   presigner are loaded only then: most requests never need them)
   */
  readonly s3?: S3Client;
  /** Where usage lines go. @default stdout */
  readonly logSink?: LineSink;
  /** Clock. @default () => new Date() */
  readonly now?: () => Date;
  /** @default a KMS GenerateMac hasher on `config.hmacKeyId` */
  readonly hasher?: KeyedHasher;
  /** @default a KeyStore on `config.keyTableName` */
  readonly keys?: KeyVerifier;
  /**
   * The outbound trust, for the `X-Ephemera-Warning` header every answer
   * carries while TLS verification is off. Pass the reader the upstream uses.
   * @default createTrustReader(config, s3) when the config bucket is set; else none
   */
  readonly trust?: GatewayTrust;
}

export function createHandler(deps: GatewayDeps): GatewayHandler {
  return createPipeline(ROUTE_TABLE, gatewayServices(deps));
}

/** The dependencies, with their defaults, as the services every request shares. */
function gatewayServices(deps: GatewayDeps): GatewayServices {
  const { config, ddb } = deps;
  const now = deps.now ?? (() => new Date());
  const hasher = deps.hasher ?? createKmsHasher({ kms: deps.kms, keyId: config.hmacKeyId });
  return {
    config,
    ddb,
    upstream: deps.upstream,
    hasher,
    keys: deps.keys ?? new KeyStore({ ddb, tableName: config.keyTableName, hasher, now }),
    logger: createUsageLogger(deps.logSink),
    now,
    models: new Map(config.models.map((m) => [m.id, m])),
    trust:
      deps.trust ??
      (config.configBucketName !== undefined ? createTrustReader(config, deps.s3) : undefined),
    s3: deps.s3,
  };
}
