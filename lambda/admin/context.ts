/** What every admin route receives. */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpRequest } from '../shared/http-event';
import type { JobQueue } from '../shared/job-queue';
import type { KeyedHasher } from '../shared/keyed-hash';
import type { KeyStore } from '../shared/key-store';
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
}

/** One request: what was asked, and the log line being built. */
export interface AdminRequest {
  readonly http: HttpRequest;
  /** The `{id}` segment of the path, for routes that have one. */
  readonly id?: string;
  readonly record: AdminLogRecord;
}
