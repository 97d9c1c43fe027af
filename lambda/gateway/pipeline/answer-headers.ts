/**
 * Headers every answer but a health check carries: what it left behind, its
 * request id, and the warnings (the trust warning, then the request's own).
 */

import { RETENTION_HEADER, retentionHeader } from '../../shared/retention-header';
import { warningHeader } from '../../shared/warning-header';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

export async function answerHeaders(
  svc: GatewayServices,
  state: RequestState,
): Promise<Record<string, string>> {
  return {
    ...warningHeader([await state.trustWarning, ...state.warnings]),
    [RETENTION_HEADER]: retentionHeader({
      metadataDays: svc.config.metadataRetentionDays,
      ...(state.imageKeys.length > 0 ? { imageTtlSeconds: svc.config.imageTtlSeconds } : {}),
    }),
    'X-Request-Id': state.requestId,
  };
}
