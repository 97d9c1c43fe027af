/**
 * Key rotation and revocation, on the run's temporary key.
 *
 * Rotation (`POST /v1/keys/{id}/rotate` with a grace period): a new secret
 * for the same id, and during the grace period both the old and the new
 * secret work. Revocation (`DELETE /v1/keys/{id}`): every secret the key has
 * had is a 401 on the very next request. Each secret is tried on
 * `GET /v1/models`, an inference route that costs no model call.
 */

import { fail, pass, type Outcome, type SmokeRun } from '../run';
import type { Target } from '../target';

/** Long enough for the checks that follow; the key is revoked right after anyway. */
const GRACE_SECONDS = 600;

async function statusWith(target: Target, run: SmokeRun, key: string): Promise<number> {
  const answer = await target.api('/v1/models', { key, headers: run.tag(), signal: run.signal });
  return answer.status;
}

export async function checkRotation(target: Target, run: SmokeRun): Promise<Outcome> {
  const temp = await run.key();
  if (run.keyRevoked) return fail('the temporary key is already revoked');
  const before = temp.key;
  const answer = await run.admin(`/v1/keys/${temp.id}/rotate`, {
    body: { grace_seconds: GRACE_SECONDS },
  });
  const body = answer.json as
    { id?: string; key?: string; previous_valid_until?: string } | undefined;
  if (answer.status !== 200 || typeof body?.key !== 'string') {
    return fail(`POST /v1/keys/{id}/rotate answered ${answer.status}`);
  }
  run.useSecret(body.key);
  const problems: string[] = [];
  if (body.id !== temp.id) problems.push('the rotated key has another id');
  if (body.key === before) problems.push('the new secret is the old one');
  const until = Date.parse(body.previous_valid_until ?? '');
  if (!(until > Date.now())) problems.push('previous_valid_until is not in the future');
  const oldStatus = await statusWith(target, run, before);
  const newStatus = await statusWith(target, run, body.key);
  if (oldStatus !== 200)
    problems.push(`the old secret answered ${oldStatus} during the grace period`);
  if (newStatus !== 200) problems.push(`the new secret answered ${newStatus}`);
  if (problems.length > 0) return fail(problems.join('; '));
  return pass(
    `rotated with grace ${GRACE_SECONDS} s: old secret 200, new secret 200, previous_valid_until in ${Math.round((until - Date.now()) / 1000)} s`,
  );
}

export async function checkRevocation(target: Target, run: SmokeRun): Promise<Outcome> {
  const temp = await run.key();
  const live = await statusWith(target, run, temp.key);
  if (live !== 200) return fail(`the temporary key answered ${live} before its revocation`);
  const answer = await run.admin(`/v1/keys/${temp.id}`, { method: 'DELETE' });
  if (answer.status !== 200) return fail(`DELETE /v1/keys/{id} answered ${answer.status}`);
  run.keyRevoked = true;
  const statuses: number[] = [];
  for (const secret of temp.secrets) statuses.push(await statusWith(target, run, secret));
  const shown = statuses.join('/');
  const secrets = statuses.length === 1 ? 'its secret' : `its ${statuses.length} secrets`;
  if (statuses.some((s) => s !== 401)) {
    return fail(`after DELETE /v1/keys/{id} ${secrets} answered ${shown}, expected 401`);
  }
  return pass(`200 before, DELETE 200, then 401 at once for ${secrets} (${shown})`);
}
