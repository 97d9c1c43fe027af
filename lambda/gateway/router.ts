/**
 * Which route a request is for. A path is matched exactly (no trailing slash,
 * no prefix matching), except that a route path ending in `/{id}` matches its
 * prefix followed by a non-empty rest, which may hold `/` (model ids such as
 * `meta-llama/Llama-3.3-70B` do); the route reads the rest itself. A known
 * path with another method is a 405 with `Allow`. The gateway's paths are
 * the rows of its route table (`./routes`).
 */

import type { UsageRoute } from '../shared/usage-record';
import { ROUTE_TABLE } from './routes';

/** A route's name, as the usage record keeps it. */
export type RouteName = Exclude<UsageRoute, 'unmatched'>;

/** Where a route is: its path and method. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  /** An exact path, or a prefix followed by `/{id}`. */
  readonly path: string;
  readonly name: RouteName;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: RouteName }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly route: RouteName; readonly allow: string };

export type Router = (method: string, path: string) => RouteMatch;

/** The tail that makes a route path a prefix. */
const ID_TAIL = '/{id}';

/** The part of `path` after a `/{id}` route's prefix, or undefined when there is none. */
export function pathId(routePath: string, path: string): string | undefined {
  if (!routePath.endsWith(ID_TAIL)) return undefined;
  const prefix = routePath.slice(0, -ID_TAIL.length + 1);
  return path.startsWith(prefix) && path.length > prefix.length
    ? path.slice(prefix.length)
    : undefined;
}

/** A matcher for the routes of `table` (one row per path). */
export function createRouter(table: readonly RouteSpec[]): Router {
  const exact: ReadonlyMap<string, RouteSpec> = new Map(table.map((spec) => [spec.path, spec]));
  const prefixed = table.filter((spec) => spec.path.endsWith(ID_TAIL));
  return (method, path) => {
    const spec =
      exact.get(path) ?? prefixed.find((candidate) => pathId(candidate.path, path) !== undefined);
    if (!spec) return { kind: 'not_found' };
    if (method !== spec.method)
      return { kind: 'method_not_allowed', route: spec.name, allow: spec.method };
    return { kind: 'found', route: spec.name };
  };
}

/** Matches against the gateway's route table. */
export const matchRoute: Router = createRouter(ROUTE_TABLE);
