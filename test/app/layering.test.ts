/**
 * Dependencies point one way. The constructs (`lib/`) and the handlers
 * (`lambda/`) both build on `lib/core/`, which is plain TypeScript with no CDK
 * in it; neither reaches into the other, and the command-line tools in `bin/`
 * never reach into a handler.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every module specifier a file imports, re-exports or requires. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g;
  for (const m of text.matchAll(pattern)) found.push(m[2]);
  return found;
}

/** The repository-relative targets of a file's relative imports, and its package imports. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const spec of specifiers(text)) {
    if (spec.startsWith('.'))
      local.push(path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec)));
    else packages.push(spec);
  }
  return { local, packages };
}

const under = (target: string, folder: string) =>
  target === folder || target.startsWith(folder + path.sep);

function violations(files: string[], allowed: (target: string) => boolean): string[] {
  return files.flatMap((file) =>
    importsOf(file)
      .local.filter((t) => !allowed(t))
      .map((t) => `${file} imports ${t}`),
  );
}

describe('layering', () => {
  test('the specifier scanner sees every import form', () => {
    const text = [
      "import { a } from '../x';",
      "export * from './y';",
      "import './side-effect';",
      "const z = await import('../../z');",
      "const v = require('./v');",
    ].join('\n');
    expect(specifiers(text)).toEqual(['../x', './y', './side-effect', '../../z', './v']);
  });

  test('lib/core depends on nothing else in the repository, and not on the CDK', () => {
    const files = sources('lib/core');
    expect(files.length).toBeGreaterThan(5);
    expect(violations(files, (t) => under(t, 'lib/core'))).toEqual([]);
    const cdk = files.filter((f) =>
      importsOf(f).packages.some((p) => p === 'constructs' || p.startsWith('aws-cdk-lib')),
    );
    expect(cdk).toEqual([]);
  });

  test('the constructs never import handler code', () => {
    const files = sources('lib').filter((f) => !under(f, 'lib/core'));
    expect(violations(files, (t) => under(t, 'lib'))).toEqual([]);
  });

  test('handlers import only handler code and lib/core, never the constructs', () => {
    const files = sources('lambda');
    expect(violations(files, (t) => under(t, 'lambda') || under(t, 'lib/core'))).toEqual([]);
  });

  test('the command-line tools reach the stores through lib/core, never through a handler', () => {
    // A tool may be split into modules of its own (bin/preflight/, bin/smoke/).
    expect(violations(sources('bin'), (t) => under(t, 'lib') || under(t, 'bin'))).toEqual([]);
  });
});
