/**
 * Every deadline that follows from how long one gateway request may run (the
 * gateway function's timeout when deployed, local mode's request timeout),
 * derived here once so AWS and local mode cannot drift apart:
 *
 * - the upstream's deadline: the request timeout less a margin for writing
 *   the usage record and answering (15 s, or a tenth of a short timeout);
 * - the erasure wait (promise P7): a deletion job only starts once every
 *   request that was already in flight when the erasure was asked for has
 *   ended and written its record, so the job erases that record too. That is
 *   the request timeout plus a margin for clock skew between the functions
 *   (a tenth of it, at least 1 s: 30 s for the default 5 minutes).
 */

/** The longest SQS delivery delay (900 s): a longer wait is finished by the worker. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** The upstream's deadline, in milliseconds, for a request timeout in seconds. */
export function upstreamTimeoutMs(requestTimeoutSeconds: number): number {
  const ms = requestTimeoutSeconds * 1000;
  return Math.max(ms - 15_000, Math.floor(ms * 0.9));
}

/** Seconds from an erasure request until its job may start. */
export function erasureWaitSeconds(requestTimeoutSeconds: number): number {
  return Math.ceil(requestTimeoutSeconds) + Math.max(1, Math.ceil(requestTimeoutSeconds / 10));
}

/** The delay the admin API asks the queue for (SQS allows 900 s at most). */
export function erasureQueueDelaySeconds(requestTimeoutSeconds: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, erasureWaitSeconds(requestTimeoutSeconds));
}
