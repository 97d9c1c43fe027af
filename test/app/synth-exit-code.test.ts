/**
 * `npm run synth` as a process: an unacknowledged finding makes it exit
 * non-zero and name the finding. Here the finding comes from configuration
 * alone (`-c`, parsed like the CDK CLI's): an internal load balancer opened to
 * the whole internet. An unknown context key stops it before anything is
 * built, whichever way it arrives: `-c` on the app's command line, the
 * context the CDK CLI hands the app (`CDK_CONTEXT_JSON`, which holds
 * cdk.json, cdk.context.json and the CLI's `-c`), or the CLI itself.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseContextArgs } from '../../lib/app';
import { tempOutdir } from '../support/ephemera-app';

const ROOT = path.join(__dirname, '..', '..');

/** `npx tsx bin/ephemera.ts <args>`, as `npm run synth` and the CDK CLI's `app` run it. */
function synthProcess(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/ephemera.ts', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, CDK_OUTDIR: tempOutdir(), ...env },
      encoding: 'utf8',
    },
  );
}

const FRONTDOOR =
  "Unknown context key 'frontdoor': did you mean 'frontDoor'? (see docs/configuration.md)";
const UNKNOWN_KEY = "Unknown context key 'unknownKey' (see docs/configuration.md)";

const unknownKeyLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l.startsWith('Unknown context key'));

test('an unacknowledged finding makes the synth process exit 1 and name it', () => {
  const r = synthProcess([
    '-c',
    'frontDoorKind=alb',
    '-c',
    'frontDoor=private',
    '-c',
    'endpointServicePrincipals=111122223333',
    '-c',
    'allowedCidrs=0.0.0.0/0',
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('UNACKNOWLEDGED FINDINGS: 1');
  expect(r.stderr).toContain('AwsSolutions-EC23: Ephemera/FrontDoor/SecurityGroup/Resource');
});

test('-c pairs are parsed like the CDK CLI; anything else is refused', () => {
  expect(parseContextArgs(['-c', 'a=1', '--context', 'b=x=y'])).toEqual({ a: '1', b: 'x=y' });
  expect(() => parseContextArgs(['--verbose'])).toThrow(
    "Unknown argument '--verbose': use -c key=value (or --context key=value)",
  );
  expect(() => parseContextArgs(['-c'])).toThrow('-c needs key=value');
  expect(() => parseContextArgs(['-c', '=1'])).toThrow('-c needs key=value');
});

describe('unknown context keys stop the synth process', () => {
  test('-c frontdoor=private (lower-case d): exit 1, the closest key named, nothing built', () => {
    const r = synthProcess(['-c', 'frontdoor=private', '-c', 'unknownKey=1']);
    expect(r.status).toBe(1);
    // Every unknown key at once, and no stack: no compliance or deploy summary.
    expect(unknownKeyLines(r.stderr)).toEqual([FRONTDOOR, UNKNOWN_KEY]);
    expect(r.stderr).not.toContain('summary');
  });

  test("the CDK CLI's context (CDK_CONTEXT_JSON): unknown keys refused, CDK's own let through", () => {
    // What the CLI sends: cdk.json's keys and feature flags, the lookups it
    // caches in cdk.context.json, its own settings, and -c.
    const cliContext = {
      frontDoorKind: 'api-gateway',
      '@aws-cdk/core:checkSecretUsage': true,
      '@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver': true,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:version-reporting': true,
      'aws:cdk:bundling-stacks': [],
      'aws-cdk:enableDiffNoFail': true,
      'availability-zones:account=111122223333:region=eu-west-1': ['eu-west-1a', 'eu-west-1b'],
      'ssm:account=111122223333:parameterName=/x:region=eu-west-1': 'v',
      'acknowledged-issue-numbers': [32775],
      'cli-telemetry': false,
      'cdk-migrate': true,
      frontdoor: 'private',
    };
    const r = synthProcess([], { CDK_CONTEXT_JSON: JSON.stringify(cliContext) });
    expect(r.status).toBe(1);
    expect(unknownKeyLines(r.stderr)).toEqual([FRONTDOOR]);
  });

  test('the real CDK CLI: cdk.json, cdk.context.json and -c all checked, its own keys let through', () => {
    // A project of its own, so that its cdk.context.json can hold lookups.
    const project = tempOutdir();
    const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    fs.writeFileSync(
      path.join(project, 'cdk.json'),
      JSON.stringify({
        app: `"${process.execPath}" "${tsx}" "${path.join(ROOT, 'bin', 'ephemera.ts')}"`,
        context: { stackname: 'Other' },
      }),
    );
    fs.writeFileSync(
      path.join(project, 'cdk.context.json'),
      JSON.stringify({
        'availability-zones:account=111122223333:region=eu-west-1': ['eu-west-1a', 'eu-west-1b'],
        'acknowledged-issue-numbers': [32775],
        frontDoorKnd: 'alb',
      }),
    );
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
        'synth',
        '--no-notices',
        '--output',
        path.join(project, 'cdk.out'),
        '-c',
        'frontdoor=private',
      ],
      // No account lookup on an EC2 metadata service that is not there.
      {
        cwd: project,
        env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
        encoding: 'utf8',
      },
    );
    expect(r.status).not.toBe(0);
    // One line per unknown key, from each source (in the order the CLI merged them).
    expect(unknownKeyLines(r.stderr).sort()).toEqual(
      [
        "Unknown context key 'stackname': did you mean 'stackName'? (see docs/configuration.md)",
        "Unknown context key 'frontDoorKnd': did you mean 'frontDoorKind'? (see docs/configuration.md)",
        FRONTDOOR,
      ].sort(),
    );
  });
});
