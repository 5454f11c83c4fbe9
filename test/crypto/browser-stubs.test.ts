import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../browser/build.js';

// scripts/browser-stubs.ts builds the browser bundle from X.browser.ts wherever one stands beside
// X.ts: a stand-in must export the same names, or the bundle would import something that is not there.
const stubs = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.browser.ts'));

it('there are browser stand-ins (the node:crypto backends)', () => {
  expect(stubs.map((f) => relative('.', f).replaceAll('\\', '/')).sort()).toEqual(['crypto/aead-node.browser.ts', 'crypto/hkdf-node.browser.ts', 'crypto/signature-node.browser.ts']);
});

it.each(stubs)('%s exports what the file it stands in for exports', async (stub) => {
  const real = (await import(join(ROOT, 'src', stub.replace(/\.browser\.ts$/, '.ts')))) as Record<string, unknown>;
  const standIn = (await import(join(ROOT, 'src', stub))) as Record<string, unknown>;
  expect(Object.keys(standIn).sort()).toEqual(Object.keys(real).sort());
  for (const name of Object.keys(real)) expect(typeof standIn[name], name).toBe(typeof real[name] === 'function' ? 'function' : typeof standIn[name]);
});
