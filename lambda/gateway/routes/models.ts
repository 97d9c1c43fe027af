/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the configured models the
 * upstream offers now, as an OpenAI model list or one model object.
 */

import { modelNotFound } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import type { ModelConfig } from '../config';
import { upstreamSignal } from '../pipeline/deadline';
import type { KeyedRoute } from '../pipeline/route';
import type { RequestState } from '../pipeline/request-state';
import type { GatewayServices } from '../pipeline/services';
import { pathId } from '../router';

/** The path of one model; the id is the rest of the path. */
export const MODEL_PATH = '/v1/models/{id}';

/** One model object (`created` and `owned_by` are fixed). */
export function modelJson(model: ModelConfig): Record<string, unknown> {
  return { id: model.id, object: 'model', created: 0, owned_by: 'ephemera' };
}

/** The list body. */
export function modelListJson(offered: readonly ModelConfig[]): string {
  return JSON.stringify({ object: 'list', data: offered.map(modelJson), next_cursor: null });
}

const offeredModels = (svc: GatewayServices, state: RequestState) =>
  svc.upstream.models(svc.config.models, upstreamSignal(svc, state));

export const listModels: KeyedRoute = {
  kind: 'keyed',
  async handle(svc, state) {
    return jsonResult(200, modelListJson(await offeredModels(svc, state)));
  },
};

/**
 * The model id a path names: the rest of the path after `/v1/models/`,
 * percent-decoded (clients encode the `/` of ids such as `org/model`), or
 * undefined when it is not valid percent-encoding.
 */
export function requestedModelId(path: string): string | undefined {
  const raw = pathId(MODEL_PATH, path);
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export const retrieveModel: KeyedRoute = {
  kind: 'keyed',
  async handle(svc, state) {
    const id = requestedModelId(state.http.path);
    // Only a configured id is looked up or recorded; anything else is a 404.
    const configured = svc.models.get(id ?? '');
    if (!configured) throw modelNotFound();
    const offered = await offeredModels(svc, state);
    if (!offered.some((m) => m.id === configured.id)) throw modelNotFound();
    state.record.model = configured.id;
    return jsonResult(200, JSON.stringify(modelJson(configured)));
  },
};
