/**
 * How handlers are bundled: each gateway bundle holds only its upstream's
 * client, and S3 loads on first use (not with the entry point); the asset hash
 * follows the sources and options, so an unchanged synth reuses the bundle,
 * and a synth into a new cdk.out copies it from the bundle cache.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build, type Metafile } from 'esbuild';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  bundleBuildOptions,
  bundleCacheDir,
  bundleSourceHash,
  handlerCode,
  type HandlerBundle,
} from '../../lib/handler-bundle';

const gateway = (kind: string): HandlerBundle => ({
  handler: 'gateway',
  name: `gateway-${kind}`,
  define: { 'process.env.EPHEMERA_UPSTREAM_KIND': JSON.stringify(kind) },
});

/** Packages in the whole bundle, and in what loads at start (the entry and its static imports). */
async function contents(
  bundle: HandlerBundle,
): Promise<{ all: Set<string>; atStart: Set<string> }> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-bundle-test-'));
  try {
    const { metafile } = await build({ ...bundleBuildOptions(bundle, outdir), metafile: true });
    const outputs = (metafile as Metafile).outputs;
    const entry = Object.keys(outputs).find((k) => k.endsWith('/index.mjs'))!;
    const atStartFiles = new Set<string>();
    const stack = [entry];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (atStartFiles.has(file)) continue;
      atStartFiles.add(file);
      for (const i of outputs[file].imports) {
        if (i.kind === 'import-statement' && outputs[i.path]) stack.push(i.path);
      }
    }
    const packages = (files: string[]) =>
      new Set(
        files.flatMap((f) =>
          Object.keys(outputs[f].inputs).flatMap((input) => {
            const m = /node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(input);
            return m ? [m[1]] : [];
          }),
        ),
      );
    return { all: packages(Object.keys(outputs)), atStart: packages([...atStartFiles]) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('gateway bundles', () => {
  test('the bedrock bundle holds no Secrets Manager client; S3 is not loaded at start', async () => {
    const { all, atStart } = await contents(gateway('bedrock'));
    expect(all.has('@aws-sdk/client-bedrock-runtime')).toBe(true);
    expect(all.has('@aws-sdk/client-secrets-manager')).toBe(false);
    expect(all.has('@aws-sdk/client-s3')).toBe(true);
    expect(atStart.has('@aws-sdk/client-s3')).toBe(false);
    expect(atStart.has('@aws-sdk/s3-request-presigner')).toBe(false);
    expect(atStart.has('@aws-sdk/client-dynamodb')).toBe(true);
  });

  test('the openai-compatible bundle holds no Bedrock client; S3 is not loaded at start', async () => {
    const { all, atStart } = await contents(gateway('openai-compatible'));
    expect(all.has('@aws-sdk/client-bedrock-runtime')).toBe(false);
    expect(atStart.has('@aws-sdk/client-s3')).toBe(false);
  });
});

describe('bundle asset hashes', () => {
  test('follow the build constants, and are stable for the same bundle', () => {
    expect(bundleSourceHash(gateway('bedrock'))).toBe(bundleSourceHash(gateway('bedrock')));
    expect(bundleSourceHash(gateway('bedrock'))).not.toBe(
      bundleSourceHash(gateway('openai-compatible')),
    );
    expect(bundleSourceHash({ handler: 'image-sweeper' })).not.toBe(
      bundleSourceHash(gateway('bedrock')),
    );
  });
});

describe('bundle cache', () => {
  /** Synthesizes one function with `bundle` into a new cdk.out; returns its asset directory. */
  function synthFunction(bundle: HandlerBundle): string {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-bundle-cache-out-'));
    const stack = new Stack(new App({ outdir }), 'Subject');
    new lambda.Function(stack, 'Handler', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: handlerCode(bundle),
    });
    (stack.node.root as App).synth();
    const assets = fs.readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    return path.join(outdir, assets[0]);
  }
  const files = (dir: string): string[] =>
    (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();

  const saved = process.env.EPHEMERA_BUNDLE_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.EPHEMERA_BUNDLE_CACHE;
    else process.env.EPHEMERA_BUNDLE_CACHE = saved;
  });

  test('a bundle built once is copied into a new cdk.out, keyed by its asset hash', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-bundle-cache-'));
    process.env.EPHEMERA_BUNDLE_CACHE = cache;
    expect(bundleCacheDir()).toBe(cache);
    const bundle: HandlerBundle = { handler: 'image-sweeper' };
    const entry = path.join(cache, bundleSourceHash(bundle));
    const built = synthFunction(bundle);
    expect(fs.existsSync(path.join(built, 'index.mjs'))).toBe(true);
    expect(files(entry)).toEqual(files(built));
    // The next synth into a new cdk.out copies the entry (marked here) instead of building.
    fs.writeFileSync(path.join(entry, 'marker'), '');
    const copied = synthFunction(bundle);
    expect(files(copied)).toEqual(files(entry));
    expect(fs.readFileSync(path.join(copied, 'index.mjs'))).toEqual(
      fs.readFileSync(path.join(built, 'index.mjs')),
    );
  });

  test('EPHEMERA_BUNDLE_CACHE=off turns it off', () => {
    process.env.EPHEMERA_BUNDLE_CACHE = 'off';
    expect(bundleCacheDir()).toBeUndefined();
  });
});
