/**
 * The outbound trust store over HTTP: which CAs the platform's outbound calls
 * (the model upstream, the receipt webhook) trust.
 *
 * - `GET /v1/trust`: the mode and a summary of each uploaded certificate.
 * - `PUT /v1/trust/certificates`: a PEM bundle (any content type) that
 *   replaces the uploaded one; a refused bundle leaves the store untouched.
 * - `GET /v1/trust/certificates`: the bundle as stored (`application/x-pem-file`).
 * - `DELETE /v1/trust/certificates`: no certificates, and the mode back to
 *   `uploaded_and_public`.
 * - `PUT /v1/trust/mode`: `{"mode": ...}`; `uploaded_only` needs certificates,
 *   `insecure_trust_all` needs a deployment that allows it.
 *
 * Every change is a read then a conditional write (the ETag read), so two
 * admins changing it at once cannot lose either change silently: the second
 * gets a 409. Nothing here writes a certificate to a log line; answers and
 * messages never quote an upload.
 */

import { TRUST_BUNDLE_MAX_BYTES } from '../../lib/core/config-objects';
import type { HttpResult } from '../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import { albResult, jsonBody, jsonResult } from '../shared/http-results';
import { checkBundle, joinBundle, summariseBundle } from '../shared/trust/pem-bundle';
import {
  isTrustMode,
  TRUST_MODES,
  type TrustDocument,
  type TrustMode,
} from '../shared/trust/trust-document';
import { TrustStoreConflict, TrustStoreError } from '../shared/trust/trust-source';
import type { AdminLogRecord } from './admin-log';
import type { AdminRequest, AdminServices, AdminTrust } from './context';

export const TRUST_MESSAGES = {
  notConfigured: 'The trust store is not configured for this deployment',
  conflict: 'the trust store changed while this request ran; retry',
  noCertificates: 'no certificates uploaded',
  badMode: `mode must be one of ${TRUST_MODES.join(', ')}`,
  uploadedOnlyWithout:
    'uploaded_only needs uploaded certificates: upload them first (PUT /v1/trust/certificates)',
  insecureNotAllowed: 'This deployment does not allow the trust mode insecure_trust_all',
  corrupt:
    'The stored trust bundle does not parse; replace it (PUT /v1/trust/certificates) or delete it',
} as const;

const PEM_CONTENT_TYPE = 'application/x-pem-file';

function trustOf(svc: AdminServices): AdminTrust {
  if (!svc.trust) {
    throw new HttpError(404, 'not_found_error', TRUST_MESSAGES.notConfigured, {
      code: 'trust_store_not_configured',
    });
  }
  return svc.trust;
}

/** Maps the store's errors; anything else is rethrown. */
function storeError(err: unknown): never {
  if (err instanceof TrustStoreConflict) {
    throw new HttpError(409, 'conflict_error', TRUST_MESSAGES.conflict, {
      code: 'trust_store_conflict',
    });
  }
  if (err instanceof TrustStoreError) {
    throw new HttpError(503, 'service_unavailable', MESSAGES.unavailable);
  }
  throw err;
}

async function read(trust: AdminTrust): Promise<{ doc: TrustDocument; etag?: string }> {
  try {
    return await trust.store.read();
  } catch (err) {
    return storeError(err);
  }
}

/** Writes the document (if unchanged since `etag` was read); the cache then holds it. */
async function write(
  trust: AdminTrust,
  doc: TrustDocument,
  expected: { etag?: string },
): Promise<void> {
  try {
    await trust.store.write(doc, expected);
  } catch (err) {
    trust.source.invalidate();
    storeError(err);
  }
  trust.source.remember(doc);
}

/** The JSON answer of every route but the bundle download; records mode and count. */
function view(trust: AdminTrust, req: AdminRequest, doc: TrustDocument): HttpResult {
  let certificates;
  try {
    certificates = summariseBundle(doc.pem);
  } catch {
    throw new HttpError(500, 'internal_error', TRUST_MESSAGES.corrupt);
  }
  req.record.trust_mode = doc.mode;
  req.record.certificate_count = certificates.length;
  return jsonResult(
    200,
    JSON.stringify({
      mode: doc.mode,
      certificates: certificates.map((c) => ({
        subject: c.subject,
        issuer: c.issuer,
        fingerprint_sha256: c.fingerprint256,
        not_after: c.notAfter,
      })),
      updated_at: doc.updatedAt,
      insecure_trust_all_allowed: trust.allowInsecureTrustAll,
    }),
  );
}

/** The request body as text: base64 from the load balancer, or as it came. */
function bundleText(req: AdminRequest): string {
  const raw = req.http.body ?? '';
  const bytes = req.http.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > TRUST_BUNDLE_MAX_BYTES) {
    throw new HttpError(
      413,
      'request_too_large',
      `the bundle exceeds the limit of ${TRUST_BUNDLE_MAX_BYTES} bytes`,
    );
  }
  return bytes.toString('utf8');
}

/** `GET /v1/trust`. */
export async function getTrust(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const { doc } = await read(trust);
  return view(trust, req, doc);
}

/** `PUT /v1/trust/certificates`: the body is a PEM bundle that replaces the stored one. */
export async function putCertificates(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const checked = checkBundle(bundleText(req), svc.now());
  if (!checked.ok) {
    throw checked.status === 413
      ? new HttpError(413, 'request_too_large', checked.message)
      : invalidRequest(checked.message);
  }
  const { doc, etag } = await read(trust);
  const next: TrustDocument = {
    mode: doc.mode,
    pem: joinBundle(checked.certificates),
    updatedAt: svc.now().toISOString(),
  };
  await write(trust, next, etag === undefined ? {} : { etag });
  return view(trust, req, next);
}

/** `GET /v1/trust/certificates`: the stored bundle. */
export async function getCertificates(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const { doc } = await read(trust);
  req.record.trust_mode = doc.mode;
  if (doc.pem === '') {
    req.record.certificate_count = 0;
    throw new HttpError(404, 'not_found_error', TRUST_MESSAGES.noCertificates, {
      code: 'no_certificates',
    });
  }
  return albResult(200, doc.pem, PEM_CONTENT_TYPE);
}

/** `DELETE /v1/trust/certificates`: no certificates, mode `uploaded_and_public`. */
export async function deleteCertificates(
  svc: AdminServices,
  req: AdminRequest,
): Promise<HttpResult> {
  const trust = trustOf(svc);
  const { etag } = await read(trust);
  const next: TrustDocument = {
    mode: 'uploaded_and_public',
    pem: '',
    updatedAt: svc.now().toISOString(),
  };
  await write(trust, next, etag === undefined ? {} : { etag });
  return view(trust, req, next);
}

/** `PUT /v1/trust/mode`: `{"mode": "uploaded_and_public" | "uploaded_only" | "insecure_trust_all"}`. */
export async function putMode(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const mode: unknown = jsonBody(req.http).mode;
  if (!isTrustMode(mode)) throw invalidRequest(TRUST_MESSAGES.badMode, 'mode');
  if (mode === 'insecure_trust_all' && !trust.allowInsecureTrustAll) {
    throw new HttpError(403, 'permission_error', TRUST_MESSAGES.insecureNotAllowed, {
      code: 'insecure_trust_all_not_allowed',
      param: 'mode',
    });
  }
  const { doc, etag } = await read(trust);
  if (mode === 'uploaded_only' && doc.pem === '') {
    throw new HttpError(400, 'invalid_request_error', TRUST_MESSAGES.uploadedOnlyWithout, {
      code: 'no_certificates',
      param: 'mode',
    });
  }
  if (mode === doc.mode) return view(trust, req, doc);
  const next: TrustDocument = { mode, pem: doc.pem, updatedAt: svc.now().toISOString() };
  await write(trust, next, etag === undefined ? {} : { etag });
  return view(trust, req, next);
}

/** The mode a route's answer reflects, when the route read or wrote it. */
export const recordedTrustMode = (record: AdminLogRecord): TrustMode | undefined =>
  isTrustMode(record.trust_mode) ? record.trust_mode : undefined;
