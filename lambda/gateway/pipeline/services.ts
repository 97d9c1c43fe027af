/**
 * What the pipeline and the routes share for the life of an instance: the
 * configuration, the clients, the key check and the usage logger.
 * `createHandler` builds them once from its dependencies and their defaults.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AllowlistLogger } from '../../shared/allowlist-logger';
import type { KeyVerifier } from '../../shared/authenticate';
import type { USAGE_SCHEMA } from '../../shared/usage-record';
import type { KeyedHasher } from '../../../lib/core/keyed-hash';
import type { GatewayConfig, ModelConfig } from '../config';
import type { GatewayTrust } from '../trust';
import type { Upstream } from '../upstream-contract';

export interface GatewayServices {
  readonly config: GatewayConfig;
  readonly ddb: DynamoDBClient;
  /** The model upstream. */
  readonly upstream: Upstream;
  /** Hashes the customer id of `X-Ephemera-Metadata`. */
  readonly hasher: KeyedHasher;
  /** Checks API keys. */
  readonly keys: KeyVerifier;
  /** Writes the usage log line. */
  readonly logger: AllowlistLogger<typeof USAGE_SCHEMA>;
  readonly now: () => Date;
  /** The configured models, by public id. */
  readonly models: ReadonlyMap<string, ModelConfig>;
  /** The outbound trust, for the warning header; none without a config bucket. */
  readonly trust?: GatewayTrust;
  /** S3 for images asked for by URL; when absent, a client is created on first use. */
  readonly s3?: S3Client;
}
