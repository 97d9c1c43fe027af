/**
 * Reading a handler's environment once, at cold start: every problem is
 * collected and reported in one error that names the variables and what they
 * must be, so a bad deployment fails at init, not at the first request.
 * Messages never repeat a value.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export const NAME_PATTERN = /^[A-Za-z0-9._-]{3,255}$/;
export const KMS_KEY_PATTERN = /^[A-Za-z0-9:/_-]{1,2048}$/;

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** A required string matching `pattern`. */
  str(name: string, pattern: RegExp, what: string): string {
    const value = this.env[name];
    if (value === undefined || value === '') {
      this.problems.push(`${name} is required (${what})`);
      return '';
    }
    if (!pattern.test(value)) this.problems.push(`${name} must be ${what}`);
    return value;
  }

  /** An optional string matching `pattern`; undefined when unset. */
  optional(name: string, pattern: RegExp, what: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : this.str(name, pattern, what);
  }

  /** A whole number in a range; `fallback` when unset (required when there is none). */
  int(name: string, range: { min: number; max: number }, fallback?: number): number {
    const value = this.env[name];
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required (a whole number from ${range.min} to ${range.max})`);
      return range.min;
    }
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
      this.problems.push(`${name} must be a whole number from ${range.min} to ${range.max}`);
      return range.min;
    }
    return n;
  }

  /** `true` or `false`; `fallback` when unset. */
  bool(name: string, fallback: boolean): boolean {
    const value = this.env[name];
    if (value === undefined || value === '') return fallback;
    if (value === 'true' || value === 'false') return value === 'true';
    this.problems.push(`${name} must be true or false`);
    return fallback;
  }

  /** Records a problem found by the caller. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws `Invalid <what> configuration: ...` when anything was wrong. */
  check(what: string): void {
    if (this.problems.length > 0) {
      throw new Error(`Invalid ${what} configuration: ${this.problems.join('; ')}`);
    }
  }
}
