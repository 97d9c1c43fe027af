/**
 * The integration tests' offline check: `npm run integ:snapshot` (integ-runner
 * without --update-on-failed or --force: it synthesizes each test app and
 * compares its test stacks' templates with the committed snapshot, asset
 * hashes aside; no AWS account, no deployment), and the pieces that keep
 * those snapshots independent of the sandbox account and of the machine.
 */

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { albContext, ENV, SNAPSHOT_PLACEHOLDERS } from './support/sandbox-env';
import { relabelAssembly } from './support/runner-assembly';

const ROOT = path.join(__dirname, '..', '..');
const TESTS = ['integ.alb', 'integ.api-gateway'];

function script(name: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts[name];
}

describe('the committed snapshots', () => {
  it.each(TESTS)('%s: never deploy the committed snapshot first, never diff asset hashes', (t) => {
    const manifest = JSON.parse(
      fs.readFileSync(path.join(__dirname, `${t}.ts.snapshot`, 'integ.json'), 'utf8'),
    ) as { testCases: Record<string, { stackUpdateWorkflow?: boolean; diffAssets?: boolean }> };
    for (const testCase of Object.values(manifest.testCases)) {
      // The update workflow would deploy the placeholders, and first runs `git checkout` on the snapshot.
      expect(testCase.stackUpdateWorkflow).toBe(false);
      expect(testCase.diffAssets).toBe(false);
    }
  });

  it('hold the placeholders, not a sandbox account', () => {
    const template = fs.readFileSync(
      path.join(__dirname, 'integ.alb.ts.snapshot', 'EphemeraIntegAlb.template.json'),
      'utf8',
    );
    expect(template).toContain(SNAPSHOT_PLACEHOLDERS.hostedZoneId);
    expect(template).toContain(`ephemera-integ.${SNAPSHOT_PLACEHOLDERS.hostedZoneName}`);
  });

  it('are current: npm run integ:snapshot passes offline', () => {
    const command = script('integ:snapshot');
    expect(command).toMatch(/^integ-runner /);
    expect(command).not.toMatch(/--update-on-failed|--force/);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
      // Nothing of a sandbox account reaches a snapshot synth; make sure.
      [ENV.hostedZoneId]: 'Z0SANDBOX',
      [ENV.hostedZoneName]: 'sandbox.invalid',
    };
    const started = Date.now();
    const run = spawnSync(command, { cwd: ROOT, env, shell: true, encoding: 'utf8' });
    const output = `${run.stdout}${run.stderr}`;
    if (run.status !== 0) {
      throw new Error(
        `${command} failed (exit ${run.status}); if the stack changed on purpose, run npm run integ:snapshot:update and commit test/integ/*.snapshot.\n${output.slice(-20000)}`,
      );
    }
    for (const t of TESTS) expect(output).toMatch(new RegExp(`UNCHANGED\\s+${t}\\b`));
    console.log(`integ-runner snapshot check: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 240_000);
});

describe('sandbox settings', () => {
  it('a snapshot synth ignores the sandbox variables', () => {
    expect(
      albContext({
        CDK_INTEG_ACCOUNT: '12345678',
        [ENV.hostedZoneId]: 'Z0SANDBOX',
        [ENV.hostedZoneName]: 'sandbox.invalid',
        [ENV.certificateArn]: 'arn:aws:acm:eu-west-1:111111111111:certificate/x',
      }),
    ).toEqual({
      hostedZoneId: SNAPSHOT_PLACEHOLDERS.hostedZoneId,
      hostedZoneName: SNAPSHOT_PLACEHOLDERS.hostedZoneName,
      domainName: `ephemera-integ.${SNAPSHOT_PLACEHOLDERS.hostedZoneName}`,
      certificateArn: '',
    });
  });

  it('a deployment takes them, and names what is missing', () => {
    expect(
      albContext({ [ENV.hostedZoneId]: 'Z0SANDBOX', [ENV.hostedZoneName]: 'sandbox.invalid' }),
    ).toEqual({
      hostedZoneId: 'Z0SANDBOX',
      hostedZoneName: 'sandbox.invalid',
      domainName: 'ephemera-integ.sandbox.invalid',
      certificateArn: '',
    });
    expect(
      albContext({
        [ENV.hostedZoneId]: 'Z0SANDBOX',
        [ENV.hostedZoneName]: 'sandbox.invalid',
        [ENV.domainName]: 'api.sandbox.invalid',
        [ENV.certificateArn]: 'arn:aws:acm:eu-west-1:111111111111:certificate/x',
      }),
    ).toMatchObject({
      domainName: 'api.sandbox.invalid',
      certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/x',
    });
    expect(() => albContext({})).toThrow(
      /EPHEMERA_INTEG_HOSTED_ZONE_ID and EPHEMERA_INTEG_HOSTED_ZONE_NAME/,
    );
  });
});

describe('relabelAssembly', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  function assembly(version: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-integ-asm-'));
    dirs.push(dir);
    const write = (name: string, body: unknown, indent?: number) =>
      fs.writeFileSync(path.join(dir, name), JSON.stringify(body, undefined, indent));
    write('manifest.json', { version, artifacts: { a: { version: 'nested' } } }, 2);
    write('Stack.assets.json', { version, files: {} }, 2);
    write('integ.json', { version, testCases: {} }, 2);
    write('cdk.out', { version });
    write('tree.json', { version: 'tree-0.1', tree: {} });
    write('Stack.metadata.json', { '/Stack': [] }, 2);
    return dir;
  }
  const versionOf = (dir: string, name: string) =>
    (JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { version?: string }).version;

  it('labels a schema 55 assembly 53 for a runner that reads 53, keeping the layout', () => {
    const dir = assembly('55.0.0');
    expect(relabelAssembly(dir, '53.0.0')).toEqual([
      'Stack.assets.json',
      'cdk.out',
      'integ.json',
      'manifest.json',
    ]);
    for (const f of ['manifest.json', 'Stack.assets.json', 'integ.json', 'cdk.out']) {
      expect(versionOf(dir, f)).toBe('53.0.0');
    }
    expect(versionOf(dir, 'tree.json')).toBe('tree-0.1');
    const manifest = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    expect(manifest).toContain('"version": "nested"');
    expect(manifest).toContain('\n  "version": "53.0.0"');
    expect(fs.readFileSync(path.join(dir, 'cdk.out'), 'utf8')).toBe('{"version":"53.0.0"}');
  });

  it.each([
    ['a runner that reads the schema', '55.0.0', '55.0.0'],
    ['no runner (cdk deploy)', '55.0.0', undefined],
    ['a schema whose changes were not checked', '56.0.0', '53.0.0'],
    ['a runner older than 53', '55.0.0', '52.0.0'],
  ])('leaves the assembly as written for %s', (_case, written, runner) => {
    const dir = assembly(written);
    expect(relabelAssembly(dir, runner)).toEqual([]);
    expect(versionOf(dir, 'manifest.json')).toBe(written);
  });
});
