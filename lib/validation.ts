import { Duration, Token } from 'aws-cdk-lib';

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

  /** An integer between min and max inclusive (skipped for unresolved tokens). */
  integer(name: string, value: number | undefined, min: number, max: number): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    return this.check(
      Number.isInteger(value) && value >= min && value <= max,
      `${name} must be an integer from ${min} to ${max} (got ${value})`,
    );
  }

  /** Throws if any problem was recorded. */
  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    throw new Error(
      `Invalid ${this.constructName} props:\n` + this.problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}
