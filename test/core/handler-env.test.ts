/**
 * The environment contract mechanism (lib/core/handler-env.ts) and the
 * handlers' contracts (lib/core/env): good and bad values, every problem in
 * one error, write then read gives the values back, and ranges and defaults
 * that are the configuration schema's.
 */
import fc from 'fast-check';
import { CONFIG_SCHEMA } from '../../lib/core/config-schema';
import { adminEnv } from '../../lib/core/env/admin';
import { deletionWorkerEnv } from '../../lib/core/env/deletion-worker';
import { BUCKET_NAME, TABLE_NAME } from '../../lib/core/env/formats';
import { gatewayEnv } from '../../lib/core/env/gateway';
import { imageSweeperEnv } from '../../lib/core/env/image-sweeper';
import { receiptWebhookEnv } from '../../lib/core/env/receipt-webhook';
import { watchdogEnv } from '../../lib/core/env/watchdog';
import {
  bool,
  defineEnv,
  int,
  oneOf,
  optionalText,
  settingChoice,
  settingDefault,
  settingInt,
  settingRange,
  text,
} from '../../lib/core/handler-env';
import { DEFAULT_MODELS } from '../../lib/core/models';

const demo = defineEnv('demo', {
  table: text('TABLE', TABLE_NAME),
  limit: int('LIMIT', { min: 1, max: 10 }, 4),
  count: int('COUNT', { min: 0, max: 99 }),
  on: bool('ON', false),
  mode: oneOf('MODE', ['a', 'b', 'c'], 'a'),
  bucket: optionalText('BUCKET', BUCKET_NAME),
  maxImagesPerRequest: settingInt('maxImagesPerRequest', 'MAX_IMAGES'),
  remoteImageUrls: settingChoice('remoteImageUrls', 'REMOTE'),
});

describe('defineEnv: read', () => {
  test('reads good values, and each default where a variable is unset', () => {
    expect(demo.read({ TABLE: 'usage', COUNT: '0' })).toEqual({
      table: 'usage',
      limit: 4,
      count: 0,
      on: false,
      mode: 'a',
      maxImagesPerRequest: 4,
      remoteImageUrls: 'deny',
    });
    const all = demo.read({
      TABLE: 'usage',
      LIMIT: '10',
      COUNT: '99',
      ON: 'true',
      MODE: 'c',
      BUCKET: 'my.bucket-1',
      MAX_IMAGES: '1',
      REMOTE: 'allow',
    });
    expect(all).toEqual({
      table: 'usage',
      limit: 10,
      count: 99,
      on: true,
      mode: 'c',
      bucket: 'my.bucket-1',
      maxImagesPerRequest: 1,
      remoteImageUrls: 'allow',
    });
  });

  test('an empty string is unset; an unset optional variable is absent, not undefined', () => {
    const values = demo.read({ TABLE: 'usage', COUNT: '1', LIMIT: '', BUCKET: '', ON: '' });
    expect(values.limit).toBe(4);
    expect(values.on).toBe(false);
    expect(Object.keys(values)).not.toContain('bucket');
  });

  test('every problem in one error, in the order the variables are declared, no value repeated', () => {
    const env = {
      TABLE: 'has space',
      LIMIT: '11',
      ON: 'yes',
      MODE: 'd',
      BUCKET: 'a..b',
      MAX_IMAGES: '0',
      REMOTE: 'sometimes',
    };
    let message = '';
    try {
      demo.read(env);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(
      'Invalid demo configuration: ' +
        'TABLE must be a DynamoDB table name; ' +
        'LIMIT must be a whole number from 1 to 10; ' +
        'COUNT is required (a whole number from 0 to 99); ' +
        'ON must be true or false; ' +
        "MODE must be 'a', 'b' or 'c'; " +
        'BUCKET must be an S3 bucket name; ' +
        'MAX_IMAGES must be a whole number from 1 to 10; ' +
        "REMOTE must be 'deny' or 'allow'",
    );
    for (const value of Object.values(env)) expect(message).not.toContain(`: ${value}`);
    expect(message).not.toContain('has space');
    expect(message).not.toContain('sometimes');
    expect(demo.problems(env)).toHaveLength(8);
  });

  test.each(['1.5', '1e3', ' 5', '-1', '0x5', '5 ', '9007199254740993'])(
    'an integer is decimal digits only: %j is refused',
    (raw) => {
      expect(demo.problems({ TABLE: 'usage', COUNT: raw })).toEqual([
        'COUNT must be a whole number from 0 to 99',
      ]);
    },
  );
});

describe('defineEnv: write', () => {
  test('writes each value given as its variable, leaves out what is not given', () => {
    expect(
      demo.write({ table: 't-1', count: 3, on: true, mode: 'b', bucket: undefined, limit: 2 }),
    ).toEqual({ TABLE: 't-1', COUNT: '3', ON: 'true', MODE: 'b', LIMIT: '2' });
  });

  test('writes tokens and other unresolved text as they are (the construct checks its props)', () => {
    expect(demo.write({ table: '${Token[TOKEN.42]}', count: 1 }).TABLE).toBe('${Token[TOKEN.42]}');
  });

  test('fromSettings: the settings a contract carries, the schema default for each one not given', () => {
    expect(demo.fromSettings()).toEqual({ maxImagesPerRequest: 4, remoteImageUrls: 'deny' });
    const checked = { maxImagesPerRequest: 7, imageTtlMinutes: 30 };
    expect(demo.fromSettings(checked)).toEqual({ maxImagesPerRequest: 7, remoteImageUrls: 'deny' });
    expect(demo.settingRules.map((r) => r.key)).toEqual(['maxImagesPerRequest', 'remoteImageUrls']);
    expect(demo.settingRules[0].rule).toBe(CONFIG_SCHEMA.maxImagesPerRequest.rule);
  });
});

describe('defineEnv: declarations', () => {
  test('a variable declared twice is refused', () => {
    expect(() => defineEnv('x', { a: text('A', TABLE_NAME), b: text('A', TABLE_NAME) })).toThrow(
      'x: A is declared twice',
    );
  });

  test("a variable that carries a configuration key is the key's field", () => {
    expect(() => defineEnv('x', { images: settingInt('maxImagesPerRequest', 'N') })).toThrow(
      'x: N carries maxImagesPerRequest, so its field must be maxImagesPerRequest',
    );
  });

  test('withRanges gives the same contract with other bounds, and leaves the original as it was', () => {
    const wide = demo.withRanges({ limit: { min: 1, max: 100 } });
    expect(wide.read({ TABLE: 't-1', COUNT: '1', LIMIT: '50' }).limit).toBe(50);
    expect(wide.read({ TABLE: 't-1', COUNT: '1' }).limit).toBe(4);
    expect(demo.problems({ TABLE: 't-1', COUNT: '1', LIMIT: '50' })).toEqual([
      'LIMIT must be a whole number from 1 to 10',
    ]);
  });
});

describe('defineEnv: properties', () => {
  const tableName = fc.stringMatching(/^[A-Za-z0-9._-]{3,40}$/);
  const values = fc.record(
    {
      table: tableName,
      limit: fc.integer({ min: 1, max: 10 }),
      count: fc.integer({ min: 0, max: 99 }),
      on: fc.boolean(),
      mode: fc.constantFrom('a' as const, 'b' as const, 'c' as const),
      bucket: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/),
      maxImagesPerRequest: fc.integer({ min: 1, max: 10 }),
      remoteImageUrls: fc.constantFrom('deny' as const, 'allow' as const),
    },
    { requiredKeys: ['table', 'count'] },
  );

  test('write then read gives the values back (the defaults for those left out)', () => {
    fc.assert(
      fc.property(values, (v) => {
        expect(demo.read(demo.write(v))).toEqual({
          ...demo.read(demo.write({ table: v.table, count: v.count })),
          ...v,
        });
      }),
    );
  });

  test('any environment is either read, with every value in its range, or refused with one error listing what problems() lists', () => {
    const raw = fc.option(
      fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('true', 'a', 'allow')),
      {
        nil: undefined,
      },
    );
    const env = fc.record({
      TABLE: raw,
      LIMIT: raw,
      COUNT: raw,
      ON: raw,
      MODE: raw,
      BUCKET: raw,
      MAX_IMAGES: raw,
      REMOTE: raw,
    });
    fc.assert(
      fc.property(env, (e) => {
        const problems = demo.problems(e);
        let read: ReturnType<typeof demo.read> | undefined;
        let error: unknown;
        try {
          read = demo.read(e);
        } catch (err) {
          error = err;
        }
        if (problems.length === 0) {
          expect(error).toBeUndefined();
          expect(read!.limit).toBeGreaterThanOrEqual(1);
          expect(read!.limit).toBeLessThanOrEqual(10);
          expect(read!.count).toBeGreaterThanOrEqual(0);
          expect(read!.count).toBeLessThanOrEqual(99);
          expect(['a', 'b', 'c']).toContain(read!.mode);
          expect(TABLE_NAME.pattern.test(read!.table)).toBe(true);
        } else {
          expect((error as Error).message).toBe(
            `Invalid demo configuration: ${problems.join('; ')}`,
          );
        }
      }),
    );
  });
});

describe("the handlers' contracts", () => {
  test('ranges and defaults come from the configuration schema, in the handler units', () => {
    const { imageTtlMinutes, maxImagesPerRequest, metadataRetentionDays, maxKeyAgeDays } =
      CONFIG_SCHEMA;
    expect(gatewayEnv.vars.imageTtlSeconds.range).toEqual({
      min: imageTtlMinutes.bounds.min * 60,
      max: imageTtlMinutes.bounds.max * 60,
    });
    expect(gatewayEnv.vars.maxImagesPerRequest.range).toEqual(maxImagesPerRequest.bounds);
    expect(gatewayEnv.vars.maxImagesPerRequest.fallback).toBe(maxImagesPerRequest.default);
    expect(gatewayEnv.vars.metadataRetentionDays.range).toEqual(metadataRetentionDays.bounds);
    expect(adminEnv.vars.metadataRetentionDays.range).toEqual(metadataRetentionDays.bounds);
    expect(adminEnv.vars.maxKeyAgeDays.range).toEqual(maxKeyAgeDays.bounds);
    expect(adminEnv.vars.maxKeyAgeDays.fallback).toBe(maxKeyAgeDays.default);
    expect(gatewayEnv.vars.remoteImageUrls.fallback).toBe(CONFIG_SCHEMA.remoteImageUrls.default);
    expect(settingRange('imageTtlMinutes', 60)).toEqual({ min: 300, max: 86_400 });
    expect(settingDefault('imageTtlMinutes', 60)).toBe(3600);
  });

  test('the schema keeps an integer setting bounds equal to its rule', () => {
    for (const s of Object.values(CONFIG_SCHEMA)) {
      const bounds = (s as { bounds?: { min: number; max: number } }).bounds;
      if (!bounds) continue;
      expect(s.rule.check(bounds.min)).toBeUndefined();
      expect(s.rule.check(bounds.max)).toBeUndefined();
      expect(s.rule.check(bounds.min - 1)).toBeDefined();
      expect(s.rule.check(bounds.max + 1)).toBeDefined();
    }
  });

  test('each contract reads back what it writes', () => {
    const arn = 'arn:aws:kms:eu-west-1:111111111111:key/abc-123';
    const queue = 'https://sqs.eu-west-1.amazonaws.com/111111111111/ephemera-deletions';
    const gateway = {
      usageTableName: 'usage',
      keyTableName: 'keys',
      imageBucketName: 'images',
      hmacKeyId: arn,
      imageKmsKeyArn: arn,
      configBucketName: 'config',
      upstreamKind: 'openai-compatible' as const,
      upstreamBaseUrl: 'https://llm.internal:8443/v1',
      upstreamSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:up-AbCdEf',
      imageTtlSeconds: 600,
      metadataRetentionDays: 7,
      upstreamTimeoutMs: 60_000,
      maxImagesPerRequest: 2,
      remoteImageUrls: 'allow' as const,
      allowInsecureTrustAll: true,
    };
    const models = DEFAULT_MODELS.filter((m) => m.kind === 'chat');
    const { models: readModels, ...rest } = gatewayEnv.read(
      gatewayEnv.write({ ...gateway, models }),
    );
    expect(rest).toEqual(gateway);
    expect(readModels.map((m) => m.id)).toEqual(models.map((m) => m.id));

    const admin = {
      keyTableName: 'keys',
      usageTableName: 'usage',
      deletionTableName: 'deletions',
      deletionQueueUrl: queue,
      hmacKeyId: arn,
      metadataRetentionDays: 30,
      maxKeyAgeDays: 90,
      deletionDelaySeconds: 330,
      allowInsecureTrustAll: false,
    };
    expect(adminEnv.read(adminEnv.write(admin))).toEqual(admin);

    const worker = {
      excludes: [{ store: 'load-balancer-access-logs', retentionDays: 30 }],
      usageTableName: 'usage',
      deletionTableName: 'deletions',
      imageBucketName: 'images',
      signingKeyId: arn,
      deletionQueueUrl: queue,
      pageSize: 100,
      writeConcurrency: 4,
      erasureWaitSeconds: 330,
      receiptQueueUrl: queue,
    };
    expect(deletionWorkerEnv.read(deletionWorkerEnv.write(worker))).toEqual(worker);

    const sweeper = { bucketName: 'images', maxDeletesPerRun: 10 };
    expect(imageSweeperEnv.read(imageSweeperEnv.write(sweeper))).toEqual(sweeper);

    const webhook = {
      deletionTableName: 'deletions',
      webhookUrl: 'https://receipts.example.com/ephemera',
      configBucketName: 'config',
      deliveryTimeoutSeconds: 5,
      allowInsecureTrustAll: false,
    };
    expect(receiptWebhookEnv.read(receiptWebhookEnv.write(webhook))).toEqual(webhook);

    const watchdog = {
      deletionTableName: 'deletions',
      keyTableName: 'keys',
      deployment: 'Ephemera',
      overdueHours: 12,
      keyWarningDays: 7,
    };
    expect(watchdogEnv.read(watchdogEnv.write(watchdog))).toEqual(watchdog);
  });
});
