/**
 * The public API is written down: api/ephemera.api.md lists every name
 * lib/index.ts exports with its signature, and is regenerated with
 * `npm run api-report` whenever the surface changes, so the change shows in
 * review. The generator itself is checked on a small module of every kind.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  apiReport,
  REGENERATE,
  REPORT,
  surface,
  type ApiReport,
  type Surface,
} from '../../bin/api-report';
import * as library from '../../lib/index';

const ROOT = path.join(__dirname, '..', '..');

/** The report's sections by heading (`name (kind)`), each with its text. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  let current: string | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      current = heading[1];
      found.set(current, '');
    } else if (current !== undefined) {
      found.set(current, found.get(current) + line + '\n');
    }
  }
  return found;
}

/** What differs between the committed report and the generated one, by section. */
function differences(committed: string, generated: string): string[] {
  const before = sections(committed);
  const after = sections(generated);
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  return names.flatMap((name) => {
    if (!before.has(name)) return [`+ ${name}: new`];
    if (!after.has(name)) return [`- ${name}: gone`];
    return before.get(name) === after.get(name) ? [] : [`~ ${name}: changed`];
  });
}

describe('the API report', () => {
  let report: ApiReport;

  beforeAll(async () => {
    report = await apiReport();
    console.log(
      `${REPORT}: lib/index.ts exports ${report.names.length} names ` +
        `(${report.unexported.length} more are named by the API without being exported)`,
    );
  }, 120_000);

  test(`${REPORT} is up to date`, () => {
    const file = path.join(ROOT, REPORT);
    if (!fs.existsSync(file)) throw new Error(`${REPORT} is missing: ${REGENERATE}`);
    const committed = fs.readFileSync(file, 'utf8');
    const changed = differences(committed, report.markdown);
    const problems =
      committed === report.markdown
        ? []
        : [
            `${REPORT} is out of date: ${REGENERATE}, and review the change to the public API`,
            ...(changed.length ? changed : ['(the text around the entries differs)']),
          ];
    expect(problems).toEqual([]);
  });

  test('lists every value lib/index.ts exports at run time, and nothing twice', () => {
    const names = report.names.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(library).filter((name) => !names.includes(name))).toEqual([]);
  });

  test('exports no implementation constant: every SCREAMING_CASE export is one the docs name', () => {
    // Implementation constants (timeouts, priorities, retention periods,
    // runtime versions) stay in their modules, where tests import them.
    const constants = report.names
      .map((n) => n.name)
      .filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name))
      .sort();
    expect(constants).toEqual(['CONFIG_DEFAULTS', 'CUSTOMER_INDEX', 'RECEIPT_STORES']);
  });
});

describe('the report generator', () => {
  const FIXTURE = `
    export interface WidgetProps {
      /** a comment that is left out */
      readonly size?: number;
      readonly name: string;
    }
    export interface IWidget { readonly id: string; grantRead(who: string): boolean; }
    abstract class WidgetBase { abstract readonly id: string; }
    export class Widget extends WidgetBase implements IWidget {
      static fromId(id: string): IWidget { return { id, grantRead: () => true }; }
      readonly id: string;
      protected readonly hidden = 1;
      private readonly secret = 2;
      #alsoSecret = 3;
      constructor(scope: object, id: string, props: WidgetProps) { super(); this.id = id + String(scope) + props.name + this.secret + this.#alsoSecret; }
      get label(): string { return this.id; }
      grantRead(_who: string): boolean { return true; }
    }
    export class Plain { constructor(readonly size: number, private readonly hidden?: string) {} run(): void {} }
    export function make(size: number, name = 'w'): Widget;
    export function make(props: WidgetProps): Widget;
    export function make(a: unknown, _b?: string): Widget { return new Widget({}, 'w', a as WidgetProps); }
    export const LIMIT = 4;
    export const NAMES = ['a', 'b'] as const;
    export type Shape = 'round' | /* comment */ 'square';
    export enum Mode { ON = 'on', OFF = 'off' }
    export { Widget as Renamed };
  `;

  let found: Surface;

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-report-'));
    try {
      fs.mkdirSync(path.join(dir, 'lib'));
      fs.writeFileSync(path.join(dir, 'lib', 'index.ts'), FIXTURE);
      found = surface(dir, 'lib/index.ts');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writes each kind of export as a declaration, sorted by name, without comments or private members', () => {
    const byName = Object.fromEntries(found.names.map((n) => [n.name, n]));
    expect(found.names.map((n) => n.name)).toEqual([
      'IWidget',
      'LIMIT',
      'Mode',
      'NAMES',
      'Plain',
      'Renamed',
      'Shape',
      'Widget',
      'WidgetProps',
      'make',
    ]);
    expect(byName.Widget.kinds).toEqual(['class']);
    expect(byName.Widget.text).toBe(
      [
        'declare class Widget extends WidgetBase implements IWidget {',
        '  constructor(scope: object, id: string, props: WidgetProps);',
        '  static fromId(id: string): IWidget;',
        '  readonly id: string;',
        '  protected readonly hidden: 1;',
        '  readonly label: string;',
        '  grantRead(_who: string): boolean;',
        '}',
      ].join('\n'),
    );
    expect(byName.Renamed.text).toBe(byName.Widget.text.replace('class Widget', 'class Renamed'));
    expect(byName.Plain.text).toBe(
      [
        'declare class Plain {',
        '  constructor(size: number, hidden?: string);',
        '  readonly size: number;',
        '  run(): void;',
        '}',
      ].join('\n'),
    );
    expect(byName.WidgetProps.text).toBe(
      [
        'interface WidgetProps {',
        '  readonly size?: number;',
        '  readonly name: string;',
        '}',
      ].join('\n'),
    );
    expect(byName.make.text).toBe(
      [
        'declare function make(size: number, name?: string): Widget;',
        'declare function make(props: WidgetProps): Widget;',
      ].join('\n\n'),
    );
    expect(byName.LIMIT.text).toBe('declare const LIMIT: 4;');
    expect(byName.NAMES.text).toBe("declare const NAMES: readonly ['a', 'b'];");
    expect(byName.Shape.text).toBe("type Shape = 'round' | 'square';");
    expect(byName.Mode.text).toBe(
      ['declare enum Mode {', "  ON = 'on',", "  OFF = 'off',", '}'].join('\n'),
    );
  });

  test('names the types the declarations use that are not exported', () => {
    expect(found.unexported).toEqual([
      { name: 'WidgetBase', file: 'lib/index.ts', referencedBy: ['Renamed', 'Widget'] },
    ]);
  });
});
