/**
 * The package as a consumer gets it: `npm run build`, `npm pack`, and an
 * install into a fresh project (outside the repository) that depends only on
 * aws-cdk-lib, constructs and the tarball, with no esbuild and no handler
 * sources. There a TypeScript file typechecks against the declarations
 * (through `exports`), and two plain-JavaScript apps synthesize with every
 * rule pack and no finding left: the whole Ephemera stack, and a stack of the
 * consumer's own made from some of the constructs. Every function's code in
 * their cloud assemblies is a prebuilt bundle from the package.
 *
 * The build writes `dist/` in the repository (nothing else in the test suite
 * reads it); everything else happens in a temporary directory, removed at the
 * end. The slow steps (typecheck, two synths) run in parallel.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { bundleName, HANDLER_BUNDLES } from '../../lib/handler-bundle';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const MINUTES = 60_000;

interface PackageJson {
  name: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Packages the compiled library may load: its dependencies, its peers, and Node.js itself. */
const LOADABLE = new Set([
  ...Object.keys(PACKAGE.dependencies),
  ...Object.keys(PACKAGE.peerDependencies),
  ...builtinModules,
]);

/** Packages a compiled file may name although a consumer lacks them: required lazily, never at load. */
const LAZY: Record<string, string[]> = {
  // Only to bundle from sources when no prebuilt bundle exists (a checkout).
  'handler-bundle.js': ['esbuild'],
};

/** The rule packs every synth must have run (names as they report). */
const RULE_PACKS = [
  'AwsSolutions',
  'HIPAA.Security',
  'NIST.800.53.R5',
  'PCI.DSS.321',
  'cdk-validator-cfnguard',
  'EphemeraRT',
];

const TYPED_CONSUMER = `
import { App, Stack } from 'aws-cdk-lib';
import {
  compliancePlugins,
  type ComplianceSummary,
  DataKeys,
  EphemeraStack,
  type EphemeraStackProps,
  readComplianceReport,
} from '${PACKAGE.name}';

const app = new App();
const props: EphemeraStackProps = { env: { region: 'eu-west-1' } };
export const stack: Stack = new EphemeraStack(app, 'Ephemera', props);
export const keys: DataKeys = new DataKeys(new Stack(app, 'Keys'), 'Keys');
const names: string[] = compliancePlugins(app).map((p) => p.name);
const summary: ComplianceSummary = readComplianceReport('cdk.out', app, names);
export const findings: number = summary.findings.length;
`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment for the commands: without what an enclosing `npm test`
 * exports (its `npm_config_local_prefix` is this repository) or a NODE_PATH
 * that could lend the consumer this repository's packages.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|userconfig|globalconfig|registry|cafile|.*proxy)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !(/^npm_/i.test(k) && !keep.test(k)) && k !== 'INIT_CWD' && k !== 'NODE_PATH',
    ),
  );
}

/** Runs a command to its end; resolves (never rejects) with its exit code and output. */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: cleanEnv() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const done = (code: number | null, error = '') =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + error,
      });
    child.on('error', (e) => done(null, e.message));
    child.on('close', (code) => done(code));
  });
}

/** The run's stdout; throws with its output when it failed. */
function ok(result: Run, what: string): string {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => {
      const rel = path.join(prefix, e.name);
      return e.isDirectory() ? filesUnder(dir, rel) : [rel];
    })
    .sort();
}

/** One digest over a directory's file names and contents. */
function directoryDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(dir)) {
    hash
      .update(file)
      .update('\0')
      .update(fs.readFileSync(path.join(dir, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** The package a module specifier names (`@scope/name` or `name`), or undefined when relative. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.')) return undefined;
  const parts = specifier.replace(/^node:/, '').split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every module a file imports or requires, as TypeScript's pre-processor finds them. */
function importsOf(file: string): string[] {
  return ts
    .preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((f) => f.fileName);
}

/** The declaration files `index.d.ts` reaches through relative imports. */
function reachableDeclarations(libDir: string): string[] {
  const seen = new Set<string>();
  const pending = [path.join(libDir, 'index.d.ts')];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
      const target = path.resolve(path.dirname(file), spec);
      pending.push(
        fs.existsSync(`${target}.d.ts`) ? `${target}.d.ts` : path.join(target, 'index.d.ts'),
      );
    }
  }
  return [...seen];
}

/** `file: package` for each package a file loads that a consumer does not have. */
function missingPackages(libDir: string, files: string[], lazy = LAZY): string[] {
  return files.flatMap((file) => {
    const name = path.relative(libDir, file);
    return importsOf(file)
      .map(packageOf)
      .filter((p): p is string => p !== undefined && !LOADABLE.has(p))
      .filter((p) => !(lazy[name] ?? []).includes(p))
      .map((p) => `${name}: ${p}`);
  });
}

interface AppReport {
  readonly outdir: string;
  readonly plugins: Array<{ name: string; success: boolean; error?: string }>;
  readonly findings: unknown[];
}

/** Runs a consumer app (a fixture) with node in the consumer project; its report. */
async function synthApp(consumer: string, app: string): Promise<AppReport> {
  const reportFile = path.join(consumer, `${app}.report.json`);
  ok(await run(process.execPath, [`${app}.js`, reportFile], consumer), `node ${app}.js`);
  return JSON.parse(fs.readFileSync(reportFile, 'utf8')) as AppReport;
}

/**
 * The prebuilt bundle each Lambda function's code is, by the function's
 * logical id: its asset in the cloud assembly, compared file by file with the
 * package's `dist/handlers`. `(not prebuilt)` for any other code.
 */
function functionBundles(outdir: string, handlersDir: string): Record<string, string> {
  const prebuilt = new Map(
    fs
      .readdirSync(handlersDir)
      .map((name) => [directoryDigest(path.join(handlersDir, name)), name]),
  );
  const out: Record<string, string> = {};
  for (const file of fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))) {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
    };
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const hash = /^([0-9a-f]{64})\.zip$/.exec(resource.Properties.Code?.S3Key ?? '')?.[1];
      const asset = hash && path.join(outdir, `asset.${hash}`);
      out[id] =
        (asset && fs.existsSync(asset) && prebuilt.get(directoryDigest(asset))) || '(not prebuilt)';
    }
  }
  return out;
}

/** Writes the consumer project: its package.json, its cdk.json (the repository's), and the apps. */
function writeConsumer(consumer: string, tarball: string): void {
  fs.mkdirSync(consumer);
  const manifest = {
    name: 'ephemera-consumer',
    version: '1.0.0',
    private: true,
    dependencies: {
      'aws-cdk-lib': PACKAGE.devDependencies['aws-cdk-lib'],
      constructs: PACKAGE.devDependencies.constructs,
      [PACKAGE.name]: `file:${tarball}`,
    },
  };
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.copyFileSync(path.join(ROOT, 'cdk.json'), path.join(consumer, 'cdk.json'));
  for (const fixture of fs.readdirSync(FIXTURES)) {
    fs.copyFileSync(path.join(FIXTURES, fixture), path.join(consumer, fixture));
  }
  fs.writeFileSync(path.join(consumer, 'consumer.ts'), TYPED_CONSUMER);
}

/** The consumer's typecheck, with this repository's TypeScript and Node.js types. */
function typecheck(consumer: string): Promise<Run> {
  return run(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--target',
      'es2022',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--typeRoots',
      path.join(ROOT, 'node_modules', '@types'),
      '--types',
      'node',
      'consumer.ts',
    ],
    consumer,
  );
}

let work: string;
let consumer: string;
let installed: string;
let packed: { filename: string; files: Array<{ path: string }> };
let typechecked: Promise<Run>;
let wholeStack: Promise<AppReport>;
let constructsStack: Promise<AppReport>;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-package-'));
  consumer = path.join(work, 'consumer');
  installed = path.join(consumer, 'node_modules', PACKAGE.name);
  ok(await run('npm', ['run', 'build'], ROOT), 'npm run build');
  // Built just above: no prepack build again.
  const pack = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    ROOT,
  );
  [packed] = JSON.parse(ok(pack, 'npm pack')) as (typeof packed)[];
  writeConsumer(consumer, path.join(work, packed.filename));
  ok(
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], consumer),
    'npm install',
  );
  // Slow and independent: started together, awaited by the tests. Rejections
  // are marked handled here and surface where each test awaits its promise.
  typechecked = typecheck(consumer);
  wholeStack = synthApp(consumer, 'whole-stack');
  constructsStack = synthApp(consumer, 'constructs-stack');
  for (const p of [wholeStack, constructsStack]) p.catch(() => undefined);
}, 5 * MINUTES);

afterAll(async () => {
  // Let every child finish before removing the directory it works in.
  await Promise.allSettled([typechecked, wholeStack, constructsStack]);
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 5 * MINUTES);

describe('the tarball', () => {
  test('holds the compiled library, its declarations, every prebuilt bundle and the docs, no sources', () => {
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => f.startsWith('lambda/') || f.includes('/lambda/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(
      files.filter(
        (f) =>
          !/^(dist\/(lib|handlers)\/|docs\/[a-z-]+\.md$|README\.md$|LICENSE$|package\.json$)/.test(
            f,
          ),
      ),
    ).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/lib/index.js', 'dist/lib/index.d.ts']));
    // The README's links resolve inside the package too.
    for (const page of fs.readdirSync(path.join(ROOT, 'docs'))) {
      expect(files).toContain(`docs/${page}`);
    }
    for (const bundle of HANDLER_BUNDLES) {
      expect(files).toContain(`dist/handlers/${bundleName(bundle)}/index.mjs`);
    }
  });

  test('loads no package a consumer lacks: dependencies, peers and Node.js only', () => {
    const lib = path.join(installed, 'dist', 'lib');
    const scripts = filesUnder(lib)
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join(lib, f));
    expect(scripts.length).toBeGreaterThan(20);
    expect(missingPackages(lib, scripts)).toEqual([]);
    // The public declarations name no devDependency either (esbuild's types
    // stay in handler-bundle.d.ts, which index.d.ts does not reach).
    expect(missingPackages(lib, reachableDeclarations(lib), {})).toEqual([]);
  });
});

describe('the installed package', () => {
  test('resolves by name, with its declarations, and without esbuild or handler sources', async () => {
    const where = JSON.parse(
      ok(await run(process.execPath, ['resolve.js'], consumer), 'node resolve.js'),
    ) as { main: string | null; packageJson: string | null; esbuild: string | null };
    expect(where.main).toBe(path.join(installed, 'dist', 'lib', 'index.js'));
    expect(where.packageJson).toBe(path.join(installed, 'package.json'));
    const exported = PACKAGE.exports['.'] as Record<string, string>;
    expect(path.normalize(exported.types)).toBe(path.normalize(PACKAGE.types));
    expect(fs.existsSync(path.join(installed, exported.types))).toBe(true);
    expect(where.esbuild).toBeNull();
    expect(fs.existsSync(path.join(installed, 'lambda'))).toBe(false);
  });

  test(
    'typechecks a TypeScript consumer (node16 resolution, through "exports")',
    async () => {
      const result = await typechecked;
      expect(`${result.stdout}${result.stderr}`).toBe('');
      expect(result.code).toBe(0);
    },
    5 * MINUTES,
  );

  test.each([
    [
      'the whole Ephemera stack, configured as the repository app',
      () => wholeStack,
      'gateway-bedrock',
    ],
    ['a stack of its own with some constructs', () => constructsStack, 'image-sweeper'],
  ])(
    '%s: every rule pack, no finding left, functions from prebuilt bundles',
    async (_name, report, someBundle) => {
      const { outdir, plugins, findings } = await report();
      expect(findings).toEqual([]);
      expect(plugins.map((p) => p.name).sort()).toEqual([...RULE_PACKS].sort());
      expect(plugins.filter((p) => !p.success || p.error)).toEqual([]);
      const bundles = functionBundles(outdir, path.join(installed, 'dist', 'handlers'));
      expect(Object.values(bundles)).toContain(someBundle);
      expect(Object.entries(bundles).filter(([, b]) => b === '(not prebuilt)')).toEqual([]);
    },
    5 * MINUTES,
  );
});
