/**
 * bench/gateway/cold-start: module-load time of the gateway bundle.
 *
 *   npx tsx bench/gateway/cold-start.ts [--runs 20]
 *
 * Builds lambda/gateway/index.ts twice with esbuild as NodejsFunction would
 * (platform node, target node22, format cjs, minify, bundle, SDK included):
 * once with `mainFields: ['module', 'main']` and once with esbuild's default
 * resolution. Then, for each bundle and for an empty module, starts `--runs`
 * fresh `node -e` processes that time `require(bundle)` with process.hrtime
 * (so node's own start-up is not counted) and prints bundle sizes and medians.
 * The require runs the real init: configuration parsing and SDK client creation.
 * Goal: < 80 ms.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3 || runs > 200) {
  console.error('--runs must be a whole number from 3 to 200');
  process.exit(2);
}

const root = join(__dirname, '..', '..');
const entry = join(root, 'lambda', 'gateway', 'index.ts');
const out = mkdtempSync(join(tmpdir(), 'ephemera-cold-start-'));

/** A valid gateway environment, so the require runs the whole init. */
const env = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  USAGE_TABLE_NAME: 'bench-usage',
  KEY_TABLE_NAME: 'bench-keys',
  IMAGE_BUCKET_NAME: 'bench-images',
  HMAC_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/bench',
  MODELS: JSON.stringify([
    { id: 'chat', upstreamId: 'amazon.nova-lite-v1:0', kind: 'chat' },
    { id: 'draw', upstreamId: 'amazon.nova-canvas-v1:0', kind: 'image' },
  ]),
  IMAGE_TTL_SECONDS: '3600',
  METADATA_RETENTION_DAYS: '30',
  // Silence the SDK's Node-version notice; it is not part of the load.
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function loadTimeMs(file: string): number {
  const script =
    `const t=process.hrtime.bigint();require(${JSON.stringify(file)});` +
    `process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`loading ${file} failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return Number(r.stdout);
}

async function main(): Promise<void> {
  const variants: { name: string; file: string }[] = [];
  for (const [name, mainFields] of [
    ["mainFields ['module','main']", ['module', 'main']],
    ['default resolution', undefined],
  ] as const) {
    const file = join(out, `${mainFields ? 'module-main' : 'default'}.js`);
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      ...(mainFields ? { mainFields: [...mainFields] } : {}),
      logLevel: 'error',
    });
    variants.push({ name, file });
  }
  const empty = join(out, 'empty.js');
  writeFileSync(empty, '');
  variants.push({ name: 'empty module', file: empty });

  // Interleave the variants so drift affects them alike; one warm-up each (disk cache).
  variants.forEach((v) => loadTimeMs(v.file));
  const samples = variants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) variants.forEach((v, j) => samples[j].push(loadTimeMs(v.file)));

  console.log(
    `bench/gateway/cold-start: ${runs} fresh node processes per bundle, node ${process.version}`,
  );
  variants.forEach((v, j) => {
    const kb = (statSync(v.file).size / 1024).toFixed(0);
    console.log(
      `  ${v.name.padEnd(30)} ${`${kb} KiB`.padStart(9)}  require median ${median(samples[j]).toFixed(1)} ms`,
    );
  });
  const emptyMedian = median(samples[samples.length - 1]);
  for (const [j, v] of variants.slice(0, -1).entries()) {
    console.log(
      `  ${v.name}: ${(median(samples[j]) - emptyMedian).toFixed(1)} ms above the empty module (goal < 80 ms)`,
    );
  }
  rmSync(out, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  rmSync(out, { recursive: true, force: true });
  process.exit(1);
});
