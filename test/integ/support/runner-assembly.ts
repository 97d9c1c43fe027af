/**
 * How the integration tests' apps write their cloud assembly for integ-runner.
 */

import * as fs from 'fs';
import * as path from 'path';
import { CfnResource, type App } from 'aws-cdk-lib';
import { isSnapshotSynth } from './sandbox-env';

/** Schema versions an assembly is relabelled from (see `relabelAssembly`), and to. */
export const RELABEL_FROM: readonly string[] = ['54.0.0', '55.0.0'];
export const RELABEL_TO = '53.0.0';

/**
 * Synthesizes a test app for integ-runner: for a snapshot, without what
 * changes from run to run or machine to machine (see `normalizeForSnapshot`);
 * and labelled with a schema version the runner reads (see `relabelAssembly`).
 */
export function synthForRunner(app: App, env: NodeJS.ProcessEnv = process.env): string {
  const snapshot = isSnapshotSynth(env);
  if (snapshot) fixAssertionSalts(app);
  const dir = app.synth().directory;
  if (snapshot) normalizeForSnapshot(dir);
  relabelAssembly(dir, env.CDK_CLI_ASM_VERSION);
  return dir;
}

/**
 * integ-tests-alpha salts every assertion with `Date.now()` so that an update
 * runs it again; a snapshot gets a fixed salt, so that it changes only when
 * its templates do. (A deployment keeps the real salts.)
 */
function fixAssertionSalts(app: App): void {
  for (const c of app.node.findAll()) {
    if (CfnResource.isCfnResource(c) && c.cfnResourceType.startsWith('Custom::DeployAssert@')) {
      c.addPropertyOverride('salt', 'snapshot');
    }
  }
}

/**
 * Drops the stack traces that `Validations.acknowledge` records in the
 * metadata files (this machine's paths and line numbers).
 */
export function normalizeForSnapshot(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.metadata.json')) continue;
    const file = path.join(dir, name);
    const metadata = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<
      string,
      Array<Record<string, unknown>>
    >;
    for (const entries of Object.values(metadata)) {
      for (const entry of entries) delete entry.trace;
    }
    fs.writeFileSync(file, JSON.stringify(metadata, undefined, 2));
  }
}

/**
 * The newest integ-runner (2.197.10) reads cloud assemblies up to schema 53
 * and refuses newer ones; aws-cdk-lib 2.276 writes schema 55. Schemas 54 and
 * 55 changed only the shapes of metadata entries (and added two integ-manifest
 * options these tests do not use: `allowDeleteFailures`, `requireApproval:
 * destructive`), so when the runner announces schema 53 (`CDK_CLI_ASM_VERSION`,
 * which the CDK toolkit sets for the apps it runs), the assembly's files are
 * labelled 53. Any other combination is left as written, for the runner to
 * refuse with its own message. Remove once integ-runner reads schema 55.
 * Returns the files changed.
 */
export function relabelAssembly(dir: string, runnerVersion: string | undefined): string[] {
  if (runnerVersion !== RELABEL_TO) return [];
  const written = readVersion(path.join(dir, 'manifest.json'));
  if (written === undefined || !RELABEL_FROM.includes(written)) return [];
  const changed: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith('.json') && name !== 'cdk.out') continue;
    const file = path.join(dir, name);
    if (!fs.statSync(file).isFile() || readVersion(file) !== written) continue;
    const text = fs.readFileSync(file, 'utf8');
    const json = JSON.parse(text) as Record<string, unknown>;
    json.version = RELABEL_TO;
    // Written back as CDK wrote it: indented by two, or on one line (cdk.out).
    fs.writeFileSync(file, JSON.stringify(json, undefined, text.includes('\n') ? 2 : undefined));
    changed.push(name);
  }
  return changed;
}

function readVersion(file: string): string | undefined {
  const version = (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version;
  return typeof version === 'string' ? version : undefined;
}
