import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { decrypt, DEFAULT_SUITE, encrypt, RawAesKeyring } from '../src/index.js';
import type { EncryptedDataKey, EncryptionContext, Keyring, UnwrapRequest } from '../src/index.js';
import { decryptFile, encryptFile } from '../src/node/index.js';
import { allMarkdownExamples, ENTRY_POINTS, markdownExamples, publicNames, tsdocExamples } from './helpers/doc-examples.js';
import type { Example } from './helpers/doc-examples.js';

/**
 * Every TypeScript example a user can copy type-checks: the ```ts / ```js blocks of README.md and
 * docs/*.md, and the `@example` blocks of the TSDoc on the public exports of every entry point
 * (and on the public members of exported classes and interfaces).
 *
 * Each example becomes a module of its own that imports from the package's entry points as a user
 * would ('sealbox', 'sealbox/node', ...; mapped to src/ with `paths`), and all of them are checked
 * in one program (strict with noUncheckedIndexedAccess, NodeNext, the DOM and Node types).
 *
 * - An example with import declarations must import every name it uses from the package or any
 *   other module. An example without any (a fragment of a page or a TSDoc comment, whose
 *   imports the reader knows) gets an import of every public name it mentions, from the entry
 *   point that exports it.
 * - The values an example assumes the reader has (`keyring`, `data`, ...) are listed for each
 *   example in ASSUMES below, by name; TYPES gives each name its type (or `name: type` in the
 *   list, where one example means something else by it). Names of other modules that an
 *   import-less example uses are listed there too, and EXTERNAL says where they come from.
 *   Every example has an entry, `[]` when it needs nothing; a name an example does not use is
 *   an error, so the lists stay what each example needs.
 * - `await` on something that is not a promise is an error too (it type-checks, but says the
 *   wrong thing about the API), and so is an import the example does not use.
 * - An example that is deliberately partial is marked where it is written: the line before a
 *   Markdown block is `<!-- not checked: <reason> -->`, or the block's first line is
 *   `// not checked: <reason>`. It is left out (and needs no ASSUMES entry); at most five may be.
 *   None is today.
 *
 * A sample of the examples also runs, in-process, where that is cheap (raw AES keys, a local KMS
 * in a temporary directory): see the second describe.
 */

const ROOT = process.cwd();

const sb = (name: string): string => `import('sealbox').${name}`;
const local = (name: string): string => `import('sealbox/local-kms').${name}`;
const server = (name: string): string => `import('sealbox/kms-server').${name}`;

/** What the values examples assume are, by name. */
const TYPES: Readonly<Record<string, string>> = {
  // Keys and keyrings.
  keyring: sb('Keyring'),
  primary: sb('Keyring'),
  escrow: sb('Keyring'),
  disasterRecovery: sb('Keyring'),
  oldKey: sb('Keyring'),
  newKey: sb('Keyring'),
  key1: sb('Keyring'),
  key2: sb('Keyring'),
  to: sb('Keyring'),
  myCustomKeyring: sb('Keyring'),
  wrappingKey: 'Uint8Array',
  key32: 'Uint8Array',
  publicPem: 'string',
  privatePem: 'string',
  // Messages and data.
  data: 'Uint8Array',
  bytes: 'Uint8Array',
  message: 'Uint8Array',
  ciphertext: 'Uint8Array',
  header: sb('MessageHeader'),
  ctx: sb('EncryptionContext'),
  // KMS.
  kms: local('LocalKms'),
  localKms: local('LocalKms'),
  client: sb('KmsClientLike'),
  arn: 'string',
  keyArn: 'string',
  rsaKeyArn: 'string',
  usEastArn: 'string',
  euWestArn: 'string',
  usEast1Mrk: 'string',
  euWest1Mrk: 'string',
  principal: 'string',
  accountId: 'string',
  dataDir: 'string',
  accessKeyId: 'string',
  secretAccessKey: 'string',
  region: 'string',
  // Web streams and browsers.
  download: 'ReadableStream<Uint8Array>',
  upload: 'WritableStream<Uint8Array>',
  sink: 'WritableStream<Uint8Array>',
  file: 'File',
  fileHandle: 'FileSystemFileHandle',
  response: 'Response',
  fileStream: 'ReadableStream<Uint8Array>',
  uploadStream: 'WritableStream<Uint8Array>',
  fileSink: 'WritableStream<Uint8Array>',
  // Node streams.
  s3Body: "import('node:stream').Readable",
  // Writing a keyring: the key holder's own calls.
  wrapWithMyHsm: `(dataKey: Uint8Array, context: ${sb('EncryptionContext')}) => Promise<Uint8Array>`,
  unwrapWithMyHsm: `(ciphertext: Uint8Array, context: ${sb('EncryptionContext')}) => Promise<Uint8Array>`,
  mismatched: 'boolean',
  askForAnotherKey: '() => void',
  // The local KMS and its server.
  Plaintext: 'Uint8Array',
  CiphertextBlob: 'Uint8Array',
  blob: 'Uint8Array',
  savedHead: 'string',
  text: 'string',
  db: local('SqliteDatabase'),
  sealingKey: 'Uint8Array',
  request: server('SignedRequest'),
  store: server('CredentialStore'),
  lookup: server('CredentialLookup'),
};

/** Names of other modules that import-less examples use, and where they come from. */
const EXTERNAL: Readonly<Record<string, string>> = {
  KMSClient: "import { KMSClient } from '@aws-sdk/client-kms';",
  DecryptCommand: "import { DecryptCommand } from '@aws-sdk/client-kms';",
  GenerateDataKeyCommand: "import { GenerateDataKeyCommand } from '@aws-sdk/client-kms';",
  pipeline: "import { pipeline } from 'node:stream/promises';",
  createReadStream: "import { createReadStream } from 'node:fs';",
  createWriteStream: "import { createWriteStream } from 'node:fs';",
  readFileSync: "import { readFileSync } from 'node:fs';",
  fs: "import fs from 'node:fs';",
  randomBytes: "import { randomBytes } from 'node:crypto';",
};

/** What each example assumes, by example id (see Example.id). */
const ASSUMES: Readonly<Record<string, readonly string[]>> = {
  'README.md#sealbox': [],
  'README.md#the-same-code-against-aws-kms-or-the-local-kms': [],
  'README.md#the-same-code-against-aws-kms-or-the-local-kms~2': [],
  'README.md#signed-messages': [],
  'docs/browser.md#with-a-bundler': ['wrappingKey'],
  'docs/browser.md#web-streams': ['keyring', 'fileHandle'],
  'docs/keyrings.md#raw-aes': ['wrappingKey'],
  'docs/keyrings.md#raw-rsa': ['publicPem', 'privatePem'],
  'docs/keyrings.md#x-wing-post-quantum-hybrid': ['data'],
  'docs/keyrings.md#ml-dsa-signing-keys-local-kms': [],
  'docs/keyrings.md#multi-keyring': ['primary', 'escrow', 'disasterRecovery'],
  'docs/keyrings.md#writing-a-keyring': ['wrapWithMyHsm', 'unwrapWithMyHsm'],
  'docs/kms-keyring.md#strict-mode-kmskeyring': ['data'],
  'docs/kms-keyring.md#aliases': ['client'],
  'docs/kms-keyring.md#discovery-mode-kmsdiscoverykeyring': [],
  'docs/kms-keyring.md#rsa-kms-keys-kmsrsakeyring': ['rsaKeyArn', 'publicPem'],
  'docs/kms-server.md#the-local-kms-over-http-sealbox-kms-serve': ['accessKeyId', 'secretAccessKey', 'Plaintext'],
  'docs/kms-server.md#the-local-kms-over-http-sealbox-kms-serve~2': ['dataDir'],
  'docs/kms-server.md#identity-policies': ['kms'],
  'docs/local-kms.md#the-local-kms': [],
  'docs/materials-managers.md#materials-managers': ['keyring', 'data'],
  'docs/materials-managers.md#requiredcontextmaterialsmanager': ['keyring'],
  'docs/rewrap.md#library': ['message', 'oldKey', 'newKey', 'escrow'],
  'docs/rewrap.md#files-sealboxnode': ['oldKey', 'newKey'],
  'docs/streaming.md#web-streams': ['keyring', 'file', 'upload', 'download', 'sink'],
  'docs/streaming.md#node-streams-and-files': ['keyring'],
  'docs/streaming.md#worker-threads-for-large-files': ['keyring'],
  'docs/streaming.md#range-decrypt': ['fs', 'keyring'],
  'src/encrypt.ts#encrypt': ['wrappingKey', 'data'],
  'src/decrypt.ts#decrypt': ['ciphertext', 'keyring'],
  'src/errors.ts#SealboxError': ['bytes', 'keyring'],
  'src/errors.ts#isSealboxError': ['bytes', 'keyring', 'askForAnotherKey'],
  'src/keyring/keyring.ts#Keyring': ['wrapWithMyHsm', 'unwrapWithMyHsm'],
  'src/keyring/keyring.ts#acceptDataKey': ['unwrapWithMyHsm'],
  'src/keyring/keyring.ts#checkedKeyring': ['myCustomKeyring'],
  'src/keyring/keyring.ts#unwrapFailed': ['mismatched'],
  'src/keyring/raw-aes.ts#RawAesKeyring': ['key32', 'data'],
  'src/keyring/raw-rsa.ts#RawRsaKeyring': ['data'],
  'src/keyring/multi.ts#MultiKeyring': ['primary', 'escrow'],
  'src/format/context.ts#RESERVED_CONTEXT_PREFIX': ['ctx'],
  'src/crypto/suites.ts#SUITE_AES256_GCM_HKDF_SHA512_COMMIT': ['header'],
  'src/crypto/suites.ts#SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384': ['data', 'keyring'],
  'src/crypto/suites.ts#SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT': ['message', 'keyring', 'to'],
  'src/crypto/suites.ts#DEFAULT_SUITE': [],
  'src/format/signature.ts#SIGNING_KEY_CONTEXT_KEY': ['bytes'],
  'src/crypto/backend.ts#getAeadBackend': [],
  'src/materials/default.ts#DefaultMaterialsManager': ['keyring', 'data'],
  'src/stream/encrypt-stream.ts#encryptStream': ['keyring', 'fileStream', 'uploadStream'],
  'src/stream/decrypt-stream.ts#decryptStream': ['keyring', 'download', 'fileSink'],
  'src/stream/read-header.ts#readHeader': ['response'],
  'src/range/decrypt-range.ts#decryptRange': ['fs', 'keyring'],
  'src/keyring/kms.ts#KmsKeyring': ['data'],
  'src/keyring/kms.ts#KmsDiscoveryKeyring': ['ciphertext'],
  'src/keyring/kms-rsa.ts#KmsRsaKeyring': ['rsaKeyArn', 'publicPem', 'data', 'KMSClient'],
  'src/keyring/kms.ts#KmsKeyringOptions.allowedKeyArns': ['client'],
  'src/keyring/kms-client-supplier.ts#kmsClientSupplier': ['usEastArn', 'euWestArn'],
  'src/keyring/kms-client-supplier.ts#singleClientSupplier': ['arn', 'localKms'],
  'src/keyring/kms-arn.ts#parseKmsArn': [],
  'src/keyring/kms-arn.ts#sameKmsKey': ['usEast1Mrk', 'euWest1Mrk'],
  'src/materials/caching.ts#CachingMaterialsManager': ['arn', 'client', 'data'],
  'src/materials/required-context.ts#RequiredContextMaterialsManager': ['keyring', 'data', 'bytes'],
  'src/keyring/xwing.ts#XWingKeyring': ['data'],
  'src/keyring/xwing.ts#XWingKeyring.ready': ['text'],
  'src/keyring/xwing.ts#generateXWingKeyPair': [],
  'src/keyring/xwing.ts#xwingPublicKey': ['readFileSync'],
  'src/node/streams.ts#createEncryptStream': ['keyring'],
  'src/node/streams.ts#createDecryptStream': ['pipeline', 'createReadStream', 'createWriteStream', 'keyring'],
  'src/node/streams.ts#EncryptTransform': ['pipeline', 'createReadStream', 'createWriteStream', 'keyring'],
  'src/node/streams.ts#DecryptTransform': ['pipeline', 'createReadStream', 'createWriteStream', 'keyring'],
  'src/node/files.ts#encryptFile': ['keyring'],
  'src/node/files.ts#decryptFile': ['keyring'],
  'src/node/files.ts#DecryptFileOptions': ['keyring'],
  'src/node/files.ts#EncryptFileOptions': ['keyring'],
  'src/node/rewrap-file.ts#rewrapFile': ['oldKey', 'newKey'],
  'src/node/header-journal.ts#recoverRewrap': [],
  'src/node/rewrap-stream.ts#createRewrapStream': ['s3Body', 'oldKey', 'newKey', "uploadStream: import('node:stream').Writable"],
  'src/local-kms/local-kms.ts#LocalKms': ['bytes'],
  'src/local-kms/local-kms.ts#LocalKms.open': [],
  'src/local-kms/local-kms.ts#LocalKms.onlyAuditRowsWritten': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.auditAction': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.execute': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.executeBatch': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.send': ['kms', 'GenerateDataKeyCommand'],
  'src/local-kms/local-kms.ts#LocalKms.inRegion': ['kms', 'DecryptCommand', 'CiphertextBlob'],
  'src/local-kms/local-kms.ts#LocalKms.replicateKey': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.updatePrimaryRegion': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.putPrincipalPolicy': ['kms'],
  'src/local-kms/local-kms.ts#LocalKms.verifyAudit': ['kms', 'savedHead'],
  'src/local-kms/local-kms.ts#LocalKms.upgradeAudit': ['kms'],
  'src/local-kms/local-kms.ts#defaultDataDir': [],
  'src/local-kms/errors.ts#LocalKmsError': ['kms', 'blob'],
  'src/local-kms/operation.ts#defineOperation': ['randomBytes'],
  'src/local-kms/sqlite.ts#SqliteDatabase': [],
  'src/kms-server/server.ts#startKmsServer': ['dataDir', 'KMSClient', 'accessKeyId', 'secretAccessKey'],
  'src/kms-server/server.ts#credentialStoreFor': ['kms'],
  'src/kms-server/http.ts#createKmsHttpServer': ['kms', 'region', 'lookup'],
  'src/kms-server/sigv4.ts#verifySigV4': ['request', 'store'],
  'src/kms-server/errors.ts#KmsProtocolError': [],
  'src/local-kms/credentials.ts#CredentialStore': ['db', 'sealingKey'],
  'src/local-kms/credentials.ts#credentialsExtension': [],
  'src/local-kms/access.ts#accessControlExtension': ['dataDir'],
  'src/local-kms/policy.ts#defaultKeyPolicy': [],
  'src/local-kms/policy.ts#evaluateKeyPolicy': ['text', 'principal', 'accountId', 'keyArn'],
  'src/local-kms/policy.ts#parseKeyPolicy': ['principal', 'accountId', 'keyArn'],
  'src/rewrap/rewrap.ts#rewrap': ['message', 'key1', 'key2', 'escrow'],
  'src/stream/rewrap-stream.ts#rewrapStream': ['oldKey', 'newKey', 'download', 'upload'],
};

interface Prepared {
  example: Example;
  fileName: string;
  text: string;
  /** Lines of `text` that are the example's own (the rest is declarations after it). */
  codeLines: number;
}

/** Identifier tokens of a piece of code (names, not strings or comments). */
function identifiers(code: string): Set<string> {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  const names = new Set<string>();
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.Identifier) names.add(scanner.getTokenValue());
  }
  return names;
}

/** What an example declares at its top level (values, types), and whether it imports anything. */
function topLevel(sourceFile: ts.SourceFile): { names: Set<string>; values: Set<string>; imports: ts.ImportDeclaration[] } {
  const names = new Set<string>();
  const values = new Set<string>();
  const imports: ts.ImportDeclaration[] = [];
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) values.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      imports.push(statement);
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      values.add(statement.name.text);
    } else if ((ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  for (const value of values) names.add(value);
  return { names, values, imports };
}

/** The assumed names of an ASSUMES entry (`name` or `name: type`). */
const assumedName = (entry: string): string => entry.split(':')[0]!.trim();

/**
 * For an example without imports: an import of each public name it mentions and does not
 * declare or assume, grouped by entry point (specifier -> names).
 */
function autoImports(example: Example, exported: Map<string, string>): Map<string, string[]> {
  const parsed = ts.createSourceFile('example.ts', example.code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const { names: declared, imports } = topLevel(parsed);
  const bySpecifier = new Map<string, string[]>();
  if (imports.length > 0) return bySpecifier;
  const assumed = (ASSUMES[example.id] ?? []).map(assumedName);
  for (const name of [...identifiers(example.code)].sort()) {
    const specifier = exported.get(name);
    if (specifier === undefined || declared.has(name) || assumed.includes(name)) continue;
    bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), name]);
  }
  return bySpecifier;
}

/** The module an example becomes: its code, then the imports and declarations it assumes. */
function prepare(example: Example, index: number, exported: Map<string, string>): Prepared | string {
  const assumed = ASSUMES[example.id];
  if (assumed === undefined) return `${example.file}:${example.line}: no ASSUMES entry for "${example.id}" (list the values it assumes, [] for none)`;
  const parsed = ts.createSourceFile('example.ts', example.code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const { names: declared } = topLevel(parsed);
  const used = identifiers(example.code);
  const tail: string[] = [''];
  for (const [specifier, names] of autoImports(example, exported)) tail.push(`import { ${names.join(', ')} } from '${specifier}';`);
  for (const entry of assumed) {
    const [name, type] = entry.includes(':') ? [entry.slice(0, entry.indexOf(':')).trim(), entry.slice(entry.indexOf(':') + 1).trim()] : [entry, undefined];
    if (!used.has(name)) return `${example.file}:${example.line}: "${example.id}" does not use "${name}", which ASSUMES lists for it`;
    if (declared.has(name)) return `${example.file}:${example.line}: "${example.id}" declares "${name}" itself, which ASSUMES lists for it`;
    if (type !== undefined) tail.push(`declare var ${name}: ${type};`);
    else if (TYPES[name] !== undefined) tail.push(`declare var ${name}: ${TYPES[name]};`);
    else if (EXTERNAL[name] !== undefined) tail.push(EXTERNAL[name]);
    else return `${example.file}:${example.line}: "${name}" (assumed by "${example.id}") is in neither TYPES nor EXTERNAL`;
  }
  tail.push('export {};', '');
  return {
    example,
    fileName: join(ROOT, 'test', '.docs-examples', `example-${index}.ts`),
    text: `${example.code}\n${tail.join('\n')}`,
    codeLines: example.code.split('\n').length,
  };
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true, // as this repository's own code is checked
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2024.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: ['node'],
  noUnusedLocals: true,
  skipLibCheck: true,
  noEmit: true,
  baseUrl: ROOT,
  paths: Object.fromEntries(ENTRY_POINTS.map(([specifier, source]) => [specifier, [source]])),
};

/** Diagnostics of noUnusedLocals: "declared but never used", "all imports/variables are unused". */
const UNUSED = new Set([6133, 6192, 6196, 6198, 6199, 6205]);

/** `await` on a value that cannot be a promise (no `then`, not any or unknown). */
function uselessAwaits(program: ts.Program, sourceFile: ts.SourceFile): ts.AwaitExpression[] {
  const checker = program.getTypeChecker();
  const found: ts.AwaitExpression[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isAwaitExpression(node)) {
      const type = checker.getTypeAtLocation(node.expression);
      const parts = type.isUnion() ? type.types : [type];
      const thenable = parts.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown) || checker.getApparentType(t).getProperty('then') !== undefined);
      if (!thenable) found.push(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

interface Checked {
  examples: Example[];
  problems: string[];
}

function checkAll(): Checked {
  const examples = [...allMarkdownExamples(ROOT), ...tsdocExamples(ROOT)];
  const exported = publicNames(ROOT);
  const problems: string[] = [];
  const prepared: Prepared[] = [];
  examples.forEach((example, i) => {
    if (example.notChecked !== undefined) return;
    const p = prepare(example, i, exported);
    if (typeof p === 'string') problems.push(p);
    else prepared.push(p);
  });
  const virtual = new Map(prepared.map((p) => [p.fileName, p]));
  const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const p = virtual.get(fileName);
    return p ? ts.createSourceFile(fileName, p.text, languageVersion, true, ts.ScriptKind.TS) : getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
  };
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists.call(host, fileName);
  host.readFile = (fileName) => virtual.get(fileName)?.text ?? readFile.call(host, fileName);
  const program = ts.createProgram([...virtual.keys()], COMPILER_OPTIONS, host);
  const where = (p: Prepared, sourceFile: ts.SourceFile, position: number): string => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(position);
    const text = sourceFile.text.split('\n')[line]!.trim();
    return line < p.codeLines
      ? `${p.example.file}:${p.example.line + line}:${character + 1} (${p.example.id})`
      : `${p.example.file}:${p.example.line} (${p.example.id}), in what the test adds: ${text}`;
  };
  for (const diagnostic of program.getOptionsDiagnostics()) problems.push(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  for (const p of prepared) {
    const sourceFile = program.getSourceFile(p.fileName)!;
    const ownImports = sourceFile.statements.filter((s) => ts.isImportDeclaration(s) && sourceFile.getLineAndCharacterOfPosition(s.getStart(sourceFile)).line < p.codeLines);
    for (const diagnostic of [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]) {
      // noUnusedLocals is on for the example's own imports only: an example may well declare
      // a result it does not go on to use, but an import it does not use misleads.
      const inOwnImport = ownImports.some((s) => diagnostic.start !== undefined && diagnostic.start >= s.getStart(sourceFile) && diagnostic.start < s.end);
      if (UNUSED.has(diagnostic.code) && !inOwnImport) continue;
      problems.push(`${where(p, sourceFile, diagnostic.start ?? 0)}: TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ')}`);
    }
    for (const node of uselessAwaits(program, sourceFile)) {
      problems.push(`${where(p, sourceFile, node.getStart(sourceFile))}: await on a value that is not a promise: ${node.expression.getText(sourceFile)}`);
    }
  }
  return { examples, problems };
}

describe('the TypeScript examples of README.md, docs/ and the TSDoc of the public exports', () => {
  let checked: Checked;
  beforeAll(() => {
    checked = checkAll();
  }, 60_000);

  it('are found: every page and entry point that has examples gives some', () => {
    const files = new Set(checked.examples.map((e) => e.file));
    for (const page of ['README.md', 'docs/keyrings.md', 'docs/streaming.md', 'docs/rewrap.md', 'docs/local-kms.md', 'docs/kms-server.md']) expect(files).toContain(page);
    for (const source of ['src/encrypt.ts', 'src/node/files.ts', 'src/local-kms/local-kms.ts', 'src/kms-server/server.ts', 'src/rewrap/rewrap.ts']) expect(files).toContain(source);
    expect(checked.examples.length).toBeGreaterThan(100);
  });

  it('each type-checks as a module of its own, with only the values ASSUMES lists for it', () => {
    expect(checked.problems.join('\n')).toBe('');
  });

  it('ASSUMES names only examples that exist', () => {
    const ids = new Set(checked.examples.map((e) => e.id));
    expect(Object.keys(ASSUMES).filter((id) => !ids.has(id))).toEqual([]);
  });

  it('a block marked `not checked: <reason>` (before a Markdown fence, or as its first line) is left out, with its reason', () => {
    const page = join('node_modules', '.cache', 'sealbox', `docs-examples-${process.pid}.md`);
    mkdirSync(join(ROOT, dirname(page)), { recursive: true });
    writeFileSync(join(ROOT, page), [
      '# Page', '', '<!-- not checked: shows the shape only -->', '```ts', 'x', '```', '',
      '```ts', '// not checked: a sketch', 'y', '```', '', '## Two', '```ts', 'z', '```', '',
    ].join('\n'));
    try {
      const found = markdownExamples(ROOT, page);
      expect(found.map((e) => [e.id.slice(page.length), e.line, e.notChecked])).toEqual([
        ['#page', 5, 'shows the shape only'], ['#page~2', 9, 'a sketch'], ['#two', 15, undefined],
      ]);
    } finally {
      rmSync(join(ROOT, page), { force: true });
    }
  });

  it('few are marked partial, each with its reason', () => {
    const partial = checked.examples.filter((e) => e.notChecked !== undefined);
    for (const e of partial) expect(e.notChecked, e.id).toMatch(/\S{3}/);
    expect(partial.map((e) => e.id).length).toBeLessThanOrEqual(5);
  });
});

/**
 * An example as a module that runs it: its imports (the package's entry points mapped to
 * src/), then `export default async function (assumed)` with its code, which returns what the
 * example declares at its top level.
 */
function runnable(example: Example, exported: Map<string, string>): string {
  const sources = new Map(ENTRY_POINTS.map(([specifier, source]) => [specifier, join(ROOT, source)]));
  const parsed = ts.createSourceFile('example.ts', example.code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const { values, imports } = topLevel(parsed);
  const head: string[] = [];
  for (const statement of imports) {
    const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
    const text = statement.getText(parsed);
    head.push(sources.has(specifier) ? text.replace(statement.moduleSpecifier.getText(parsed), JSON.stringify(sources.get(specifier))) : text);
  }
  for (const [specifier, names] of autoImports(example, exported)) head.push(`import { ${names.join(', ')} } from ${JSON.stringify(sources.get(specifier))};`);
  const body = parsed.statements.filter((s) => !ts.isImportDeclaration(s)).map((s) => s.getFullText(parsed)).join('');
  const assumed = (ASSUMES[example.id] ?? []).map(assumedName);
  return [
    ...head,
    'export default async function run(assumed: Record<string, any>): Promise<Record<string, any>> {',
    `  const { ${assumed.join(', ')} } = assumed;`,
    body,
    `  return { ${[...values].join(', ')} };`,
    '}',
    '',
  ].join('\n');
}

describe('a sample of the examples runs as written (in-process, against src/)', () => {
  const examples = new Map([...allMarkdownExamples(ROOT), ...tsdocExamples(ROOT)].map((e) => [e.id, e]));
  const exported = publicNames(ROOT);
  let dir = '';
  let count = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealbox-docs-examples-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the example `id` with the values it assumes; returns what it declares. */
  async function run(id: string, assumed: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const example = examples.get(id);
    if (!example) throw new Error(`no example ${id}`);
    expect(Object.keys(assumed).sort()).toEqual((ASSUMES[id] ?? []).map(assumedName).filter((n) => !(n in EXTERNAL)).sort());
    const file = join(dir, `run-${count++}.ts`);
    writeFileSync(file, runnable(example, exported));
    const module = (await import(pathToFileURL(file).href)) as { default: (assumed: Record<string, unknown>) => Promise<Record<string, unknown>> };
    return module.default(assumed);
  }

  /** With SEALBOX_HOME set to a new directory, as the `sealbox` CLI's store would be. */
  async function withHome<T>(f: () => Promise<T>): Promise<T> {
    const saved = process.env.SEALBOX_HOME;
    process.env.SEALBOX_HOME = mkdtempSync(join(dir, 'home-'));
    try {
      return await f();
    } finally {
      if (saved === undefined) delete process.env.SEALBOX_HOME;
      else process.env.SEALBOX_HOME = saved;
    }
  }

  const text = (bytes: unknown): string => new TextDecoder().decode(bytes as Uint8Array);
  const aes = (name: string): RawAesKeyring => new RawAesKeyring({ namespace: 'test', name, wrappingKey: randomBytes(32) });

  /** The HSM of the "writing a keyring" examples: AES-GCM under one key, bound to the context. */
  const hsmKey = randomBytes(32);
  const contextBytes = (context: EncryptionContext): Buffer => Buffer.from(JSON.stringify(Object.entries(context).sort()));
  const hsm = {
    wrapWithMyHsm: async (dataKey: Uint8Array, context: EncryptionContext): Promise<Uint8Array> => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', hsmKey, iv).setAAD(contextBytes(context));
      return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    },
    unwrapWithMyHsm: async (ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> => {
      const decipher = createDecipheriv('aes-256-gcm', hsmKey, ciphertext.subarray(0, 12)).setAAD(contextBytes(context));
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      return new Uint8Array(Buffer.concat([decipher.update(ciphertext.subarray(12, ciphertext.length - 16)), decipher.final()]));
    },
  };

  it('README.md quick start: encrypts and decrypts "hello" with a raw AES keyring', async () => {
    const r = await run('README.md#sealbox');
    expect(text(r.plaintext)).toBe('hello');
  });

  it('README.md signed messages: a signed message that decrypts under require-signed', async () => {
    const r = await run('README.md#signed-messages');
    expect(text(r.plaintext)).toBe('release 1.4.2');
    await expect(decrypt(r.ciphertext as Uint8Array, { keyring: r.keyring as Keyring, signaturePolicy: 'refuse-signed' })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_POLICY' });
  });

  it('README.md and docs/local-kms.md: the local KMS examples, in a store of their own', async () => {
    await withHome(async () => {
      const r = await run('README.md#the-same-code-against-aws-kms-or-the-local-kms');
      expect(text(r.plaintext)).toBe('hello');
      const l = await run('docs/local-kms.md#the-local-kms');
      expect(text(l.Plaintext)).toBe('secret');
    });
  });

  it('docs/browser.md and docs/keyrings.md: the raw AES, X-Wing and multi-keyring examples', async () => {
    const b = await run('docs/browser.md#with-a-bundler', { wrappingKey: randomBytes(32) });
    expect(text(b.plaintext)).toBe('hello');
    expect(await run('docs/keyrings.md#raw-aes', { wrappingKey: randomBytes(32) })).toHaveProperty('keyring');
    const data = new TextEncoder().encode('for the future');
    const x = await run('docs/keyrings.md#x-wing-post-quantum-hybrid', { data });
    expect(x.plaintext).toEqual(data);
    const [primary, escrow, disasterRecovery] = [aes('primary'), aes('escrow'), aes('dr')];
    const m = await run('docs/keyrings.md#multi-keyring', { primary, escrow, disasterRecovery });
    const { ciphertext } = await encrypt(data, { keyring: m.keyring as Keyring });
    for (const keyring of [primary, escrow, disasterRecovery]) expect((await decrypt(ciphertext, { keyring })).plaintext).toEqual(data);
  });

  it('the "writing a keyring" examples (docs/keyrings.md, Keyring, acceptDataKey) make keyrings that work', async () => {
    const data = new TextEncoder().encode('custom');
    for (const id of ['docs/keyrings.md#writing-a-keyring', 'src/keyring/keyring.ts#Keyring']) {
      const { keyring } = (await run(id, hsm)) as { keyring: Keyring };
      const { ciphertext } = await encrypt(data, { keyring, encryptionContext: { tenant: 'acme' } });
      expect((await decrypt(ciphertext, { keyring })).plaintext, id).toEqual(data);
      await expect(decrypt(ciphertext, { keyring: aes('other') }), id).rejects.toMatchObject({ code: 'ERR_NO_MATCHING_KEY' });
    }
    // acceptDataKey's example: each EDK of its own in order, the first whose key is the message's.
    const { unwrapKey } = (await run('src/keyring/keyring.ts#acceptDataKey', { unwrapWithMyHsm: hsm.unwrapWithMyHsm })) as { unwrapKey: Keyring['unwrapKey'] };
    const [right, wrong] = [randomBytes(32), randomBytes(32)];
    const encryptionContext = { tenant: 'acme' };
    const edk = async (key: Uint8Array): Promise<EncryptedDataKey> => ({ providerId: 'my-hsm', providerInfo: new Uint8Array(1), ciphertext: await hsm.wrapWithMyHsm(key, encryptionContext) });
    const request = (...encryptedDataKeys: EncryptedDataKey[]): UnwrapRequest => ({
      suite: DEFAULT_SUITE, encryptionContext, encryptedDataKeys, isMessageKey: async (key) => Buffer.from(key).equals(right),
    });
    const other: EncryptedDataKey = { providerId: 'other', providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(40) };
    expect(await unwrapKey(request(other, await edk(wrong), await edk(right)))).toEqual(new Uint8Array(right));
    expect(await unwrapKey(request(other))).toBeNull();
    await expect(unwrapKey(request(await edk(wrong)))).rejects.toMatchObject({ code: 'ERR_COMMITMENT_MISMATCH' });
    const broken: EncryptedDataKey = { ...(await edk(right)), ciphertext: new Uint8Array(40) };
    await expect(unwrapKey(request(broken))).rejects.toMatchObject({ code: 'ERR_KEYRING', errors: [expect.any(Error)] });
  });

  it('docs/materials-managers.md: a caching manager under a required-context manager', async () => {
    const keyring = aes('k');
    const data = new TextEncoder().encode('managed');
    await run('docs/materials-managers.md#materials-managers', { keyring, data });
  });

  it('docs/rewrap.md and rewrap()\'s TSDoc: retire a key, add an escrow recipient', async () => {
    const [oldKey, newKey, escrow] = [aes('old'), aes('new'), aes('escrow')];
    const data = new TextEncoder().encode('rotated');
    const { ciphertext: message } = await encrypt(data, { keyring: oldKey, encryptionContext: { tenant: 'acme' } });
    const r = await run('docs/rewrap.md#library', { message, oldKey, newKey, escrow });
    expect((await decrypt(r.ciphertext as Uint8Array, { keyring: newKey })).plaintext).toEqual(data);
    await expect(decrypt(r.ciphertext as Uint8Array, { keyring: oldKey })).rejects.toMatchObject({ code: 'ERR_NO_MATCHING_KEY' });
    const t = await run('src/rewrap/rewrap.ts#rewrap', { message, key1: oldKey, key2: newKey, escrow });
    expect((await decrypt(t.ciphertext as Uint8Array, { keyring: newKey })).plaintext).toEqual(data);
  });

  it('docs/streaming.md and docs/rewrap.md: the Node stream and file examples, in a directory of their own', async () => {
    const work = mkdtempSync(join(dir, 'cwd-'));
    const cwd = process.cwd();
    process.chdir(work);
    try {
      const keyring = aes('files');
      writeFileSync('a.bin', randomBytes(100_000));
      await run('docs/streaming.md#node-streams-and-files', { keyring });
      expect(readFileSync('a.out')).toEqual(readFileSync('a.bin'));
      const [oldKey, newKey] = [aes('old'), aes('new')];
      await encryptFile('a.bin', 'backup.sbx', { keyring: oldKey });
      await run('docs/rewrap.md#files-sealboxnode', { oldKey, newKey });
      for (const file of ['backup.sbx', 'backup-rotated.sbx']) {
        await decryptFile(file, `${file}.out`, { keyring: newKey });
        expect(readFileSync(`${file}.out`)).toEqual(readFileSync('a.bin'));
      }
    } finally {
      process.chdir(cwd);
    }
  });
});
