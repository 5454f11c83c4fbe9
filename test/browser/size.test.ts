import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { buildBrowserBundle } from './build.js';

// Issue 7: the core (everything in the `.` entry except @aws-sdk/client-kms) ships in at most
// 30 KiB gzipped. Measured on the minified browser bundle, as users download it.
const BUDGET_GZIP_BYTES = 30 * 1024;

it('the browser bundle of the core fits in 30 KiB gzipped', async () => {
  const bundle = await buildBrowserBundle();
  const gzipped = gzipSync(bundle, { level: 9 }).length;
  console.log(`browser bundle: ${bundle.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_GZIP_BYTES})`);
  expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
});

it('the browser bundle imports nothing from Node and nothing but @aws-sdk/*', async () => {
  const text = new TextDecoder().decode(await buildBrowserBundle());
  const specifiers = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
  for (const s of specifiers) expect(s).toMatch(/^@aws-sdk\//);
  // Node globals the core must not rely on (cbor-x probes globalThis.Buffer, which is fine).
  expect(text).not.toMatch(/\brequire\(/);
});

it('test/browser/build.ts builds with the options of the dist/browser entry in tsup.config.ts', async () => {
  const { default: configs } = await import('../../tsup.config.js');
  const entry = (Array.isArray(configs) ? configs : [configs]).find((c) => (c as { outDir?: string }).outDir === 'dist/browser') as Record<string, unknown>;
  expect(entry).toMatchObject({ entry: { sealbox: 'src/index.ts' }, format: ['esm'], platform: 'browser', target: 'es2022', minify: true, splitting: false });
  expect(entry.external).toEqual([/^@aws-sdk\//]);
});
