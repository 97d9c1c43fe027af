/**
 * Facts about a synthesized template that decide whether its first deploy can
 * succeed in a given account, for the synth summary and the preflight check.
 * Pure: each reads the template's JSON (as written to cdk.out, or
 * `Template.toJSON()`) and nothing else.
 */

/**
 * Concurrent executions Lambda keeps unreserved in every account and region:
 * reservations may use only what the account's limit leaves above this.
 */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/**
 * The sum of `ReservedConcurrentExecutions` over the template's
 * `AWS::Lambda::Function` resources (0 when none reserves). A value that is
 * not a whole number at synth (an intrinsic function) is refused, naming the
 * resource, rather than left out of the sum.
 */
export function reservedConcurrency(template: object): number {
  const resources = (template as { Resources?: Record<string, unknown> }).Resources ?? {};
  let total = 0;
  for (const [id, resource] of Object.entries(resources)) {
    const r = resource as { Type?: unknown; Properties?: Record<string, unknown> };
    if (r?.Type !== 'AWS::Lambda::Function') continue;
    const value = r.Properties?.ReservedConcurrentExecutions;
    if (value === undefined) continue;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new Error(
        `${id}: ReservedConcurrentExecutions is not a whole number at synth (${JSON.stringify(value)})`,
      );
    }
    total += n;
  }
  return total;
}

/**
 * The lowest account concurrency limit under which Lambda accepts the
 * template's reservations: their sum plus the 100 it keeps unreserved, or 0
 * when no function reserves (any limit will do).
 */
export function concurrencyLimitNeeded(template: object): number {
  const reserved = reservedConcurrency(template);
  return reserved === 0 ? 0 : reserved + LAMBDA_UNRESERVED_MINIMUM;
}
