#!/usr/bin/env node
/**
 * Writes the configuration table of docs/configuration.md (between its
 * `<!-- config-table:start -->` and `<!-- config-table:end -->` markers) from
 * the configuration schema, lib/core/config-schema.ts. Nothing outside the
 * markers changes.
 *
 *   npx tsx bin/config-docs.ts           write the table
 *   npx tsx bin/config-docs.ts --check   exit 1 if the table is out of date
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, withConfigTable } from '../lib/core/config-table';

const FILE = path.join(__dirname, '..', 'docs', 'configuration.md');

function main(argv: string[]): number {
  const check = argv.includes('--check');
  if (!fs.existsSync(FILE)) {
    process.stderr.write(`${FILE} does not exist\n`);
    return 1;
  }
  const doc = fs.readFileSync(FILE, 'utf8');
  const next = withConfigTable(doc);
  if (next === undefined) {
    process.stderr.write(
      `${FILE} needs the markers ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END}\n`,
    );
    return 1;
  }
  if (next === doc) {
    process.stdout.write('docs/configuration.md: the configuration table is up to date\n');
    return 0;
  }
  if (check) {
    process.stderr.write(
      'docs/configuration.md: the configuration table is out of date: run `npx tsx bin/config-docs.ts`\n',
    );
    return 1;
  }
  fs.writeFileSync(FILE, next);
  process.stdout.write('docs/configuration.md: configuration table written\n');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
