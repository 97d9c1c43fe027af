/**
 * Object keys of the image bucket (promise P2).
 *
 * Every stored image lives at `images/<expiry epoch seconds, 10 digits>/<id>.<ext>`.
 * The expiry is zero-padded to a fixed width, so the lexicographic (UTF-8 binary)
 * order in which S3 lists keys is the order in which images expire. The sweeper
 * relies on that: it lists from the start of the prefix and stops at the first key
 * that is not yet due, so its cost follows what is due, not the size of the bucket.
 *
 * This module is the only place that builds or parses these keys.
 */

import { randomBytes } from 'node:crypto';

/** Prefix shared by every image key (and by the bucket's lifecycle rule). */
export const IMAGE_KEY_PREFIX = 'images/';

/** Image formats the bucket stores. */
export const IMAGE_EXTENSIONS = ['png', 'jpeg', 'webp'] as const;
export type ImageExtension = (typeof IMAGE_EXTENSIONS)[number];

/** Largest expiry a 10-digit field can hold (2286-11-20T17:46:39Z). */
export const MAX_EXPIRY_EPOCH_SECONDS = 9_999_999_999;

/** Ids are url-safe tokens, the same shape as the logger's `token` ids. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const KEY_PATTERN = /^images\/(\d{10})\/([A-Za-z0-9_-]{1,128})\.(png|jpeg|webp)$/;

/** Random bytes in a new image id (128 bits). */
const ID_BYTES = 16;

export interface ParsedImageKey {
  /** Expiry of the image, epoch seconds (UTC). */
  readonly expiresAtEpochSeconds: number;
  /** The random image id. */
  readonly id: string;
  /** The file extension, without the dot. */
  readonly ext: ImageExtension;
}

/**
 * A new image id: 128 bits from the CSPRNG, base64url without padding
 * (22 characters of `A-Za-z0-9_-`).
 */
export function newImageId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/**
 * Builds the key of an image that expires at `expiresAt`.
 *
 * The expiry is rounded up to the next whole second, so an image is never
 * deleted before `expiresAt` (a presigned URL that expires at `expiresAt`
 * stays usable for its whole life). Throws on an invalid date, an expiry before
 * the epoch or beyond {@link MAX_EXPIRY_EPOCH_SECONDS}, an id that is not a
 * 1-128 character url-safe token, or an unknown extension. Messages never echo
 * the values.
 */
export function imageKey(expiresAt: Date, id: string, ext: ImageExtension): string {
  const ms = expiresAt instanceof Date ? expiresAt.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new Error('imageKey: expiresAt must be a valid Date');
  }
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 0 || seconds > MAX_EXPIRY_EPOCH_SECONDS) {
    throw new Error(
      `imageKey: expiresAt must be between the epoch and ${MAX_EXPIRY_EPOCH_SECONDS} epoch seconds`,
    );
  }
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new Error('imageKey: id must be 1-128 characters of A-Z, a-z, 0-9, _ or -');
  }
  if (!(IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new Error(`imageKey: ext must be one of ${IMAGE_EXTENSIONS.join(', ')}`);
  }
  return `${IMAGE_KEY_PREFIX}${String(seconds).padStart(10, '0')}/${id}.${ext}`;
}

/**
 * Parses an image key. Returns `undefined` for anything that {@link imageKey}
 * could not have produced; never throws.
 */
export function parseImageKey(key: string): ParsedImageKey | undefined {
  if (typeof key !== 'string') return undefined;
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  return {
    expiresAtEpochSeconds: Number(match[1]),
    id: match[2],
    ext: match[3] as ImageExtension,
  };
}
