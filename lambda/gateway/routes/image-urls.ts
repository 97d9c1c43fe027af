/**
 * Images asked for by URL (`response_format: "url"`): each gets its key, every
 * key goes on the record (with the customer hash) before any upload starts,
 * and the answer links each stored image with a presigned URL. An instance
 * that dies mid-request leaves no image that erasure cannot find: no record,
 * no upload.
 */

import type { HttpResult } from '../../shared/http-event';
import { HttpError, MESSAGES } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import { planImages, type PlannedImage } from '../image-plan';
// Types only: the store's code (S3 and its presigner) loads on first use.
import type { StoredImage } from '../image-store';
import { upstreamSignal } from '../pipeline/deadline';
import { writeRecord } from '../pipeline/record';
import type { RequestState } from '../pipeline/request-state';
import type { GatewayServices } from '../pipeline/services';

/** Stores the images and answers with their URLs. */
export async function storeImages(
  svc: GatewayServices,
  state: RequestState,
  images: readonly Buffer[],
  created: number,
): Promise<HttpResult> {
  const { config } = svc;
  // The TTL runs from storage, not from the request's start, so a slow
  // upstream does not hand out a URL that is about to expire.
  const storedAt = svc.now();
  let planned: PlannedImage[];
  try {
    planned = planImages(images, storedAt, config.imageTtlSeconds);
  } catch {
    throw new HttpError(502, 'server_error', MESSAGES.upstreamError, { code: 'upstream_error' });
  }
  await recordKeys(svc, state, planned);
  const stored = await upload(svc, state, planned, storedAt);
  return jsonResult(200, JSON.stringify({ created, data: stored.map((s) => ({ url: s.url })) }));
}

/** Uploads the images and presigns their URLs; a 500 when any of it fails. */
async function upload(
  svc: GatewayServices,
  state: RequestState,
  planned: readonly PlannedImage[],
  storedAt: Date,
): Promise<StoredImage[]> {
  const { config } = svc;
  try {
    // Loaded on first use: S3 and its presigner stay out of the cold start.
    const store = await import('../image-store');
    return await store.uploadImages(
      {
        s3: svc.s3 ?? store.defaultS3Client(),
        bucket: config.imageBucketName,
        ttlSeconds: config.imageTtlSeconds,
        ...(config.imageKmsKeyArn ? { kmsKeyArn: config.imageKmsKeyArn } : {}),
      },
      planned,
      storedAt,
      // Uploads end inside the Lambda's reserve, so the answer and the
      // final record are always written.
      upstreamSignal(svc, state),
    );
  } catch {
    throw new HttpError(500, 'server_error', MESSAGES.storeFailed);
  }
}

/** Writes the record with every key before any upload; a 503 (and no keys kept) when it cannot. */
async function recordKeys(
  svc: GatewayServices,
  state: RequestState,
  planned: readonly PlannedImage[],
): Promise<void> {
  state.imageKeys.push(...planned.map((p) => p.key));
  state.record.image_ttl_seconds = svc.config.imageTtlSeconds;
  if (!(await writeRecord(svc, state))) {
    state.imageKeys.length = 0;
    delete state.record.image_ttl_seconds;
    throw new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });
  }
}
