/**
 * The recipe "add a configuration key that reaches the gateway"
 * (docs/architecture.md) touches at most four production files: cdk.json,
 * the schema, the gateway's environment contract, and the code that uses the
 * value. lib/config.ts, the stack and the construct pass every setting on
 * without naming it (`EphemeraConfig.settings`, `InferenceGateway`'s
 * `settings`), and local mode builds the gateway's environment through the
 * same contract. `maxImagesPerRequest` is the key this test follows.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** The production sources: lib, lambda, local and bin, and cdk.json. */
function productionFiles(): string[] {
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) return walk(rel);
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
    });
  return [...['lib', 'lambda', 'local', 'bin'].flatMap(walk), 'cdk.json'];
}

const naming = (pattern: RegExp): string[] =>
  productionFiles()
    .filter((f) => pattern.test(fs.readFileSync(path.join(ROOT, f), 'utf8')))
    .sort();

test('a configuration key that reaches the gateway is named in four production files', () => {
  expect(naming(/maxImagesPerRequest|MAX_IMAGES_PER_REQUEST/)).toEqual([
    // 1. its value in the app's configuration
    'cdk.json',
    // 4. the code that uses it (config.maxImagesPerRequest)
    'lambda/gateway/routes/image-generations.ts',
    // 2. the schema: default, range, description
    'lib/core/config-schema.ts',
    // 3. the gateway's contract: settingInt('maxImagesPerRequest', 'MAX_IMAGES_PER_REQUEST')
    'lib/core/env/gateway.ts',
  ]);
});

test('the recipe in docs/architecture.md names exactly those files, in its four steps', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc
    .split('### Add a configuration key that reaches the gateway')[1]
    .split('###')[0];
  const steps = [...section.matchAll(/^\d+\. `([^`]+)`/gm)].map((m) => m[1]);
  expect(steps).toEqual([
    'lib/core/config-schema.ts',
    'cdk.json',
    'lib/core/env/gateway.ts',
    'lambda/gateway/',
  ]);
  const files = naming(/maxImagesPerRequest|MAX_IMAGES_PER_REQUEST/);
  expect(files).toHaveLength(steps.length);
  for (const file of files) expect(steps.some((step) => file.startsWith(step))).toBe(true);
});

test('the environment variable itself is named in the contract only', () => {
  expect(naming(/MAX_IMAGES_PER_REQUEST/)).toEqual(['lib/core/env/gateway.ts']);
});
