// npm run bench:browser: 16 MiB encrypt and decrypt through Sealbox in headless Chromium,
// against one raw crypto.subtle AES-GCM call on the same data in the same page and run.
// Target (issue 7): Sealbox at least 0.7x the raw call's throughput each way.
import { buildBrowserBundle, buildPageScript } from '../../test/browser/build.js';
import { launchChromium } from '../../test/browser/chromium.js';
import { serve } from '../../test/browser/server.js';

const TARGET = 0.7;
const size = Number(process.env.SEALBOX_BENCH_MIB ?? 16) * 1024 * 1024;
const rounds = Number(process.env.SEALBOX_BENCH_ROUNDS ?? 9);
const frameLengths = [65536, 1024 * 1024];

const [bundle, script] = await Promise.all([buildBrowserBundle(), buildPageScript('bench/browser/page.ts')]);
const server = await serve(
  new Map([
    ['/', { type: 'text/html', body: '<!doctype html><script type="module" src="/bench.js"></script>' }],
    ...[...bundle.files].map(([path, body]) => [path, { type: 'text/javascript', body }] as const),
    ['/bench.js', { type: 'text/javascript', body: script }],
  ]),
);
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  await context.route((url) => url.origin !== server.origin, (route) => route.abort());
  const page = await context.newPage();
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => 'sealboxBench' in globalThis);
  console.log(`Chromium ${browser.version()}, ${size / 1024 / 1024} MiB, median of ${rounds} rounds`);
  console.log('frame     | raw encrypt | sealbox encrypt | ratio | raw decrypt | sealbox decrypt | ratio | encryptStream | decryptStream');
  let ok = true;
  for (const frameLength of frameLengths) {
    const r = await page.evaluate(
      ([s, n, f]) => (globalThis as unknown as { sealboxBench: (a: number, b: number, c: number) => Promise<Record<string, number>> }).sealboxBench(s!, n!, f!),
      [size, rounds, frameLength],
    );
    const enc = r.rawEncryptMs! / r.sealboxEncryptMs!;
    const dec = r.rawDecryptMs! / r.sealboxDecryptMs!;
    const mibs = (ms: number): string => `${((size / 1024 / 1024) / (ms / 1000)).toFixed(0).padStart(5)} MiB/s`;
    console.log(
      `${String(frameLength / 1024).padStart(5)} KiB | ${mibs(r.rawEncryptMs!)} | ${mibs(r.sealboxEncryptMs!).padStart(15)} | ${enc.toFixed(2)}x | ${mibs(r.rawDecryptMs!)} | ${mibs(r.sealboxDecryptMs!).padStart(15)} | ${dec.toFixed(2)}x | ${mibs(r.streamEncryptMs!)} ${(r.rawEncryptMs! / r.streamEncryptMs!).toFixed(2)}x | ${mibs(r.streamDecryptMs!)} ${(r.rawDecryptMs! / r.streamDecryptMs!).toFixed(2)}x`,
    );
    if (frameLength === 65536) ok = enc >= TARGET && dec >= TARGET;
  }
  console.log(`default frames (64 KiB) ${ok ? 'meet' : 'MISS'} the ${TARGET}x target`);
  const small = await page.evaluate((n) => (globalThis as unknown as { sealboxSmallOps: (n: number) => Promise<Record<string, number>> }).sealboxSmallOps(n), 2000);
  console.log(
    `message keys (HKDF-SHA-512 extract + 2 expands): @noble/hashes ${small.nobleUs!.toFixed(1)} us, WebCrypto ${small.webcryptoUs!.toFixed(1)} us (WebCrypto ${(small.nobleUs! / small.webcryptoUs!).toFixed(1)}x as fast)`,
  );
  console.log(`1 KiB messages: ${Math.round(1e6 / small.encryptUs!)} encrypts/s, ${Math.round(1e6 / small.decryptUs!)} decrypts/s`);
} finally {
  await browser.close();
  await server.close();
}
