/**
 * Keeps the documentation usable: the README stays short and links to every
 * page in docs/, every relative link (and #anchor) resolves, the README's
 * promise table lists P1 to P10 once each, the receipt commands in
 * docs/http-api.md are the ones the worker test runs, and nothing in the
 * repository points at a file outside it.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const README = 'README.md';
// The README is the user's first page: quick start, architecture, API, promises,
// deploy and data residency; everything else is linked.
const README_MAX_BYTES = 13 * 1024;

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

function walk(dir: string, keep: (name: string) => boolean): string[] {
  if (!fs.existsSync(path.join(ROOT, dir))) return [];
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory())
      return ['node_modules', '__snapshots__', 'results'].includes(e.name) ? [] : walk(rel, keep);
    return keep(e.name) ? [rel] : [];
  });
}

const DOC_PAGES = walk('docs', (n) => n.endsWith('.md')).sort();
const MARKDOWN = [README, ...DOC_PAGES];
const CODE_DIRS = ['lib', 'lambda', 'bin', 'local', 'bench', 'test'];
const CODE = CODE_DIRS.flatMap((d) =>
  walk(d, (n) => /\.(ts|js|mjs|cjs)$/.test(n) && !n.endsWith('.d.ts')),
);

/** Markdown with fenced code blocks blanked out (line count kept). */
function withoutFences(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** GitHub's heading anchor: lowercase, punctuation dropped (not hyphens), spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a markdown file's headings make, duplicates numbered as GitHub does. */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of withoutFences(read(file)).split('\n')) {
    const m = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The targets of a markdown file's inline and reference links, code left out. */
function linksOf(file: string): string[] {
  const text = withoutFences(read(file)).replace(/`[^`\n]*`/g, 'code');
  const inline = [...text.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const reference = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...reference].map((m) => m[1]);
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

const insideRepo = (abs: string) => {
  const rel = path.relative(ROOT, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** What is wrong with one relative link from `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  const [rawPath, anchor] = target.split('#', 2);
  const filePart = decodeURIComponent(rawPath);
  const abs = filePart ? path.resolve(ROOT, path.dirname(file), filePart) : path.join(ROOT, file);
  if (!insideRepo(abs)) return `${file}: ${target} points outside the repository`;
  if (!fs.existsSync(abs)) return `${file}: ${target} does not exist`;
  if (anchor === undefined) return undefined;
  const targetFile = path.relative(ROOT, abs);
  if (!targetFile.endsWith('.md'))
    return `${file}: ${target} has an anchor into a non-markdown file`;
  if (!anchorsOf(targetFile).has(anchor))
    return `${file}: ${target} names no heading in ${targetFile}`;
  return undefined;
}

/** `./x` and `../x` paths written in a text, with where they resolve from `file`. */
function relativePathsIn(file: string, text: string): { token: string; abs: string }[] {
  return [...text.matchAll(/(?<![\w./@-])\.{1,2}\/[\w@./-]*/g)].map((m) => ({
    token: m[0],
    abs: path.resolve(ROOT, path.dirname(file), m[0]),
  }));
}

/** Module specifiers a source file imports, re-exports or requires. */
function specifiersOf(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g;
  return [...text.matchAll(pattern)].map((m) => m[2]);
}

/** The comment text of a source file (line and block comments, roughly). */
function commentsOf(text: string): string {
  const block = [...text.matchAll(/\/\*[\s\S]*?\*\//g)].map((m) => m[0]);
  const line = [...text.matchAll(/(?:^|[^:'"`\w])\/\/(.*)$/gm)].map((m) => m[1]);
  return [...block, ...line].join('\n');
}

// Files that live beside the project elsewhere, never in this repository. Spelled in
// pieces so this test does not name them itself.
const OUTSIDE_NAMES = [
  new RegExp(`\\b${'DESIGN'}\\.md\\b`, 'i'),
  new RegExp(`\\b${'STYLE'}\\.md\\b`, 'i'),
  new RegExp(`(?<![\\w-])${'seeds'}/`, 'i'),
];

describe('README', () => {
  test(`is under ${README_MAX_BYTES} bytes`, () => {
    expect(fs.statSync(path.join(ROOT, README)).size).toBeLessThan(README_MAX_BYTES);
  });

  test('links to every page in docs/', () => {
    const targets = new Set(
      linksOf(README)
        .filter((t) => !isExternal(t))
        .map((t) => path.normalize(t.split('#')[0])),
    );
    expect(DOC_PAGES.length).toBeGreaterThan(0);
    expect(DOC_PAGES.filter((page) => !targets.has(page))).toEqual([]);
  });

  test('its promise table lists P1 to P10, each exactly once', () => {
    const ids = read(README)
      .split('\n')
      .map((line) => /^\|\s*(P\d+)\s*\|/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `P${i + 1}`).sort());
  });
});

describe('docs pages', () => {
  test.each(DOC_PAGES)('%s starts with a title, a one-line purpose and a link back', (page) => {
    const [title, blank, purpose] = read(page).split('\n');
    expect(title).toMatch(/^# \S/);
    expect(blank).toBe('');
    expect(purpose).toContain('](../README.md)');
  });

  test('docs/configuration.md holds only the configuration table between its markers', () => {
    const text = read('docs/configuration.md');
    const lines = text.split('\n');
    const start = lines.indexOf('<!-- config-table:start -->');
    const end = lines.indexOf('<!-- config-table:end -->');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    expect(text.split('config-table:start').length).toBe(2);
    expect(text.split('config-table:end').length).toBe(2);
    const between = lines.slice(start + 1, end).filter((l) => l.trim() !== '');
    expect(between.length).toBeGreaterThan(2);
    expect(between.filter((l) => !l.startsWith('|'))).toEqual([]);
    expect(between[0]).toMatch(/^\|\s*Key\s*\|/);
  });

  test('the receipt commands in docs/http-api.md are the ones the worker test runs', () => {
    const doc = read('docs/http-api.md');
    const block = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)]
      .map((m) => m[1])
      .find((b) => b.includes('openssl dgst -sha256 -verify'));
    expect(block).toBeDefined();
    const commands = block!
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(openssl|jq) /.test(l));
    expect(commands.length).toBeGreaterThanOrEqual(4);
    const workerTest = read('test/lambda/deletion-worker/worker.test.ts');
    expect(commands.filter((c) => !workerTest.includes(c))).toEqual([]);
  });
});

describe('links', () => {
  test('the slug rule matches GitHub on the headings used here', () => {
    expect(slug('Private front door (PrivateLink)')).toBe('private-front-door-privatelink');
    expect(slug("Ephemera's own rule pack: retention and transport (`EphemeraRT`)")).toBe(
      'ephemeras-own-rule-pack-retention-and-transport-ephemerart',
    );
    expect(slug('Errors, headers and limits')).toBe('errors-headers-and-limits');
    expect(slug('Data at rest')).toBe('data-at-rest');
  });

  test.each(MARKDOWN)('every relative link in %s resolves, anchors included', (file) => {
    const relative = linksOf(file).filter((t) => !isExternal(t));
    expect(relative.map((t) => brokenLink(file, t)).filter(Boolean)).toEqual([]);
  });
});

describe('nothing points outside the repository', () => {
  test('the scanners see what they look for', () => {
    expect(linksOf(README).length).toBeGreaterThan(5);
    expect(CODE.length).toBeGreaterThan(50);
    const outside = relativePathsIn('lambda/gateway/handler.ts', 'see ../../../shared/x');
    expect(outside.every((p) => !insideRepo(p.abs))).toBe(true);
    const inside = relativePathsIn('lambda/gateway/handler.ts', "from '../shared/http-event'");
    expect(inside.every((p) => insideRepo(p.abs))).toBe(true);
  });

  test('markdown: no path that resolves outside, and no outside file named', () => {
    const found = MARKDOWN.flatMap((file) => {
      const text = read(file);
      return [
        ...relativePathsIn(file, text)
          .filter((p) => !insideRepo(p.abs))
          .map((p) => `${file}: ${p.token}`),
        ...OUTSIDE_NAMES.filter((re) => re.test(text)).map((re) => `${file}: ${re}`),
      ];
    });
    expect(found).toEqual([]);
  });

  test('code: imports and comments stay inside, and no outside file is named', () => {
    const found = CODE.flatMap((file) => {
      const text = read(file);
      const imports = specifiersOf(text)
        .filter((s) => s.startsWith('.'))
        .filter((s) => !insideRepo(path.resolve(ROOT, path.dirname(file), s)))
        .map((s) => `${file} imports ${s}`);
      const comments = relativePathsIn(file, commentsOf(text))
        .filter((p) => !insideRepo(p.abs))
        .map((p) => `${file} mentions ${p.token}`);
      const names = OUTSIDE_NAMES.filter((re) => re.test(text)).map((re) => `${file}: ${re}`);
      return [...imports, ...comments, ...names];
    });
    expect(found).toEqual([]);
  });
});
