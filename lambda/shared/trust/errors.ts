/**
 * Errors of the trust store. Messages are fixed strings written here: they
 * never quote the stored document, a certificate or an S3 error's text, so
 * they are safe to log. (Re-exported by ./trust-source, where callers find
 * them.)
 */

/** The trust store could not be read, written or understood. */
export class TrustStoreError extends Error {
  override readonly name: string = 'TrustStoreError';
}

/** The trust store changed between a read and a conditional write. */
export class TrustStoreConflict extends TrustStoreError {
  override readonly name: string = 'TrustStoreConflict';
  constructor(message = 'the trust store changed while this request ran') {
    super(message);
  }
}
