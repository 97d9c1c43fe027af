/**
 * bench/synth: how long `npm run synth` (the whole app, every rule pack, CDK's
 * built-in CloudFormation validation) takes against a minimal one-bucket CDK
 * app synthesized the same way, measured in the same run, interleaved. The
 * whole app is timed three times: into a fresh `cdk.out` with every handler
 * bundled (the bundle cache off), into a fresh `cdk.out` with the bundles
 * copied from the bundle cache (lib/handler-bundle.ts: a new `cdk.out` after a
 * synth of the same sources, as in CI and tests), and again into the same
 * `cdk.out` with no source change (the everyday loop: the bundles already
 * there are reused).
 *
 *   npm run bench:synth [-- --runs 5]
 *
 * Prints each variant's median wall time and the ratios to the minimal app,
 * with the machine's load average before and after (on a busy machine every
 * variant slows, and not by the same factor).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  console.error('--runs must be an integer from 1 to 50');
  process.exit(2);
}

const root = path.join(__dirname, '..', '..');
const outBase = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-bench-synth-'));

interface Variant {
  name: string;
  command: string[];
  /** Synthesize into the same directory every time (bundles reused), else a fresh one. */
  reuseOutdir?: boolean;
  /** Extra environment. */
  env?: Record<string, string>;
}
const variants: Variant[] = [
  {
    name: 'npm run synth, fresh cdk.out',
    command: ['npm', 'run', '--silent', 'synth'],
    env: { EPHEMERA_BUNDLE_CACHE: 'off' },
  },
  {
    name: 'npm run synth, fresh cdk.out, bundle cache',
    command: ['npm', 'run', '--silent', 'synth'],
  },
  {
    name: 'npm run synth, unchanged re-synth',
    command: ['npm', 'run', '--silent', 'synth'],
    reuseOutdir: true,
  },
  {
    name: 'npm run synth:minimal (1 bucket)',
    command: ['npm', 'run', '--silent', 'synth:minimal'],
  },
];

function timeOnce(v: Variant, i: number): number {
  const slug = v.name.replace(/[^a-z0-9]+/gi, '-');
  const outdir = path.join(outBase, v.reuseOutdir ? slug : `${i}-${slug}`);
  const start = process.hrtime.bigint();
  const r = spawnSync(v.command[0], v.command.slice(1), {
    cwd: root,
    env: { ...process.env, ...v.env, CDK_OUTDIR: outdir },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    console.error(`${v.name} failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The machine's 1-minute load average: the ratios are only comparable on a machine as busy. */
const load = () => os.loadavg()[0].toFixed(2);
const loadBefore = load();

// One warm-up of each (disk cache, esbuild binary), then interleaved runs.
variants.forEach((v) => timeOnce(v, -1));
const samples = variants.map(() => [] as number[]);
for (let i = 0; i < runs; i++) variants.forEach((v, j) => samples[j].push(timeOnce(v, i)));
fs.rmSync(outBase, { recursive: true, force: true });

console.log(
  `bench/synth: ${runs} runs each, interleaved, ${os.cpus().length} cores, load average ${loadBefore} before and ${load()} after`,
);
variants.forEach((v, j) => {
  console.log(
    `  ${v.name.padEnd(44)} median ${(median(samples[j]) / 1000).toFixed(2)} s  (runs: ${samples[j].map((x) => (x / 1000).toFixed(2)).join(', ')})`,
  );
});
const minimal = median(samples[3]);
const ratio = (j: number) => (median(samples[j]) / minimal).toFixed(2);
console.log(`  ratio fresh synth / minimal (medians):     ${ratio(0)}x  (goal: < 2.5x)`);
console.log(`  ratio fresh synth, bundle cache / minimal: ${ratio(1)}x`);
console.log(`  ratio unchanged re-synth / minimal (medians): ${ratio(2)}x  (goal: <= 1.5x)`);
