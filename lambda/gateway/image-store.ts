/**
 * Images asked for by URL (promise P2): each planned image (`./image-plan`) is
 * stored in the image bucket under its expiry-prefixed key, encrypted with the
 * image CMK, and returned as a presigned GET URL that expires no later than the
 * image itself.
 *
 * Objects carry no metadata, tags or names from the request: only the bytes and
 * a content type.
 *
 * The gateway imports this module on the first image asked for by URL, so the
 * S3 client and presigner are not loaded at cold start.
 */

import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { imageExpiry, type PlannedImage } from './image-plan';

let client: S3Client | undefined;

/** The function's S3 client, created once, on first use. */
export function defaultS3Client(): S3Client {
  client ??= new S3Client({});
  return client;
}

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

/**
 * Uploads planned images in parallel and presigns a GET URL for each. All
 * uploads settle before this returns or throws, so none lands after the
 * request's record is final; `signal` bounds how long they may take.
 */
export async function uploadImages(
  options: ImageStoreOptions,
  planned: readonly PlannedImage[],
  now: Date,
  signal: AbortSignal,
): Promise<StoredImage[]> {
  const { urlExpiresInSeconds } = imageExpiry(now, options.ttlSeconds);
  const encryption: Partial<PutObjectCommandInput> = options.kmsKeyArn
    ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyArn, BucketKeyEnabled: true }
    : {};
  const settled = await Promise.allSettled(
    planned.map(async ({ key, bytes, contentType }) => {
      await options.s3.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          CacheControl: 'private, no-store',
          ...encryption,
        }),
        { abortSignal: signal },
      );
      const url = await getSignedUrl(
        options.s3,
        new GetObjectCommand({ Bucket: options.bucket, Key: key }),
        { expiresIn: urlExpiresInSeconds, signingDate: now },
      );
      return { key, url };
    }),
  );
  const stored: StoredImage[] = [];
  for (const result of settled) {
    // The SDK's errors; the caller answers with a fixed message.
    if (result.status === 'rejected') throw result.reason;
    stored.push(result.value);
  }
  return stored;
}
