/** `GET /v1/models`: the configured models the upstream offers now, as an OpenAI model list. */

import { jsonResult } from '../../shared/http-results';
import type { ModelConfig } from '../config';
import { upstreamSignal } from '../pipeline/deadline';
import type { KeyedRoute } from '../pipeline/route';

/** The list body: ids only (`created` and `owned_by` are fixed). */
export function modelListJson(offered: readonly ModelConfig[]): string {
  const data = offered.map((m) => ({
    id: m.id,
    object: 'model',
    created: 0,
    owned_by: 'ephemera',
  }));
  return JSON.stringify({ object: 'list', data, next_cursor: null });
}

export const listModels: KeyedRoute = {
  kind: 'keyed',
  async handle(svc, state) {
    const offered = await svc.upstream.models(svc.config.models, upstreamSignal(svc, state));
    return jsonResult(200, modelListJson(offered));
  },
};
