/**
 * A synth that several test files inspect (the default app with every rule
 * pack, each configuration variant), done once per run and shared between
 * the jest workers: the first file that needs it synthesizes it into a
 * cache directory while holding a lock; the others wait for it and read the
 * same cloud assembly and value. The entry is keyed by a content hash of
 * everything that can change what the synth writes: every file under lib/,
 * lambda/ and test/support/ (which holds the recipes, test/support/synths.ts),
 * cdk.json, package.json, package-lock.json, tsconfig.json, the Node.js
 * version, the CDK_DEFAULT_* variables and the recipe's name. So a later run
 * on an unchanged tree reuses it, and any change to a source synthesizes
 * again; a fresh clone always synthesizes.
 *
 * The cache lives in node_modules/.cache/ephemera-test-synth (os.tmpdir()
 * without node_modules). EPHEMERA_TEST_SYNTH_CACHE=off synthesizes every
 * time, into a directory removed when the process exits.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const INPUT_DIRS = ['lib', 'lambda', path.join('test', 'support')];
const INPUT_FILES = ['cdk.json', 'package.json', 'package-lock.json', 'tsconfig.json'];
const SKIPPED_DIRS = new Set(['node_modules', 'cdk.out', 'dist']);
/** How long a worker waits for another one's synth before doing it itself. */
const WAIT_LIMIT_MS = 10 * 60_000;
/** Entries unused for this long are removed. */
const KEEP_MS = 3 * 24 * 60 * 60_000;

/** What a shared synth gives its readers. */
export interface Synthesized<T> {
  /** What the recipe returned (plain JSON). */
  readonly value: T;
  /** The cloud assembly directory the recipe synthesized into. Read it, do not change it. */
  readonly outdir: string;
}

function cacheRoot(): string {
  const modules = path.join(ROOT, 'node_modules');
  return fs.existsSync(modules)
    ? path.join(modules, '.cache', 'ephemera-test-synth')
    : path.join(os.tmpdir(), 'ephemera-test-synth');
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return SKIPPED_DIRS.has(e.name) ? [] : filesUnder(full);
      return e.isFile() ? [full] : [];
    });
}

let inputsDigest: string | undefined;

/** One digest of every input of a synth, computed once per process. */
function digestOfInputs(): string {
  if (inputsDigest) return inputsDigest;
  const hash = createHash('sha256');
  const files = [
    ...INPUT_DIRS.flatMap((d) => filesUnder(path.join(ROOT, d))),
    ...INPUT_FILES.map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f)),
  ];
  for (const file of files) {
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  hash.update(process.version);
  for (const name of ['CDK_DEFAULT_REGION', 'CDK_DEFAULT_ACCOUNT']) {
    hash.update(`\0${name}=${process.env[name] ?? ''}`);
  }
  inputsDigest = hash.digest('hex');
  return inputsDigest;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding a lock, or undefined when the lock is gone or its owner died. */
function lockOwner(lock: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
    if (pid > 0 && alive(pid)) return pid;
    return undefined;
  } catch {
    // Created a moment ago and its pid not written yet (or never: its owner
    // died at once), or removed since.
    try {
      return Date.now() - fs.statSync(lock).mtimeMs < 30_000 ? process.pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function readValue<T>(entry: string): Synthesized<T> | undefined {
  const file = path.join(entry, 'value.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    const now = new Date();
    fs.utimesSync(entry, now, now);
  } catch {
    // Only the age that pruning reads.
  }
  return { value: JSON.parse(fs.readFileSync(file, 'utf8')) as T, outdir: path.join(entry, 'out') };
}

/** Synthesizes with `recipe` into `entry/out` and writes its value last, atomically. */
function produce<T>(entry: string, recipe: (outdir: string) => T): Synthesized<T> {
  fs.rmSync(entry, { recursive: true, force: true });
  const outdir = path.join(entry, 'out');
  fs.mkdirSync(outdir, { recursive: true });
  const value = recipe(outdir);
  const temp = path.join(entry, `value.json.${process.pid}`);
  fs.writeFileSync(temp, JSON.stringify(value));
  fs.renameSync(temp, path.join(entry, 'value.json'));
  return { value: JSON.parse(JSON.stringify(value)) as T, outdir };
}

function prune(root: string, keep: string): void {
  for (const name of fs.readdirSync(root)) {
    const full = path.join(root, name);
    if (full === keep || name.endsWith('.lock')) continue;
    try {
      if (Date.now() - fs.statSync(full).mtimeMs > KEEP_MS) {
        fs.rmSync(full, { recursive: true, force: true });
      }
    } catch {
      // Removed by another worker.
    }
  }
}

/**
 * The result of `recipe` for `name`, synthesized once and shared: `recipe`
 * gets the directory to synthesize into and returns plain JSON (what the
 * tests read besides the assembly). `name` must say everything the recipe
 * depends on that is not a file (its configuration, for example).
 */
export function sharedSynth<T>(name: string, recipe: (outdir: string) => T): Synthesized<T> {
  if (process.env.EPHEMERA_TEST_SYNTH_CACHE === 'off') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-synth-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return produce(path.join(dir, 'entry'), recipe);
  }
  const root = cacheRoot();
  fs.mkdirSync(root, { recursive: true });
  const key = createHash('sha256').update(digestOfInputs()).update('\0').update(name).digest('hex');
  const entry = path.join(root, key.slice(0, 32));
  const lock = `${entry}.lock`;
  const started = Date.now();
  for (;;) {
    const done = readValue<T>(entry);
    if (done) return done;
    let mine = false;
    try {
      fs.mkdirSync(lock);
      mine = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (mine) {
      try {
        fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
        // Written by another worker between the check above and the lock.
        const written = readValue<T>(entry);
        if (written) return written;
        prune(root, entry);
        return produce(entry, recipe);
      } finally {
        fs.rmSync(lock, { recursive: true, force: true });
      }
    }
    if (lockOwner(lock) === undefined) {
      // Its owner died: take the lock over on the next pass.
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) {
      // Still not there: synthesize privately rather than fail.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-synth-'));
      process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      return produce(path.join(dir, 'entry'), recipe);
    }
    sleep(250);
  }
}
