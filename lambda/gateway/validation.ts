/**
 * Small helpers for the body validators. A validator calls {@link fail} with a
 * message built from field names and indices only; {@link runValidation} turns
 * that into `{ ok: false, message, param }`, where `param` is the field at
 * fault: given, or else the field path the message starts with
 * (`messages[2].content must be ...` names `messages[2].content`).
 */

import { leadingField } from '../shared/http-errors';

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly param?: string };

/** Thrown inside the validators; caught at the top and turned into `{ ok: false }`. */
class Invalid extends Error {
  constructor(
    message: string,
    readonly param: string | undefined,
  ) {
    super(message);
  }
}

export const fail = (message: string, param?: string): never => {
  throw new Invalid(message, param);
};

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const has = (o: Record<string, unknown>, k: string): boolean =>
  o[k] !== undefined && o[k] !== null;

export function optionalNumber(
  o: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  if (!has(o, field)) return undefined;
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    fail(`${field} must be a number from ${min} to ${max}`);
  }
  return v as number;
}

export function optionalInt(
  o: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  if (!has(o, field)) return undefined;
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${field} must be a whole number from ${min} to ${max}`);
  }
  return v as number;
}

export function optionalBool(
  o: Record<string, unknown>,
  field: string,
  at: string = field,
): boolean | undefined {
  if (!has(o, field)) return undefined;
  if (typeof o[field] !== 'boolean') fail(`${at} must be true or false`);
  return o[field] as boolean;
}

export function requiredModel(o: Record<string, unknown>): string {
  if (typeof o.model !== 'string' || o.model.length === 0 || o.model.length > 256) {
    fail('model must be a non-empty string');
  }
  return o.model as string;
}

/** Runs a validator; a {@link fail} becomes `{ ok: false }`, anything else is rethrown. */
export function runValidation<T>(parse: () => T): Validated<T> {
  try {
    return { ok: true, value: parse() };
  } catch (err) {
    if (err instanceof Invalid) {
      const param = err.param ?? leadingField(err.message);
      return { ok: false, message: err.message, ...(param === undefined ? {} : { param }) };
    }
    throw err;
  }
}

/** Drops properties whose value is `undefined`. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
