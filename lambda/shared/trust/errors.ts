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

/**
 * The stored object exists but is not a document this code can decode: a
 * corrupted write, or a document of a newer schema version (after a
 * rollback). Only an explicit repair replaces it, and only on the exact
 * object read: {@link etag} is its ETag, for the conditional write. Nothing
 * of the document is kept, and the ETag is a private field with a getter, so
 * serialising or inspecting the error does not show it either.
 */
export class TrustStoreUndecodable extends TrustStoreError {
  override readonly name: string = 'TrustStoreUndecodable';
  readonly #etag: string;
  constructor(message: string, etag: string) {
    super(message);
    this.#etag = etag;
  }
  /** The ETag of the undecodable object read (for `If-Match` on a repair). */
  get etag(): string {
    return this.#etag;
  }
}
