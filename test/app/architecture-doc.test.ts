/**
 * docs/architecture.md stays true: every file or folder it names exists, and
 * every test it cites is a test file. (The "Add a configuration key" recipe is
 * checked against the code in test/core/config-key-recipe.test.ts.)
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');

/** The repository paths the page names in code spans (placeholders like `<name>` left out). */
const named = [...doc.matchAll(/`([^`\s]+)`/g)]
  .map((m) => m[1])
  .filter((p) => /^(lib|lambda|local|bin|test|api|docs|bench)\/|^cdk\.json$/.test(p))
  .filter((p) => !p.includes('<'));

test('the page names files and folders', () => {
  expect(named.length).toBeGreaterThan(40);
});

test.each([...new Set(named)])('%s exists', (p) => {
  expect(fs.existsSync(path.join(ROOT, p))).toBe(true);
});

test('every cited test is a test file', () => {
  const tests = named.filter((p) => p.startsWith('test/'));
  expect(tests.length).toBeGreaterThan(3);
  for (const t of tests) expect(t).toMatch(/\.test\.ts$/);
});
