/**
 * `GET /v1/logs` as the smoke checks read it: every usage record of the
 * synthetic customer (all pages), or the record of one request, with the
 * answers' raw text (what the canary check searches).
 */

import type { SmokeRun } from './run';

export interface LogPage {
  readonly records: readonly Record<string, unknown>[];
  /** The raw text of every page read. */
  readonly texts: readonly string[];
}

const MAX_PAGES = 50;

async function pages(run: SmokeRun, first: string, headers: Record<string, string>) {
  const records: Record<string, unknown>[] = [];
  const texts: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const path: string = cursor ? `${first}&cursor=${encodeURIComponent(cursor)}` : first;
    const answer = await run.admin(path, { headers });
    texts.push(answer.text);
    const body = answer.json as
      { data?: Record<string, unknown>[]; next_cursor?: string | null } | undefined;
    if (answer.status !== 200 || !Array.isArray(body?.data)) {
      throw new Error(`GET /v1/logs answered ${answer.status}`);
    }
    records.push(...body.data);
    cursor = body.next_cursor ?? null;
    if (!cursor) break;
  }
  return { records, texts };
}

/** Every usage record of the synthetic customer (the customer id goes in the header). */
export function customerLogs(run: SmokeRun): Promise<LogPage> {
  return pages(run, '/v1/logs?limit=200', {
    'x-ephemera-metadata': `customer_id=${run.customerId}`,
  });
}

/** The usage record of one request (none, or one). */
export function requestLogs(run: SmokeRun, requestId: string): Promise<LogPage> {
  return pages(run, `/v1/logs?filter=request_id::${encodeURIComponent(requestId)}`, {});
}
