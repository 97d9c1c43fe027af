/**
 * Images asked for by URL (promise P2): each is stored in the image bucket under
 * an expiry-prefixed key (`lambda/shared/image-key.ts`), encrypted with the
 * image CMK, and returned as a presigned GET URL that expires no later than the
 * image itself.
 *
 * Objects carry no metadata, tags or names from the request: only the bytes and
 * a content type.
 */

import {
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { imageKey, newImageId } from '../shared/image-key';
import { CONTENT_TYPES, sniffImage } from './image-format';

export interface ImageStoreOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** KMS key for SSE-KMS; when unset, the bucket's default encryption applies. */
  readonly kmsKeyArn?: string;
  readonly ttlSeconds: number;
}

export interface StoredImage {
  readonly key: string;
  readonly url: string;
}

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

/**
 * Stores the images (in parallel). Each key is reported through `onStored`
 * before its upload starts, so the usage record lists every object that may
 * exist (for erasure) even when another upload fails; all uploads settle
 * before this returns or throws, so none lands after the record is written.
 */
export async function storeImages(
  options: ImageStoreOptions,
  images: readonly Buffer[],
  now: Date,
  onStored: (key: string) => void,
): Promise<StoredImage[]> {
  const { expiresAt, urlExpiresInSeconds } = imageExpiry(now, options.ttlSeconds);
  const encryption: Partial<PutObjectCommandInput> = options.kmsKeyArn
    ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyArn, BucketKeyEnabled: true }
    : {};
  const settled = await Promise.allSettled(
    images.map(async (bytes) => {
      const ext = sniffImage(bytes);
      if (!ext) throw new Error('Unrecognised image format');
      const key = imageKey(expiresAt, newImageId(), ext);
      onStored(key);
      await options.s3.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key,
          Body: bytes,
          ContentType: CONTENT_TYPES[ext],
          CacheControl: 'private, no-store',
          ...encryption,
        }),
      );
      const url = await getSignedUrl(
        options.s3,
        new GetObjectCommand({ Bucket: options.bucket, Key: key }),
        {
          expiresIn: urlExpiresInSeconds,
          signingDate: now,
        },
      );
      return { key, url };
    }),
  );
  const stored: StoredImage[] = [];
  for (const result of settled) {
    // Our own errors, or the SDK's; the caller answers with a fixed message.
    if (result.status === 'rejected') throw result.reason;
    stored.push(result.value);
  }
  return stored;
}
