/**
 * How handlers are bundled: each gateway bundle holds only its upstream's
 * client, and S3 loads on first use (not with the entry point); the asset hash
 * follows the sources and options, so an unchanged synth reuses the bundle.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build, type Metafile } from 'esbuild';
import { bundleBuildOptions, bundleSourceHash, type HandlerBundle } from '../../lib/handler-bundle';

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
