/**
 * The Lambda runtime's response streaming, as far as a streaming handler can
 * see it: a writable response stream and `HttpResponseStream.from`, which
 * writes the JSON prelude API Gateway reads (status and headers) and the
 * delimiter of 8 NUL bytes before the body. Each write is recorded with the
 * time it reached the stream; `hangUp` closes the stream as a client that
 * disconnects does.
 */

import { Writable } from 'node:stream';
import type {
  HttpResponseMetadata,
  StreamingRuntime,
} from '../../../../lambda/shared/lambda-stream';

export const PRELUDE_DELIMITER = Buffer.alloc(8);

export interface TimedWrite {
  readonly at: number;
  readonly bytes: Buffer;
}

export interface RecordedResponse {
  readonly stream: Writable;
  readonly writes: TimedWrite[];
  /** Resolves when the handler ends the stream. */
  readonly ended: Promise<void>;
  /** The prelude and the body, parsed from everything written. */
  decode(): { metadata: HttpResponseMetadata; body: string };
  /** The body's pieces as written (after the prelude), with their times. */
  bodyWrites(): TimedWrite[];
  hangUp(): void;
}

export function recordedResponse(): RecordedResponse {
  const writes: TimedWrite[] = [];
  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push({ at: performance.now(), bytes: Buffer.from(chunk) });
      callback();
    },
    final(callback) {
      resolveEnded();
      callback();
    },
  });
  const all = () => Buffer.concat(writes.map((w) => w.bytes));
  return {
    stream,
    writes,
    ended,
    decode() {
      const bytes = all();
      const at = bytes.indexOf(PRELUDE_DELIMITER);
      if (at < 0) throw new Error('no prelude delimiter');
      return {
        metadata: JSON.parse(bytes.subarray(0, at).toString('utf8')) as HttpResponseMetadata,
        body: bytes.subarray(at + PRELUDE_DELIMITER.length).toString('utf8'),
      };
    },
    bodyWrites() {
      const i = writes.findIndex((w) => w.bytes.equals(PRELUDE_DELIMITER));
      return writes.slice(i + 1);
    },
    hangUp() {
      stream.destroy();
    },
  };
}

/** `awslambda` as the runtime provides it (the prelude written first, then the delimiter). */
export const fakeRuntime: StreamingRuntime = {
  HttpResponseStream: {
    from(stream, metadata) {
      stream.write(JSON.stringify(metadata));
      stream.write(PRELUDE_DELIMITER);
      return stream;
    },
  },
  streamifyResponse: (handler) => handler,
};
