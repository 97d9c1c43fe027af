/**
 * One request as the pipeline carries it: what was asked, the usage record
 * being built, and what the request leaves behind (stored image keys, timers
 * to clear). The record starts with who asked, when, for which route, and when
 * it expires; each later step adds its own fields.
 */

import type { HttpRequest } from '../../shared/http-event';
import { requestIdOf, type InvocationContext } from '../../shared/request-id';
import type { ResponseStream } from '../../shared/response-stream';
import {
  USAGE_METHODS,
  type UsageMethod,
  type UsageRecord,
  type UsageRoute,
} from '../../shared/usage-record';
import { trustWarning } from '../trust';
import type { GatewayServices } from './services';

export interface RequestState {
  readonly http: HttpRequest;
  readonly record: UsageRecord;
  readonly requestId: string;
  readonly now: Date;
  readonly context?: InvocationContext;
  /** The front door's response stream, when it can stream. */
  readonly out?: ResponseStream;
  /** Whether the API key was verified (only then is a usage item written). */
  authenticated: boolean;
  readonly imageKeys: string[];
  /** Run when the request ends (timers). */
  readonly cleanups: (() => void)[];
  /** The trust warning, if any (read from the cached trust store at the start). */
  readonly trustWarning: Promise<string | undefined>;
  /**
   * The other warnings of the answer's `X-Ephemera-Warning`, in order: the
   * request's unknown metadata parameters. Never anything of a value.
   */
  readonly warnings: string[];
}

/** The HTTP method as recorded: anything unusual is `OTHER`. */
export function usageMethod(method: string): UsageMethod {
  return (USAGE_METHODS as readonly string[]).includes(method) ? (method as UsageMethod) : 'OTHER';
}

/** The record's first fields; it expires `retentionDays` after `startedAt`. */
export function startRecord(
  requestId: string,
  startedAt: Date,
  method: string,
  route: UsageRoute,
  retentionDays: number,
): UsageRecord {
  return {
    request_id: requestId,
    timestamp: startedAt.toISOString(),
    method: usageMethod(method),
    route,
    ttl: Math.floor(startedAt.getTime() / 1000) + retentionDays * 86_400,
  };
}

export function startRequest(
  svc: GatewayServices,
  http: HttpRequest,
  route: UsageRoute,
  context?: InvocationContext,
  stream?: ResponseStream,
): RequestState {
  const startedAt = svc.now();
  const requestId = requestIdOf(context);
  return {
    http,
    record: startRecord(requestId, startedAt, http.method, route, svc.config.metadataRetentionDays),
    requestId,
    now: startedAt,
    ...(context ? { context } : {}),
    ...(stream ? { out: stream } : {}),
    authenticated: false,
    imageKeys: [],
    cleanups: [],
    trustWarning: svc.trust ? trustWarning(svc.trust) : Promise.resolve(undefined),
    warnings: [],
  };
}
