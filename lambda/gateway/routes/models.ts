/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the configured models, as an
 * OpenAI model list or one model object. The configuration is the one rule
 * for listing, retrieving and calling a model: the upstream's own list is not
 * asked, so a configured model is listed, retrieved and served alike (an
 * upstream that does not serve it answers each call with a 502
 * `model_not_found`, which names the deployment's model list as the fault).
 */

import { modelNotFound } from '../../shared/http-errors';
import { jsonResult } from '../../shared/http-results';
import type { ModelConfig } from '../config';
import type { KeyedRoute } from '../pipeline/route';
import { pathRest } from '../../shared/router';

/** The path of one model; the id is the rest of the path (it may hold `/`). */
export const MODEL_PATH = '/v1/models/*';

/** One model object (`created` and `owned_by` are fixed). */
export function modelJson(model: ModelConfig): Record<string, unknown> {
  return { id: model.id, object: 'model', created: 0, owned_by: 'ephemera' };
}

/** The list body. */
export function modelListJson(offered: readonly ModelConfig[]): string {
  return JSON.stringify({ object: 'list', data: offered.map(modelJson), next_cursor: null });
}

export const listModels: KeyedRoute = {
  kind: 'keyed',
  handle(svc) {
    return Promise.resolve(jsonResult(200, modelListJson(svc.config.models)));
  },
};

/**
 * The model id a path names: the rest of the path after `/v1/models/`,
 * percent-decoded (clients encode the `/` of ids such as `org/model`), or
 * undefined when it is not valid percent-encoding.
 */
export function requestedModelId(path: string): string | undefined {
  const raw = pathRest(MODEL_PATH, path);
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
    if (!configured) throw modelNotFound(id);
    state.record.model = configured.id;
    return jsonResult(200, JSON.stringify(modelJson(configured)));
  },
};
