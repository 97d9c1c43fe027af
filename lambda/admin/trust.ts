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
 *
 * Repair: when the stored object does not decode (a corrupted write, or a
 * document of a newer version after a rollback), every route answers 503
 * `trust_store_undecodable`, naming the repair. Only an explicit
 * `?repair=true` on `DELETE /v1/trust/certificates` (the default document) or
 * `PUT /v1/trust/certificates` (the uploaded bundle, mode
 * `uploaded_and_public`: the old mode cannot be read) replaces it, with
 * `If-Match` on the ETag of the undecodable object read: a document written
 * meanwhile is left alone (409). A repair of a document that decodes is
 * refused (409 `nothing_to_repair`), so a habitual `repair=true` cannot
 * replace a good document. Nothing of the undecodable object is ever
 * answered or logged; the log line of a repair has `trust_repaired: true`.
 */

import { TRUST_BUNDLE_MAX_BYTES } from '../../lib/core/config-objects';
import type { HttpResult } from '../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import { albResult, jsonBody, jsonResult } from '../shared/http-results';
import { checkBundle, joinBundle, summariseBundle } from '../shared/trust/pem-bundle';
import {
  DEFAULT_TRUST,
  isTrustMode,
  TRUST_MODES,
  type TrustDocument,
  type TrustMode,
} from '../shared/trust/trust-document';
import {
  TrustStoreConflict,
  TrustStoreError,
  TrustStoreUndecodable,
} from '../shared/trust/trust-source';
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
  undecodable:
    'The stored trust store document cannot be decoded (a corrupted write, or a newer version of the document); reset it with DELETE /v1/trust/certificates?repair=true, or replace it with PUT /v1/trust/certificates?repair=true and a PEM body',
  nothingToRepair:
    'The stored trust store document decodes: there is nothing to repair; send the request without repair=true',
  repairConflict:
    'the trust store changed while this repair ran and was left as it is; read it again (GET /v1/trust) before repairing',
  badRepair: 'repair must be true or false, given once',
  malformedQuery: 'The query string is not valid percent-encoding',
} as const;

/**
 * The query parameter (`repair=true`) that lets `PUT` and `DELETE
 * /v1/trust/certificates` replace a stored document that does not decode.
 */
export const TRUST_REPAIR_PARAM = 'repair';

const PEM_CONTENT_TYPE = 'application/x-pem-file';

function trustOf(svc: AdminServices): AdminTrust {
  if (!svc.trust) {
    throw new HttpError(404, 'invalid_request_error', TRUST_MESSAGES.notConfigured, {
      code: 'trust_store_not_configured',
    });
  }
  return svc.trust;
}

/** Maps the store's errors (a conflict during a repair has its own message); anything else is rethrown. */
function storeError(err: unknown, repair = false): never {
  if (err instanceof TrustStoreConflict) {
    throw new HttpError(
      409,
      'invalid_request_error',
      repair ? TRUST_MESSAGES.repairConflict : TRUST_MESSAGES.conflict,
      { code: 'trust_store_conflict' },
    );
  }
  if (err instanceof TrustStoreUndecodable) {
    // A fixed message: nothing of the stored object, not even its ETag.
    throw new HttpError(503, 'server_error', TRUST_MESSAGES.undecodable, {
      code: 'trust_store_undecodable',
      retry: false,
    });
  }
  if (err instanceof TrustStoreError) {
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
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

/** Whether the request asks for a repair (`?repair=true`); 400 for anything but true or false, once. */
function repairRequested(req: AdminRequest): boolean {
  if (req.http.queryMalformed) throw invalidRequest(TRUST_MESSAGES.malformedQuery);
  const values = req.http.query.get(TRUST_REPAIR_PARAM) ?? [];
  if (values.length === 0) return false;
  if (values.length > 1 || (values[0] !== 'true' && values[0] !== 'false')) {
    throw invalidRequest(TRUST_MESSAGES.badRepair, TRUST_REPAIR_PARAM);
  }
  return values[0] === 'true';
}

/**
 * What a change of the certificates replaces: the document read and its
 * ETag, or, for a repair, only the ETag of the undecodable object read.
 */
type Replaced =
  | { readonly repair: false; readonly doc: TrustDocument; readonly etag?: string }
  | { readonly repair: true; readonly etag: string };

/**
 * Reads the store before a change. Without `repair`, as {@link read}. With
 * it, the stored object must be one that does not decode (anything else is
 * a 409 `nothing_to_repair`: a good document is never replaced by a repair).
 */
async function readForChange(trust: AdminTrust, repair: boolean): Promise<Replaced> {
  let result: { doc: TrustDocument; etag?: string };
  try {
    result = await trust.store.read();
  } catch (err) {
    if (repair && err instanceof TrustStoreUndecodable) return { repair: true, etag: err.etag };
    return storeError(err);
  }
  if (repair) {
    throw new HttpError(409, 'invalid_request_error', TRUST_MESSAGES.nothingToRepair, {
      code: 'nothing_to_repair',
      param: TRUST_REPAIR_PARAM,
      retry: false,
    });
  }
  return result.etag === undefined
    ? { repair: false, doc: result.doc }
    : { repair: false, doc: result.doc, etag: result.etag };
}

/** Writes the document (if unchanged since `etag` was read); the cache then holds it. */
async function write(
  trust: AdminTrust,
  doc: TrustDocument,
  expected: { etag?: string },
  repair = false,
): Promise<void> {
  try {
    await trust.store.write(doc, expected);
  } catch (err) {
    trust.source.invalidate();
    storeError(err, repair);
  }
  trust.source.remember(doc);
}

/** Writes the change read by {@link readForChange}; a repair says so in the log line. */
async function writeChange(
  trust: AdminTrust,
  req: AdminRequest,
  replaced: Replaced,
  next: TrustDocument,
): Promise<void> {
  await write(
    trust,
    next,
    replaced.etag === undefined ? {} : { etag: replaced.etag },
    replaced.repair,
  );
  if (replaced.repair) req.record.trust_repaired = true;
}

/** The JSON answer of every route but the bundle download; records mode and count. */
function view(trust: AdminTrust, req: AdminRequest, doc: TrustDocument): HttpResult {
  let certificates;
  try {
    certificates = summariseBundle(doc.pem);
  } catch {
    throw new HttpError(500, 'server_error', TRUST_MESSAGES.corrupt);
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
      'invalid_request_error',
      `the bundle exceeds the limit of ${TRUST_BUNDLE_MAX_BYTES} bytes`,
      { code: 'request_too_large' },
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

/**
 * `PUT /v1/trust/certificates`: the body is a PEM bundle that replaces the
 * stored one (the mode stays). `?repair=true`: replaces an undecodable
 * document, with mode `uploaded_and_public`.
 */
export async function putCertificates(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const repair = repairRequested(req);
  const checked = checkBundle(bundleText(req), svc.now());
  if (!checked.ok) {
    throw checked.status === 413
      ? new HttpError(413, 'invalid_request_error', checked.message, { code: 'request_too_large' })
      : invalidRequest(checked.message);
  }
  const replaced = await readForChange(trust, repair);
  const next: TrustDocument = {
    mode: replaced.repair ? DEFAULT_TRUST.mode : replaced.doc.mode,
    pem: joinBundle(checked.certificates),
    updatedAt: svc.now().toISOString(),
  };
  await writeChange(trust, req, replaced, next);
  return view(trust, req, next);
}

/** `GET /v1/trust/certificates`: the stored bundle. */
export async function getCertificates(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const { doc } = await read(trust);
  req.record.trust_mode = doc.mode;
  if (doc.pem === '') {
    req.record.certificate_count = 0;
    throw new HttpError(404, 'invalid_request_error', TRUST_MESSAGES.noCertificates, {
      code: 'no_certificates',
    });
  }
  return albResult(200, doc.pem, PEM_CONTENT_TYPE);
}

/**
 * `DELETE /v1/trust/certificates`: no certificates, mode
 * `uploaded_and_public`. `?repair=true`: the same, over an undecodable document.
 */
export async function deleteCertificates(
  svc: AdminServices,
  req: AdminRequest,
): Promise<HttpResult> {
  const trust = trustOf(svc);
  const replaced = await readForChange(trust, repairRequested(req));
  const next: TrustDocument = {
    mode: 'uploaded_and_public',
    pem: '',
    updatedAt: svc.now().toISOString(),
  };
  await writeChange(trust, req, replaced, next);
  return view(trust, req, next);
}

/** `PUT /v1/trust/mode`: `{"mode": "uploaded_and_public" | "uploaded_only" | "insecure_trust_all"}`. */
export async function putMode(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const trust = trustOf(svc);
  const mode: unknown = jsonBody(req.http).mode;
  if (!isTrustMode(mode)) throw invalidRequest(TRUST_MESSAGES.badMode, 'mode');
  if (mode === 'insecure_trust_all' && !trust.allowInsecureTrustAll) {
    throw new HttpError(403, 'invalid_request_error', TRUST_MESSAGES.insecureNotAllowed, {
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
