/**
 * Node 22 recommended, Node 20 still working: on Node older than 22 the
 * entry points print one line of their own and switch off the AWS SDK's
 * seven-line warning with the switch the SDK really reads.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  nodeMajor,
  nodeVersionNote,
  quietSdkNodeWarning,
  replaceSdkNodeWarning,
  SDK_NODE_WARNING_SWITCH,
} from '../../bin/node-support';

const ROOT = join(__dirname, '..', '..');

describe('node support', () => {
  test('reads the major version', () => {
    expect(nodeMajor('v20.19.1')).toBe(20);
    expect(nodeMajor('v22.12.0')).toBe(22);
    expect(nodeMajor('24.0.0')).toBe(24);
    expect(nodeMajor('node')).toBeNaN();
  });

  test('one line on Node older than 22, nothing on 22 or newer', () => {
    const before = new Date('2026-04-01T00:00:00Z');
    const after = new Date('2026-05-01T00:00:00Z');
    expect(nodeVersionNote('v20.19.1', before)).toBe(
      'note: Node 20 reaches end of life on 2026-04-30; Node 22 is recommended ' +
        '(AWS SDK releases after the first week of January 2027 require it)',
    );
    expect(nodeVersionNote('v20.19.1', after)).toMatch(
      /^note: Node 20 reached end of life on 2026-04-30; Node 22 is recommended/,
    );
    expect(nodeVersionNote('v18.20.0', after)).toMatch(/^note: Node 18 is past its end of life;/);
    for (const version of ['v22.0.0', 'v24.1.0', 'v30.0.0', 'unknown']) {
      expect(nodeVersionNote(version)).toBeUndefined();
    }
    expect(nodeVersionNote('v20.19.1')).not.toContain('\n');
  });

  test('switches the warning off on Node older than 22 only, and keeps a switch already set', () => {
    const env: NodeJS.ProcessEnv = {};
    quietSdkNodeWarning(env, 'v22.12.0');
    expect(env).toEqual({});
    quietSdkNodeWarning(env, 'v20.19.1');
    expect(env).toEqual({ [SDK_NODE_WARNING_SWITCH]: 'true' });
    const chosen: NodeJS.ProcessEnv = { [SDK_NODE_WARNING_SWITCH]: 'false' };
    quietSdkNodeWarning(chosen, 'v20.19.1');
    expect(chosen).toEqual({ [SDK_NODE_WARNING_SWITCH]: 'false' });
  });

  test('an entry point writes at most the one line', () => {
    const lines: string[] = [];
    replaceSdkNodeWarning((line) => lines.push(line));
    expect(lines).toEqual(nodeMajor() < 22 ? [nodeVersionNote()] : []);
  });

  test('the switch is the one @aws-sdk/core reads', () => {
    const source = readFileSync(require.resolve('@aws-sdk/core/client', { paths: [ROOT] }), 'utf8');
    expect(source).toContain(`process.env.${SDK_NODE_WARNING_SWITCH} === "true"`);
  });

  test('a new SDK client is quiet with the switch on, and warns at most once without it', () => {
    const script =
      "const { STSClient } = require('@aws-sdk/client-sts');" +
      "new STSClient({ region: 'us-east-1' }); new STSClient({ region: 'us-east-1' });";
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env, encoding: 'utf8' });
    const bare = { ...process.env };
    delete bare[SDK_NODE_WARNING_SWITCH];
    const quiet = run({ ...bare, [SDK_NODE_WARNING_SWITCH]: 'true' });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toContain('NodeVersionSupportWarning');
    const loud = run(bare);
    expect(loud.status).toBe(0);
    const warnings = loud.stderr.split('NodeVersionSupportWarning').length - 1;
    expect(warnings).toBe(nodeMajor() < 22 ? 1 : 0);
  });
});
