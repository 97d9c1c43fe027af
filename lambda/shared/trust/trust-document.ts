/**
 * The trust store document: one JSON object in the config bucket (key
 * `TRUST_STORE_OBJECT_KEY`) holding the outbound trust mode and the uploaded
 * PEM bundle.
 *
 * ```json
 * {"version":1,"mode":"uploaded_and_public","pem":"-----BEGIN CERTIFICATE-----\n...","updated_at":"2030-01-01T00:00:00.000Z"}
 * ```
 *
 * - `uploaded_and_public`: Node's public CAs plus the uploaded ones (the default);
 * - `uploaded_only`: only the uploaded CAs;
 * - `insecure_trust_all`: no verification at all (refused unless the deployment allows it).
 */

import { TrustStoreError } from './errors';

export const TRUST_MODES = ['uploaded_and_public', 'uploaded_only', 'insecure_trust_all'] as const;
export type TrustMode = (typeof TRUST_MODES)[number];

export interface TrustDocument {
  readonly mode: TrustMode;
  /** The uploaded certificates, PEM ('' when none). */
  readonly pem: string;
  /** When the document was last written (ISO-8601). */
  readonly updatedAt: string;
}

/** What a deployment trusts before anything is uploaded. */
export const DEFAULT_TRUST: TrustDocument = Object.freeze({
  mode: 'uploaded_and_public',
  pem: '',
  updatedAt: new Date(0).toISOString(),
});

const DOCUMENT_VERSION = 1;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export function isTrustMode(value: unknown): value is TrustMode {
  return typeof value === 'string' && (TRUST_MODES as readonly string[]).includes(value);
}

export function encodeTrustDocument(doc: TrustDocument): string {
  return JSON.stringify({
    version: DOCUMENT_VERSION,
    mode: doc.mode,
    pem: doc.pem,
    updated_at: doc.updatedAt,
  });
}

/** Parses a stored document. Throws {@link TrustStoreError} (never quoting it) when malformed. */
export function decodeTrustDocument(text: string): TrustDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TrustStoreError('the trust store document is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TrustStoreError('the trust store document is not a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  if (o.version !== DOCUMENT_VERSION) {
    throw new TrustStoreError('the trust store document has an unknown version');
  }
  if (!isTrustMode(o.mode)) {
    throw new TrustStoreError('the trust store document has an unknown mode');
  }
  if (typeof o.pem !== 'string') {
    throw new TrustStoreError('the trust store document has no pem string');
  }
  if (
    typeof o.updated_at !== 'string' ||
    !ISO_TIMESTAMP.test(o.updated_at) ||
    Number.isNaN(Date.parse(o.updated_at))
  ) {
    throw new TrustStoreError('the trust store document has no valid updated_at');
  }
  return { mode: o.mode, pem: o.pem, updatedAt: o.updated_at };
}
