/**
 * The 401/403 matrix: no key and a wrong key are a 401 on an inference route
 * and on an admin route; an inference key on an admin route and an admin key
 * on an inference route are a 403.
 *
 * The wrong keys are well formed: the temporary key's id with a random
 * secret (one failed attempt per route, far below the back-off threshold)
 * and a made-up id. Every request's body would be refused anyway (an unknown
 * model), so a gateway that let one through costs no model call.
 */

import { randomBytes } from 'node:crypto';
import { fail, pass, type Outcome, type SmokeRun } from '../run';
import type { Target } from '../target';

/** A well-formed key that no one holds: `eph_<16 a-z0-9>_<43 base64url>`. */
export function wrongKey(keyId?: string): string {
  const id = keyId ?? randomBytes(16).toString('hex').slice(0, 16);
  return `eph_${id}_${randomBytes(32).toString('base64url')}`;
}

const INFERENCE_BODY = {
  model: 'ephemera-smoke-no-such-model',
  messages: [{ role: 'user', content: 'ping' }],
};

export async function checkAuth(target: Target, run: SmokeRun): Promise<Outcome> {
  const temp = await run.key();
  const inference = (key: string | null) =>
    target.api('/v1/chat/completions', {
      key,
      body: INFERENCE_BODY,
      headers: run.tag(),
      signal: run.signal,
    });
  const admin = (key: string | null) => target.api('/v1/keys', { key, signal: run.signal });

  const cells: [string, number, () => Promise<{ status: number; json: unknown }>][] = [
    ['no key, inference route', 401, () => inference(null)],
    ['no key, admin route', 401, () => admin(null)],
    ['wrong secret, inference route', 401, () => inference(wrongKey(temp.id))],
    ['wrong key, admin route', 401, () => admin(wrongKey())],
    ['inference key, admin route', 403, () => admin(temp.key)],
    ['admin key, inference route', 403, () => inference(target.adminKey)],
  ];
  const problems: string[] = [];
  const seen: string[] = [];
  for (const [what, expected, call] of cells) {
    const answer = await call();
    const code = (answer.json as { error?: { code?: unknown } } | undefined)?.error?.code;
    const shown = `${answer.status}${typeof code === 'string' ? ` ${code}` : ''}`;
    if (answer.status !== expected) problems.push(`${what}: ${shown}, expected ${expected}`);
    else seen.push(shown);
  }
  if (problems.length > 0) return fail(problems.join('; '));
  return pass(
    `no key 401/401, wrong key 401/401, inference key on admin 403, admin key on inference 403 (${[...new Set(seen)].join(', ')})`,
  );
}
