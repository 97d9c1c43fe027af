#!/usr/bin/env node
/**
 * Writes the API report, api/ephemera.api.md: every name the package exports
 * (lib/index.ts) with its kind and signature, sorted by name, so that every
 * change to the public surface shows in review as a change to that file.
 *
 *   npx tsx bin/api-report.ts           write it (npm run api-report)
 *   npx tsx bin/api-report.ts --check   exit 1 if it is out of date
 *
 * Each entry is written as a declaration: a class with its base, constructor
 * and public and protected members; an interface with its members; a function
 * with its signatures; a constant with its type; a type alias with its text;
 * an enum with its members. A type written in the source is shown as written;
 * a type the compiler infers is shown as the compiler prints it. Comments are
 * left out. The report is built from the sources even while they have type
 * errors, so it can be regenerated at any point of a refactor.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as estree from 'prettier/plugins/estree';
import * as markdown from 'prettier/plugins/markdown';
import * as typescript from 'prettier/plugins/typescript';
import { format } from 'prettier/standalone';
import type { Options } from 'prettier';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
export const ENTRY = 'lib/index.ts';
export const REPORT = 'api/ephemera.api.md';
export const REGENERATE = 'run `npm run api-report` to regenerate it';

const TYPE_FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

export interface ExportedName {
  readonly name: string;
  /** class, interface, function, const, let, type, enum or namespace; merged names have several. */
  readonly kinds: readonly string[];
  /** Declarations without comments, as TypeScript. */
  readonly text: string;
}

export interface ApiReport extends Surface {
  /** The report's markdown, formatted as the repository's Prettier configuration wants it. */
  readonly markdown: string;
}

/** Whitespace runs collapsed: a type written over several lines is shown on one. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

const printer = ts.createPrinter({ removeComments: true });

/** A node's source text without its comments, on one line. */
const textOf = (node: ts.Node) =>
  oneLine(printer.printNode(ts.EmitHint.Unspecified, node, node.getSourceFile()));

const hasBody = (node: ts.Node) => (node as { body?: ts.Node }).body !== undefined;

/** Prints declarations of one program; holds its checker. */
class Declarations {
  private readonly rootPath: string;

  constructor(
    private readonly checker: ts.TypeChecker,
    root: string,
  ) {
    this.rootPath = root.split(path.sep).join('/');
  }

  /** Paths of types the compiler cannot name are written relative to the repository. */
  private clean(text: string): string {
    return oneLine(text.split(this.rootPath + '/').join('./'));
  }

  private typeText(type: ts.Type, at: ts.Node): string {
    return this.clean(this.checker.typeToString(type, at, TYPE_FLAGS));
  }

  /** A node's type as written, or as inferred when the source writes none. */
  typeOf(node: ts.Node & { type?: ts.TypeNode }): string {
    if (node.type) return textOf(node.type);
    return this.typeText(this.checker.getTypeAtLocation(node), node);
  }

  returnOf(decl: ts.SignatureDeclaration): string {
    if (decl.type) return textOf(decl.type);
    const sig = this.checker.getSignatureFromDeclaration(decl);
    return sig ? this.typeText(this.checker.getReturnTypeOfSignature(sig), decl) : 'unknown';
  }

  parameter(param: ts.ParameterDeclaration): string {
    const rest = param.dotDotDotToken ? '...' : '';
    const optional = param.questionToken || param.initializer ? '?' : '';
    return `${rest}${textOf(param.name)}${optional}: ${this.typeOf(param)}`;
  }

  parameters(decl: ts.SignatureDeclaration): string {
    return decl.parameters
      .filter((param) => !(ts.isIdentifier(param.name) && param.name.text === 'this'))
      .map((param) => this.parameter(param))
      .join(', ');
  }

  typeParameters(node: { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }): string {
    const params = node.typeParameters ?? [];
    return params.length ? `<${params.map((p) => textOf(p)).join(', ')}>` : '';
  }

  heritage(node: ts.ClassLikeDeclaration | ts.InterfaceDeclaration): string {
    return (node.heritageClauses ?? [])
      .map((h) => {
        const word = h.token === ts.SyntaxKind.ExtendsKeyword ? 'extends' : 'implements';
        return ` ${word} ${h.types.map((t) => textOf(t)).join(', ')}`;
      })
      .join('');
  }

  /** The constructors a class offers, its own or the ones it inherits. */
  constructors(symbol: ts.Symbol, decl: ts.ClassLikeDeclaration): string[] {
    const own = decl.members.filter(ts.isConstructorDeclaration);
    const declared = own.some((c) => !hasBody(c)) ? own.filter((c) => !hasBody(c)) : own;
    if (declared.length) {
      return declared
        .filter((c) => !(modifierFlags(c) & ts.ModifierFlags.Private))
        .map((c) => `${visibility(c)}constructor(${this.parameters(c)});`);
    }
    const type = this.checker.getTypeOfSymbolAtLocation(symbol, decl);
    return this.checker.getSignaturesOfType(type, ts.SignatureKind.Construct).map((sig) => {
      const params = sig.parameters.map((p) => {
        const pd = p.valueDeclaration;
        if (pd && ts.isParameter(pd)) return this.parameter(pd);
        return `${p.name}: ${this.typeText(this.checker.getTypeOfSymbolAtLocation(p, decl), decl)}`;
      });
      return `constructor(${params.join(', ')});`;
    });
  }

  /** A member's line, or undefined when it is not part of the surface. */
  member(member: ts.ClassElement | ts.TypeElement): string | undefined {
    const flags = modifierFlags(member);
    if (flags & ts.ModifierFlags.Private) return undefined;
    if (member.name && ts.isPrivateIdentifier(member.name)) return undefined;
    if (ts.isConstructorDeclaration(member) || ts.isClassStaticBlockDeclaration(member))
      return undefined;
    const prefix = [
      visibility(member),
      flags & ts.ModifierFlags.Static ? 'static ' : '',
      flags & ts.ModifierFlags.Abstract ? 'abstract ' : '',
      flags & ts.ModifierFlags.Readonly ? 'readonly ' : '',
    ].join('');
    const name = member.name ? textOf(member.name) : '';
    const optional = (member as { questionToken?: ts.Node }).questionToken ? '?' : '';
    if (ts.isPropertyDeclaration(member) || ts.isPropertySignature(member)) {
      return `${prefix}${name}${optional}: ${this.typeOf(member)};`;
    }
    if (ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) {
      // An overloaded method shows its overloads, not its implementation.
      if (hasBody(member) && overloaded(member)) return undefined;
      const params = this.parameters(member);
      return `${prefix}${name}${optional}${this.typeParameters(member)}(${params}): ${this.returnOf(member)};`;
    }
    if (ts.isCallSignatureDeclaration(member)) {
      return `${this.typeParameters(member)}(${this.parameters(member)}): ${this.returnOf(member)};`;
    }
    if (ts.isConstructSignatureDeclaration(member)) {
      return `new ${this.typeParameters(member)}(${this.parameters(member)}): ${this.returnOf(member)};`;
    }
    if (ts.isIndexSignatureDeclaration(member)) {
      return `${prefix}[${this.parameters(member)}]: ${this.returnOf(member)};`;
    }
    if (ts.isGetAccessorDeclaration(member)) {
      const settable = siblings(member).some(
        (m) => ts.isSetAccessorDeclaration(m) && m.name.getText() === name,
      );
      return `${prefix}${settable ? '' : 'readonly '}${name}: ${this.returnOf(member)};`;
    }
    if (ts.isSetAccessorDeclaration(member)) {
      const readable = siblings(member).some(
        (m) => ts.isGetAccessorDeclaration(m) && m.name.getText() === name,
      );
      return readable ? undefined : `${prefix}set ${name}(${this.parameters(member)});`;
    }
    return undefined;
  }

  /** Parameter properties (`constructor(readonly x: T)`) that are not private. */
  parameterProperties(ctor: ts.ConstructorDeclaration): string[] {
    return ctor.parameters
      .filter((param) => ts.isParameterPropertyDeclaration(param, ctor))
      .filter((param) => !(modifierFlags(param) & ts.ModifierFlags.Private))
      .map((param) => {
        const readonly = modifierFlags(param) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
        const optional = param.questionToken || param.initializer ? '?' : '';
        return `${visibility(param)}${readonly}${textOf(param.name)}${optional}: ${this.typeOf(param)};`;
      });
  }

  members(members: readonly (ts.ClassElement | ts.TypeElement)[]): string[] {
    return members.flatMap((m) => {
      if (ts.isConstructorDeclaration(m)) return hasBody(m) ? this.parameterProperties(m) : [];
      const line = this.member(m);
      return line === undefined ? [] : [line];
    });
  }

  /** The declarations behind one exported name, each as TypeScript. */
  declarations(name: string, symbol: ts.Symbol): { kinds: string[]; text: string } {
    const kinds: string[] = [];
    const blocks: string[] = [];
    const decls = symbol.declarations ?? [];
    const block = (kind: string, text: string) => {
      if (!kinds.includes(kind)) kinds.push(kind);
      blocks.push(text);
    };
    const body = (lines: string[]) =>
      lines.length ? `{\n${lines.map((l) => `  ${l}`).join('\n')}\n}` : '{}';

    for (const decl of decls) {
      if (ts.isClassDeclaration(decl)) {
        const abstract = modifierFlags(decl) & ts.ModifierFlags.Abstract ? 'abstract ' : '';
        const lines = [...this.constructors(symbol, decl), ...this.members(decl.members)];
        block(
          'class',
          `declare ${abstract}class ${name}${this.typeParameters(decl)}${this.heritage(decl)} ${body(lines)}`,
        );
      } else if (ts.isInterfaceDeclaration(decl)) {
        block(
          'interface',
          `interface ${name}${this.typeParameters(decl)}${this.heritage(decl)} ${body(this.members(decl.members))}`,
        );
      } else if (ts.isFunctionDeclaration(decl)) {
        // Overloads: the signatures without a body; otherwise the one declaration.
        if (hasBody(decl) && decls.some((d) => ts.isFunctionDeclaration(d) && !hasBody(d)))
          continue;
        block(
          'function',
          `declare function ${name}${this.typeParameters(decl)}(${this.parameters(decl)}): ${this.returnOf(decl)};`,
        );
      } else if (ts.isVariableDeclaration(decl)) {
        const list = decl.parent;
        const keyword = list.flags & ts.NodeFlags.Const ? 'const' : 'let';
        block(keyword, `declare ${keyword} ${name}: ${this.typeOf(decl)};`);
      } else if (ts.isTypeAliasDeclaration(decl)) {
        block('type', `type ${name}${this.typeParameters(decl)} = ${textOf(decl.type)};`);
      } else if (ts.isEnumDeclaration(decl)) {
        const isConst = modifierFlags(decl) & ts.ModifierFlags.Const ? 'const ' : '';
        const lines = decl.members.map((m) => `${textOf(m)},`);
        block('enum', `declare ${isConst}enum ${name} ${body(lines)}`);
      } else if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) {
        const exported = this.checker
          .getExportsOfModule(symbol)
          .map((s) => s.name)
          .sort();
        block('namespace', `declare namespace ${name} {\n  export { ${exported.join(', ')} };\n}`);
      }
    }
    if (blocks.length === 0) {
      block('unknown', `// ${name}: a declaration this report cannot print`);
    }
    return { kinds, text: blocks.join('\n\n') };
  }
}

function modifierFlags(node: ts.Node): ts.ModifierFlags {
  return ts.canHaveModifiers(node) ? ts.getCombinedModifierFlags(node as ts.Declaration) : 0;
}

function visibility(node: ts.Node): string {
  return modifierFlags(node) & ts.ModifierFlags.Protected ? 'protected ' : '';
}

function siblings(member: ts.ClassElement | ts.TypeElement): readonly ts.Node[] {
  const parent = member.parent as { members?: ts.NodeArray<ts.Node> };
  return parent.members ?? [];
}

function overloaded(member: ts.MethodDeclaration | ts.MethodSignature): boolean {
  const name = member.name.getText();
  return siblings(member).some(
    (m) => m !== member && ts.isMethodDeclaration(m) && !hasBody(m) && m.name.getText() === name,
  );
}

function compilerOptions(root: string): ts.CompilerOptions {
  const file = path.join(root, 'tsconfig.json');
  if (!fs.existsSync(file)) {
    return {
      strict: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: [],
    };
  }
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root);
  return { ...parsed.options, noEmit: true };
}

/** A type the public declarations name that the entry point does not export. */
export interface UnexportedReference {
  readonly name: string;
  /** The file that declares it, relative to the repository. */
  readonly file: string;
  /** The exported names whose declarations name it, sorted. */
  readonly referencedBy: readonly string[];
}

export interface Surface {
  readonly names: readonly ExportedName[];
  readonly unexported: readonly UnexportedReference[];
}

const byName = <T extends { name: string }>(a: T, b: T) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * The names a declaration's written types refer to: annotations, type
 * arguments, heritage clauses; not bodies, initializers or private members.
 */
function typeReferences(node: ts.Node, found: ts.Node[] = []): ts.Node[] {
  if (ts.isBlock(node)) return found;
  if (
    (ts.isClassElement(node) || ts.isParameter(node)) &&
    modifierFlags(node) & ts.ModifierFlags.Private
  )
    return found;
  const name = (node as { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return found;
  if (ts.isTypeReferenceNode(node)) found.push(node.typeName);
  else if (ts.isExpressionWithTypeArguments(node)) found.push(node.expression);
  else if (ts.isTypeQueryNode(node)) found.push(node.exprName);
  const initializer = (node as { initializer?: ts.Node }).initializer;
  ts.forEachChild(node, (child) => {
    if (child !== initializer) typeReferences(child, found);
  });
  return found;
}

/** Every exported name of the entry point, sorted, with its declarations. */
export function surface(root = ROOT, entry = ENTRY): Surface {
  const program = ts.createProgram([path.join(root, entry)], compilerOptions(root));
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(path.join(root, entry));
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry} is not a module the compiler can read`);
  const resolve = (symbol: ts.Symbol) =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const declarations = new Declarations(checker, root);
  const exported = checker.getExportsOfModule(moduleSymbol);
  const targets = new Set(exported.map(resolve));
  const names = exported
    .map((symbol) => ({
      name: symbol.name,
      ...declarations.declarations(symbol.name, resolve(symbol)),
    }))
    .sort(byName);

  const unexported = new Map<ts.Symbol, Set<string>>();
  for (const symbol of exported) {
    for (const decl of resolve(symbol).declarations ?? []) {
      for (const ref of typeReferences(decl)) {
        const at = ts.isQualifiedName(ref)
          ? ref.right
          : ts.isPropertyAccessExpression(ref)
            ? ref.name
            : ref;
        const found = checker.getSymbolAtLocation(at);
        if (!found) continue;
        const target = resolve(found);
        const declared = target.declarations?.[0];
        if (!declared || targets.has(target) || ts.isTypeParameterDeclaration(declared)) continue;
        const file = path.relative(root, declared.getSourceFile().fileName);
        if (file.startsWith('..') || file.split(path.sep).includes('node_modules')) continue;
        if (!unexported.has(target)) unexported.set(target, new Set());
        unexported.get(target)!.add(symbol.name);
      }
    }
  }
  return {
    names,
    unexported: [...unexported.entries()]
      .map(([target, by]) => ({
        name: target.name,
        file: path
          .relative(root, target.declarations![0].getSourceFile().fileName)
          .split(path.sep)
          .join('/'),
        referencedBy: [...by].sort(),
      }))
      .sort((a, b) => byName(a, b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
  };
}

/** The report's markdown, before formatting. */
export function reportText({ names, unexported }: Surface, entry = ENTRY): string {
  const byKind = new Map<string, number>();
  for (const n of names) byKind.set(n.kinds[0], (byKind.get(n.kinds[0]) ?? 0) + 1);
  const counts = [...byKind.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  return [
    '# API report',
    '',
    `Every name the package exports (\`${entry}\`), with its kind and signature, sorted by name.`,
    'Generated by `npm run api-report` (`bin/api-report.ts`); do not edit it by hand.',
    '`test/app/api-report.test.ts` fails when it is out of date, so a change to the public',
    'API shows in review as a change to this file.',
    '',
    `${names.length} exported names (${counts}).`,
    '',
    ...names.flatMap((n) => [
      `## ${n.name} (${n.kinds.join(', ')})`,
      '',
      '```ts',
      n.text,
      '```',
      '',
    ]),
    '## Named by the API, not exported',
    '',
    'Types the declarations above write that the package does not export: a consumer gets',
    'them through the exported names but cannot import them by name.',
    '',
    ...(unexported.length
      ? unexported.map(
          (u) =>
            `- \`${u.name}\` (\`${u.file}\`), in ${u.referencedBy.map((n) => `\`${n}\``).join(', ')}`,
        )
      : ['None.']),
    '',
  ].join('\n');
}

/**
 * The repository's Prettier options (.prettierrc.json). Prettier's standalone
 * build formats the report: the Node.js entry loads its plugins with a dynamic
 * import, which Jest's module system does not run.
 */
function prettierOptions(root: string): Options {
  const file = path.join(root, '.prettierrc.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Options) : {};
}

/** The report, formatted as `prettier --check` wants it. */
export async function apiReport(root = ROOT): Promise<ApiReport> {
  const found = surface(root);
  const markdownText = await format(reportText(found), {
    ...prettierOptions(root),
    parser: 'markdown',
    plugins: [markdown, typescript, estree],
  });
  return { ...found, markdown: markdownText };
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const { names, markdown } = await apiReport();
  const file = path.join(ROOT, REPORT);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === markdown) {
    process.stdout.write(`${REPORT} is up to date (${names.length} exported names)\n`);
    return 0;
  }
  if (check) {
    process.stderr.write(`${REPORT} is out of date: ${REGENERATE}\n`);
    return 1;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, markdown);
  process.stdout.write(`${REPORT} written (${names.length} exported names)\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => (process.exitCode = status),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
