/**
 * `EphemeraStack` in an app of one's own: `ephemeraConfig(settings)` gives a
 * whole `EphemeraConfig` from settings by their cdk.json keys, checked as
 * context is; and `addApiKeyOutputs` writes the outputs the keys CLI reads,
 * in a composed stack as in `EphemeraStack`.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  addApiKeyOutputs,
  CONFIG_DEFAULTS,
  EphemeraConfig,
  ephemeraConfig,
  EphemeraStack,
  readConfig,
} from '../../lib/index';
import { HMAC_KEY_OUTPUT, KEY_TABLE_OUTPUT } from '../../lib/core/stack-outputs';
import { expectThrowsExactly } from '../support/stacks';
import { defaultStack } from '../support/ephemera-app';
import { defaultStackTemplate } from '../support/synths';

const fromContext = (context: Record<string, unknown>): EphemeraConfig =>
  readConfig(new App({ context }));

/** Context that skips bundling the handlers (as test/support/ephemera-app.ts's testApp does). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

describe('ephemeraConfig', () => {
  test('with no settings, or with CONFIG_DEFAULTS, it is the configuration of an empty context', () => {
    expect(ephemeraConfig()).toEqual(fromContext({}));
    expect(ephemeraConfig(CONFIG_DEFAULTS)).toEqual(fromContext({}));
  });

  test('settings override the defaults and are read as context is (units, kinds, lists)', () => {
    const config = ephemeraConfig({
      imageTtlMinutes: 30,
      frontDoorKind: 'alb',
      alarmEmails: ['oncall@example.com'],
      gatewayTimeoutSeconds: 120,
    });
    expect(config).toEqual(
      fromContext({
        imageTtlMinutes: 30,
        frontDoorKind: 'alb',
        alarmEmails: ['oncall@example.com'],
        gatewayTimeoutSeconds: 120,
      }),
    );
    expect(config.imageTtl.toMinutes()).toBe(30);
    expect(config.gatewayTimeout.toSeconds()).toBe(120);
    expect(config.frontDoorKind).toBe('alb');
  });

  test('checks every setting by its rule and the relations between them, all in one error', () => {
    expectThrowsExactly(
      () => ephemeraConfig({ imageTtlMinutes: 0, logRetentionDays: 90, metadataRetentionDays: 30 }),
      'Invalid Ephemera configuration (ephemeraConfig settings):\n' +
        `  - ${firstProblem({ imageTtlMinutes: 0 })}\n` +
        '  - logRetentionDays (90) must not exceed metadataRetentionDays (30): log lines are metadata too, and every answer promises metadata=30d',
    );
  });

  test('refuses a name that is not a setting (JavaScript callers), and the app-level keys', () => {
    const settings = { imageTTLMinutes: 30, region: 'eu-west-1' } as unknown as Parameters<
      typeof ephemeraConfig
    >[0];
    expectThrowsExactly(
      () => ephemeraConfig(settings),
      'Invalid Ephemera configuration (ephemeraConfig settings):\n' +
        "  - Unknown setting 'imageTTLMinutes': did you mean 'imageTtlMinutes'? (see docs/configuration.md)\n" +
        "  - region is the app's, not a stack setting: give the stack its env (region, account) and id",
    );
  });

  test('an EphemeraStack built with it is the one its context would build', () => {
    const settings = { imageTtlMinutes: 30, metadataRetentionDays: 90 };
    // Handlers not bundled, as in defaultStack: the configuration is what is compared.
    const inCode = new EphemeraStack(new App({ context: NO_BUNDLING }), 'Ephemera', {
      env: { region: 'eu-west-1' },
      config: ephemeraConfig(settings),
    });
    const fromCdkJson = defaultStack({ context: { ...settings, region: 'eu-west-1' } });
    expect(inCode.config).toEqual(fromCdkJson.stack.config);
    expect(inCode.config.imageTtl).toEqual(Duration.minutes(30));
    Template.fromStack(inCode).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { IMAGE_TTL_SECONDS: '1800', METADATA_RETENTION_DAYS: '90' } },
    });
  });

  test('CONFIG_DEFAULTS itself (cdk.json-shaped settings) is refused as a config, without an internal error', () => {
    const build = () =>
      new EphemeraStack(new App(), 'Ephemera', {
        config: CONFIG_DEFAULTS as unknown as EphemeraConfig,
      });
    expect(build).toThrow(/EphemeraStack config/);
    expect(build).not.toThrow(/handler-bundle/);
  });
});

/** The one problem readConfig finds in `context`, as its error lists it. */
function firstProblem(context: Record<string, unknown>): string {
  try {
    fromContext(context);
  } catch (e) {
    return (e as Error).message.split('\n')[1].replace(/^ {2}- /, '');
  }
  throw new Error('no problem found');
}

describe('addApiKeyOutputs', () => {
  test('writes KeyTableName and HmacKeyId at the top of the stack, from any scope in it, as EphemeraStack does', () => {
    const stack = new Stack(new App(), 'Team');
    const table = new dynamodb.TableV2(stack, 'Keys', {
      partitionKey: { name: 'key_id', type: dynamodb.AttributeType.STRING },
    });
    const key = new kms.Key(stack, 'Hmac', {
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
    });
    const outputs = addApiKeyOutputs(new Construct(stack, 'Deep'), {
      keyTable: table,
      hmacKey: key,
    });
    expect([outputs.keyTable.node.path, outputs.hmacKey.node.path]).toEqual([
      `Team/${KEY_TABLE_OUTPUT}`,
      `Team/${HMAC_KEY_OUTPUT}`,
    ]);
    const template = Template.fromStack(stack).toJSON() as {
      Outputs: Record<string, { Value: unknown }>;
    };
    expect(template.Outputs).toEqual({
      [KEY_TABLE_OUTPUT]: { Value: stack.resolve(table.tableName) },
      [HMAC_KEY_OUTPUT]: { Value: stack.resolve(key.keyId) },
    });

    const whole = defaultStackTemplate().template as { Outputs: Record<string, unknown> };
    expect(Object.keys(whole.Outputs)).toEqual(
      expect.arrayContaining([KEY_TABLE_OUTPUT, HMAC_KEY_OUTPUT]),
    );
  });
});
