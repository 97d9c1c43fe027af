/**
 * The configuration table of docs/configuration.md, rendered from the schema:
 * one row per key, in schema order. `npx tsx bin/config-docs.ts` writes it
 * between the markers; a test checks that the file holds exactly this.
 */

import { CONFIG_SCHEMA, defaultTextOf, rangeOf, type Setting, SETTING_KEYS } from './config-schema';

export const CONFIG_TABLE_START = '<!-- config-table:start -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

export const CONFIG_TABLE_HEADER: readonly string[] = [
  'Key',
  'Default',
  'Range / values',
  'What it does',
];

/** The cells of each key's row, in schema order (Markdown, `|` not yet escaped). */
export function configTableRows(): string[][] {
  return SETTING_KEYS.map((key) => {
    const s: Setting<unknown> = CONFIG_SCHEMA[key];
    return [`\`${key}\``, defaultTextOf(s), rangeOf(s), s.description];
  });
}

const escapeCell = (cell: string) => cell.split('|').join('\\|');

/** The table as Markdown, its columns padded as Prettier pads them. */
export function renderConfigTable(): string {
  const rows = [CONFIG_TABLE_HEADER, ...configTableRows()].map((r) => r.map(escapeCell));
  const widths = CONFIG_TABLE_HEADER.map((_, i) => Math.max(3, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(rows[0]), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join(
    '\n',
  );
}

/** Where the text between `start` and `end` markers begins and ends in `doc`, or undefined without both. */
function markedSpan(
  doc: string,
  start: string,
  end: string,
): { start: number; end: number } | undefined {
  const open = doc.indexOf(start);
  const close = doc.indexOf(end);
  if (open < 0 || close < open) return undefined;
  return { start: open + start.length, end: close };
}

/**
 * `doc` with `body` between its `start` and `end` markers (a blank line on
 * each side, as Prettier keeps it); undefined when a marker is missing.
 */
export function withMarkedSection(
  doc: string,
  start: string,
  end: string,
  body: string,
): string | undefined {
  const span = markedSpan(doc, start, end);
  if (!span) return undefined;
  return `${doc.slice(0, span.start)}\n\n${body}\n\n${doc.slice(span.end)}`;
}

const tableSpan = (doc: string) => markedSpan(doc, CONFIG_TABLE_START, CONFIG_TABLE_END);

/** `doc` with the rendered table between its markers; undefined when a marker is missing. */
export function withConfigTable(doc: string): string | undefined {
  return withMarkedSection(doc, CONFIG_TABLE_START, CONFIG_TABLE_END, renderConfigTable());
}

/** Splits one table line into its cells, trimmed, with `\|` read as `|`. */
function cellsOf(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  const body = line.trim();
  for (let i = 1; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && body[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  return cells;
}

/**
 * The rows between the markers of `doc` as cells (header and delimiter row
 * left out), whatever their padding; undefined when a marker is missing.
 */
export function readConfigTable(doc: string): { header: string[]; rows: string[][] } | undefined {
  const span = tableSpan(doc);
  if (!span) return undefined;
  const lines = doc
    .slice(span.start, span.end)
    .split('\n')
    .filter((l) => l.trim().startsWith('|'));
  const [header = [], , ...rows] = lines.map(cellsOf);
  return { header, rows };
}
