/**
 * `X-Ephemera-Retention`: what this request left behind.
 *
 * - `content=none; metadata=30d`: a usage record (and log line) kept 30 days, no content;
 * - `content=image; image-ttl=3600; metadata=30d`: also images kept for 3600 s;
 * - `content=none; metadata=none`: nothing at all (`GET /healthz`).
 */

export const RETENTION_HEADER = 'X-Ephemera-Retention';

export interface Retention {
  /** Days metadata is kept; undefined when none is written. */
  readonly metadataDays?: number;
  /** Seconds stored images are kept; undefined when none were stored. */
  readonly imageTtlSeconds?: number;
}

export function retentionHeader(retention: Retention): string {
  const content =
    retention.imageTtlSeconds !== undefined
      ? `content=image; image-ttl=${retention.imageTtlSeconds}`
      : 'content=none';
  const metadata = retention.metadataDays !== undefined ? `${retention.metadataDays}d` : 'none';
  return `${content}; metadata=${metadata}`;
}
