import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Finds the TypeScript / JavaScript examples a user can copy: the ```ts / ```js / ```typescript
 * blocks of README.md and docs/*.md, and the ```ts blocks of the `@example` tags on the public
 * exports of the package's entry points (and on the public members of exported classes and
 * interfaces). Used by test/docs-examples.test.ts.
 */

/** The package's entry points: the specifier a user imports, and its source. */
export const ENTRY_POINTS: readonly (readonly [specifier: string, source: string])[] = [
  ['sealbox', 'src/index.ts'],
  ['sealbox/node', 'src/node/index.ts'],
  ['sealbox/local-kms', 'src/local-kms/index.ts'],
  ['sealbox/kms-server', 'src/kms-server/index.ts'],
  ['sealbox/rewrap', 'src/rewrap/index.ts'],
];

export interface Example {
  /** Stable name: `docs/keyrings.md#raw-aes` (heading slug) or `src/encrypt.ts#encrypt` (the
   * exported declaration, `Class.member` for a member); `~2`, `~3` for later examples under the
   * same name. */
  id: string;
  /** The file the block is in (relative to the repository), and its first code line (1-based). */
  file: string;
  line: number;
  code: string;
  /** The reason given by a `not checked: <reason>` marker, when the example is not type-checked. */
  notChecked?: string;
}

const FENCE_OPEN = /^(\s*)```(ts|typescript|js|javascript)\s*$/;
/** Marks a block that is deliberately partial: in Markdown the line before the fence is
 * `<!-- not checked: <reason> -->`; in TSDoc (and also in Markdown) the block's first line is
 * `// not checked: <reason>`. */
const MD_MARK = /^<!-- not checked: (.+\S) -->$/;
const CODE_MARK = /^\/\/ not checked: (.+\S)$/;

/** GitHub's heading anchor. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function uniqueIds(examples: Example[]): Example[] {
  const seen = new Map<string, number>();
  for (const e of examples) {
    const n = (seen.get(e.id) ?? 0) + 1;
    seen.set(e.id, n);
    if (n > 1) e.id = `${e.id}~${n}`;
  }
  return examples;
}

function marked(example: Example): Example {
  const first = example.code.split('\n')[0]!.trim();
  const reason = CODE_MARK.exec(first)?.[1];
  if (reason !== undefined) example.notChecked = reason;
  return example;
}

/** The ```ts/```js blocks of one Markdown page. */
export function markdownExamples(root: string, page: string): Example[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  const examples: Example[] = [];
  let heading = '';
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE_OPEN.exec(line);
    if (open) {
      const indent = open[1]!;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]!.trim() !== '```') end++;
      if (end === lines.length) throw new Error(`${page}:${i + 1}: unclosed code block`);
      const code = lines.slice(start, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n');
      const example: Example = { id: `${page}#${heading}`, file: page, line: start + 1, code };
      const reason = MD_MARK.exec((lines[i - 1] ?? '').trim())?.[1];
      if (reason !== undefined) example.notChecked = reason;
      examples.push(marked(example));
      i = end;
      continue;
    }
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(line)) heading = slug(line.replace(/^#+ /, ''));
  }
  return uniqueIds(examples);
}

/** README.md and every docs/*.md page. */
export function allMarkdownExamples(root: string): Example[] {
  const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return pages.flatMap((page) => markdownExamples(root, page));
}

/** The ```ts blocks inside one JSDoc comment's `@example` tags. */
function jsdocBlocks(sourceFile: ts.SourceFile, doc: ts.JSDoc): { line: number; code: string }[] {
  const text = sourceFile.text.slice(doc.getStart(sourceFile), doc.end);
  const firstLine = sourceFile.getLineAndCharacterOfPosition(doc.getStart(sourceFile)).line;
  const lines = text.split('\n').map((l) => l.replace(/^\s*\/?\*\*?( |$)/, '').replace(/\s*\*\/\s*$/, ''));
  const blocks: { line: number; code: string }[] = [];
  let inExample = false;
  let exampleLine = -1;
  const empty = (): Error => new Error(`${sourceFile.fileName}:${firstLine + exampleLine + 1}: an @example without a \`\`\`ts block`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^@\w/.test(line.trim())) {
      if (inExample && exampleLine >= 0) throw empty();
      inExample = line.trim().startsWith('@example');
      exampleLine = inExample ? i : -1;
    }
    if (!inExample) continue;
    const open = FENCE_OPEN.exec(line);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    if (end === lines.length) throw new Error(`${sourceFile.fileName}:${firstLine + i + 1}: unclosed code block in @example`);
    blocks.push({ line: firstLine + i + 2, code: lines.slice(i + 1, end).join('\n') });
    exampleLine = -2;
    i = end;
  }
  if (inExample && exampleLine >= 0) throw empty();
  return blocks;
}

function declarationName(node: ts.Node): string | undefined {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const name = (node as ts.Node & { name?: ts.Node }).name;
  if (name && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))) return name.text;
  return undefined;
}

function isPublicMember(member: ts.Node): boolean {
  const name = (member as ts.Node & { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return false;
  const flags = ts.getCombinedModifierFlags(member as ts.Declaration);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

/** The public members of a class, interface or object type literal declaration. */
function membersOf(node: ts.Node): readonly ts.Node[] {
  if (ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) return node.members;
  if (ts.isTypeAliasDeclaration(node) && ts.isTypeLiteralNode(node.type)) return node.type.members;
  return [];
}

/** The declarations a module exports under `name`, following `export { a as name } from './x.js'`. */
function exportedDeclarations(root: string, file: string, name: string, parse: (file: string) => ts.SourceFile): ts.Node[] {
  const sourceFile = parse(file);
  const found: ts.Node[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const specifier of statement.exportClause.elements) {
        if (specifier.name.text !== name) continue;
        const original = (specifier.propertyName ?? specifier.name).text;
        if (!statement.moduleSpecifier) return exportedDeclarations(root, file, original, parse);
        const target = join(dirname(file), (statement.moduleSpecifier as ts.StringLiteral).text.replace(/\.js$/, '.ts'));
        return exportedDeclarations(root, target, original, parse);
      }
      continue;
    }
    const declarations = ts.isVariableStatement(statement) ? statement.declarationList.declarations : [statement];
    for (const declaration of declarations) if (declarationName(declaration) === name) found.push(declaration);
  }
  if (found.length === 0) throw new Error(`${relative(root, file)} declares no ${name}`);
  return found;
}

/** The names an entry point exports (`export { a, b as c } from ...`, `export function d`). */
function exportedNames(sourceFile: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const specifier of statement.exportClause.elements) names.push(specifier.name.text);
    } else if (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const declarations = ts.isVariableStatement(statement) ? statement.declarationList.declarations : [statement];
      for (const declaration of declarations) {
        const name = declarationName(declaration);
        if (name !== undefined) names.push(name);
      }
    }
  }
  return names;
}

/** Every entry point's exported names: name -> the first entry point (in ENTRY_POINTS order) that exports it. */
export function publicNames(root: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const [specifier, source] of ENTRY_POINTS) {
    const file = join(root, source);
    const sourceFile = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    for (const name of exportedNames(sourceFile)) if (!names.has(name)) names.set(name, specifier);
  }
  return names;
}

/**
 * The `@example` blocks on every export of the entry points (whatever file it is declared in,
 * followed through re-exports) and on the public members of exported classes, interfaces and
 * object types. Syntactic only: no program is needed to find them.
 */
export function tsdocExamples(root: string): Example[] {
  const parsed = new Map<string, ts.SourceFile>();
  const parse = (file: string): ts.SourceFile => {
    let sourceFile = parsed.get(file);
    if (!sourceFile) {
      sourceFile = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      parsed.set(file, sourceFile);
    }
    return sourceFile;
  };
  const examples: Example[] = [];
  const done = new Set<ts.Node>();
  const collect = (node: ts.Node, id: string): void => {
    if (done.has(node)) return;
    done.add(node);
    const sourceFile = node.getSourceFile();
    const file = relative(root, sourceFile.fileName).split('\\').join('/');
    for (const doc of ts.getJSDocCommentsAndTags(node)) {
      if (!ts.isJSDoc(doc)) continue;
      for (const block of jsdocBlocks(sourceFile, doc)) examples.push(marked({ id: `${file}#${id}`, file, line: block.line, code: block.code }));
    }
  };
  for (const [, source] of ENTRY_POINTS) {
    const entry = join(root, source);
    for (const name of exportedNames(parse(entry))) {
      for (const declaration of exportedDeclarations(root, entry, name, parse)) {
        collect(declaration, name);
        for (const member of membersOf(declaration)) {
          if (isPublicMember(member)) collect(member, `${name}.${declarationName(member) ?? '?'}`);
        }
      }
    }
  }
  return uniqueIds(examples);
}
