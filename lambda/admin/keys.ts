/**
 * API keys over HTTP (promise P8): create (the secret is in the answer, once),
 * list (never a secret or a hash), rotate (the old secret keeps working for a
 * grace period), revoke (at once: every gateway reads the key record on every
 * request). The key store does the work; this maps its errors to answers.
 */

import type { HttpResult } from '../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import { jsonBody, jsonResult } from '../shared/http-results';
import { isKeyId } from '../../lib/core/api-key';
import {
  KeyStateError,
  KeyStoreInputError,
  KeyStoreUnavailableError,
  type Scope,
} from '../../lib/core/key-store';
import type { AdminRequest, AdminServices } from './context';

const BAD_KEY_ID = 'A key id is 16 lowercase letters and digits';

/** Maps the key store's errors; anything else is rethrown. */
function keyStoreError(err: unknown): never {
  if (err instanceof KeyStoreInputError) throw invalidRequest(err.message);
  if (err instanceof KeyStateError) {
    if (err.reason === 'unknown') throw new HttpError(404, 'invalid_request_error', err.message);
    throw new HttpError(409, 'invalid_request_error', err.message, { code: `key_${err.reason}` });
  }
  if (err instanceof KeyStoreUnavailableError) {
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
  throw err;
}

/** The body, or an empty object for an empty body (rotate takes optional fields). */
function optionalBody(req: AdminRequest): Record<string, unknown> {
  const raw = req.http.body;
  return raw === null || raw === '' ? {} : jsonBody(req.http);
}

function keyIdOf(req: AdminRequest): string {
  if (!isKeyId(req.id)) throw invalidRequest(BAD_KEY_ID, 'id');
  req.record.target_key_id = req.id;
  return req.id;
}

/** `POST /v1/keys`: `{"name","scopes",["expires_in_days"]}`. */
export async function createKey(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const body = jsonBody(req.http);
  try {
    const created = await svc.keys.create({
      name: body.name as string,
      scopes: body.scopes as Scope[],
      ...(body.expires_in_days !== undefined
        ? { expiresInDays: body.expires_in_days as number }
        : {}),
    });
    req.record.target_key_id = created.id;
    return jsonResult(201, JSON.stringify(created));
  } catch (err) {
    return keyStoreError(err);
  }
}

/** `GET /v1/keys?limit=&cursor=`. */
export async function listKeys(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const one = (name: string): string | undefined => {
    const values = req.http.query.get(name) ?? [];
    if (values.length > 1) throw invalidRequest(`Give ${name} once`, name);
    return values[0];
  };
  const rawLimit = one('limit');
  const cursor = one('cursor');
  const limit =
    rawLimit === undefined ? undefined : /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : -1;
  try {
    const list = await svc.keys.list({
      ...(limit !== undefined ? { limit } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    req.record.result_count = list.data.length;
    return jsonResult(200, JSON.stringify(list));
  } catch (err) {
    return keyStoreError(err);
  }
}

/** `POST /v1/keys/{id}/rotate`: optional `{"grace_seconds"}` (default 24 h). */
export async function rotateKey(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const id = keyIdOf(req);
  const body = optionalBody(req);
  try {
    const rotated =
      body.grace_seconds === undefined
        ? await svc.keys.rotate(id)
        : await svc.keys.rotate(id, body.grace_seconds as number);
    return jsonResult(200, JSON.stringify(rotated));
  } catch (err) {
    return keyStoreError(err);
  }
}

/** `DELETE /v1/keys/{id}`: revoked at once. */
export async function revokeKey(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const id = keyIdOf(req);
  let revoked: boolean;
  try {
    revoked = await svc.keys.revoke(id);
  } catch (err) {
    return keyStoreError(err);
  }
  if (!revoked) throw new HttpError(404, 'invalid_request_error', `API key ${id} does not exist`);
  return jsonResult(200, JSON.stringify({ id, revoked: true }));
}
