/** Headers every answer but a health check carries: what it left behind, its request id, the trust warning. */

import { RETENTION_HEADER, retentionHeader } from '../../shared/retention-header';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

export async function answerHeaders(
  svc: GatewayServices,
  state: RequestState,
): Promise<Record<string, string>> {
  return {
    ...(await state.warning),
    [RETENTION_HEADER]: retentionHeader({
      metadataDays: svc.config.metadataRetentionDays,
      ...(state.imageKeys.length > 0 ? { imageTtlSeconds: svc.config.imageTtlSeconds } : {}),
    }),
    'X-Request-Id': state.requestId,
  };
}
