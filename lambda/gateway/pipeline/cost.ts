/** What an upstream call used, and its cost, on the usage record. */

import type { UsageRecord } from '../../shared/usage-record';
import type { ModelConfig } from '../config';
import { costMicroUsd } from '../pricing';

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export function recordTokens(record: UsageRecord, model: ModelConfig, usage: TokenUsage): void {
  record.input_tokens = usage.inputTokens;
  record.output_tokens = usage.outputTokens;
  record.cost_micro_usd = costMicroUsd(model, usage);
}

export function recordImages(record: UsageRecord, model: ModelConfig, count: number): void {
  record.image_count = count;
  record.cost_micro_usd = costMicroUsd(model, { images: count });
}

/** An embedding request: its input tokens and their cost (there is no output). */
export function recordEmbeddings(
  record: UsageRecord,
  model: ModelConfig,
  inputTokens: number,
): void {
  record.input_tokens = inputTokens;
  record.cost_micro_usd = costMicroUsd(model, { inputTokens });
}
