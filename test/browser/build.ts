import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserStubs } from '../../scripts/browser-stubs.js';

/** Repository root: the nearest directory above this file (or its bundled copy) holding sealbox's package.json. */
export const ROOT = ((): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sealbox') return dir;
  }
  throw new Error('sealbox package.json not found above ' + import.meta.url);
})();

/** URL path the page imports the Sealbox bundle from. */
export const BUNDLE_PATH = '/sealbox.min.js';

/** The browser bundle: its entry, and chunks it loads on demand (the noble fallback). */
export interface BrowserBundle {
  /** Every output file by URL path (`/sealbox.min.js`, `/chunk-*.min.js`). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The files a page downloads before first use: the entry and what it imports statically. */
  readonly core: readonly string[];
  /** Files reached only through `import()`: fetched when first needed, if ever. */
  readonly lazy: readonly string[];
}

/**
 * Builds the browser bundle in memory with the options of the `dist/browser` entry in
 * tsup.config.ts (ESM, platform browser, minified, everything inlined but @aws-sdk/*, code
 * split so the pure-JS fallback loads only where it is used), so tests measure and run
 * exactly what `npm run build` ships, without needing a prior build.
 */
export async function buildBrowserBundle(): Promise<BrowserBundle> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { sealbox: 'src/index.ts' },
    outdir: join(ROOT, 'dist', 'browser'),
    outExtension: { '.js': '.min.js' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    external: ['@aws-sdk/*'],
    plugins: [browserStubs],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const outDir = join(ROOT, 'dist', 'browser');
  const url = (path: string): string => '/' + path.slice(outDir.length + 1).replaceAll('\\', '/');
  const files = new Map(result.outputFiles.map((f) => [url(f.path), f.contents] as const));
  const outputs = result.metafile.outputs;
  const key = (u: string): string => Object.keys(outputs).find((k) => k.endsWith(u.slice(1)))!;
  const core = new Set<string>([BUNDLE_PATH]);
  for (const u of core) {
    for (const i of outputs[key(u)]!.imports) if (i.kind === 'import-statement' && !i.external) core.add('/' + i.path.split('/').pop()!);
  }
  return { files, core: [...core], lazy: [...files.keys()].filter((f) => !core.has(f)) };
}

/**
 * The in-page test code. Imports of the public entry (`src/index.ts`) are rewritten to the
 * served bundle, so the suites exercise the minified bundle itself; the few internals the
 * suites need (fixed message ids, named backends) are bundled from src alongside.
 */
export async function buildPageScript(entry: string): Promise<Uint8Array> {
  const toBundle: Plugin = {
    name: 'sealbox-bundle',
    setup(b) {
      b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: BUNDLE_PATH, external: true }));
    },
  };
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    plugins: [toBundle],
    // Pages that talk to KMS map @aws-sdk/client-kms with an import map (buildClientKms).
    external: ['@aws-sdk/*'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.contents;
}

/**
 * @aws-sdk/client-kms as one browser ES module, for a page to map with an import map (what an
 * application without a bundler does): the bundle's KMS keyring imports it by name on first use.
 */
export async function buildClientKms(): Promise<Uint8Array> {
  const result = await build({
    absWorkingDir: ROOT,
    stdin: { contents: "export * from '@aws-sdk/client-kms';", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.contents;
}
