/**
 * The gateway's request path: authenticate, forward to the model upstream,
 * return the result, and leave behind one usage record (promises P1, P2, P4).
 *
 * Per request, in order: route (404/405) → API key (401/403) → request headers
 * (400) → body (413/400) → validation (400) → model (404) → upstream
 * (429/400/502/504) → response (422 if over the ALB's 1 MB limit).
 *
 * Every request except `GET /healthz` writes one usage log line; requests whose
 * API key was verified also write one usage table item with the same fields.
 * Neither can hold request or response content: both are built from
 * `USAGE_SCHEMA`, and no catch block here reads an error's message.
 */

import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LineSink } from '../shared/allowlist-logger';
import {
  headerValues,
  toFrontDoorResult,
  toHttpRequest,
  type FrontDoorEvent,
  type FrontDoorResult,
  type HttpRequest,
  type HttpResult,
} from '../shared/http-event';
import { createKmsHasher, customerHash, type KeyedHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import {
  METADATA_HEADER,
  OPT_OUT_HEADER,
  parseMetadataHeaders,
  parseOptOutHeaders,
} from '../../lib/core/metadata-header';
import {
  createUsageLogger,
  USAGE_METHODS,
  usageItem,
  type UsageMethod,
  type UsageRecord,
} from '../shared/usage-record';
import { chatCompletionJson, type ResponseMeta } from './chat-response';
import { resultEvents, type ChatStreamEvent } from './chat-stream';
import type { GatewayConfig, ModelConfig, ModelKind } from './config';
import { errorBody, HttpError, invalidRequest, MESSAGES } from '../shared/http-errors';
import type { ResponseStream } from '../shared/response-stream';
import { authenticate as checkApiKey, type KeyVerifier } from '../shared/authenticate';
import {
  albResult,
  errorResult,
  fitsResponseLimit,
  jsonBody,
  jsonResult,
} from '../shared/http-results';
import { planImages } from './image-plan';
import { costMicroUsd } from './pricing';
import { RETENTION_HEADER, retentionHeader } from '../shared/retention-header';
import { matchRoute, type RouteName } from './router';
import { chunkSse, errorSse, SSE_CONTENT_TYPE, SSE_DONE } from './sse';
import { UpstreamError, type Upstream } from './upstream';
import { validateChat, type ChatRequest } from './validate-chat';
import { validateImages } from './validate-images';
import { requestIdOf, type InvocationContext } from '../shared/request-id';
import { trustWarningHeaders } from '../shared/trust/warning';
import { createTrustReader, trustWarning, type GatewayTrust } from './trust';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly ddb: DynamoDBClient;
  readonly kms: KMSClient;
  /** The model upstream (`createUpstream` in ./upstreams builds the configured one). */
  readonly upstream: Upstream;
  /**
   * S3 for images asked for by URL.
   * @default - a client created on the first such request (S3 and its
   *   presigner are loaded only then: most requests never need them)
   */
  readonly s3?: S3Client;
  /** Where usage lines go. @default stdout */
  readonly logSink?: LineSink;
  /** Clock. @default () => new Date() */
  readonly now?: () => Date;
  /** @default a KMS GenerateMac hasher on `config.hmacKeyId` */
  readonly hasher?: KeyedHasher;
  /** @default a KeyStore on `config.keyTableName` */
  readonly keys?: KeyVerifier;
  /**
   * The outbound trust, for the `X-Ephemera-Warning` header every answer
   * carries while TLS verification is off. Pass the reader the upstream uses.
   * @default createTrustReader(config, s3) when the config bucket is set; else none
   */
  readonly trust?: GatewayTrust;
}

/**
 * Answers one front-door event. Given a `stream` (a front door that can
 * stream), a `stream: true` chat completion is written to it chunk by chunk
 * as the upstream produces them, and the returned result only reports the
 * status; otherwise the answer is the returned result.
 */
export type GatewayHandler = (
  event: FrontDoorEvent,
  context?: InvocationContext,
  stream?: ResponseStream,
) => Promise<FrontDoorResult>;

/** Time kept back from the Lambda deadline to answer 504 and write the record. */
const DEADLINE_RESERVE_MS = 3_000;
const MIN_UPSTREAM_MS = 1_000;
const HEALTH_BODY = JSON.stringify({ status: 'ok' });

/** Per-request state: the record being built and what was stored. */
interface RequestState {
  readonly record: UsageRecord;
  readonly requestId: string;
  readonly now: Date;
  readonly context?: InvocationContext;
  /** The front door's response stream, when it can stream. */
  readonly out?: ResponseStream;
  authenticated: boolean;
  readonly imageKeys: string[];
  /** Run when the request ends (timers). */
  readonly cleanups: (() => void)[];
  /** The trust warning header (read from the cached trust store at the start). */
  readonly warning: Promise<Record<string, string>>;
}

export function createHandler(deps: GatewayDeps): GatewayHandler {
  const { config, ddb } = deps;
  const now = deps.now ?? (() => new Date());
  const hasher = deps.hasher ?? createKmsHasher({ kms: deps.kms, keyId: config.hmacKeyId });
  const keys = deps.keys ?? new KeyStore({ ddb, tableName: config.keyTableName, hasher, now });
  const upstream = deps.upstream;
  const logger = createUsageLogger(deps.logSink);
  const modelsById = new Map(config.models.map((m) => [m.id, m]));
  const trust =
    deps.trust ??
    (config.configBucketName !== undefined ? createTrustReader(config, deps.s3) : undefined);

  function findModel(id: string, kind: ModelKind): ModelConfig {
    const model = modelsById.get(id);
    if (!model || model.kind !== kind)
      throw new HttpError(404, 'model_not_found', MESSAGES.modelNotFound);
    return model;
  }

  /**
   * A deadline signal for this request: at most `capMs`, cut to what the
   * Lambda has left minus a reserve (for the error answer and the record).
   * The timer is cleared when the request ends, so timers do not pile up over
   * a warm instance's life.
   */
  function deadlineSignal(state: RequestState, capMs: number): AbortSignal {
    let ms = capMs;
    const remaining = state.context?.getRemainingTimeInMillis?.();
    if (typeof remaining === 'number' && Number.isFinite(remaining)) {
      ms = Math.min(ms, remaining - DEADLINE_RESERVE_MS);
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('Deadline', 'TimeoutError')),
      Math.max(MIN_UPSTREAM_MS, ms),
    );
    timer.unref?.();
    state.cleanups.push(() => clearTimeout(timer));
    // A client that hangs up ends the upstream call too.
    return state.out ? AbortSignal.any([controller.signal, state.out.signal]) : controller.signal;
  }

  /** The upstream deadline: UPSTREAM_TIMEOUT_MS, within the Lambda's time. */
  const upstreamSignal = (state: RequestState) => deadlineSignal(state, config.upstreamTimeoutMs);

  async function authenticate(request: HttpRequest, state: RequestState): Promise<void> {
    // The opt-out is recorded whenever it is valid, whatever else fails
    // (key, other headers, body): the client asked for it.
    const optOut = parseOptOutHeaders(headerValues(request, OPT_OUT_HEADER));
    if (optOut.ok) state.record.opt_out = optOut.optOut;

    const keyId = await checkApiKey(keys, request, 'inference', (reason) => {
      state.record.auth_failure = reason;
    });
    state.record.api_key_id = keyId;
    state.authenticated = true;

    if (!optOut.ok) throw invalidRequest(optOut.message);
    const metadata = parseMetadataHeaders(headerValues(request, METADATA_HEADER));
    if (!metadata.ok) throw invalidRequest(metadata.message);
    if (metadata.customerId !== undefined) {
      try {
        state.record.customer_hash = await customerHash(hasher, metadata.customerId);
      } catch {
        throw new HttpError(503, 'service_unavailable', MESSAGES.unavailable);
      }
    }
  }

  async function chat(http: HttpRequest, state: RequestState): Promise<HttpResult> {
    const checked = validateChat(jsonBody(http), { remoteImageUrls: config.remoteImageUrls });
    if (!checked.ok) throw invalidRequest(checked.message);
    const request = checked.value;
    const model = findModel(request.model, 'chat');
    Object.assign(state.record, {
      model: model.id,
      temperature: request.temperature,
      top_p: request.topP,
      max_tokens: request.maxTokens,
      n: request.n,
      seed: request.seed,
      presence_penalty: request.presencePenalty,
      frequency_penalty: request.frequencyPenalty,
      stop_count: request.stop.length,
      tool_count: request.tools.length,
      stream: request.stream,
      response_format: request.responseFormat?.type,
    } satisfies UsageRecord);

    const meta = {
      id: `chatcmpl-${state.requestId}`,
      created: Math.floor(state.now.getTime() / 1000),
      model: model.id,
    };
    if (request.stream) return streamChat(request, model, meta, state);

    const result = await upstream.chat(request, model, upstreamSignal(state));
    recordTokens(state, model, result);
    const response = jsonResult(200, chatCompletionJson(result, meta));
    if (!fitsResponseLimit(response))
      throw new HttpError(422, 'response_too_large', MESSAGES.completionTooLarge);
    return response;
  }

  function recordTokens(
    state: RequestState,
    model: ModelConfig,
    usage: { inputTokens: number; outputTokens: number },
  ): void {
    state.record.input_tokens = usage.inputTokens;
    state.record.output_tokens = usage.outputTokens;
    state.record.cost_micro_usd = costMicroUsd(model, usage);
  }

  /**
   * `stream: true`. The first event decides the status: until it arrives, a
   * failure is an ordinary error answer. Then each event goes out as one chunk
   * as soon as it arrives (a front door that streams) or is added to one body
   * (one that cannot; the 1 MB limit applies). A failure after the stream has
   * started ends it with an error event; a client that hangs up ends the
   * upstream call. Either way the record is written when the handler returns.
   */
  async function streamChat(
    request: ChatRequest,
    model: ModelConfig,
    meta: ResponseMeta,
    state: RequestState,
  ): Promise<HttpResult> {
    const signal = upstreamSignal(state);
    const events = (upstream.chatStream?.(request, model, signal) ??
      wholeAnswerEvents(upstream, request, model, signal))[Symbol.asyncIterator]();
    const { out } = state;
    const buffered: string[] = [];
    const send = async (text: string | undefined) => {
      if (text === undefined) return;
      if (out) await out.write(text);
      else buffered.push(text);
    };
    try {
      let next = await events.next();
      const headers = {
        'Content-Type': SSE_CONTENT_TYPE,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...(await answerHeaders(state)),
      };
      out?.start(200, headers);
      try {
        for (; !next.done; next = await events.next()) {
          const event = next.value;
          if (event.type === 'usage') recordTokens(state, model, event);
          await send(chunkSse(event, meta, request.includeUsage));
        }
        await send(SSE_DONE);
      } catch (err) {
        if (!out) throw err;
        // Under way: the status is sent; the failure ends the stream.
        const failure = out.signal.aborted ? undefined : toHttpError(err);
        state.record.error_type = failure?.type ?? 'client_closed';
        if (failure) await send(errorSse(errorBody(failure)));
      }
      if (out) return { statusCode: 200, headers, body: '', isBase64Encoded: false };
      const response = albResult(200, buffered.join(''), SSE_CONTENT_TYPE);
      if (!fitsResponseLimit(response))
        throw new HttpError(422, 'response_too_large', MESSAGES.completionTooLarge);
      return response;
    } finally {
      buffered.length = 0;
      await events.return?.();
    }
  }

  async function images(http: HttpRequest, state: RequestState): Promise<HttpResult> {
    const checked = validateImages(jsonBody(http), config.maxImagesPerRequest);
    if (!checked.ok) throw invalidRequest(checked.message);
    const request = checked.value;
    const model = findModel(request.model, 'image');
    Object.assign(state.record, {
      model: model.id,
      n: request.n,
      size: request.size,
      quality: request.quality,
      style: request.style,
      seed: request.seed,
      response_format: request.responseFormat,
    } satisfies UsageRecord);

    const result = await upstream.images(request, model, upstreamSignal(state));
    state.record.image_count = result.images.length;
    state.record.cost_micro_usd = costMicroUsd(model, { images: result.images.length });
    const created = Math.floor(state.now.getTime() / 1000);

    if (request.responseFormat === 'url') {
      // The TTL runs from storage, not from the request's start, so a slow
      // upstream does not hand out a URL that is about to expire.
      const storedAt = now();
      let planned;
      try {
        planned = planImages(result.images, storedAt, config.imageTtlSeconds);
      } catch {
        throw new HttpError(502, 'upstream_error', MESSAGES.upstreamError);
      }
      state.imageKeys.push(...planned.map((p) => p.key));
      state.record.image_ttl_seconds = config.imageTtlSeconds;
      // Every key is on record, with the customer hash, before any upload
      // starts: an instance that dies mid-request leaves no image that
      // erasure cannot find. No record, no upload.
      if (!(await writeRecord(state))) {
        state.imageKeys.length = 0;
        delete state.record.image_ttl_seconds;
        throw new HttpError(503, 'service_unavailable', MESSAGES.unavailable);
      }
      let stored;
      try {
        // Loaded on first use: S3 and its presigner stay out of the cold start.
        const store = await import('./image-store');
        stored = await store.uploadImages(
          {
            s3: deps.s3 ?? store.defaultS3Client(),
            bucket: config.imageBucketName,
            ttlSeconds: config.imageTtlSeconds,
            ...(config.imageKmsKeyArn ? { kmsKeyArn: config.imageKmsKeyArn } : {}),
          },
          planned,
          storedAt,
          // Uploads end inside the Lambda's reserve, so the answer and the
          // final record are always written.
          deadlineSignal(state, config.upstreamTimeoutMs),
        );
      } catch {
        throw new HttpError(500, 'internal_error', MESSAGES.storeFailed);
      }
      return jsonResult(
        200,
        JSON.stringify({ created, data: stored.map((s) => ({ url: s.url })) }),
      );
    }
    const response = jsonResult(
      200,
      JSON.stringify({
        created,
        data: result.images.map((bytes) => ({ b64_json: bytes.toString('base64') })),
      }),
    );
    if (!fitsResponseLimit(response))
      throw new HttpError(422, 'response_too_large', MESSAGES.imagesTooLarge);
    return response;
  }

  async function models(state: RequestState): Promise<HttpResult> {
    const offered = await upstream.models(config.models, upstreamSignal(state));
    const data = offered.map((m) => ({
      id: m.id,
      object: 'model',
      created: 0,
      owned_by: 'ephemera',
    }));
    return jsonResult(200, JSON.stringify({ object: 'list', data, next_cursor: null }));
  }

  async function dispatch(
    route: RouteName,
    request: HttpRequest,
    state: RequestState,
  ): Promise<HttpResult> {
    await authenticate(request, state);
    switch (route) {
      case 'chat_completions':
        return chat(request, state);
      case 'image_generations':
        return images(request, state);
      case 'models':
        return models(state);
      case 'healthz':
        throw new Error('unreachable');
    }
  }

  async function writeRecord(state: RequestState): Promise<boolean> {
    try {
      await ddb.send(
        new PutItemCommand({
          TableName: config.usageTableName,
          Item: usageItem(state.record, state.imageKeys),
        }),
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Headers every answer carries: what it left behind, its request id, the trust warning. */
  async function answerHeaders(state: RequestState): Promise<Record<string, string>> {
    return {
      ...(await state.warning),
      [RETENTION_HEADER]: retentionHeader({
        metadataDays: config.metadataRetentionDays,
        ...(state.imageKeys.length > 0 ? { imageTtlSeconds: config.imageTtlSeconds } : {}),
      }),
      'X-Request-Id': state.requestId,
    };
  }

  return async function handler(event, context, stream) {
    const started = performance.now();
    const request = toHttpRequest(event);
    const { method, path } = request;
    const match = matchRoute(method, path);
    if (match.kind === 'found' && match.route === 'healthz') {
      // Health checks read nothing: the warning reflects the cached trust, when there is one.
      return toFrontDoorResult(
        event,
        jsonResult(200, HEALTH_BODY, {
          ...trustWarningHeaders(trust?.peek?.()?.mode),
          [RETENTION_HEADER]: retentionHeader({}),
        }),
      );
    }

    const startedAt = now();
    const requestId = requestIdOf(context);
    const record: UsageRecord = {
      request_id: requestId,
      timestamp: startedAt.toISOString(),
      method: (USAGE_METHODS as readonly string[]).includes(method)
        ? (method as UsageMethod)
        : 'OTHER',
      route: match.kind === 'not_found' ? 'unmatched' : match.route,
      ttl: Math.floor(startedAt.getTime() / 1000) + config.metadataRetentionDays * 86_400,
    };
    const state: RequestState = {
      record,
      requestId,
      now: startedAt,
      ...(context ? { context } : {}),
      ...(stream ? { out: stream } : {}),
      authenticated: false,
      imageKeys: [],
      cleanups: [],
      warning: trust ? trustWarning(trust) : Promise.resolve({}),
    };

    let response: HttpResult;
    try {
      if (match.kind === 'not_found')
        throw new HttpError(404, 'not_found_error', MESSAGES.notFound);
      if (match.kind === 'method_not_allowed') {
        throw new HttpError(405, 'method_not_allowed', `Use ${match.allow} for this route`, {
          headers: { Allow: match.allow },
        });
      }
      response = await dispatch(match.route, request, state);
    } catch (err) {
      const httpError = toHttpError(err);
      response = errorResult(httpError);
      if (stream?.signal.aborted) {
        // Nobody is left to answer; the record says why the request ended.
        record.error_type = 'client_closed';
        response = { ...response, statusCode: CLIENT_CLOSED_STATUS };
      } else {
        record.error_type = httpError.type;
      }
    } finally {
      for (const cleanup of state.cleanups) cleanup();
    }

    record.status = response.statusCode;
    record.latency_ms = Math.max(0, Math.round(performance.now() - started));
    if (state.imageKeys.length > 0) record.image_ttl_seconds = config.imageTtlSeconds;
    if (state.authenticated) record.record_written = await writeRecord(state);
    try {
      logger.write(record);
    } catch {
      // A failing log sink must not fail the request; there is nothing safe to add.
    }

    response.headers = { ...response.headers, ...(await answerHeaders(state)) };
    return toFrontDoorResult(event, response);
  };
}

/** Recorded status of a request whose client hung up before the answer (nginx's 499). */
export const CLIENT_CLOSED_STATUS = 499;

/** A whole answer from an upstream that cannot stream, as stream events. */
async function* wholeAnswerEvents(
  upstream: Upstream,
  request: ChatRequest,
  model: ModelConfig,
  signal: AbortSignal,
): AsyncGenerator<ChatStreamEvent> {
  yield* resultEvents(await upstream.chat(request, model, signal));
}

/** Maps any failure to an HTTP error without reading its message. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof UpstreamError) {
    switch (err.failure) {
      case 'throttled':
        return new HttpError(429, 'rate_limit_error', MESSAGES.upstreamThrottled, {
          headers: { 'Retry-After': '1' },
        });
      case 'timeout':
        return new HttpError(504, 'upstream_timeout', MESSAGES.upstreamTimeout);
      case 'rejected':
        return new HttpError(400, 'upstream_rejected', MESSAGES.upstreamRejected);
      case 'failed':
        return new HttpError(502, 'upstream_error', MESSAGES.upstreamError);
    }
  }
  return new HttpError(500, 'internal_error', MESSAGES.internal);
}
