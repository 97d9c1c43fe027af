/**
 * Admin paths spread over as many load-balancer listener rules as the limit
 * of five match values per rule needs: five patterns fit one rule, a sixth
 * makes a second, and no rule holds more than five.
 */
import {
  ADMIN_PATH_PATTERNS,
  listenerRulePatterns,
  MAX_PATH_PATTERNS_PER_RULE,
} from '../../lib/core/routes';

const patterns = (n: number) => Array.from({ length: n }, (_, i) => `/p${i}`);

describe('listenerRulePatterns', () => {
  test('the limit is five values per rule', () => {
    expect(MAX_PATH_PATTERNS_PER_RULE).toBe(5);
  });

  test.each([
    [1, [1]],
    [4, [4]],
    [5, [5]],
    [6, [5, 1]],
    [10, [5, 5]],
    [11, [5, 5, 1]],
  ])('%i patterns make rules of %j values, in order', (n, sizes) => {
    const rules = listenerRulePatterns(patterns(n));
    expect(rules.map((r) => r.length)).toEqual(sizes);
    expect(rules.flat()).toEqual(patterns(n));
  });

  test('no patterns, no rule; a smaller limit is honoured; a limit below 1 is refused', () => {
    expect(listenerRulePatterns([])).toEqual([]);
    expect(listenerRulePatterns(patterns(3), 2).map((r) => r.length)).toEqual([2, 1]);
    expect(() => listenerRulePatterns(patterns(3), 0)).toThrow(
      'max must be a positive integer (got 0)',
    );
  });

  test("the admin API's own patterns need two rules today", () => {
    expect(ADMIN_PATH_PATTERNS.length).toBeGreaterThan(MAX_PATH_PATTERNS_PER_RULE);
    expect(listenerRulePatterns(ADMIN_PATH_PATTERNS)).toHaveLength(2);
  });
});
