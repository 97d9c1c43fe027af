/**
 * What a route module is: the part of answering a request that is its own.
 * The pipeline does the rest (route, API key, headers, errors, the usage
 * record), and `modelRoute` the body, validation and model steps of routes
 * that name a model. A route is added with one module and one row of the
 * route table (`../routes`).
 */

import type { HttpResult } from '../../shared/http-event';
import type { RouteSpec } from '../../shared/router';
import type { UsageRoute } from '../../shared/usage-record';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

/** Answers without a key and leaves nothing behind: no record, no log line (health checks). */
export interface OpenRoute {
  readonly kind: 'open';
  answer(svc: GatewayServices): HttpResult;
}

/**
 * Answers a request whose inference key the pipeline has verified; the
 * pipeline writes its usage record. Throws an `HttpError` (or any error, which
 * the pipeline maps) to answer with an error.
 */
export interface KeyedRoute {
  readonly kind: 'keyed';
  handle(svc: GatewayServices, state: RequestState): Promise<HttpResult>;
}

export type GatewayRoute = OpenRoute | KeyedRoute;

/** A gateway route's name, as the usage record keeps it. */
export type RouteName = Exclude<UsageRoute, 'unmatched'>;

/** One row of the route table: where the route is, and the module that answers it. */
export interface RouteRow extends RouteSpec<RouteName> {
  readonly route: GatewayRoute;
}
