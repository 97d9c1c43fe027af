/** Cost of a request in millionths of a US dollar, from the configured price table. */

import type { ModelConfig } from './config';

export interface Usage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly images?: number;
}

/** Rounded to the nearest whole micro-dollar. */
export function costMicroUsd(model: ModelConfig, usage: Usage): number {
  const cost =
    ((usage.inputTokens ?? 0) * model.inputMicroUsdPer1kTokens) / 1000 +
    ((usage.outputTokens ?? 0) * model.outputMicroUsdPer1kTokens) / 1000 +
    (usage.images ?? 0) * model.microUsdPerImage;
  return Math.round(cost);
}
