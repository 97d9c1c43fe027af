/**
 * The request's one usage record: the table item (for requests whose API key
 * was verified) and the log line (for every request but health checks). Both
 * are built from `USAGE_SCHEMA`, so neither can hold request or response
 * content.
 */

import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { usageItem } from '../../shared/usage-record';
import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

/** Writes the usage table item; false when it could not be written. */
export async function writeRecord(svc: GatewayServices, state: RequestState): Promise<boolean> {
  try {
    await svc.ddb.send(
      new PutItemCommand({
        TableName: svc.config.usageTableName,
        Item: usageItem(state.record, state.imageKeys),
      }),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends the record with the answer's status and the latency since `started`
 * (`performance.now()`), then writes the item and the log line.
 */
export async function finishRecord(
  svc: GatewayServices,
  state: RequestState,
  status: number,
  started: number,
): Promise<void> {
  const { record } = state;
  record.status = status;
  record.latency_ms = Math.max(0, Math.round(performance.now() - started));
  if (state.imageKeys.length > 0) record.image_ttl_seconds = svc.config.imageTtlSeconds;
  if (state.authenticated) record.record_written = await writeRecord(svc, state);
  try {
    svc.logger.write(record);
  } catch {
    // A failing log sink must not fail the request; there is nothing safe to add.
  }
}
