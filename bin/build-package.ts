#!/usr/bin/env node
/**
 * `npm run build`: the installable package, in `dist/`.
 *
 * - `dist/lib/`: what `lib/index.ts` reaches, compiled to JavaScript with
 *   declarations (`tsconfig.build.json`).
 * - `dist/handlers/<bundle>/`: every handler bundle in HANDLER_BUNDLES,
 *   prebuilt, where the compiled `handler-bundle.js` looks for them, so a
 *   consumer needs neither the `lambda/` sources nor esbuild.
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
  await Promise.all([compileLibrary(), buildBundles()]);
  checkCompiledBundleDir();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `dist/: library and ${HANDLER_BUNDLES.length} handler bundles (${HANDLER_BUNDLES.map(bundleName).join(', ')}) in ${seconds} s`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
