/**
 * The one path router of the HTTP handlers (gateway and admin API): which
 * route of a table a request is for.
 *
 * A route is a method, a path pattern and a name; several routes may share a
 * pattern (one per method). A pattern is `/`-separated segments, each either
 * literal (matched exactly: case, trailing slash and all), `{id}` (one
 * non-empty segment, reported as the match's `id`), or, as the last segment
 * only, `*` (a non-empty rest, which may hold `/`: model ids such as
 * `meta-llama/Llama-3.3-70B` do; the route reads it with {@link pathRest}).
 * Patterns without `{id}` or `*` are tried first, then the others, each in
 * table order; the first pattern that matches the path decides:
 *
 * - a route for the request's method: `found`;
 * - none: `method_not_allowed`, with the pattern's methods as `Allow` (in table
 *   order) and the pattern's first route (the gateway records a 405 under it);
 * - no pattern matches: `not_found` (the handler answers the contract's 404,
 *   'Invalid URL (METHOD path)').
 */

import { HttpError, invalidUrl } from './http-errors';

/** The methods a route may serve. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Where a route is: its method, its path pattern, and its name. */
export interface RouteSpec<N extends string = string> {
  readonly method: RouteMethod;
  /** A path pattern (see the module comment): `/v1/keys/{id}/rotate`, `/v1/models/*`. */
  readonly path: string;
  readonly name: N;
}

export type RouteMatch<N extends string = string> =
  | { readonly kind: 'found'; readonly route: N; readonly id?: string }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly route: N; readonly allow: string };

export type Router<N extends string = string> = (method: string, path: string) => RouteMatch<N>;

export interface RouterOptions {
  /** Longer paths are not found, whatever they hold. @default - no limit */
  readonly maxPathLength?: number;
}

const ID = '{id}';
const REST = '*';

interface Pattern<N extends string> {
  /** The segments before a final `*`, or all of them. */
  readonly segments: readonly string[];
  readonly rest: boolean;
  /** The routes at this pattern, in table order. */
  readonly routes: RouteSpec<N>[];
}

function segmentsOf(path: string): string[] | undefined {
  return path.startsWith('/') ? path.slice(1).split('/') : undefined;
}

function compile<N extends string>(path: string): Pattern<N> {
  const segments = segmentsOf(path);
  if (!segments) throw new Error(`A route path starts with '/' (got ${path})`);
  const rest = segments[segments.length - 1] === REST;
  const fixed = rest ? segments.slice(0, -1) : segments;
  if (fixed.includes(REST)) throw new Error(`'*' may only end a route path (got ${path})`);
  if (fixed.filter((s) => s === ID).length > 1)
    throw new Error(`A route path has at most one {id} (got ${path})`);
  return { segments: fixed, rest, routes: [] };
}

/** The `id` a path holds for a pattern, `null` when it has none, or undefined when it does not match. */
function matchPattern<N extends string>(
  pattern: Pattern<N>,
  parts: readonly string[],
): string | null | undefined {
  const { segments } = pattern;
  if (pattern.rest) {
    if (parts.length <= segments.length || parts.slice(segments.length).join('/') === '')
      return undefined;
  } else if (parts.length !== segments.length) return undefined;
  let id: string | null = null;
  for (const [i, segment] of segments.entries()) {
    if (segment === ID) {
      if (parts[i] === '') return undefined;
      id = parts[i];
    } else if (segment !== parts[i]) return undefined;
  }
  return id;
}

/** A matcher for the routes of `table`. */
export function createRouter<N extends string>(
  table: readonly RouteSpec<N>[],
  options: RouterOptions = {},
): Router<N> {
  const byPath = new Map<string, Pattern<N>>();
  for (const spec of table) {
    const pattern = byPath.get(spec.path) ?? compile<N>(spec.path);
    if (pattern.routes.some((r) => r.method === spec.method))
      throw new Error(`Two routes for ${spec.method} ${spec.path}`);
    pattern.routes.push(spec);
    byPath.set(spec.path, pattern);
  }
  const literal = (p: Pattern<N>) => !p.rest && !p.segments.includes(ID);
  const patterns = [...byPath.values()];
  const ordered = [...patterns.filter(literal), ...patterns.filter((p) => !literal(p))];
  const maxLength = options.maxPathLength ?? Infinity;

  return (method, path) => {
    const parts = path.length <= maxLength ? segmentsOf(path) : undefined;
    if (!parts) return { kind: 'not_found' };
    for (const pattern of ordered) {
      const id = matchPattern(pattern, parts);
      if (id === undefined) continue;
      const route = pattern.routes.find((r) => r.method === method);
      if (!route) {
        const allow = pattern.routes.map((r) => r.method).join(', ');
        return { kind: 'method_not_allowed', route: pattern.routes[0].name, allow };
      }
      return id === null
        ? { kind: 'found', route: route.name }
        : { kind: 'found', route: route.name, id };
    }
    return { kind: 'not_found' };
  };
}

/**
 * The rest of `path` that a pattern's final `*` matched (undecoded), or
 * undefined when the pattern has no `*` or the path is not under it. For
 * patterns whose other segments are literal.
 */
export function pathRest(pattern: string, path: string): string | undefined {
  if (!pattern.endsWith(`/${REST}`)) return undefined;
  const prefix = pattern.slice(0, -REST.length);
  return path.startsWith(prefix) && path.length > prefix.length
    ? path.slice(prefix.length)
    : undefined;
}

/**
 * The contract's answer to a request no route serves: a 404 'Invalid URL
 * (METHOD path)' (method and path shown only when they are safe to show), or
 * a 405 with `Allow`.
 */
export function unroutedError(
  match: Exclude<RouteMatch, { readonly kind: 'found' }>,
  method: string,
  path: string,
): HttpError {
  if (match.kind === 'not_found') return invalidUrl(method, path);
  return new HttpError(405, 'invalid_request_error', `Use ${match.allow} for this route`, {
    headers: { Allow: match.allow },
  });
}
