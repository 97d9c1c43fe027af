/**
 * `GET /v1/logs`: usage records (metadata only) for one customer, newest
 * first, in pages; or the record of one request. A customer is shown only as
 * its keyed hash. Records past their retention are not returned, even when
 * DynamoDB has not removed them yet.
 */

import {
  GetItemCommand,
  QueryCommand,
  type AttributeValue,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { TTL_ATTRIBUTE, USAGE_CUSTOMER_INDEX } from '../../lib/core/tables';
import { headerValues, type HttpResult } from '../shared/http-event';
import { HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import { jsonResult } from '../shared/http-results';
import { customerHash } from '../../lib/core/keyed-hash';
import {
  METADATA_HEADER,
  metadataWarnings,
  parseMetadataHeaders,
} from '../../lib/core/metadata-header';
import { usageRecordFromItem, type UsageRecord } from '../shared/usage-record';
import type { AdminRequest, AdminServices } from './context';
import {
  CURSOR_MESSAGE,
  decodeCursor,
  encodeCursor,
  LOG_LIMIT,
  parseLimit,
  resolveSelector,
} from './log-query';

/** Most queries one page may take (each reads at most `limit` records). */
const MAX_QUERIES_PER_PAGE = 10;

/** A record as the API shows it: the metadata fields, without storage details. */
function recordView(item: Record<string, AttributeValue>): UsageRecord {
  const { record } = usageRecordFromItem(item);
  const view: Record<string, unknown> = { ...record };
  delete view.ttl;
  delete view.record_written;
  return view as UsageRecord;
}

const live = (item: Record<string, AttributeValue>, nowS: number) =>
  Number(item[TTL_ATTRIBUTE]?.N ?? '0') > nowS;

const unavailable = () =>
  new HttpError(503, 'server_error', MESSAGES.unavailable, { code: 'service_unavailable' });

export async function queryLogs(svc: AdminServices, req: AdminRequest): Promise<HttpResult> {
  const { http } = req;
  const header = parseMetadataHeaders(headerValues(http, METADATA_HEADER));
  if (!header.ok) throw invalidRequest(header.message, 'X-Ephemera-Metadata');
  req.warnings.push(...metadataWarnings(header.unknown));
  if (http.queryMalformed) {
    throw invalidRequest('The query string is not valid percent-encoding');
  }
  const selected = resolveSelector(header.customerId, http.query.get('filter') ?? []);
  if (!selected.ok) throw invalidRequest(selected.message, selected.param);
  const limit = parseLimit(http.query.get('limit') ?? []);
  if (limit === undefined) {
    throw invalidRequest(`limit must be a whole number from 1 to ${LOG_LIMIT.max}`, 'limit');
  }
  const cursors = http.query.get('cursor') ?? [];
  if (cursors.length > 1) throw invalidRequest(CURSOR_MESSAGE, 'cursor');
  const nowS = Math.floor(svc.now().getTime() / 1000);

  if (selected.selector.kind === 'request') {
    if (cursors.length > 0) throw invalidRequest(CURSOR_MESSAGE, 'cursor');
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (
        await svc.ddb.send(
          new GetItemCommand({
            TableName: svc.config.usageTableName,
            Key: { request_id: { S: selected.selector.requestId } },
            ConsistentRead: true,
          }),
        )
      ).Item;
    } catch {
      throw unavailable();
    }
    const data = item && live(item, nowS) ? [recordView(item)] : [];
    req.record.result_count = data.length;
    return jsonResult(200, JSON.stringify({ data, next_cursor: null }));
  }

  let hash: string;
  try {
    hash = await customerHash(svc.hasher, selected.selector.customerId);
  } catch {
    throw unavailable();
  }
  let startKey: Record<string, AttributeValue> | undefined;
  if (cursors.length === 1) {
    const position = decodeCursor(cursors[0], hash);
    if (!position) throw invalidRequest(CURSOR_MESSAGE, 'cursor');
    startKey = {
      customer_hash: { S: position.customerHash },
      timestamp: { S: position.timestamp },
      request_id: { S: position.requestId },
    };
  }

  const data: UsageRecord[] = [];
  let last: Record<string, AttributeValue> | undefined = startKey;
  for (let i = 0; i < MAX_QUERIES_PER_PAGE && data.length < limit; i++) {
    let page: QueryCommandOutput;
    try {
      page = await svc.ddb.send(
        new QueryCommand({
          TableName: svc.config.usageTableName,
          IndexName: USAGE_CUSTOMER_INDEX,
          KeyConditionExpression: 'customer_hash = :h',
          FilterExpression: '#ttl > :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':h': { S: hash }, ':now': { N: String(nowS) } },
          ScanIndexForward: false,
          Limit: limit - data.length,
          ...(last ? { ExclusiveStartKey: last } : {}),
        }),
      );
    } catch {
      throw unavailable();
    }
    for (const item of page.Items ?? []) if (live(item, nowS)) data.push(recordView(item));
    last = page.LastEvaluatedKey;
    if (!last) break;
  }
  const next =
    last && last.customer_hash?.S && last.timestamp?.S && last.request_id?.S
      ? encodeCursor({
          customerHash: last.customer_hash.S,
          timestamp: last.timestamp.S,
          requestId: last.request_id.S,
        })
      : null;
  req.record.result_count = data.length;
  return jsonResult(200, JSON.stringify({ data, next_cursor: next }));
}
