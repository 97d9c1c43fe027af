/**
 * The gateway's request path, the same for every route: the learning opt-out
 * read (recorded whenever valid, whatever fails after) → route (404/405) →
 * API key and request headers (401/403/429/503, 400) → the route's own steps
 * (for routes that name a model: body 413/400 → validation 400 → model 404 →
 * upstream 429/400/502/504 → answer, 422 over the ALB's 1 MB limit) → one
 * usage record.
 *
 * Every request except an open route's (`GET /healthz`) writes one usage log
 * line; requests whose API key was verified also write one usage table item
 * with the same fields. Neither can hold request or response content: both
 * are built from `USAGE_SCHEMA`, and no catch block reads an error's message.
 */

import {
  toFrontDoorResult,
  toHttpRequest,
  type FrontDoorEvent,
  type FrontDoorResult,
  type HttpResult,
} from '../../shared/http-event';
import { invalidUrl } from '../../shared/http-errors';
import type { InvocationContext } from '../../shared/request-id';
import type { ResponseStream } from '../../shared/response-stream';
import { createRouter, unroutedError, type RouteMatch } from '../../shared/router';
import { answerHeaders } from './answer-headers';
import { authenticate, readOptOut } from './authenticate';
import { failedAnswer } from './errors';
import { finishRecord } from './record';
import { startRequest, type RequestState } from './request-state';
import type { GatewayRoute, KeyedRoute, RouteName, RouteRow } from './route';
import type { GatewayServices } from './services';

/**
 * Answers one front-door event. Given a `stream` (a front door that can
 * stream), a `stream: true` chat completion is written to it chunk by chunk
 * as the upstream produces them, and the returned result only reports the
 * status; otherwise the answer is the returned result.
 */
export type GatewayHandler = (
  event: FrontDoorEvent,
  context?: InvocationContext,
  stream?: ResponseStream,
) => Promise<FrontDoorResult>;

/** The handler for the routes of `table`, on the instance's services. */
export function createPipeline(table: readonly RouteRow[], svc: GatewayServices): GatewayHandler {
  const matchRoute = createRouter(table);
  // By name, as the router reports a match (one row per name).
  const routes = new Map<string, GatewayRoute>(table.map((row) => [row.name, row.route]));

  return async function handler(event, context, stream) {
    const started = performance.now();
    const http = toHttpRequest(event);
    const match = matchRoute(http.method, http.path);
    const route = match.kind === 'found' ? routes.get(match.route) : undefined;
    // Open routes (health checks) read nothing and leave nothing behind.
    if (route?.kind === 'open') return toFrontDoorResult(event, route.answer(svc));

    const recorded = match.kind === 'not_found' ? 'unmatched' : match.route;
    const state = startRequest(svc, http, recorded, context, stream);
    const response = await answer(svc, match, route, state);
    await finishRecord(svc, state, response.statusCode, started);
    response.headers = { ...response.headers, ...(await answerHeaders(svc, state)) };
    return toFrontDoorResult(event, response);
  };
}

/**
 * The opt-out, route (405, 404), API key and headers, then the route's own
 * steps; the error answer for whichever step failed. Timers end with the
 * request.
 */
async function answer(
  svc: GatewayServices,
  match: RouteMatch<RouteName>,
  route: KeyedRoute | undefined,
  state: RequestState,
): Promise<HttpResult> {
  // Before anything can fail, so every record of the request carries it.
  const optOut = readOptOut(state);
  try {
    if (match.kind !== 'found') throw unroutedError(match, state.http.method, state.http.path);
    if (!route) throw invalidUrl(state.http.method, state.http.path);
    await authenticate(svc, state, optOut);
    return await route.handle(svc, state);
  } catch (err) {
    return failedAnswer(err, state);
  } finally {
    for (const cleanup of state.cleanups) cleanup();
  }
}
