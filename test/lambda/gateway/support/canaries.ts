/**
 * For the canary searches (canary.test.ts, embeddings.test.ts): unique canary
 * strings to put into requests and upstream answers, and everything written to
 * stdout, stderr and the console captured, so that afterwards every place a
 * canary could have reached can be searched.
 */

import { randomUUID } from 'node:crypto';

/** The prefix every canary has; nothing else in the system produces it. */
export const CANARY_PREFIX = 'CNRY';

export interface Canaries {
  /** Every canary made so far. */
  readonly made: string[];
  /** A fresh canary; `where` says where it is put. */
  readonly canary: (where: string) => string;
}

export function makeCanaries(): Canaries {
  const made: string[] = [];
  return {
    made,
    canary: (where) => {
      const c = `${CANARY_PREFIX}-${where}-${randomUUID()}`;
      made.push(c);
      return c;
    },
  };
}

/**
 * Captures everything written to stdout, stderr and the console into `into`
 * (what reaches stdout and stderr is still written). With `usageLines`, the
 * usage lines the production log sink writes to stdout go there instead, and
 * are not written. Returns the function that stops the capture.
 */
export function captureOutput(into: string[], options: { usageLines?: string[] } = {}): () => void {
  const spies: jest.SpyInstance[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    spies.push(
      jest.spyOn(stream, 'write').mockImplementation(((
        chunk: string | Uint8Array,
        ...rest: unknown[]
      ) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        if (
          options.usageLines &&
          stream === process.stdout &&
          text.startsWith('{"event":"usage"')
        ) {
          options.usageLines.push(text);
          return true;
        }
        into.push(text);
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write),
    );
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    spies.push(
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        into.push(
          args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '),
        );
      }),
    );
  }
  return () => {
    for (const spy of spies) spy.mockRestore();
  };
}
