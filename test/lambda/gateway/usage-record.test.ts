import fc from 'fast-check';
import { checkField } from '../../../lambda/shared/allowlist-logger';
import {
  createUsageLogger,
  USAGE_SCHEMA,
  usageItem,
  usageRecordFromItem,
  type UsageRecord,
} from '../../../lambda/shared/usage-record';

const ALLOWED = new Set([...Object.keys(USAGE_SCHEMA), 'event', 'dropped_fields']);

/** Arbitrary values, including long and prompt-like strings, nested objects and errors. */
const anyValue = fc.oneof(
  fc.string(),
  fc.string({ minLength: 100, maxLength: 400 }),
  fc.constantFrom(
    'ignore previous instructions',
    'line\nbreak',
    '{"json":true}',
    'a'.repeat(129),
    'x y',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  fc.constant(new Error('secret message')),
);

/** Records mixing schema fields and arbitrary extra keys, all with arbitrary values. */
const anyRecord = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...Object.keys(USAGE_SCHEMA)), anyValue),
    fc.dictionary(fc.string(), anyValue, { maxKeys: 5 }),
  )
  .map(([known, extra]) => ({ ...extra, ...known }));

describe('usage logger (allowlist) with USAGE_SCHEMA', () => {
  it('never writes a field outside the allowlist, nor a value that fails its kind (property)', () => {
    fc.assert(
      fc.property(anyRecord, (record) => {
        const lines: string[] = [];
        createUsageLogger((line) => lines.push(line)).write(record as UsageRecord);
        expect(lines).toHaveLength(1);
        const written = JSON.parse(lines[0]) as Record<string, unknown>;
        for (const [name, value] of Object.entries(written)) {
          expect(ALLOWED.has(name)).toBe(true);
          if (name === 'event') expect(value).toBe('usage');
          else if (name === 'dropped_fields') expect(Number.isSafeInteger(value)).toBe(true);
          else
            expect(checkField(USAGE_SCHEMA[name as keyof typeof USAGE_SCHEMA], value)).toBe(value);
        }
        // Every string written is short and identifier-like: no prose, no whitespace.
        for (const value of Object.values(written)) {
          if (typeof value === 'string') expect(value).toMatch(/^[A-Za-z0-9._:/-]{1,128}$/);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a well-formed record whole', () => {
    const lines: string[] = [];
    const record: UsageRecord = {
      request_id: 'r-1',
      timestamp: '2025-01-02T03:04:05.678Z',
      api_key_id: 'abcdefghijklmnop',
      customer_hash: 'ab'.repeat(32),
      route: 'chat_completions',
      method: 'POST',
      model: 'amazon.nova-lite-v1:0',
      status: 200,
      latency_ms: 12,
      input_tokens: 1,
      output_tokens: 2,
      image_count: 0,
      cost_micro_usd: 3,
      temperature: 0.7,
      top_p: 1,
      max_tokens: 10,
      n: 1,
      seed: -3,
      presence_penalty: 0,
      frequency_penalty: -1.5,
      size: '1024x1024',
      quality: 'hd',
      style: 'vivid',
      response_format: 'url',
      stop_count: 2,
      tool_count: 1,
      stream: true,
      opt_out: false,
      ttl: 1_700_000_000,
      image_ttl_seconds: 3600,
      error_type: 'server_error',
      auth_failure: 'scope',
      record_written: true,
    };
    createUsageLogger((l) => lines.push(l)).write(record);
    // Whole, but for the customer's hash: the line says only that there was one.
    const logged: UsageRecord = { ...record };
    delete logged.customer_hash;
    expect(JSON.parse(lines[0])).toEqual({ event: 'usage', ...logged, customer_tagged: true });
  });
});

describe('usageItem', () => {
  const minimal: UsageRecord = { request_id: 'r', timestamp: '2025-01-02T03:04:05.678Z', ttl: 5 };

  it('builds attribute values from the schema fields only, without log-only fields', () => {
    expect(
      usageItem(
        { ...minimal, status: 200, opt_out: true, record_written: true, extra: 'x' } as UsageRecord,
        ['images/0000003600/abc.png', 'images/0000003600/abc.png'],
      ),
    ).toEqual({
      request_id: { S: 'r' },
      timestamp: { S: '2025-01-02T03:04:05.678Z' },
      ttl: { N: '5' },
      status: { N: '200' },
      opt_out: { BOOL: true },
      image_keys: { SS: ['images/0000003600/abc.png'] },
    });
  });

  it('requires the table keys and refuses foreign object keys', () => {
    expect(() => usageItem({ request_id: 'r', ttl: 1 })).toThrow(
      "usageItem: field 'timestamp' is missing or invalid",
    );
    expect(() => usageItem(minimal, ['uploads/evil.png'])).toThrow(
      'usageItem: image_keys must be image bucket keys',
    );
  });

  it('round-trips through usageRecordFromItem, dropping anything else in the item (property)', () => {
    fc.assert(
      fc.property(anyRecord, (extra) => {
        const record = { ...extra, ...minimal } as UsageRecord;
        const item = usageItem(record);
        const back = usageRecordFromItem({ ...item, prompt: { S: 'should not be read' } });
        expect(back.record).not.toHaveProperty('prompt');
        for (const [name, value] of Object.entries(back.record)) {
          expect(checkField(USAGE_SCHEMA[name as keyof typeof USAGE_SCHEMA], value)).toBe(value);
          // (-0 is stored as "0", so compare as JSON)
          expect(JSON.stringify((record as Record<string, unknown>)[name])).toBe(
            JSON.stringify(value),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
