/**
 * Bounds what failed secrets can cost per API key id (promise P8, abuse
 * before authentication).
 *
 * Key ids are public, so anyone can send a real key id with made-up secrets,
 * and checking a secret costs a KMS GenerateMac call. Per key id, in this
 * instance's memory: the first `freeFailures` attempts run freely (counting
 * those still in flight, so a burst of concurrent guesses cannot slip past);
 * after that, one attempt at a time, each failure doubling a back-off from 1 s
 * up to `maxBackoffMs`. A success clears the key id; a key id with no failure
 * for `resetAfterMs` starts afresh. Secrets that verified before are checked
 * from the cache and never reach the gate, so a key's real holder keeps
 * working while someone guesses at its id.
 */

import { LruCache } from './lru';

export interface FailureGateOptions {
  /** Attempts (failed or in flight) before the back-off applies. @default 5 */
  readonly freeFailures?: number;
  /** Longest back-off. @default 60_000 */
  readonly maxBackoffMs?: number;
  /** Quiet time after which a key id's failures are forgotten. @default 900_000 */
  readonly resetAfterMs?: number;
  /** Key ids tracked at once (least recently used forgotten first). @default 10_000 */
  readonly maxEntries?: number;
}

interface Entry {
  failures: number;
  inFlight: number;
  blockedUntilMs: number;
  lastFailureMs: number;
}

export const DEFAULT_FREE_FAILURES = 5;
export const DEFAULT_MAX_BACKOFF_MS = 60_000;

export class FailureGate {
  private readonly entries: LruCache<Entry>;
  private readonly freeFailures: number;
  private readonly maxBackoffMs: number;
  private readonly resetAfterMs: number;

  constructor(options: FailureGateOptions = {}) {
    this.freeFailures = options.freeFailures ?? DEFAULT_FREE_FAILURES;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.resetAfterMs = options.resetAfterMs ?? 900_000;
    this.entries = new LruCache<Entry>(options.maxEntries ?? 10_000);
  }

  /**
   * Asks to start a costly check for `id`. Returns 0 and counts the attempt
   * as in flight when it may go ahead, else how many milliseconds to wait.
   * Every start that returned 0 must be followed by one {@link finish}.
   */
  tryStart(id: string, nowMs: number): number {
    let entry = this.entries.get(id);
    if (entry && entry.inFlight === 0 && nowMs - entry.lastFailureMs > this.resetAfterMs) {
      this.entries.delete(id);
      entry = undefined;
    }
    if (!entry) {
      this.entries.set(id, { failures: 0, inFlight: 1, blockedUntilMs: 0, lastFailureMs: 0 });
      return 0;
    }
    if (nowMs < entry.blockedUntilMs) return entry.blockedUntilMs - nowMs;
    if (entry.failures + entry.inFlight >= this.freeFailures && entry.inFlight > 0) return 1000;
    entry.inFlight++;
    return 0;
  }

  /**
   * Ends an attempt started with {@link tryStart} without counting it either
   * way (the check could not run, or another gate refused it).
   */
  cancel(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.inFlight = Math.max(0, entry.inFlight - 1);
    if (entry.inFlight === 0 && entry.failures === 0) this.entries.delete(id);
  }

  /** Ends an attempt started with {@link tryStart}. */
  finish(id: string, nowMs: number, ok: boolean): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.inFlight = Math.max(0, entry.inFlight - 1);
    if (ok) {
      if (entry.inFlight === 0) this.entries.delete(id);
      else entry.failures = 0;
      return;
    }
    entry.failures++;
    entry.lastFailureMs = nowMs;
    const over = entry.failures - this.freeFailures;
    if (over >= 0) {
      entry.blockedUntilMs = nowMs + Math.min(this.maxBackoffMs, 1000 * 2 ** Math.min(over, 30));
    }
  }
}
