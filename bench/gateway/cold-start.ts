/**
 * bench/gateway/cold-start: how long loading the gateway bundle takes, per
 * upstream kind, against the bundle it replaced, measured in one run.
 *
 *   npx tsx bench/gateway/cold-start.ts [--runs 25]
 *
 * Variants (all minified, the init runs: configuration parsing and client
 * creation):
 * - baseline: the former bundle, one CommonJS file holding every client the
 *   gateway could use (Bedrock, Secrets Manager, S3, presigner), built with
 *   esbuild's default resolution (`all-clients-entry.ts`);
 * - former deployed: the same with module-first resolution (what was deployed);
 * - bedrock, openai-compatible: the bundles deployed now, built by the same
 *   function the construct uses (`lib/handler-bundle.ts`): ES module chunks, the
 *   other kind's code dropped, S3 loaded on first use.
 *
 * Each variant is loaded in `--runs` fresh node processes, interleaved, timing
 * `require()` (CommonJS) or `import()` (ES modules) with process.hrtime, so
 * node's own start-up is not counted; an empty module of each format is
 * measured the same way and subtracted. Reports medians and the ratio of each
 * variant's load time to the baseline's (goal: at most 0.4).
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { buildHandlerBundle } from '../../lib/handler-bundle';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '25' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3 || runs > 200) {
  console.error('--runs must be a whole number from 3 to 200');
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'ephemera-cold-start-'));

const baseEnv = {
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
  // As deployed: no NODE_OPTIONS (the bundles carry no source maps).
  NODE_OPTIONS: '',
  // Silence the SDK's Node-version notice; it is not part of the load.
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
};
const openAiEnv = {
  ...baseEnv,
  UPSTREAM_KIND: 'openai-compatible',
  UPSTREAM_BASE_URL: 'https://models.internal.example',
};

interface Variant {
  readonly name: string;
  readonly file: string;
  readonly esm: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly baseline?: boolean;
  readonly empty?: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function loadTimeMs(v: Variant): number {
  const load = v.esm ? `import(${JSON.stringify(v.file)})` : `require(${JSON.stringify(v.file)})`;
  // CPU time (user + system) of the load: steadier than wall time on a busy
  // machine, and what a cold start spends.
  const script =
    `const c=process.cpuUsage();Promise.resolve(${load}).then(()=>{const d=process.cpuUsage(c);` +
    `process.stdout.write(String((d.user+d.system)/1e3))});`;
  const r = spawnSync(process.execPath, ['-e', script], { env: v.env, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`loading ${v.name} failed (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
    process.exit(1);
  }
  return Number(r.stdout);
}

/** Bytes of an ES module bundle that load at start: the entry and what it imports statically. */
function size(file: string, esm: boolean): string {
  if (!esm) return `${(statSync(file).size / 1024).toFixed(0)} KiB`;
  const dir = join(file, '..');
  const total = [file, ...readdirSync(join(dir, 'chunks')).map((f) => join(dir, 'chunks', f))]
    .filter((f) => f.endsWith('.mjs'))
    .reduce((sum, f) => sum + statSync(f).size, 0);
  return `${(total / 1024).toFixed(0)} KiB in all`;
}

async function main(): Promise<void> {
  const variants: Variant[] = [];
  for (const [name, mainFields, baseline] of [
    ['baseline: all clients, default resolution', undefined, true],
    ['former deployed: all clients, module-first', ['module', 'main'], false],
  ] as const) {
    const file = join(out, `${baseline ? 'baseline' : 'former'}.js`);
    await build({
      entryPoints: [join(__dirname, 'all-clients-entry.ts')],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      ...(mainFields ? { mainFields: [...mainFields] } : {}),
      logLevel: 'error',
    });
    variants.push({ name, file, esm: false, env: baseEnv, baseline });
  }
  for (const kind of ['bedrock', 'openai-compatible'] as const) {
    const dir = join(out, kind);
    buildHandlerBundle(
      {
        handler: 'gateway',
        define: { 'process.env.EPHEMERA_UPSTREAM_KIND': JSON.stringify(kind) },
      },
      dir,
    );
    variants.push({
      name: `now: ${kind} bundle`,
      file: join(dir, 'index.mjs'),
      esm: true,
      env: kind === 'bedrock' ? baseEnv : openAiEnv,
    });
  }
  writeFileSync(join(out, 'empty.js'), '');
  writeFileSync(join(out, 'empty.mjs'), '');
  const emptyCjs: Variant = {
    name: 'empty (cjs)',
    file: join(out, 'empty.js'),
    esm: false,
    env: baseEnv,
    empty: true,
  };
  const emptyEsm: Variant = {
    name: 'empty (esm)',
    file: join(out, 'empty.mjs'),
    esm: true,
    env: baseEnv,
    empty: true,
  };
  const all = [...variants, emptyCjs, emptyEsm];

  // Interleave so drift affects every variant alike; one warm-up each (disk cache).
  all.forEach((v) => loadTimeMs(v));
  const samples = new Map(all.map((v) => [v, [] as number[]]));
  for (let i = 0; i < runs; i++) for (const v of all) samples.get(v)!.push(loadTimeMs(v));

  const emptyOf = (v: Variant) => median(samples.get(v.esm ? emptyEsm : emptyCjs)!);
  const loadOf = (v: Variant) => median(samples.get(v)!) - emptyOf(v);
  const baseline = variants.find((v) => v.baseline)!;
  console.log(
    `bench/gateway/cold-start: ${runs} fresh node processes per variant, node ${process.version}`,
  );
  console.log(
    `  empty module: ${median(samples.get(emptyCjs)!).toFixed(1)} ms (require), ${median(samples.get(emptyEsm)!).toFixed(1)} ms (import)`,
  );
  for (const v of variants) {
    console.log(
      `  ${v.name.padEnd(44)} ${size(v.file, v.esm).padStart(16)}  median ${median(samples.get(v)!).toFixed(1).padStart(6)} ms, ` +
        `${loadOf(v).toFixed(1).padStart(6)} ms above empty, ratio ${(loadOf(v) / loadOf(baseline)).toFixed(2)}` +
        (v.baseline ? '' : v.esm ? ' (goal <= 0.40)' : ''),
    );
  }
  rmSync(out, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  rmSync(out, { recursive: true, force: true });
  process.exit(1);
});
