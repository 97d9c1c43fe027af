/**
 * An incremental `text/event-stream` decoder for the upstream's streamed
 * answers: bytes in, as they arrive, in pieces of any size; the `data` of each
 * completed event out.
 *
 * It follows the WHATWG event-stream rules that matter here: lines end with
 * LF, CR or CRLF (a CRLF split across two pieces is one line end); a blank line
 * ends an event; `data:` lines are joined with LF; one space after the colon is
 * dropped; comments (`:`) and other fields (`event:`, `id:`, `retry:`) are
 * skipped; an event without data lines is not reported; an unterminated event
 * at the end of the stream is dropped. Multi-byte characters split across
 * pieces decode correctly.
 *
 * Work is linear in the input: each character is looked at a bounded number of
 * times. Memory is bounded: a line or an event over `maxEventBytes` throws
 * {@link SseTooLargeError} (the caller treats it as a failed upstream), so a
 * server that never sends a line end cannot make the gateway hold its output.
 */

export class SseTooLargeError extends Error {
  override readonly name = 'SseTooLargeError';
  constructor() {
    super('Event stream line or event too large');
  }
}

const LF = 10;
const CR = 13;

export class SseDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  /** Text not yet split into lines. */
  private pending = '';
  /** Whether the previous piece ended in CR (a following LF belongs to it). */
  private afterCr = false;
  private data: string[] = [];
  private dataLength = 0;

  constructor(private readonly maxEventBytes: number = 1024 * 1024) {}

  /** Decodes a piece of the stream; returns the data of every event it completes. */
  push(bytes: Uint8Array): string[] {
    return this.feed(this.utf8.decode(bytes, { stream: true }));
  }

  /** Ends the stream; returns any event completed by the last bytes. */
  end(): string[] {
    return this.feed(this.utf8.decode());
  }

  private feed(text: string): string[] {
    const events: string[] = [];
    let start = 0;
    let i = 0;
    if (this.afterCr && text.charCodeAt(0) === LF) {
      start = 1;
      i = 1;
    }
    this.afterCr = false;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.pending + text.slice(start, i);
      this.pending = '';
      if (c === CR) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === LF) i++;
        } else {
          this.afterCr = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    if (start < text.length) {
      if (this.pending.length + (text.length - start) > this.maxEventBytes) {
        throw new SseTooLargeError();
      }
      this.pending += text.slice(start);
    }
    return events;
  }

  /** Handles one line; returns an event's data when the line ends one. */
  private line(line: string): string | undefined {
    if (line === '') {
      if (this.data.length === 0) return undefined;
      const data = this.data.join('\n');
      this.data = [];
      this.dataLength = 0;
      return data;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return undefined;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1);
    this.dataLength += value.length + 1;
    if (this.dataLength > this.maxEventBytes) throw new SseTooLargeError();
    this.data.push(value);
    return undefined;
  }
}
