import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions } from 'esbuild';
import { UPSTREAM_KIND_NAMES, type UpstreamKind } from './core/upstream-kinds';

/**
 * How every handler is bundled: esbuild, in-process (no Docker, no child
 * process), as ES modules split into chunks, minified, with the AWS SDK
 * clients bundled through module-first resolution. Splitting keeps code a
 * request may never need (S3 and its presigner, the SDK's credential providers
 * for other environments) in chunks that load on first use instead of at cold
 * start; `define` turns a deployment's constants (the upstream kind) into
 * literals, so the code of the other kinds is dropped.
 *
 * A bundle is found prebuilt (`npm run build` writes them next to the
 * compiled library, so an installed package needs neither sources nor
 * esbuild) or is built at synth. Its asset hash comes from the handler
 * sources, the lockfile and these options, so a synth with no change reuses
 * the bundle already in `cdk.out` instead of building it again, and a synth
 * into a new `cdk.out` copies it from the bundle cache (bundleCacheDir).
 */

/** One handler bundle: a folder under `lambda/` and the constants it is built with. */
export interface HandlerBundle {
  /** Folder under `lambda/` whose `index.ts` exports `handler`. */
  readonly handler: string;
  /** Compile-time constants (esbuild `define`), by expression. @default - none */
  readonly define?: Readonly<Record<string, string>>;
  /** Name of the bundle when it has a variant (`gateway-bedrock`). @default handler */
  readonly name?: string;
}

/** Root of the package (the repository, or the installed package). */
const PACKAGE_ROOT = path.join(__dirname, '..');
/** Handler sources, when present (a repository checkout). */
export const LAMBDA_SOURCE_DIR = path.join(PACKAGE_ROOT, 'lambda');
/** Prebuilt bundles, when present (`npm run build`, an installed package). */
export const PREBUILT_BUNDLE_DIR = path.join(PACKAGE_ROOT, 'handlers');

/** Node.js version the bundles target: the functions' pinned runtime. */
export const BUNDLE_TARGET = 'node24';

/** The bundle's name: its folder in the prebuilt directory. */
export function bundleName(bundle: HandlerBundle): string {
  return bundle.name ?? bundle.handler;
}

/** The gateway's upstream kinds (`UPSTREAM_KINDS`): each has a bundle of its own. */
export const GATEWAY_UPSTREAM_KINDS = UPSTREAM_KIND_NAMES;

/** The gateway bundle of one upstream kind: the other kinds' clients are left out. */
export function gatewayBundle(kind: UpstreamKind): HandlerBundle {
  return {
    handler: 'gateway',
    name: `gateway-${kind}`,
    define: { 'process.env.EPHEMERA_UPSTREAM_KIND': JSON.stringify(kind) },
  };
}

/**
 * Every bundle a construct can ask for. `npm run build` prebuilds exactly
 * these, and `handlerCode` refuses any other, so a new handler (or variant)
 * that is not listed here fails at synth instead of being missing from the
 * installed package.
 */
export const HANDLER_BUNDLES: readonly HandlerBundle[] = [
  { handler: 'admin' },
  { handler: 'deletion-worker' },
  { handler: 'image-sweeper' },
  { handler: 'receipt-webhook' },
  { handler: 'watchdog' },
  ...GATEWAY_UPSTREAM_KINDS.map(gatewayBundle),
];

/** The listed bundle `bundle` is, or an error naming what differs. */
export function knownBundle(bundle: HandlerBundle): HandlerBundle {
  const name = bundleName(bundle);
  const known = HANDLER_BUNDLES.find((b) => bundleName(b) === name);
  if (!known) {
    throw new Error(
      `Unknown handler bundle '${name}': add it to HANDLER_BUNDLES in lib/handler-bundle.ts so npm run build prebuilds it`,
    );
  }
  if (
    known.handler !== bundle.handler ||
    JSON.stringify(known.define ?? {}) !== JSON.stringify(bundle.define ?? {})
  ) {
    throw new Error(
      `Handler bundle '${name}' is listed in HANDLER_BUNDLES with another handler or other constants than a construct asks for: ${JSON.stringify(known)} vs ${JSON.stringify(bundle)}`,
    );
  }
  return known;
}

/** The esbuild options of a bundle written to `outdir`. */
export function bundleBuildOptions(bundle: HandlerBundle, outdir: string): BuildOptions {
  return {
    entryPoints: { index: path.join(LAMBDA_SOURCE_DIR, bundle.handler, 'index.ts') },
    outdir,
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    // No source maps: handlers never print a stack trace (errors become fixed
    // messages), and loading maps at start-up made the gateway's cold start
    // about half again as slow (bench/gateway/cold-start).
    sourcemap: false,
    // The SDK clients, resolved to their ES module builds (smaller, and
    // tree-shaken), instead of the runtime's copy.
    mainFields: ['module', 'main'],
    define: { ...bundle.define },
    // Some dependencies still call require() for Node built-ins.
    banner: {
      js: "import{createRequire as __ephemeraCreateRequire}from'node:module';const require=__ephemeraCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'error',
  };
}

/** Builds a bundle into `outdir` (esbuild must be installed: a development checkout). */
export function buildHandlerBundle(bundle: HandlerBundle, outdir: string): void {
  let esbuild: typeof import('esbuild');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    esbuild = require('esbuild');
  } catch {
    throw new Error(
      `Cannot bundle the ${bundleName(bundle)} handler: esbuild is not installed and no prebuilt bundle was found in ${PREBUILT_BUNDLE_DIR} (run npm run build)`,
    );
  }
  esbuild.buildSync(bundleBuildOptions(bundle, outdir));
}

let sourceDigest: string | undefined;

/** SHA-256 over every file a bundle can contain: handler and core sources, and the lockfile. */
function sourcesDigest(): string {
  if (sourceDigest) return sourceDigest;
  const hash = createHash('sha256');
  const files = [
    ...walk(LAMBDA_SOURCE_DIR),
    ...walk(path.join(PACKAGE_ROOT, 'lib', 'core')),
    path.join(PACKAGE_ROOT, 'package-lock.json'),
  ].filter((f) => fs.existsSync(f));
  for (const file of files.sort()) {
    hash.update(path.relative(PACKAGE_ROOT, file)).update('\0').update(fs.readFileSync(file));
  }
  sourceDigest = hash.digest('hex');
  return sourceDigest;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * The asset hash of a bundle built from source: the sources, the lockfile and
 * the build options. Equal hashes mean equal bundles, so CDK skips bundling
 * when `cdk.out` already holds it.
 */
export function bundleSourceHash(bundle: HandlerBundle): string {
  const options = bundleBuildOptions(bundle, '<out>');
  return createHash('sha256')
    .update(sourcesDigest())
    .update(JSON.stringify({ ...options, entryPoints: bundle.handler }))
    .digest('hex');
}

/**
 * The code of a handler: its prebuilt bundle if there is one, else bundled at
 * synth. Only the bundles in HANDLER_BUNDLES exist.
 */
export function handlerCode(bundle: HandlerBundle): lambda.Code {
  knownBundle(bundle);
  const prebuilt = path.join(PREBUILT_BUNDLE_DIR, bundleName(bundle));
  if (fs.existsSync(path.join(prebuilt, 'index.mjs'))) return lambda.Code.fromAsset(prebuilt);
  if (!fs.existsSync(path.join(LAMBDA_SOURCE_DIR, bundle.handler, 'index.ts'))) {
    throw new Error(
      `No handler '${bundle.handler}': neither a prebuilt bundle in ${PREBUILT_BUNDLE_DIR} nor sources in ${LAMBDA_SOURCE_DIR}`,
    );
  }
  const assetHash = bundleSourceHash(bundle);
  return lambda.Code.fromAsset(LAMBDA_SOURCE_DIR, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash,
    bundling: {
      // Never used: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('ephemera-bundles-locally-without-docker'),
      local: {
        tryBundle(outputDir: string): boolean {
          if (copyCachedBundle(assetHash, outputDir)) return true;
          buildHandlerBundle(bundle, outputDir);
          cacheBundle(assetHash, outputDir);
          return true;
        },
      },
    },
  });
}

/**
 * Bundles built from source are also kept by their asset hash in a cache
 * beside the dependencies, so that a synth into a fresh output directory (a
 * deleted `cdk.out`, CI, every test that synthesizes the app) copies a bundle
 * built before from the same sources, lockfile and options instead of
 * building it again. The key is the one CDK already trusts to reuse a bundle
 * in `cdk.out`; an entry is written whole or not at all (built beside, then
 * renamed). `EPHEMERA_BUNDLE_CACHE=off` turns the cache off; any other value
 * names its directory. The newest BUNDLE_CACHE_ENTRIES entries are kept.
 */
export function bundleCacheDir(): string | undefined {
  const setting = process.env.EPHEMERA_BUNDLE_CACHE;
  if (setting === 'off') return undefined;
  if (setting) return path.resolve(setting);
  const modules = path.join(PACKAGE_ROOT, 'node_modules');
  return fs.existsSync(modules) ? path.join(modules, '.cache', 'ephemera-bundles') : undefined;
}

/** How many bundles the cache keeps (a source change makes one per bundle). */
export const BUNDLE_CACHE_ENTRIES = 40;

/** Copies the cached bundle of `assetHash` into `outputDir`; false when there is none. */
function copyCachedBundle(assetHash: string, outputDir: string): boolean {
  const dir = bundleCacheDir();
  const entry = dir && path.join(dir, assetHash);
  if (!entry || !fs.existsSync(path.join(entry, 'index.mjs'))) return false;
  try {
    fs.cpSync(entry, outputDir, { recursive: true });
    const now = new Date();
    fs.utimesSync(entry, now, now);
    return true;
  } catch {
    // Unreadable: build it instead (into a directory emptied of any part copy).
    fs.rmSync(outputDir, { recursive: true, force: true });
    fs.mkdirSync(outputDir, { recursive: true });
    return false;
  }
}

/** Keeps a bundle just built; a cache that cannot be written is skipped. */
function cacheBundle(assetHash: string, outputDir: string): void {
  const dir = bundleCacheDir();
  if (!dir) return;
  const partial = path.join(dir, `.partial-${assetHash}-${process.pid}-${Date.now()}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(outputDir, partial, { recursive: true });
    fs.renameSync(partial, path.join(dir, assetHash));
  } catch {
    // Another synth cached it first, or the cache is not writable.
    fs.rmSync(partial, { recursive: true, force: true });
    return;
  }
  try {
    const entries = fs
      .readdirSync(dir)
      .filter((name) => !name.startsWith('.'))
      .map((name) => ({ name, mtime: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of entries.slice(BUNDLE_CACHE_ENTRIES)) {
      fs.rmSync(path.join(dir, old.name), { recursive: true, force: true });
    }
  } catch {
    // Pruning is best effort.
  }
}
