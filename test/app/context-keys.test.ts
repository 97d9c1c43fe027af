/**
 * Unknown context keys are refused (lib/known-names.ts): the app names every
 * key that is neither Ephemera's nor CDK's own, with the closest Ephemera
 * key, before it builds anything; every documented key and every kind of
 * key CDK itself puts into context pass. The process path (`-c`, the CDK
 * CLI's CDK_CONTEXT_JSON, the CLI itself) is in synth-exit-code.test.ts.
 */
import { App } from 'aws-cdk-lib';
import { ContextProvider } from 'aws-cdk-lib/cloud-assembly-schema';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { buildApp } from '../../lib/app';
import { CONFIG_SCHEMA, SETTING_KEYS } from '../../lib/core/config-schema';
import {
  CDK_CONTEXT_NAMES,
  CDK_CONTEXT_PREFIXES,
  checkContextKeys,
  isCdkContextKey,
  unknownContextKeys,
} from '../../lib/known-names';
import { cdkJsonContext, tempOutdir } from '../support/ephemera-app';

const FRONTDOOR =
  "Unknown context key 'frontdoor': did you mean 'frontDoor'? (see docs/configuration.md)";

/** buildApp as bin/ephemera.ts calls it, with `-c` pairs; what it throws, if anything. */
function buildWith(overrides: Record<string, string>, context: Record<string, unknown> = {}) {
  try {
    return buildApp(
      {
        outdir: tempOutdir(),
        builtinCloudFormationValidation: false,
        context: { 'aws:cdk:bundling-stacks': [], ...context },
      },
      { region: 'eu-west-1', ...overrides },
    );
  } catch (e) {
    return e as Error;
  }
}

describe('buildApp refuses unknown context keys', () => {
  test('-c frontdoor=private (lower-case d): refused with the key meant, not a public stack', () => {
    const result = buildWith({ frontdoor: 'private' });
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toBe(FRONTDOOR);
  });

  test('-c unknownKey=1: refused, with no suggestion', () => {
    expect((buildWith({ unknownKey: '1' }) as Error).message).toBe(
      "Unknown context key 'unknownKey' (see docs/configuration.md)",
    );
  });

  test('every unknown key at once, from -c and from the context alike', () => {
    expect(
      (buildWith({ frontdoor: 'private', unknownKey: '1' }, { regoin: 'eu-west-1' }) as Error)
        .message,
    ).toBe(
      [
        "Unknown context key 'regoin': did you mean 'region'? (see docs/configuration.md)",
        FRONTDOOR,
        "Unknown context key 'unknownKey' (see docs/configuration.md)",
      ].join('\n'),
    );
  });

  test('every documented key is accepted, given with -c as a string', () => {
    const everyKey = Object.fromEntries(
      SETTING_KEYS.map((k) => {
        const v = CONFIG_SCHEMA[k].default;
        return [k, typeof v === 'string' ? v : JSON.stringify(v)];
      }),
    );
    const result = buildWith({ ...everyKey, region: 'eu-west-1' });
    expect(result).not.toBeInstanceOf(Error);
  });
});

describe("CDK's own keys pass", () => {
  const accepted = (keys: string[]) => keys.filter((k) => !isCdkContextKey(k));

  test("every feature flag aws-cdk-lib knows, and cdk.json's", () => {
    expect(accepted(Object.keys(cxapi.FLAGS))).toEqual([]);
    expect(accepted(Object.keys(cxapi.NEW_PROJECT_DEFAULT_CONTEXT))).toEqual([]);
    expect(accepted(cxapi.CURRENT_VERSION_EXPIRED_FLAGS)).toEqual([]);
    const cdkJson = cdkJsonContext();
    expect(unknownContextKeys(new App({ context: cdkJson }))).toEqual([]);
  });

  test('what the CLI and aws-cdk-lib set for the app, and what the CLI writes to cdk.context.json', () => {
    expect(
      accepted([
        cxapi.PATH_METADATA_ENABLE_CONTEXT,
        cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT,
        cxapi.ANALYTICS_REPORTING_ENABLED_CONTEXT,
        cxapi.DISABLE_ASSET_STAGING_CONTEXT,
        cxapi.BUNDLING_STACKS,
        cxapi.DISABLE_METADATA_STACK_TRACE,
        cxapi.DISABLE_LOGICAL_ID_METADATA,
        cxapi.PERFORMANCE_REPORTING_ENABLED_CONTEXT,
        cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT,
        cxapi.VALIDATION_REPORT_JSON_CONTEXT,
        cxapi.ENABLE_DIFF_NO_FAIL_CONTEXT,
        'aws:cdk:disable-version-reporting',
        '@aws-cdk/core:bootstrapQualifier',
        '@aws-cdk/core.TreeMetadata:maxNodes',
        'aws-cdk-private:0.123:core/defaultStackSynthesizer',
        'acknowledged-issue-numbers',
        'cli-telemetry',
        'cdk-migrate',
        'assets-ecr-repository-name',
        // A lookup's cached answer, for every context provider, and a plugin's.
        ...Object.values(ContextProvider).map((p) => `${p}:account=111122223333:region=eu-west-1`),
        'some-plugin-provider:account=111122223333:pluginName=x:region=eu-west-1',
      ]),
    ).toEqual([]);
  });

  test('the rule is namespaces, a few names and lookups: nothing near an Ephemera key slips through', () => {
    expect(CDK_CONTEXT_PREFIXES.every((p) => /[/:-]$/.test(p))).toBe(true);
    expect(CDK_CONTEXT_NAMES.every((n) => n.includes('-'))).toBe(true);
    for (const key of SETTING_KEYS) expect([key, isCdkContextKey(key)]).toEqual([key, false]);
    for (const key of ['frontdoor', 'front-door', 'unknownKey', 'ssm', 'cdk', 'aws', 'region:x']) {
      expect([key, isCdkContextKey(key)]).toEqual([key, false]);
    }
  });

  test('checkContextKeys takes keys of your own, for an app of your own', () => {
    const app = new App({ context: { teamCostCentre: 'x', frontdoor: 'private' } });
    expect(() => checkContextKeys(app, ['teamCostCentre'])).toThrow(FRONTDOOR);
    expect(() =>
      checkContextKeys(new App({ context: { teamCostCentre: 'x' } }), ['teamCostCentre']),
    ).not.toThrow();
  });
});
