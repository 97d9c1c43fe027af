/**
 * The Lambda entry point for a front door that streams: API Gateway's REST
 * proxy integration with response transfer mode `STREAM`, which invokes the
 * function with InvokeWithResponseStream.
 *
 * The runtime hands a streaming handler a writable response stream. API
 * Gateway reads from it a JSON prelude (status and headers), a delimiter,
 * then the body as it is written; the runtime's `HttpResponseStream.from`
 * writes the prelude and delimiter. This module turns that stream into the
 * handlers' {@link ResponseStream}:
 * - a handler that streams (`stream: true` chat) calls `start` and writes
 *   each chunk as it is produced; nothing is kept once written;
 * - a handler that answers with one body (every other route) has it written
 *   here, prelude first, as one piece;
 * - a handler that throws before starting gets the load balancer's answer to
 *   a failed target (502 with the contract's error body), and nothing about
 *   the error is logged or sent; after starting, the stream is simply ended.
 * The client hanging up (the stream closing or failing before it is ended)
 * aborts the handler's `signal`, which stops the upstream call.
 */

import type { Writable } from 'node:stream';
import type { FrontDoorEvent, FrontDoorResult } from './http-event';
import { errorBody, HttpError, MESSAGES } from './http-errors';
import type { InvocationContext } from './request-id';
import type { ResponseStream } from './response-stream';

/** A handler that may stream (the gateway's), as the front doors call it. */
export type StreamCapableHandler = (
  event: FrontDoorEvent,
  context?: InvocationContext,
  stream?: ResponseStream,
) => Promise<FrontDoorResult>;

/** What API Gateway reads before the body. */
export interface HttpResponseMetadata {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** The parts of the Lambda runtime's `awslambda` global used here. */
export interface StreamingRuntime {
  readonly HttpResponseStream: {
    /** Writes the prelude for `metadata` to `stream` and returns the stream the body goes to. */
    from(stream: Writable, metadata: HttpResponseMetadata): Writable;
  };
  /** Marks a handler as streaming, so the runtime passes it a response stream. */
  streamifyResponse(
    handler: (event: FrontDoorEvent, stream: Writable, context: InvocationContext) => Promise<void>,
  ): unknown;
}

/** The handler as the runtime calls it once streamified. */
export type RawStreamingHandler = (
  event: FrontDoorEvent,
  stream: Writable,
  context: InvocationContext,
) => Promise<void>;

const failedTarget = new HttpError(502, 'server_error', MESSAGES.internal);

/**
 * A {@link ResponseStream} over the runtime's response stream. `finish` ends
 * it, starting it with `fallback` first if the handler never did.
 */
export function lambdaResponseStream(
  raw: Writable,
  runtime: Pick<StreamingRuntime, 'HttpResponseStream'>,
): ResponseStream & { finish(fallback?: FrontDoorResult): Promise<void> } {
  const controller = new AbortController();
  let ended = false;
  const hangUp = () => {
    if (!ended) controller.abort();
  };
  raw.once('close', hangUp);
  raw.once('error', hangUp);
  let body: Writable | undefined;
  const gone = () => controller.signal.aborted || raw.destroyed;

  const write = (chunk: string | Buffer): Promise<void> => {
    if (!body || gone()) return Promise.resolve();
    if (body.write(chunk)) return Promise.resolve();
    const out = body;
    return new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        controller.signal.removeEventListener('abort', done);
        resolve();
      };
      out.once('drain', done);
      controller.signal.addEventListener('abort', done, { once: true });
    });
  };

  const start = (statusCode: number, headers: Readonly<Record<string, string>>) => {
    if (body) throw new Error('The response has already started');
    body = runtime.HttpResponseStream.from(raw, { statusCode, headers: { ...headers } });
  };

  return {
    get started() {
      return body !== undefined;
    },
    signal: controller.signal,
    start,
    write: (chunk) => write(chunk),
    async finish(fallback) {
      if (!body && fallback) {
        start(fallback.statusCode, flatHeaders(fallback));
        const bytes = Buffer.from(
          fallback.body ?? '',
          fallback.isBase64Encoded ? 'base64' : 'utf8',
        );
        if (bytes.length > 0) await write(bytes);
      }
      ended = true;
      raw.off('close', hangUp);
      raw.off('error', hangUp);
      const out = body ?? raw;
      if (out.destroyed || out.writableEnded) return;
      await new Promise<void>((resolve) => {
        out.once('error', () => resolve());
        out.end(() => resolve());
      });
    },
  };
}

/** One value per header name (the last of a repeated one, as a result never repeats them). */
function flatHeaders(result: FrontDoorResult): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    const list = (values ?? []).map(String);
    if (list.length > 0) headers[name] = list[list.length - 1];
  }
  return headers;
}

/** The answer when the handler fails before answering (as the load balancer would give). */
function failedResult(): FrontDoorResult {
  return {
    statusCode: failedTarget.status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: errorBody(failedTarget),
    isBase64Encoded: false,
  };
}

/** `handler` as a streaming Lambda handler, before the runtime marks it. */
export function rawStreamingHandler(
  handler: StreamCapableHandler,
  runtime: Pick<StreamingRuntime, 'HttpResponseStream'>,
): RawStreamingHandler {
  return async (event, raw, context) => {
    const stream = lambdaResponseStream(raw, runtime);
    let result: FrontDoorResult | undefined;
    try {
      result = await handler(event, context, stream);
    } catch {
      // Nothing about the error is kept: it may quote the request.
      result = failedResult();
    }
    await stream.finish(result);
  };
}

/** The Lambda runtime's `awslambda` global, when running in Lambda. */
export function lambdaRuntime(): StreamingRuntime | undefined {
  const candidate = (globalThis as unknown as { awslambda?: Partial<StreamingRuntime> }).awslambda;
  return typeof candidate?.streamifyResponse === 'function' &&
    typeof candidate.HttpResponseStream?.from === 'function'
    ? (candidate as StreamingRuntime)
    : undefined;
}

/**
 * The streaming entry point for `handler`: marked for the runtime when there
 * is one. Outside Lambda (tests, local mode) calling it fails with a message
 * that says so, since only the runtime provides the response stream.
 */
export function streamingEntry(
  handler: StreamCapableHandler,
  runtime: StreamingRuntime | undefined = lambdaRuntime(),
): unknown {
  if (!runtime) {
    return async () => {
      throw new Error('The streaming entry point runs only in the Lambda runtime');
    };
  }
  return runtime.streamifyResponse(rawStreamingHandler(handler, runtime));
}
