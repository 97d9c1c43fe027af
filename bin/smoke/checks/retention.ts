/**
 * `X-Ephemera-Retention` on every answer: this check runs last, sends the
 * answers the other checks may not have met (`/healthz`, an unknown path's
 * 404, a known path's 405, a 401 without a key) and then requires a
 * well-formed header (`content=none; metadata=30d`,
 * `content=image; image-ttl=3600; metadata=30d`, `content=none; metadata=none`)
 * on every answer the API gave the run: successes, streams, refusals, errors.
 */

import { randomBytes } from 'node:crypto';
import { fail, pass, type Outcome, type SmokeRun } from '../run';
import type { Target } from '../target';

const WELL_FORMED = /^content=(?:none|image; image-ttl=\d{1,9}); metadata=(?:none|\d{1,5}d)$/;

export async function checkRetention(target: Target, run: SmokeRun): Promise<Outcome> {
  const probe = (path: string, method = 'GET') =>
    target.api(path, { key: null, method, signal: run.signal });
  await probe('/healthz');
  await probe(`/v1/smoke-${randomBytes(4).toString('hex')}`);
  await probe('/v1/models', 'PUT');
  await probe('/v1/models');

  const missing = target.seen.filter((s) => s.retention === undefined);
  const malformed = target.seen.filter(
    (s) => s.retention !== undefined && !WELL_FORMED.test(s.retention),
  );
  const statuses = new Map<number, number>();
  for (const s of target.seen) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
  const spread = [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => (n > 1 ? `${status}x${n}` : `${status}`))
    .join(', ');
  const name = (s: (typeof target.seen)[number]) =>
    `${s.status} ${s.method} ${s.path.includes('/v1/smoke-') || s.path.includes('SMOKECANARY') ? '<unknown path>' : s.path}`;
  if (missing.length > 0 || malformed.length > 0) {
    const parts = [
      missing.length > 0
        ? `missing on ${missing.length} of ${target.seen.length} answers (${[...new Set(missing.map(name))].slice(0, 5).join(', ')})`
        : '',
      malformed.length > 0
        ? `malformed on ${malformed.length} (${[...new Set(malformed.map(name))].slice(0, 3).join(', ')})`
        : '',
    ].filter(Boolean);
    return fail(parts.join('; '));
  }
  return pass(`on all ${target.seen.length} answers of the run (${spread})`);
}
