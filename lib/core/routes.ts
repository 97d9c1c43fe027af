/**
 * Which paths each handler serves, for the front doors: the admin API's
 * paths (the gateway serves every other one, so unknown paths get the
 * contract's 404).
 */

/** Path patterns of the admin API (`*` matches the rest of the path). */
export const ADMIN_PATH_PATTERNS = [
  '/v1/user_data',
  '/v1/user_data/*',
  '/v1/logs',
  '/v1/keys',
  '/v1/keys/*',
  '/v1/trust',
  '/v1/trust/*',
] as const;

/**
 * Values one load-balancer listener rule may hold across its conditions
 * (Elastic Load Balancing's limit of five match values per rule).
 */
export const MAX_PATH_PATTERNS_PER_RULE = 5;

/**
 * Path patterns split, in order, over the fewest listener rules the limit
 * allows: one rule per `max` patterns (a sixth pattern makes a second rule).
 */
export function listenerRulePatterns(
  patterns: readonly string[],
  max: number = MAX_PATH_PATTERNS_PER_RULE,
): string[][] {
  if (!Number.isInteger(max) || max < 1) {
    throw new Error(`max must be a positive integer (got ${max})`);
  }
  const rules: string[][] = [];
  for (let i = 0; i < patterns.length; i += max) rules.push(patterns.slice(i, i + max));
  return rules;
}
