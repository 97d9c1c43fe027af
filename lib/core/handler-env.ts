/**
 * The environment contract between a construct and its handler, declared
 * once: each variable's name, type, range and default. The construct writes
 * the function's `environment` through it (`write`), the handler reads it at
 * cold start (`read`, one error naming every problem), and local mode builds
 * each handler's environment with the same `write`. Where a variable carries
 * a configuration key (lib/core/config-schema.ts), its range and default are
 * the schema's: `settingInt` and `settingChoice` take them from there,
 * `settingRange` converts a range to the handler's unit.
 *
 * `write` does not check values: the construct checks its props (a table
 * name is a token at synth), and `read` checks them where they are used.
 * Problems never repeat a value (a URL may carry a secret).
 *
 * Pure and CDK-free: lambda/ and local/ import it.
 */

import {
  CONFIG_SCHEMA,
  type ChoiceSettingKey,
  type IntegerSettingKey,
  type SettingKey,
} from './config-schema';
import type { IntegerRange, Rule } from './rules';

/** A process environment, or the variables a construct writes. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether a variable must be set (`required`), has a default the handler
 * uses when it is unset (`defaulted`), or may be left unset (`optional`: the
 * value is then absent).
 */
export type Presence = 'required' | 'defaulted' | 'optional';

/**
 * One environment variable: `T` is the value the handler reads, `W` the
 * value the construct writes (the same, unless the text is built from
 * something else, such as a model list).
 */
export interface EnvVar<T, P extends Presence = Presence, W = T> {
  /** The variable's name (`USAGE_TABLE_NAME`). */
  readonly name: string;
  readonly presence: P;
  /** The allowed values in words ("a DynamoDB table name"). */
  readonly what: string;
  /**
   * The value of `raw` (undefined or '' when unset), or undefined with a
   * problem pushed on `problems` (each one starts with the name). `earlier`
   * holds the values read before this one, for variables that depend on
   * another (the base URL on the upstream kind).
   */
  read(
    raw: string | undefined,
    problems: string[],
    earlier: Readonly<Record<string, unknown>>,
  ): T | undefined;
  /** The variable's text for a value. */
  write(value: W): string;
  /** The configuration key this variable carries as it is, when it carries one. */
  readonly setting?: SettingKey;
  /** The bounds of an integer variable. */
  readonly range?: IntegerRange;
  /** The value when unset (`defaulted` variables). */
  readonly fallback?: T;
}

/** An integer variable, whose range local mode may widen (`withRanges`). */
export interface IntVar<P extends Presence = Presence> extends EnvVar<number, P> {
  readonly range: IntegerRange;
}

/** An integer variable with a default. */
export interface DefaultedIntVar extends IntVar<'defaulted'> {
  readonly fallback: number;
}

/** A variable that carries the configuration key `K` as it is. */
export type SettingVar<K extends SettingKey, T> = EnvVar<T, 'defaulted'> & { readonly setting: K };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyVar = EnvVar<any, Presence, any>;

/** The variables of a contract, by the field name the handler reads them as. */
export type EnvSpec = Readonly<Record<string, AnyVar>>;

type ValueOf<V> = V extends { read(...args: never[]): infer T } ? Exclude<T, undefined> : never;
type InputOf<V> = V extends { write(value: infer W): string } ? W : never;
type KeysWith<S, P extends Presence> = {
  [K in keyof S]: S[K] extends { readonly presence: P } ? K : never;
}[keyof S];

/** What `read` gives: every variable's value, an optional one absent when unset. */
export type EnvValues<S extends EnvSpec> = {
  readonly [K in KeysWith<S, 'required' | 'defaulted'>]: ValueOf<S[K]>;
} & {
  readonly [K in KeysWith<S, 'optional'>]?: ValueOf<S[K]>;
};

/** What `write` takes: required variables must be given; the rest may be left out (not written). */
export type EnvInput<S extends EnvSpec> = {
  readonly [K in KeysWith<S, 'required'>]: InputOf<S[K]>;
} & {
  readonly [K in KeysWith<S, 'defaulted' | 'optional'>]?: InputOf<S[K]> | undefined;
};

type SettingKeysOf<S> = {
  [K in keyof S]: S[K] extends { readonly setting: SettingKey } ? K : never;
}[keyof S];

/**
 * The configuration keys a contract's variables carry as they are, each
 * optional (its default is the schema's): the construct's `settings` prop.
 */
export type SettingsOf<S extends EnvSpec> = {
  readonly [K in SettingKeysOf<S>]?: ValueOf<S[K]>;
};

type IntKeysOf<S> = {
  [K in keyof S]: S[K] extends { readonly range: IntegerRange } ? K : never;
}[keyof S];

/** One handler's environment contract. */
export interface EnvContract<S extends EnvSpec> {
  /** The handler, as errors name it ("Invalid <handler> configuration: ..."). */
  readonly handler: string;
  /** The variables, in the order they are read (and problems reported). */
  readonly vars: S;
  /**
   * Reads and checks `env`: the values, or one error naming every problem
   * (`Invalid <handler> configuration: A ...; B ...`).
   */
  read(env: Env): EnvValues<S>;
  /** The problems `read` would report (none: the environment is valid). */
  problems(env: Env): string[];
  /** The environment that carries `values` (a value left out is not written). */
  write(values: EnvInput<S>): Record<string, string>;
  /**
   * The values of the variables that carry a configuration key as it is,
   * from `given` (any object with those keys, such as the stack's checked
   * settings), with the schema's default for each one not given.
   */
  fromSettings(given?: SettingsOf<S>): Required<SettingsOf<S>>;
  /** The configuration keys carried as they are, with their rules (for the construct's checks). */
  readonly settingRules: readonly {
    readonly key: SettingKeysOf<S> & string;
    readonly rule: Rule;
  }[];
  /** The same contract with other bounds for some integer variables (local mode's shorter TTLs). */
  withRanges(ranges: { readonly [K in IntKeysOf<S>]?: IntegerRange }): EnvContract<S>;
}

/** Declares a handler's contract. */
export function defineEnv<const S extends EnvSpec>(handler: string, vars: S): EnvContract<S> {
  const names = new Set<string>();
  for (const [field, v] of Object.entries(vars)) {
    if (names.has(v.name)) throw new Error(`${handler}: ${v.name} is declared twice`);
    names.add(v.name);
    if (v.setting !== undefined && v.setting !== field) {
      throw new Error(
        `${handler}: ${v.name} carries ${v.setting}, so its field must be ${v.setting}`,
      );
    }
  }
  const problems = (env: Env): { values: Record<string, unknown>; problems: string[] } => {
    const found: string[] = [];
    const values: Record<string, unknown> = {};
    for (const [field, v] of Object.entries(vars)) {
      const value = v.read(env[v.name], found, values);
      if (value !== undefined) values[field] = value;
    }
    return { values, problems: found };
  };
  const settingFields = Object.keys(vars).filter((f) => vars[f].setting !== undefined);
  return {
    handler,
    vars,
    read(env) {
      const read = problems(env);
      if (read.problems.length > 0) {
        throw new Error(`Invalid ${handler} configuration: ${read.problems.join('; ')}`);
      }
      return read.values as EnvValues<S>;
    },
    problems: (env) => problems(env).problems,
    write(values) {
      const env: Record<string, string> = {};
      for (const [field, v] of Object.entries(vars)) {
        const value = (values as Record<string, unknown>)[field];
        if (value !== undefined) env[v.name] = v.write(value);
      }
      return env;
    },
    fromSettings(given = {}) {
      return Object.fromEntries(
        settingFields.map((f) => [
          f,
          (given as Record<string, unknown>)[f] ?? CONFIG_SCHEMA[f as SettingKey].default,
        ]),
      ) as Required<SettingsOf<S>>;
    },
    settingRules: settingFields.map((f) => ({
      key: f as SettingKeysOf<S> & string,
      rule: CONFIG_SCHEMA[f as SettingKey].rule,
    })),
    withRanges(ranges) {
      const widened = Object.fromEntries(
        Object.entries(vars).map(([f, v]) => {
          const range = (ranges as Record<string, IntegerRange | undefined>)[f];
          return [
            f,
            range === undefined ? v : integerVar(v.name, range, v.presence, v.fallback, v.setting),
          ];
        }),
      );
      return defineEnv(handler, widened as unknown as S);
    },
  };
}

// ---------------------------------------------------------------------------
// Kinds of variables

/** A kind of text value: its pattern and the allowed values in words. */
export interface TextFormat {
  readonly pattern: RegExp;
  /** In words, after "must be" ("an S3 bucket name"). */
  readonly what: string;
  /** A further check, for what a pattern says badly. @default - the pattern only */
  readonly accepts?: (value: string) => boolean;
}

function textVar<P extends 'required' | 'optional'>(
  name: string,
  format: TextFormat,
  presence: P,
): EnvVar<string, P> {
  return {
    name,
    presence,
    what: format.what,
    read(raw, problems) {
      if (raw === undefined || raw === '') {
        if (presence === 'required') problems.push(`${name} is required (${format.what})`);
        return undefined;
      }
      if (!format.pattern.test(raw) || (format.accepts && !format.accepts(raw))) {
        problems.push(`${name} must be ${format.what}`);
        return undefined;
      }
      return raw;
    },
    write: (value) => value,
  };
}

/** A text value that must be set. */
export function text(name: string, format: TextFormat): EnvVar<string, 'required'> {
  return textVar(name, format, 'required');
}

/** A text value that may be left unset (then absent from the values). */
export function optionalText(name: string, format: TextFormat): EnvVar<string, 'optional'> {
  return textVar(name, format, 'optional');
}

function integerVar<P extends Presence>(
  name: string,
  range: IntegerRange,
  presence: P,
  fallback: number | undefined,
  setting?: SettingKey,
): IntVar<P> {
  const words = `a whole number from ${range.min} to ${range.max}`;
  return {
    name,
    presence,
    what: words,
    range,
    ...(fallback !== undefined ? { fallback } : {}),
    ...(setting !== undefined ? { setting } : {}),
    read(raw, problems) {
      if (raw === undefined || raw === '') {
        if (presence === 'required') problems.push(`${name} is required (${words})`);
        return fallback;
      }
      const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
        problems.push(`${name} must be ${words}`);
        return undefined;
      }
      return n;
    },
    write: (value) => String(value),
  };
}

/** A whole number in `range`; with `fallback`, the value when unset (else it must be set). */
export function int(name: string, range: IntegerRange): IntVar<'required'>;
export function int(name: string, range: IntegerRange, fallback: number): DefaultedIntVar;
export function int(name: string, range: IntegerRange, fallback?: number): IntVar {
  return integerVar(name, range, fallback === undefined ? 'required' : 'defaulted', fallback);
}

/**
 * The bounds of an integer configuration key, in the handler's unit: `per`
 * handler units to one of the key's (60 for minutes read as seconds).
 */
export function settingRange(key: IntegerSettingKey, per = 1): IntegerRange {
  const { min, max } = CONFIG_SCHEMA[key].bounds;
  return { min: min * per, max: max * per };
}

/** The default of an integer configuration key, in the handler's unit (see `settingRange`). */
export function settingDefault(key: IntegerSettingKey, per = 1): number {
  return CONFIG_SCHEMA[key].default * per;
}

/**
 * An integer configuration key carried as it is: the schema's range, and its
 * default when unset. The contract's field is the key's name.
 */
export function settingInt<K extends IntegerSettingKey>(
  key: K,
  name: string,
): DefaultedIntVar & SettingVar<K, number> {
  return integerVar(
    name,
    settingRange(key),
    'defaulted',
    settingDefault(key),
    key,
  ) as DefaultedIntVar & SettingVar<K, number>;
}

/** `true` or `false`; `fallback` when unset. */
export function bool(
  name: string,
  fallback: boolean,
): EnvVar<boolean, 'defaulted'> & { readonly fallback: boolean } {
  return {
    name,
    presence: 'defaulted',
    what: 'true or false',
    fallback,
    read(raw, problems) {
      if (raw === undefined || raw === '') return fallback;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      problems.push(`${name} must be true or false`);
      return undefined;
    },
    write: (value) => String(value),
  };
}

/** `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`. */
function alternatives(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length < 2
    ? quoted.join('')
    : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** One of `values`; `fallback` when unset. */
export function oneOf<const V extends string>(
  name: string,
  values: readonly V[],
  fallback: V,
  setting?: SettingKey,
): EnvVar<V, 'defaulted'> {
  const what = alternatives(values);
  return {
    name,
    presence: 'defaulted',
    what,
    fallback,
    ...(setting !== undefined ? { setting } : {}),
    read(raw, problems) {
      if (raw === undefined || raw === '') return fallback;
      if ((values as readonly string[]).includes(raw)) return raw as V;
      problems.push(`${name} must be ${what}`);
      return undefined;
    },
    write: (value) => value,
  };
}

type ChoiceOf<K extends ChoiceSettingKey> = (typeof CONFIG_SCHEMA)[K]['values'][number];

/**
 * A configuration key that is one of a few strings, carried as it is: the
 * schema's values, and its default when unset. The contract's field is the
 * key's name.
 */
export function settingChoice<K extends ChoiceSettingKey>(
  key: K,
  name: string,
): SettingVar<K, ChoiceOf<K>> {
  const s = CONFIG_SCHEMA[key];
  return oneOf(
    name,
    s.values as readonly ChoiceOf<K>[],
    s.default as ChoiceOf<K>,
    key,
  ) as SettingVar<K, ChoiceOf<K>>;
}

/** A variable read and written by the caller's own functions (a model list, a URL). */
export function custom<T, P extends Presence, W = T>(v: EnvVar<T, P, W>): EnvVar<T, P, W> {
  return v;
}
