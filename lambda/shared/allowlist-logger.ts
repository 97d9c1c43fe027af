/**
 * A logger that can only write allowlisted metadata fields (promise P4).
 *
 * There is no free-form message, no error object and no way to pass request or
 * response text: every field must be declared in a schema with a kind, and a
 * value that does not fit its kind is dropped and counted, never written.
 * Strings are limited to short identifier-like values that match a pattern, so
 * even a caller that hands the logger a prompt by mistake cannot get it out.
 */

import { MODEL_ID } from '../../lib/core/models';

export type FieldKind =
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | {
      readonly kind: 'id';
      readonly pattern: RegExp;
      readonly maxLength: number;
      /**
       * Whether the field may hold a keyed hash (64 hex digits). Only the usage
       * table's `customer_hash` does; every other id field refuses a value of
       * that shape, so no log line can carry a customer's hash by mistake.
       */
      readonly holdsHashes?: boolean;
    };

export type LogSchema = Readonly<Record<string, FieldKind>>;

/** A record whose keys come from the schema; values are checked at run time. */
export type LogRecord<S extends LogSchema> = { readonly [K in keyof S]?: unknown };

/** Common identifier shapes, shared by every schema. */
export const ID_PATTERNS = {
  /** Request ids, key ids, deletion ids: url-safe tokens. */
  token: { kind: 'id', pattern: /^[A-Za-z0-9_-]+$/, maxLength: 128 },
  /** Hex digests such as the keyed customer hash: for table items, never a log schema. */
  hex: { kind: 'id', pattern: /^[0-9a-f]+$/, maxLength: 128, holdsHashes: true },
  /** Model ids as the upstreams spell them (`amazon.nova-lite-v1:0`, `org/model`). */
  model: { kind: 'id', ...MODEL_ID },
  /** ISO-8601 UTC timestamps. */
  timestamp: {
    kind: 'id',
    pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/,
    maxLength: 24,
  },
} as const satisfies Record<string, FieldKind>;

/** The shape of a keyed hash as the stack writes it (hex of HMAC-SHA256). */
const HASH_SHAPE = /^[0-9A-Fa-f]{64}$/;

/** Returns the value if it fits the field's kind, otherwise `undefined`. */
export function checkField(kind: FieldKind, value: unknown): string | number | boolean | undefined {
  switch (kind.kind) {
    case 'int':
      return typeof value === 'number' &&
        Number.isSafeInteger(value) &&
        value >= (kind.min ?? Number.MIN_SAFE_INTEGER) &&
        value <= (kind.max ?? Number.MAX_SAFE_INTEGER)
        ? value
        : undefined;
    case 'number':
      return typeof value === 'number' &&
        Number.isFinite(value) &&
        value >= (kind.min ?? -Number.MAX_VALUE) &&
        value <= (kind.max ?? Number.MAX_VALUE)
        ? value
        : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'enum':
      return typeof value === 'string' && kind.values.includes(value) ? value : undefined;
    case 'id':
      return typeof value === 'string' &&
        value.length > 0 &&
        value.length <= kind.maxLength &&
        kind.pattern.test(value) &&
        (kind.holdsHashes === true || !HASH_SHAPE.test(value))
        ? value
        : undefined;
  }
}

/**
 * Keeps only the schema's fields whose values fit their kinds. Returns the
 * clean record and the number of fields that were dropped.
 */
export function sanitize<S extends LogSchema>(
  schema: S,
  record: LogRecord<S>,
): { clean: Record<string, string | number | boolean>; dropped: number } {
  const clean: Record<string, string | number | boolean> = {};
  let dropped = 0;
  for (const key of Object.keys(record)) {
    const value = (record as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const kind = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    const checked = kind ? checkField(kind, value) : undefined;
    if (checked === undefined) dropped++;
    else clean[key] = checked;
  }
  return { clean, dropped };
}

export type LineSink = (line: string) => void;

const stdoutSink: LineSink = (line) => {
  process.stdout.write(line + '\n');
};

export interface AllowlistLogger<S extends LogSchema> {
  /** Writes one JSON line holding only the schema's fields (plus `event` and `dropped_fields`). */
  write(record: LogRecord<S>): void;
}

/** A CloudWatch metric published from a numeric field of the line. */
export interface EmbeddedMetric<S extends LogSchema> {
  /** Metric name, e.g. `SweepLagSeconds`. */
  readonly name: string;
  /** The schema field (of kind int or number) that holds the value. */
  readonly field: keyof S & string;
  readonly unit: 'Seconds' | 'Milliseconds' | 'Count';
}

/**
 * Metrics in CloudWatch's embedded metric format: CloudWatch Logs extracts
 * them from the line itself, so publishing needs no API call, no VPC
 * endpoint and no permission beyond writing logs. Values come only from the
 * schema's numeric fields; dimension values are fixed when the logger is
 * created (names of the deployment's own resources, never request data).
 */
export interface EmbeddedMetrics<S extends LogSchema> {
  readonly namespace: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly EmbeddedMetric<S>[];
}

const METRIC_TOKEN = /^[A-Za-z0-9._/-]{1,255}$/;

/**
 * Creates a logger for one event type. `event` names the line (for example
 * `usage` or `sweep`) and is written as a field of its own.
 */
export function createAllowlistLogger<S extends LogSchema>(
  event: string,
  schema: S,
  sink: LineSink = stdoutSink,
  emf?: EmbeddedMetrics<S>,
): AllowlistLogger<S> {
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(event)) {
    throw new Error(
      `Logger event name must be a short lower_snake_case word, got ${event.length} characters`,
    );
  }
  for (const reserved of ['event', 'dropped_fields']) {
    if (Object.prototype.hasOwnProperty.call(schema, reserved)) {
      throw new Error(`Logger schema may not declare the reserved field '${reserved}'`);
    }
  }
  if (emf) checkEmbeddedMetrics(schema, emf);
  return {
    write(record) {
      const { clean, dropped } = sanitize(schema, record);
      const line: Record<string, unknown> = { event, ...clean };
      if (dropped > 0) line.dropped_fields = dropped;
      if (emf) {
        const present = emf.metrics.filter((m) => typeof clean[m.field] === 'number');
        if (present.length > 0) {
          for (const m of present) line[m.name] = clean[m.field];
          Object.assign(line, emf.dimensions);
          line._aws = {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
              {
                Namespace: emf.namespace,
                Dimensions: [Object.keys(emf.dimensions)],
                Metrics: present.map((m) => ({ Name: m.name, Unit: m.unit })),
              },
            ],
          };
        }
      }
      sink(JSON.stringify(line));
    },
  };
}

function checkEmbeddedMetrics<S extends LogSchema>(schema: S, emf: EmbeddedMetrics<S>): void {
  const names = [
    emf.namespace,
    ...Object.keys(emf.dimensions),
    ...Object.values(emf.dimensions),
    ...emf.metrics.map((m) => m.name),
  ];
  if (!names.every((n) => typeof n === 'string' && METRIC_TOKEN.test(n))) {
    throw new Error('Embedded metric names and dimensions must be 1-255 of A-Z a-z 0-9 . _ / -');
  }
  for (const m of emf.metrics) {
    const kind = Object.prototype.hasOwnProperty.call(schema, m.field)
      ? schema[m.field]
      : undefined;
    if (!kind || (kind.kind !== 'int' && kind.kind !== 'number')) {
      throw new Error(`Embedded metric ${m.name} must read a numeric schema field`);
    }
    if (Object.prototype.hasOwnProperty.call(schema, m.name)) {
      throw new Error(`Embedded metric ${m.name} may not reuse a schema field name`);
    }
  }
}
