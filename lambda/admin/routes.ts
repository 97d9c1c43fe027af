/**
 * Routes of the admin API. Paths match exactly (no trailing slash); `{id}`
 * segments are captured as they are and checked by the route itself. A known
 * path with another method is a 405 with `Allow`.
 */

export type AdminRoute =
  | 'user_data_delete'
  | 'deletion_status'
  | 'logs'
  | 'keys_create'
  | 'keys_list'
  | 'keys_rotate'
  | 'keys_revoke'
  | 'trust_get'
  | 'trust_certs_put'
  | 'trust_certs_get'
  | 'trust_certs_delete'
  | 'trust_mode_put'
  | 'healthz';

interface RouteSpec {
  /** Path segments; `:id` captures one segment. */
  readonly segments: readonly string[];
  readonly methods: Readonly<Partial<Record<string, AdminRoute>>>;
}

const ROUTES: readonly RouteSpec[] = [
  { segments: ['v1', 'user_data'], methods: { DELETE: 'user_data_delete' } },
  { segments: ['v1', 'user_data', 'deletions', ':id'], methods: { GET: 'deletion_status' } },
  { segments: ['v1', 'logs'], methods: { GET: 'logs' } },
  { segments: ['v1', 'keys'], methods: { POST: 'keys_create', GET: 'keys_list' } },
  { segments: ['v1', 'keys', ':id', 'rotate'], methods: { POST: 'keys_rotate' } },
  { segments: ['v1', 'keys', ':id'], methods: { DELETE: 'keys_revoke' } },
  { segments: ['v1', 'trust'], methods: { GET: 'trust_get' } },
  {
    segments: ['v1', 'trust', 'certificates'],
    methods: { PUT: 'trust_certs_put', GET: 'trust_certs_get', DELETE: 'trust_certs_delete' },
  },
  { segments: ['v1', 'trust', 'mode'], methods: { PUT: 'trust_mode_put' } },
  { segments: ['healthz'], methods: { GET: 'healthz' } },
];

export { ADMIN_PATH_PATTERNS } from '../../lib/core/routes';

export type AdminMatch =
  | { readonly kind: 'found'; readonly route: AdminRoute; readonly id?: string }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly allow: string };

export function matchAdminRoute(method: string, path: string): AdminMatch {
  if (!path.startsWith('/') || path.length > 512) return { kind: 'not_found' };
  const parts = path.slice(1).split('/');
  for (const spec of ROUTES) {
    if (spec.segments.length !== parts.length) continue;
    let id: string | undefined;
    const matches = spec.segments.every((segment, i) => {
      if (segment === ':id') {
        id = parts[i];
        return parts[i].length > 0;
      }
      return segment === parts[i];
    });
    if (!matches) continue;
    const route = spec.methods[method];
    if (!route) return { kind: 'method_not_allowed', allow: Object.keys(spec.methods).join(', ') };
    return id === undefined ? { kind: 'found', route } : { kind: 'found', route, id };
  }
  return { kind: 'not_found' };
}
