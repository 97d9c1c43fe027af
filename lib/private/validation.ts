import { Duration, Token } from 'aws-cdk-lib';
import { integerProblem, type Rule } from '../core/rules';

/** A duration in the largest unit that states it exactly (`90 seconds`, `25 hours`). */
export function exact(d: Duration): string {
  const s = d.toSeconds({ integral: false });
  const units: Array<[number, string]> = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  if (s === 0) return '0 seconds';
  for (const [size, unit] of units) {
    if (s % size === 0) return `${s / size} ${unit}${s / size === 1 ? '' : 's'}`;
  }
  return `${d.toMilliseconds({ integral: false })} milliseconds`;
}

/**
 * Collects every problem with a construct's props, then throws once with a
 * message that names each bad prop and its allowed range.
 */
export class PropsValidator {
  private readonly problems: string[] = [];

  constructor(private readonly constructName: string) {}

  /** Records a problem when `ok` is false. */
  check(ok: boolean, problem: string): this {
    if (!ok) this.problems.push(problem);
    return this;
  }

  /** A duration between min and max inclusive (skipped for unresolved tokens). */
  duration(name: string, value: Duration | undefined, min: Duration, max: Duration): this {
    if (value === undefined || Token.isUnresolved(value.toSeconds())) return this;
    const s = value.toSeconds({ integral: false });
    return this.check(
      s >= min.toSeconds() && s <= max.toSeconds(),
      `${name} must be between ${exact(min)} and ${exact(max)} (got ${exact(value)})`,
    );
  }

  /**
   * An integer between min and max inclusive (skipped for unresolved tokens):
   * the configuration's integer rule (lib/core/rules.ts).
   */
  integer(name: string, value: number | undefined, min: number, max: number): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    const problem = integerProblem(value, { min, max });
    return this.check(problem === undefined, `${name} ${problem} (got ${value})`);
  }

  /**
   * A prop checked by a shared rule (lib/core/rules.ts), the one the
   * configuration applies to the same value, so both give the same verdict.
   * An undefined prop is skipped. So are unresolved tokens, which synth cannot
   * read: a string token, or the tokens of a list (its other entries are
   * checked); with `tokens: 'refuse'` a token is checked like any string (and
   * refused), for props whose tokens the construct could not use correctly.
   * With `showValue`, the message repeats the value (never for a URL or secret).
   */
  rule(
    name: string,
    value: unknown,
    rule: Rule,
    options: { readonly showValue?: boolean; readonly tokens?: 'skip' | 'refuse' } = {},
  ): this {
    if (value === undefined) return this;
    const skipTokens = options.tokens !== 'refuse';
    if (skipTokens && Token.isUnresolved(value)) return this;
    const concrete =
      skipTokens && Array.isArray(value) ? value.filter((v) => !Token.isUnresolved(v)) : value;
    const problem = rule.check(concrete);
    const got = options.showValue ? ` (got '${String(value)}')` : '';
    return this.check(problem === undefined, `${name} ${problem}${got}`);
  }

  /** Throws if any problem was recorded. */
  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    throw new Error(
      `Invalid ${this.constructName} props:\n` + this.problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}
