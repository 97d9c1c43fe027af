/**
 * The upstream's deadline: UPSTREAM_TIMEOUT_MS, cut to what the Lambda has
 * left minus a reserve (for the error answer and the record). A client that
 * hangs up ends the upstream call too.
 */

import type { RequestState } from './request-state';
import type { GatewayServices } from './services';

/** Time kept back from the Lambda deadline to answer 504 and write the record. */
const DEADLINE_RESERVE_MS = 3_000;
const MIN_UPSTREAM_MS = 1_000;

/** Milliseconds to wait: at most `capMs`, within `remainingMs` minus the reserve, at least 1 s. */
export function deadlineMs(capMs: number, remainingMs: number | undefined): number {
  let ms = capMs;
  if (typeof remainingMs === 'number' && Number.isFinite(remainingMs)) {
    ms = Math.min(ms, remainingMs - DEADLINE_RESERVE_MS);
  }
  return Math.max(MIN_UPSTREAM_MS, ms);
}

/**
 * A deadline signal for one upstream call (or upload), starting now. Its timer
 * is cleared when the request ends, so timers do not pile up over a warm
 * instance's life.
 */
export function upstreamSignal(svc: GatewayServices, state: RequestState): AbortSignal {
  const ms = deadlineMs(svc.config.upstreamTimeoutMs, state.context?.getRemainingTimeInMillis?.());
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('Deadline', 'TimeoutError')),
    ms,
  );
  timer.unref?.();
  state.cleanups.push(() => clearTimeout(timer));
  return state.out ? AbortSignal.any([controller.signal, state.out.signal]) : controller.signal;
}
