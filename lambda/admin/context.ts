/** What every admin route receives. */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpRequest } from '../shared/http-event';
import type { JobQueue } from '../shared/deletion-queue';
import type { KeyedHasher } from '../../lib/core/keyed-hash';
import type { KeyStore } from '../../lib/core/key-store';
import type { S3TrustStore, TrustSource } from '../shared/trust/trust-source';
import type { AdminLogRecord } from './admin-log';
import type { AdminConfig } from './config';

/** The services the routes use, created once per instance. */
export interface AdminServices {
  readonly config: AdminConfig;
  readonly ddb: DynamoDBClient;
  readonly hasher: KeyedHasher;
  readonly keys: KeyStore;
  readonly queue: JobQueue;
  readonly now: () => Date;
  /** The outbound trust store; absent when the deployment has no config bucket. */
  readonly trust?: AdminTrust;
}

export interface AdminTrust {
  /** Read and written directly by the trust routes (conditional writes). */
  readonly store: S3TrustStore;
  /** Cached, for the warning header on every answer. */
  readonly source: TrustSource;
  readonly allowInsecureTrustAll: boolean;
}

/** One request: what was asked, and the log line being built. */
export interface AdminRequest {
  readonly http: HttpRequest;
  /** The `{id}` segment of the path, for routes that have one. */
  readonly id?: string;
  readonly record: AdminLogRecord;
  /**
   * Warnings for the answer's `X-Ephemera-Warning`, after the trust warning:
   * the unknown `X-Ephemera-Metadata` parameters of the routes that read it.
   * Kept even when the route then fails. Never anything of a value.
   */
  readonly warnings: string[];
}
