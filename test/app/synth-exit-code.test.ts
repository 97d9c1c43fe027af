/**
 * `npm run synth` as a process: an unacknowledged finding makes it exit
 * non-zero and name the finding. Here the finding comes from configuration
 * alone (`-c`, parsed like the CDK CLI's): an internal load balancer opened to
 * the whole internet.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { parseContextArgs } from '../../lib/app';
import { tempOutdir } from '../support/ephemera-app';

const ROOT = path.join(__dirname, '..', '..');

test('an unacknowledged finding makes the synth process exit 1 and name it', () => {
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      'bin/ephemera.ts',
      '-c',
      'frontDoor=private',
      '-c',
      'endpointServicePrincipals=111122223333',
      '-c',
      'allowedCidrs=0.0.0.0/0',
    ],
    { cwd: ROOT, env: { ...process.env, CDK_OUTDIR: tempOutdir() }, encoding: 'utf8' },
  );
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
