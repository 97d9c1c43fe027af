/**
 * `GET /healthz`: `{"status":"ok"}`, with no key, no record and no log line.
 * It reads nothing: the trust warning reflects the cached trust store, when
 * there is one.
 */

import { jsonResult } from '../../shared/http-results';
import { RETENTION_HEADER, retentionHeader } from '../../shared/retention-header';
import { trustWarningHeaders } from '../../shared/trust/warning';
import type { OpenRoute } from '../pipeline/route';

const HEALTH_BODY = JSON.stringify({ status: 'ok' });

export const health: OpenRoute = {
  kind: 'open',
  answer: (svc) =>
    jsonResult(200, HEALTH_BODY, {
      ...trustWarningHeaders(svc.trust?.peek?.()?.mode),
      [RETENTION_HEADER]: retentionHeader({}),
    }),
};
