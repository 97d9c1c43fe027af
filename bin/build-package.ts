#!/usr/bin/env node
/**
 * `npm run build`: the installable package, in `dist/`.
 *
 * - `dist/lib/`: what `lib/index.ts` reaches, compiled to JavaScript with
 *   declarations (`tsconfig.build.json`).
 * - `dist/handlers/<bundle>/`: every handler bundle in HANDLER_BUNDLES,
 *   prebuilt, where the compiled `handler-bundle.js` looks for them, so a
 *   consumer needs neither the `lambda/` sources nor esbuild.
 * - `dist/bin/keys.js`: the keys CLI (`ephemera-keys`, the package's `bin`),
 *   one CommonJS file with the AWS SDK clients it uses bundled in, so it runs
 *   with Node.js alone.
 *
 * `dist/` is removed first, so nothing of an earlier build survives. The
 * repository's own synth runs `lib/` from source and never looks in `dist/`.
 */
import { execFile } from 'child_process';
import { promisify } from 'util';
import * as fs from 'fs';
import * as path from 'path';
import { build } from 'esbuild';
import { bundleBuildOptions, bundleName, HANDLER_BUNDLES } from '../lib/handler-bundle';

const ROOT = path.join(__dirname, '..');
/** Where the package is built. */
const DIST_DIR = path.join(ROOT, 'dist');
/** Where the prebuilt bundles go: `handlers/` next to the compiled `lib/`. */
const DIST_HANDLERS_DIR = path.join(DIST_DIR, 'handlers');
/** The keys CLI, as package.json's `bin` names it. */
const DIST_KEYS_CLI = path.join(DIST_DIR, 'bin', 'keys.js');

/** Compiles the library with the repository's TypeScript; rejects with tsc's errors. */
async function compileLibrary(): Promise<void> {
  try {
    await promisify(execFile)(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')],
      { cwd: ROOT },
    );
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p tsconfig.build.json failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Builds every listed handler bundle into its own folder, in parallel. */
async function buildBundles(): Promise<void> {
  await Promise.all(
    HANDLER_BUNDLES.map((bundle) =>
      build(bundleBuildOptions(bundle, path.join(DIST_HANDLERS_DIR, bundleName(bundle)))),
    ),
  );
}

/**
 * The keys CLI in one file: bin/keys.ts with its SDK clients (the
 * CloudFormation client included, for `--stack`), for the Node.js versions
 * the package supports (package.json `engines`).
 */
async function buildKeysCli(): Promise<void> {
  await build({
    entryPoints: [path.join(ROOT, 'bin', 'keys.ts')],
    outfile: DIST_KEYS_CLI,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The SDK's ES module builds: smaller once unused code is dropped.
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
  fs.chmodSync(DIST_KEYS_CLI, 0o755);
}

/** The compiled library must look for its bundles exactly where they were written. */
function checkCompiledBundleDir(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const compiled = require(path.join(DIST_DIR, 'lib', 'handler-bundle.js')) as {
    PREBUILT_BUNDLE_DIR: string;
  };
  if (compiled.PREBUILT_BUNDLE_DIR !== DIST_HANDLERS_DIR) {
    throw new Error(
      `dist/lib/handler-bundle.js looks for bundles in ${compiled.PREBUILT_BUNDLE_DIR}, not ${DIST_HANDLERS_DIR}`,
    );
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  fs.rmSync(DIST_DIR, { recursive: true, force: true });
  // tsc is one process on one core; esbuild takes the others meanwhile.
  await Promise.all([compileLibrary(), buildBundles(), buildKeysCli()]);
  checkCompiledBundleDir();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `dist/: library, keys CLI and ${HANDLER_BUNDLES.length} handler bundles (${HANDLER_BUNDLES.map(bundleName).join(', ')}) in ${seconds} s`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
