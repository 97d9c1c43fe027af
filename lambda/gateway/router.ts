/**
 * Which route a request is for. A path is matched exactly (no trailing slash,
 * no prefix matching); a known path with another method is a 405 with `Allow`.
 * The gateway's paths are the rows of its route table (`./routes`).
 */

import type { UsageRoute } from '../shared/usage-record';
import { ROUTE_TABLE } from './routes';

/** A route's name, as the usage record keeps it. */
export type RouteName = Exclude<UsageRoute, 'unmatched'>;

/** Where a route is: its path and method. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly name: RouteName;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: RouteName }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly route: RouteName; readonly allow: string };

export type Router = (method: string, path: string) => RouteMatch;

/** A matcher for the routes of `table` (one row per path). */
export function createRouter(table: readonly RouteSpec[]): Router {
  const byPath: ReadonlyMap<string, RouteSpec> = new Map(table.map((spec) => [spec.path, spec]));
  return (method, path) => {
    const spec = byPath.get(path);
    if (!spec) return { kind: 'not_found' };
    if (method !== spec.method)
      return { kind: 'method_not_allowed', route: spec.name, allow: spec.method };
    return { kind: 'found', route: spec.name };
  };
}

/** Matches against the gateway's route table. */
export const matchRoute: Router = createRouter(ROUTE_TABLE);
