/**
 * A response stream, as a front door that streams hands it to the handler,
 * that records the status and headers it was started with and each write
 * with the time it arrived; `hangUp` aborts it as a client that disconnects
 * does.
 */

import type { ResponseStream } from '../../../../lambda/shared/response-stream';

export function recordingStream() {
  const controller = new AbortController();
  const writes: { at: number; text: string }[] = [];
  let head: { status: number; headers: Readonly<Record<string, string>> } | undefined;
  const stream: ResponseStream & { hangUp(): void } = {
    get started() {
      return head !== undefined;
    },
    signal: controller.signal,
    start(status, headers) {
      if (head) throw new Error('started twice');
      head = { status, headers };
    },
    async write(text) {
      if (!head) throw new Error('write before start');
      writes.push({ at: performance.now(), text });
    },
    hangUp: () => controller.abort(),
  };
  return { stream, writes, head: () => head, text: () => writes.map((w) => w.text).join('') };
}
