/**
 * Where a handler writes an answer that streams, for front doors that can
 * stream (local mode; a Lambda response stream). A handler given one may
 * start it instead of returning a body; the front door ends it when the
 * handler returns. Behind a front door that cannot stream no stream is given,
 * and the handler answers with one body as usual.
 */

export interface ResponseStream {
  /** Sends the status and headers; once, before any write. */
  start(statusCode: number, headers: Readonly<Record<string, string>>): void;
  /**
   * Sends one piece. Resolves when the piece is handed to the connection and
   * it can take more (backpressure), or at once when the client is gone.
   */
  write(chunk: string): Promise<void>;
  /** Whether `start` was called. */
  readonly started: boolean;
  /** Aborted when the client hangs up. */
  readonly signal: AbortSignal;
}
