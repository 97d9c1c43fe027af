/**
 * Routes of the gateway. A path is matched exactly (no trailing slash, no prefix
 * matching); a known path with another method is a 405 with `Allow`.
 */

export type RouteName = 'chat_completions' | 'image_generations' | 'models' | 'healthz';

interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly name: RouteName;
}

const ROUTES: ReadonlyMap<string, RouteSpec> = new Map([
  ['/v1/chat/completions', { method: 'POST', name: 'chat_completions' }],
  ['/v1/images/generations', { method: 'POST', name: 'image_generations' }],
  ['/v1/models', { method: 'GET', name: 'models' }],
  ['/healthz', { method: 'GET', name: 'healthz' }],
]);

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: RouteName }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly route: RouteName; readonly allow: string };

export function matchRoute(method: string, path: string): RouteMatch {
  const spec = ROUTES.get(path);
  if (!spec) return { kind: 'not_found' };
  if (method !== spec.method)
    return { kind: 'method_not_allowed', route: spec.name, allow: spec.method };
  return { kind: 'found', route: spec.name };
}
