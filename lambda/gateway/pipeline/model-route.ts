/**
 * The steps every route that names a model shares: read the JSON body
 * (413/400), validate it (400), find the configured model of the route's kind
 * (404), and put the model and the request's parameters on the record. The
 * route says only how to validate, what to record, and how to call the
 * upstream and answer.
 */

import type { HttpResult } from '../../shared/http-event';
import { invalidRequest, modelNotFound } from '../../shared/http-errors';
import { jsonBody } from '../../shared/http-results';
import type { UsageRecord } from '../../shared/usage-record';
import type { GatewayConfig, ModelConfig, ModelKind } from '../config';
import type { Validated } from '../validation';
import type { RequestState } from './request-state';
import type { KeyedRoute } from './route';
import type { GatewayServices } from './services';

/** A valid request, with the configured model it names. */
export interface ModelCall<R> {
  readonly svc: GatewayServices;
  readonly state: RequestState;
  readonly request: R;
  readonly model: ModelConfig;
}

export interface ModelRouteSpec<R extends { readonly model: string }> {
  /** Checks the parsed body; the message of a failure is a 400's. */
  readonly validate: (body: Record<string, unknown>, config: GatewayConfig) => Validated<R>;
  /** The kind of model the route serves; a model of another kind is a 404. */
  readonly modelKind: ModelKind;
  /** The request's parameters as record fields: numbers, counts and enums, never content. */
  readonly describe: (request: R) => UsageRecord;
  /** Calls the upstream and builds the answer. */
  readonly answer: (call: ModelCall<R>) => Promise<HttpResult>;
}

/** The configured model `id` if it is of `kind`; else a 404. */
export function findModel(
  models: ReadonlyMap<string, ModelConfig>,
  id: string,
  kind: ModelKind,
): ModelConfig {
  const model = models.get(id);
  if (!model || model.kind !== kind) throw modelNotFound(id, model !== undefined);
  return model;
}

export function modelRoute<R extends { readonly model: string }>(
  spec: ModelRouteSpec<R>,
): KeyedRoute {
  return {
    kind: 'keyed',
    async handle(svc, state) {
      const checked = spec.validate(jsonBody(state.http), svc.config);
      if (!checked.ok) throw invalidRequest(checked.message, checked.param);
      const request = checked.value;
      const model = findModel(svc.models, request.model, spec.modelKind);
      Object.assign(state.record, { model: model.id }, spec.describe(request));
      return spec.answer({ svc, state, request, model });
    },
  };
}
