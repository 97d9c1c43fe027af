#!/usr/bin/env node
/**
 * Writes the sections of the documentation that are rendered from code, each
 * between its start and end markers; nothing outside the markers changes:
 * - docs/configuration.md's configuration table, from the configuration schema
 *   (lib/core/config-schema.ts);
 * - the README's data-residency map, from the inference-profile table the
 *   synth check uses (lib/core/bedrock-regions.ts).
 *
 *   npx tsx bin/config-docs.ts           write them
 *   npx tsx bin/config-docs.ts --check   exit 1 if one is out of date
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, withConfigTable } from '../lib/core/config-table';
import {
  RESIDENCY_MAP_END,
  RESIDENCY_MAP_START,
  withResidencyMap,
} from '../lib/core/residency-map';

const ROOT = path.join(__dirname, '..');

const SECTIONS = [
  {
    file: 'docs/configuration.md',
    what: 'the configuration table',
    markers: `${CONFIG_TABLE_START} and ${CONFIG_TABLE_END}`,
    write: withConfigTable,
  },
  {
    file: 'README.md',
    what: 'the data-residency map',
    markers: `${RESIDENCY_MAP_START} and ${RESIDENCY_MAP_END}`,
    write: withResidencyMap,
  },
];

function main(argv: string[]): number {
  const check = argv.includes('--check');
  let status = 0;
  for (const { file, what, markers, write } of SECTIONS) {
    const full = path.join(ROOT, file);
    if (!fs.existsSync(full)) {
      process.stderr.write(`${file} does not exist\n`);
      status = 1;
      continue;
    }
    const doc = fs.readFileSync(full, 'utf8');
    const next = write(doc);
    if (next === undefined) {
      process.stderr.write(`${file} needs the markers ${markers}\n`);
      status = 1;
    } else if (next === doc) {
      process.stdout.write(`${file}: ${what} is up to date\n`);
    } else if (check) {
      process.stderr.write(`${file}: ${what} is out of date: run \`npx tsx bin/config-docs.ts\`\n`);
      status = 1;
    } else {
      fs.writeFileSync(full, next);
      process.stdout.write(`${file}: ${what} written\n`);
    }
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
