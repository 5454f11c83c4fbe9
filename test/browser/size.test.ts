import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { browserStubs } from '../../scripts/browser-stubs.js';
import { buildBrowserBundle } from './build.js';

// Issue 7: the core (everything in the `.` entry except @aws-sdk/client-kms) ships in at most
// 30 KiB gzipped, also with the signed suite (issue 20: its ECDSA code and checks are lazy
// chunks, and so is the range reader, which makes room for the suite's share of the format).
// Measured on the minified browser bundle, as users download it.
const BUDGET_GZIP_BYTES = 30 * 1024;

it('the browser bundle of the core fits in 30 KiB gzipped', async () => {
  const { files, core, lazy } = await buildBrowserBundle();
  // What a page downloads before its first call: the entry and its static imports. Lazy
  // chunks (the @noble/ciphers fallback) load only in runtimes without WebCrypto.
  const size = (paths: readonly string[], gz: boolean): number => paths.reduce((n, p) => n + (gz ? gzipSync(files.get(p)!, { level: 9 }).length : files.get(p)!.length), 0);
  const gzipped = size(core, true);
  console.log(`browser bundle core ${core.join(' ')}: ${size(core, false)} bytes minified, ${gzipped} gzipped (budget ${BUDGET_GZIP_BYTES}); lazy ${lazy.join(' ')}: ${size(lazy, true)} gzipped`);
  expect(core[0]).toBe('/sealbox.min.js');
  expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
});

it('the browser bundle imports nothing from Node and nothing but @aws-sdk/* and its own chunks', async () => {
  const { files } = await buildBrowserBundle();
  for (const [path, bytes] of files) {
    const text = new TextDecoder().decode(bytes);
    const specifiers = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
    for (const s of specifiers) expect(s, path).toMatch(/^(@aws-sdk\/|\.\/[\w-]+\.min\.js$)/);
    expect(text).not.toMatch(/\brequire\(/);
  }
});

it('test/browser/build.ts builds with the options of the dist/browser entry in tsup.config.ts', async () => {
  const { default: configs } = await import('../../tsup.config.js');
  const entry = (Array.isArray(configs) ? configs : [configs]).find((c) => (c as { outDir?: string }).outDir === 'dist/browser') as Record<string, unknown>;
  expect(entry).toMatchObject({ entry: { sealbox: 'src/index.ts' }, format: ['esm'], platform: 'browser', target: 'es2022', minify: true, splitting: true });
  expect((entry.outExtension as () => unknown)()).toEqual({ js: '.min.js' });
  expect(entry.external).toEqual([/^@aws-sdk\//]);
  // Every plugin but the notices recorder (it reads the build's inputs and changes no output;
  // test/package/pack.test.ts checks what it writes).
  const plugins = (entry.esbuildPlugins as { name: string }[]).filter((p) => p.name !== 'sealbox-third-party-notices');
  expect(plugins).toEqual([browserStubs]);
});

it('the core of the browser bundle carries no node-only code (node:crypto backends are swapped for their .browser.ts stand-ins)', async () => {
  const { files, core } = await buildBrowserBundle();
  for (const path of core) expect(new TextDecoder().decode(files.get(path)!), path).not.toMatch(/getBuiltinModule|createCipheriv|createHmac/);
});

it('the core loads without @aws-sdk: a page without a bundler or import map can use it', async () => {
  // Static imports of bare specifiers would make sealbox.min.js fail to load in such a page,
  // KMS used or not; @aws-sdk/client-kms may only be reached through import().
  const { files, core } = await buildBrowserBundle();
  for (const path of core) {
    const text = new TextDecoder().decode(files.get(path)!);
    const staticImports = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
    for (const s of staticImports) expect(s, path).toMatch(/^\.\/[\w-]+\.min\.js$/);
  }
});

it('lazy chunks import no core file: a module shared with the core would split the core into more downloads', async () => {
  const { files, core, lazy } = await buildBrowserBundle();
  for (const path of lazy) {
    const text = new TextDecoder().decode(files.get(path)!);
    const staticImports = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*)["']\.(\/[\w-]+\.min\.js)["']/g)].map((m) => m[1]!);
    for (const s of staticImports) expect(core, `${path} imports ${s}`).not.toContain(s);
  }
});

it('the signature code (noble P-384, SHA-384, the encoding rules) is a lazy chunk, not in the core', async () => {
  const { files, core, lazy } = await buildBrowserBundle();
  expect(lazy.some((p) => p.startsWith('/signature-noble-'))).toBe(true);
  // The P-384 order n, which the encoding rules compare r and s against.
  for (const path of core) expect(new TextDecoder().decode(files.get(path)!), path).not.toMatch(/c7634d81f4372ddf581a0db248b0a77aecec196accc52973/i);
});
