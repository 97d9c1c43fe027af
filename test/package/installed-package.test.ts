/**
 * The package as a consumer gets it: `npm run build`, `npm pack`, and an
 * install into fresh projects (outside the repository) that depend only on
 * aws-cdk-lib, constructs and the tarball, with no esbuild and no handler
 * sources. Two such projects, set up and checked in parallel: one with the
 * oldest aws-cdk-lib the peer range admits (the repository's own, 2.276.0),
 * one with the newest release in that range at the time the test runs (what
 * `cdk init` installs today; resolved from the registry, so the test follows
 * aws-cdk-lib's releases and a release that breaks a synth fails here first).
 *
 * In each: a TypeScript file and the compositions of docs/constructs.md (its
 * code blocks, extracted here, so the page and the test cannot drift)
 * typecheck against the declarations (through `exports`) and compile; the
 * whole Ephemera stack (configured from cdk.json context) and every
 * composition synthesize with every rule pack and no finding left, each
 * function's code a prebuilt bundle from the package. The packaged keys CLI
 * (`npx ephemera-keys`) creates an admin key against local DynamoDB and KMS
 * stand-ins, found by flags and by the stack outputs the docs' composition
 * writes, and the key verifies.
 *
 * The build writes `dist/` in the repository (nothing else in the test suite
 * reads it); everything else happens in a temporary directory, removed at the
 * end. The slow steps (installs, compiles, synths) run in parallel.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { KMSClient } from '@aws-sdk/client-kms';
import * as ts from 'typescript';
import { createKmsHasher } from '../../lib/core/keyed-hash';
import { KeyStore } from '../../lib/core/key-store';
import { HMAC_KEY_OUTPUT, KEY_TABLE_OUTPUT } from '../../lib/core/stack-outputs';
import { bundleName, HANDLER_BUNDLES } from '../../lib/handler-bundle';
import { startLocalKms, type LocalKms } from '../../local/kms';
import { LOCAL_REGION, startLocalStores, type LocalStores } from '../../local/stores';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const CONSTRUCTS_DOC = path.join(ROOT, 'docs', 'constructs.md');
const MINUTES = 60_000;

interface PackageJson {
  name: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** The keys CLI's command and its file in the package. */
const KEYS_CLI = 'ephemera-keys';

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

/**
 * The compositions of docs/constructs.md, by the heading of their section
 * (the section's first `ts` block), with a prebuilt bundle each must use.
 */
const DOC_EXAMPLES = {
  'doc-composing': { heading: '## Composing them', someBundle: 'image-sweeper' },
  'doc-streaming-gateway': {
    heading: '### A streaming gateway with its admin API and erasure',
    someBundle: 'gateway-bedrock',
  },
  'doc-own-app': { heading: '### `EphemeraStack` in your own app', someBundle: 'watchdog' },
} as const;
type DocExample = keyof typeof DOC_EXAMPLES;

/** The docs' composition the keys CLI finds through its stack's outputs, and that stack. */
const KEYS_EXAMPLE: DocExample = 'doc-streaming-gateway';
const KEYS_STACK = 'TeamGateway';

/** The first `ts` code block of the section under `heading` in docs/constructs.md. */
function docBlock(heading: string): string {
  const lines = fs.readFileSync(CONSTRUCTS_DOC, 'utf8').split('\n');
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`docs/constructs.md has no section '${heading}'`);
  const open = lines.findIndex((l, i) => i > at && (l.startsWith('#') || l === '```ts'));
  if (open < 0 || lines[open] !== '```ts') {
    throw new Error(`docs/constructs.md: section '${heading}' has no ts code block`);
  }
  const close = lines.indexOf('```', open + 1);
  return lines.slice(open + 1, close).join('\n') + '\n';
}

const TYPED_CONSUMER = `
import { App, Stack } from 'aws-cdk-lib';
import {
  compliancePlugins,
  type ComplianceSummary,
  CONFIG_DEFAULTS,
  DataKeys,
  type EphemeraConfig,
  ephemeraConfig,
  type EphemeraSettings,
  EphemeraStack,
  type EphemeraStackProps,
  readComplianceReport,
} from '${PACKAGE.name}';

const app = new App();
const props: EphemeraStackProps = { env: { region: 'eu-west-1' } };
export const stack: Stack = new EphemeraStack(app, 'Ephemera', props);
const settings: EphemeraSettings = { imageTtlMinutes: 30, frontDoorKind: 'alb' };
export const config: EphemeraConfig = ephemeraConfig(settings);
export const defaults: EphemeraConfig = ephemeraConfig(CONFIG_DEFAULTS);
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
function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env });
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
  /** Output names by stack (the docs' compositions). */
  readonly outputs?: Record<string, string[]>;
}

/** Runs the whole-stack app (a fixture) with node in the consumer project; its report. */
async function synthWholeStack(dir: string): Promise<AppReport> {
  const reportFile = path.join(dir, 'whole-stack.report.json');
  ok(await run(process.execPath, ['whole-stack.js', reportFile], dir), 'node whole-stack.js');
  return JSON.parse(fs.readFileSync(reportFile, 'utf8')) as AppReport;
}

/** Runs the docs' compositions (transpiled by `writeConsumer`) in the consumer project; their reports. */
async function synthDocExamples(dir: string): Promise<Record<DocExample, AppReport>> {
  const reportFile = path.join(dir, 'doc-examples.report.json');
  ok(
    await run(process.execPath, ['doc-examples.js', reportFile, ...Object.keys(DOC_EXAMPLES)], dir),
    'node doc-examples.js',
  );
  return JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Record<DocExample, AppReport>;
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

/**
 * The newest aws-cdk-lib release the peer range admits, asked of the registry
 * (not the local cache), so the newest consumer follows aws-cdk-lib's releases.
 */
async function newestInPeerRange(): Promise<string> {
  const range = PACKAGE.peerDependencies['aws-cdk-lib'];
  const view = await run(
    'npm',
    ['view', `aws-cdk-lib@${range}`, 'version', '--json', '--prefer-online'],
    ROOT,
  );
  const found = JSON.parse(ok(view, `npm view aws-cdk-lib@${range} version`)) as string | string[];
  // npm lists them in publication order, not by version.
  const numbers = (v: string) => v.split(/[.-]/).slice(0, 3).map(Number);
  const newer = (a: string, b: string) => {
    const [x, y] = [numbers(a), numbers(b)];
    const i = x.findIndex((n, j) => n !== y[j]);
    return i >= 0 && x[i] > y[i];
  };
  return [found].flat().reduce((best, v) => (newer(v, best) ? v : best));
}

/** One consumer project and what runs in it. */
interface Consumer {
  readonly dir: string;
  readonly installed: string;
  readonly cdkVersion: string;
  /** `tsc --noEmit`: the typed consumer and the docs' compositions. */
  readonly typechecked: Promise<Run>;
  readonly wholeStack: Promise<AppReport>;
  readonly docExamples: Promise<Record<DocExample, AppReport>>;
}

/** Writes the consumer project: its package.json, its cdk.json (the repository's), and the apps. */
function writeConsumer(dir: string, tarball: string, cdkVersion: string): void {
  fs.mkdirSync(dir);
  const manifest = {
    name: 'ephemera-consumer',
    version: '1.0.0',
    private: true,
    dependencies: {
      'aws-cdk-lib': cdkVersion,
      constructs: PACKAGE.devDependencies.constructs,
      [PACKAGE.name]: `file:${tarball}`,
    },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.copyFileSync(path.join(ROOT, 'cdk.json'), path.join(dir, 'cdk.json'));
  for (const fixture of fs.readdirSync(FIXTURES)) {
    fs.copyFileSync(path.join(FIXTURES, fixture), path.join(dir, fixture));
  }
  fs.writeFileSync(path.join(dir, 'consumer.ts'), TYPED_CONSUMER);
  for (const [name, { heading }] of Object.entries(DOC_EXAMPLES)) {
    // The block as the page shows it, typechecked by `typecheck`; the runner
    // needs its app. Transpiled here, so its synth need not wait for tsc.
    const source = `${docBlock(heading)}\nexport { app };\n`;
    fs.writeFileSync(path.join(dir, `${name}.ts`), source);
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    fs.writeFileSync(path.join(dir, `${name}.js`), outputText);
  }
}

/** The consumer's typecheck, with this repository's TypeScript and Node.js types. */
function typecheck(dir: string): Promise<Run> {
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
      ...Object.keys(DOC_EXAMPLES).map((name) => `${name}.ts`),
    ],
    dir,
  );
}

/** Sets up one consumer project and starts its slow steps; rejections surface where tests await them. */
async function startConsumer(dir: string, tarball: string, cdkVersion: string): Promise<Consumer> {
  writeConsumer(dir, tarball, cdkVersion);
  ok(
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir),
    `npm install (aws-cdk-lib ${cdkVersion})`,
  );
  const typechecked = typecheck(dir);
  const wholeStack = synthWholeStack(dir);
  const docExamples = synthDocExamples(dir);
  for (const p of [wholeStack, docExamples]) p.catch(() => undefined);
  return {
    dir,
    installed: path.join(dir, 'node_modules', PACKAGE.name),
    cdkVersion,
    typechecked,
    wholeStack,
    docExamples,
  };
}

let work: string;
let packed: { filename: string; files: Array<{ path: string }> };
/** The oldest aws-cdk-lib in the peer range (the repository's own), and the newest. */
const consumers: Partial<Record<'oldest' | 'newest', Consumer>> = {};

beforeAll(async () => {
  const started = Date.now();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-package-'));
  const [built, newest] = await Promise.all([
    run('npm', ['run', 'build'], ROOT),
    newestInPeerRange(),
  ]);
  ok(built, 'npm run build');
  // Built just above: no prepack build again.
  const pack = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    ROOT,
  );
  [packed] = JSON.parse(ok(pack, 'npm pack')) as (typeof packed)[];
  const tarball = path.join(work, packed.filename);
  const oldest = PACKAGE.devDependencies['aws-cdk-lib'];
  [consumers.oldest, consumers.newest] = await Promise.all([
    startConsumer(path.join(work, 'oldest'), tarball, oldest),
    startConsumer(path.join(work, 'newest'), tarball, newest),
  ]);
  console.log(
    `installed-package: aws-cdk-lib ${oldest} and ${newest}, set up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}, 8 * MINUTES);

afterAll(async () => {
  // Let every child finish before removing the directory it works in.
  await Promise.allSettled(
    Object.values(consumers).flatMap((c) => [c.typechecked, c.wholeStack, c.docExamples]),
  );
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 5 * MINUTES);

/** A consumer set up by beforeAll. */
function consumer(which: 'oldest' | 'newest'): Consumer {
  const c = consumers[which];
  if (!c) throw new Error(`the ${which} consumer was not set up`);
  return c;
}

describe('the tarball', () => {
  test("declares the aws-cdk-lib range the consumers test: from the oldest, the repository's own", () => {
    const oldest = PACKAGE.devDependencies['aws-cdk-lib'];
    expect(PACKAGE.peerDependencies['aws-cdk-lib']).toBe(`^${oldest}`);
    expect(consumer('oldest').cdkVersion).toBe(oldest);
    expect(consumer('newest').cdkVersion).toMatch(/^2\.\d+\.\d+$/);
  });

  test('holds the compiled library, its declarations, every prebuilt bundle, the keys CLI and the docs, no sources', () => {
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => f.startsWith('lambda/') || f.includes('/lambda/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(
      files.filter(
        (f) =>
          !/^(dist\/(lib|handlers)\/|dist\/bin\/keys\.js$|docs\/[a-z-]+\.md$|README\.md$|LICENSE$|package\.json$)/.test(
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
    expect(PACKAGE.bin).toEqual({ [KEYS_CLI]: 'dist/bin/keys.js' });
    expect(files).toContain(PACKAGE.bin[KEYS_CLI]);
  });

  test('loads no package a consumer lacks: dependencies, peers and Node.js only', () => {
    const { installed } = consumer('oldest');
    const lib = path.join(installed, 'dist', 'lib');
    const scripts = filesUnder(lib)
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join(lib, f));
    expect(scripts.length).toBeGreaterThan(20);
    expect(missingPackages(lib, scripts)).toEqual([]);
    // The public declarations name no devDependency either (esbuild's types
    // stay in handler-bundle.d.ts, which index.d.ts does not reach).
    expect(missingPackages(lib, reachableDeclarations(lib), {})).toEqual([]);
    // The keys CLI is one file with its SDK clients: Node.js alone runs it.
    const cli = path.join(installed, PACKAGE.bin[KEYS_CLI]);
    const sdkCrt = '@aws-sdk/signature-v4-crt'; // named in an error message only
    expect(
      importsOf(cli)
        .map(packageOf)
        .filter((p) => p !== undefined && !builtinModules.includes(p) && p !== sdkCrt),
    ).toEqual([]);
  });
});

describe.each(['oldest', 'newest'] as const)(
  'the package installed with the %s aws-cdk-lib',
  (which) => {
    test('resolves by name, with its declarations and the keys CLI, without esbuild or handler sources', async () => {
      const { dir, installed, cdkVersion } = consumer(which);
      const where = JSON.parse(
        ok(await run(process.execPath, ['resolve.js'], dir), 'node resolve.js'),
      ) as {
        main: string | null;
        packageJson: string | null;
        esbuild: string | null;
        cdkVersion: string;
      };
      expect(where.main).toBe(path.join(installed, 'dist', 'lib', 'index.js'));
      expect(where.packageJson).toBe(path.join(installed, 'package.json'));
      expect(where.cdkVersion).toBe(cdkVersion);
      const exported = PACKAGE.exports['.'] as Record<string, string>;
      expect(path.normalize(exported.types)).toBe(path.normalize(PACKAGE.types));
      expect(fs.existsSync(path.join(installed, exported.types))).toBe(true);
      expect(where.esbuild).toBeNull();
      expect(fs.existsSync(path.join(installed, 'lambda'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'node_modules', '.bin', KEYS_CLI))).toBe(true);
    });

    test(
      'typechecks a TypeScript consumer and the docs\' compositions (node16 resolution, through "exports")',
      async () => {
        const result = await consumer(which).typechecked;
        expect(`${result.stdout}${result.stderr}`).toBe('');
        expect(result.code).toBe(0);
      },
      5 * MINUTES,
    );

    test.each<[string, string, string]>([
      [
        'the whole Ephemera stack, configured from cdk.json context',
        'whole-stack',
        'gateway-bedrock',
      ],
      ...Object.entries(DOC_EXAMPLES).map(
        ([name, { heading, someBundle }]): [string, string, string] => [
          `docs/constructs.md, "${heading.replace(/^#+ /, '')}"`,
          name,
          someBundle,
        ],
      ),
    ])(
      '%s: every rule pack, no finding left, functions from prebuilt bundles',
      async (_title, name, someBundle) => {
        const c = consumer(which);
        const report =
          name === 'whole-stack' ? await c.wholeStack : (await c.docExamples)[name as DocExample];
        const { outdir, plugins, findings } = report;
        expect(findings).toEqual([]);
        expect(plugins.map((p) => p.name).sort()).toEqual([...RULE_PACKS].sort());
        expect(plugins.filter((p) => !p.success || p.error)).toEqual([]);
        const bundles = functionBundles(outdir, path.join(c.installed, 'dist', 'handlers'));
        expect(Object.values(bundles)).toContain(someBundle);
        expect(Object.entries(bundles).filter(([, b]) => b === '(not prebuilt)')).toEqual([]);
      },
      5 * MINUTES,
    );
  },
);

/**
 * A CloudFormation stand-in that answers DescribeStacks (the query protocol)
 * for one stack with the given outputs, and refuses everything else.
 */
async function startCloudFormation(
  stackName: string,
  outputs: Record<string, string>,
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (form.get('Action') !== 'DescribeStacks' || form.get('StackName') !== stackName) {
        res.writeHead(400, { 'Content-Type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack does not exist</Message></Error><RequestId>0</RequestId></ErrorResponse>',
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(
          ([k, v]) =>
            `<member><OutputKey>${xml(k)}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`,
        )
        .join('');
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${xml(stackName)}</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('the packaged keys CLI', () => {
  let stores: LocalStores;
  let kms: LocalKms;
  let cloudFormation: Awaited<ReturnType<typeof startCloudFormation>>;

  beforeAll(async () => {
    stores = await startLocalStores({ inMemory: true });
    kms = await startLocalKms({ credentials: stores.credentials });
    // The docs' composition's stack, deployed: its outputs, with the stand-ins' names as values.
    const values: Record<string, string> = {
      [KEY_TABLE_OUTPUT]: stores.names.keyTable,
      [HMAC_KEY_OUTPUT]: kms.hmacKeyArn.split('/').pop()!,
    };
    const report = (await consumer('oldest').docExamples)[KEYS_EXAMPLE];
    const written = report.outputs?.[KEYS_STACK] ?? [];
    cloudFormation = await startCloudFormation(
      KEYS_STACK,
      Object.fromEntries(written.filter((o) => o in values).map((o) => [o, values[o]])),
    );
  }, 5 * MINUTES);

  afterAll(async () => {
    await cloudFormation?.stop();
    await kms?.stop();
    await stores?.stop();
  });

  /** `npx ephemera-keys ...` in the consumer project, with the stand-ins' credentials and endpoints. */
  function keysCli(args: string[]): Promise<Run> {
    const env = cleanEnv();
    for (const k of Object.keys(env)) {
      if (/^AWS_/.test(k)) delete env[k];
    }
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: stores.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stores.credentials.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      // No profile of the machine's applies.
      AWS_CONFIG_FILE: path.join(work, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-aws-credentials'),
      AWS_ENDPOINT_URL_DYNAMODB: stores.ddbEndpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.endpoint,
    });
    return run('npx', ['--no-install', KEYS_CLI, ...args], consumer('oldest').dir, env);
  }

  /** The key a CLI run printed, checked as the gateway and the admin API check it. */
  async function verify(result: Run, scope: 'admin' | 'inference') {
    const key = /^EPHEMERA_KEY=(eph_\S+)$/m.exec(ok(result, KEYS_CLI))?.[1];
    expect(key).toBeDefined();
    const store = new KeyStore({
      ddb: stores.ddb,
      tableName: stores.names.keyTable,
      hasher: createKmsHasher({
        kms: new KMSClient({
          endpoint: kms.endpoint,
          region: LOCAL_REGION,
          credentials: stores.credentials,
        }),
        keyId: kms.hmacKeyArn,
      }),
    });
    return store.verify(`Bearer ${key}`, scope);
  }

  test(
    "creates an admin key that verifies, finding its target through the stack outputs the docs' composition writes",
    async () => {
      const report = (await consumer('oldest').docExamples)[KEYS_EXAMPLE];
      expect(report.outputs?.[KEYS_STACK]).toEqual(
        expect.arrayContaining([KEY_TABLE_OUTPUT, HMAC_KEY_OUTPUT]),
      );
      const created = await keysCli([
        'create',
        '--stack',
        KEYS_STACK,
        '--name',
        'ops',
        '--scope',
        'admin',
      ]);
      expect(created.stderr).toContain('Created API key');
      await expect(verify(created, 'admin')).resolves.toMatchObject({
        ok: true,
        scopes: ['admin'],
      });
    },
    2 * MINUTES,
  );

  test(
    'creates a key with --table and --hmac-key, and lists the keys',
    async () => {
      const created = await keysCli([
        'create',
        '--table',
        stores.names.keyTable,
        '--hmac-key',
        kms.hmacKeyArn,
        '--name',
        'app',
        '--scope',
        'inference',
      ]);
      await expect(verify(created, 'inference')).resolves.toMatchObject({ ok: true });
      await expect(verify(created, 'admin')).resolves.toMatchObject({ ok: false, status: 403 });
      const listed = ok(
        await keysCli(['list', '--table', stores.names.keyTable, '--hmac-key', kms.hmacKeyArn]),
        `${KEYS_CLI} list`,
      );
      expect(listed.split('\n').filter((l) => /\t(ops|app)\t/.test(l))).toHaveLength(2);
    },
    2 * MINUTES,
  );
});
