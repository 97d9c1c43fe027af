/**
 * The part of storing images that needs no AWS call: each generated image
 * gets its expiry-prefixed key (`lambda/shared/image-key.ts`) before anything
 * is uploaded, so the usage record can name every object that may come to
 * exist.
 */

import { imageKey, newImageId } from '../shared/image-key';
import { CONTENT_TYPES, sniffImage } from './image-format';

/** The image's expiry and the presigned URL's lifetime, so that the URL never outlives the image. */
export function imageExpiry(
  now: Date,
  ttlSeconds: number,
): { expiresAt: Date; urlExpiresInSeconds: number } {
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  // The signature's X-Amz-Date is `now` truncated to the second, so the URL
  // expires at or before now + ttl, and the key's expiry is rounded up.
  return { expiresAt, urlExpiresInSeconds: ttlSeconds };
}

/** An image about to be stored: its key is known (and recorded) before any upload. */
export interface PlannedImage {
  readonly key: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

/**
 * Gives each image its expiry-prefixed key. Throws when an image is not PNG,
 * JPEG or WebP (the upstream answered something that is not an image).
 */
export function planImages(
  images: readonly Buffer[],
  now: Date,
  ttlSeconds: number,
): PlannedImage[] {
  const { expiresAt } = imageExpiry(now, ttlSeconds);
  return images.map((bytes) => {
    const ext = sniffImage(bytes);
    if (!ext) throw new Error('Unrecognised image format');
    return { key: imageKey(expiresAt, newImageId(), ext), bytes, contentType: CONTENT_TYPES[ext] };
  });
}
