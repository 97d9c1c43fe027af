/**
 * The configuration schema (lib/core/config-schema.ts) is the one source of
 * truth for every context key: cdk.json, CONFIG_DEFAULTS, the keys the app
 * reads and the configuration table of docs/configuration.md are checked
 * against it here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { buildApp, cdkJsonContext, DEFAULT_REGION } from '../../lib/app';
import { CONFIG_DEFAULTS, readConfig } from '../../lib/config';
import {
  CONFIG_SCHEMA,
  LOG_RETENTION_PERIODS,
  type Setting,
  SETTING_KEYS,
  TLS_VERSION_VALUES,
} from '../../lib/core/config-schema';
import {
  CONFIG_TABLE_END,
  CONFIG_TABLE_HEADER,
  CONFIG_TABLE_START,
  configTableRows,
  readConfigTable,
  renderConfigTable,
  withConfigTable,
} from '../../lib/core/config-table';
import { TlsVersions } from '../../lib/tls-load-balancer';

const ROOT = path.join(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs', 'configuration.md');
const REGENERATE = 'run `npx tsx bin/config-docs.ts` to write it from lib/core/config-schema.ts';

const settings = (): Array<[string, Setting<unknown>]> =>
  SETTING_KEYS.map((k) => [k, CONFIG_SCHEMA[k]]);

/** cdk.json's context without CDK's feature flags (`@aws-cdk/...`, `@aws-cdk-containers/...`). */
const configContext = () =>
  Object.fromEntries(Object.entries(cdkJsonContext()).filter(([k]) => !k.startsWith('@aws-cdk')));

describe('cdk.json', () => {
  test('holds exactly the schema keys', () => {
    expect(Object.keys(configContext()).sort()).toEqual([...SETTING_KEYS].sort());
  });

  test('sets every key to its schema default', () => {
    const defaults = Object.fromEntries(settings().map(([k, s]) => [k, s.default]));
    expect(configContext()).toEqual(defaults);
  });
});

describe('the schema', () => {
  test('CONFIG_DEFAULTS is the defaults of every key but the app-level ones', () => {
    const stackKeys = settings().filter(([, s]) => !s.app);
    expect(CONFIG_DEFAULTS).toEqual(Object.fromEntries(stackKeys.map(([k, s]) => [k, s.default])));
    expect(
      settings()
        .filter(([, s]) => s.app)
        .map(([k]) => k),
    ).toEqual(['region', 'account', 'stackName']);
  });

  test('every key the code reads by name is in the schema', () => {
    const read = new Set<string>();
    const scan = (dir: string) => {
      for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) scan(rel);
        else if (e.name.endsWith('.ts')) {
          const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
          for (const m of text.matchAll(/tryGetContext\(\s*'([^']+)'\s*\)/g)) read.add(m[1]);
        }
      }
    };
    scan('lib');
    scan('bin');
    expect([...read].filter((k) => !(k in CONFIG_SCHEMA))).toEqual([]);
    expect(read.size).toBeGreaterThan(0);
  });

  test('every default passes its own rule (or is the empty "not set")', () => {
    for (const [key, s] of settings()) {
      const unset = s.blankIsDefault && s.default === '';
      expect([key, unset ? undefined : s.rule.check(s.default)]).toEqual([key, undefined]);
    }
    expect(() => readConfig(new App({ context: configContext() }))).not.toThrow();
  });

  test('the app-level defaults are what the app does', () => {
    const before = process.env.CDK_DEFAULT_REGION;
    delete process.env.CDK_DEFAULT_REGION;
    try {
      const { stack } = buildApp({
        outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-schema-')),
        context: { 'aws:cdk:bundling-stacks': [] },
      });
      expect(stack.stackName).toBe(CONFIG_SCHEMA.stackName.default);
      expect(stack.region).toBe(DEFAULT_REGION);
      expect(CONFIG_SCHEMA.region.defaultText).toContain(`\`${DEFAULT_REGION}\``);
    } finally {
      if (before !== undefined) process.env.CDK_DEFAULT_REGION = before;
    }
  });

  test("CloudWatch Logs' periods and the TLS choices are CDK's", () => {
    const cdkPeriods = Object.values(logs.RetentionDays).filter(
      (v): v is number => typeof v === 'number' && v > 0 && v !== logs.RetentionDays.INFINITE,
    );
    expect([...LOG_RETENTION_PERIODS]).toEqual(cdkPeriods);
    expect([...TLS_VERSION_VALUES]).toEqual(Object.values(TlsVersions));
  });

  test('problems never repeat a value that may hold a secret', () => {
    for (const [key, value] of [
      ['upstreamBaseUrl', 'https://svc:CANARY-1@llm.example.com?x'],
      ['receiptWebhookUrl', 'https://svc:CANARY-2@hooks.example.com'],
      ['receiptWebhookUrl', 'http://hooks.example.com/CANARY-3'],
    ]) {
      let message = '';
      try {
        readConfig(new App({ context: { [key]: value } }));
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`\n  - ${key} must `);
      expect(message).not.toContain('CANARY');
    }
  });
});

describe('docs/configuration.md', () => {
  test('its configuration table is the rendering of the schema', () => {
    if (!fs.existsSync(DOCS)) throw new Error(`docs/configuration.md is missing: ${REGENERATE}`);
    const doc = fs.readFileSync(DOCS, 'utf8');
    const table = readConfigTable(doc);
    if (!table) {
      throw new Error(
        `docs/configuration.md needs the lines ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END} around its configuration table; then ${REGENERATE}`,
      );
    }
    const expected = configTableRows();
    const differences = [
      ...(JSON.stringify(table.header) === JSON.stringify(CONFIG_TABLE_HEADER)
        ? []
        : [`header: ${table.header.join(' | ')}`]),
      ...Array.from({ length: Math.max(expected.length, table.rows.length) }, (_, i) => i)
        .filter((i) => JSON.stringify(table.rows[i]) !== JSON.stringify(expected[i]))
        .map(
          (i) =>
            `row ${i + 1}: the file has ${JSON.stringify(table.rows[i] ?? null)}, the schema renders ${JSON.stringify(expected[i] ?? null)}`,
        ),
    ];
    if (differences.length > 0) {
      throw new Error(
        `docs/configuration.md's configuration table differs from the schema: ${REGENERATE}\n` +
          differences.slice(0, 5).join('\n'),
      );
    }
  });

  test('one row per key, in schema order, keys and defaults in backticks', () => {
    const rows = configTableRows();
    expect(rows.map((r) => r[0])).toEqual(SETTING_KEYS.map((k) => `\`${k}\``));
    for (const [, def, range, description] of rows) {
      expect(def).toMatch(/`/);
      expect(range.length).toBeGreaterThan(0);
      expect(description.length).toBeGreaterThan(0);
    }
  });

  test('the generator rewrites only what lies between the markers', () => {
    const doc = `# T\n\nbefore\n\n${CONFIG_TABLE_START}\n\nold | table\n\n${CONFIG_TABLE_END}\n\nafter\n`;
    expect(withConfigTable(doc)).toBe(
      `# T\n\nbefore\n\n${CONFIG_TABLE_START}\n\n${renderConfigTable()}\n\n${CONFIG_TABLE_END}\n\nafter\n`,
    );
    expect(withConfigTable('# no markers\n')).toBeUndefined();
    const written = withConfigTable(doc)!;
    expect(withConfigTable(written)).toBe(written);
    expect(readConfigTable(written)?.rows).toEqual(configTableRows());
  });
});
