// In-page benchmark: Sealbox (the minified bundle) against one raw crypto.subtle AES-GCM call
// over the same 16 MiB, in the same page and run. Loaded by bench/browser/run.ts.
import { decrypt, encrypt, getAeadBackend, RawAesKeyring } from '../../src/index.js';

const MiB = 1024 * 1024;

function randomData(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median milliseconds of each operation over `rounds` interleaved rounds. */
async function bench(size: number, rounds: number, frameLength?: number) {
  const data = randomData(size);
  const keyring = new RawAesKeyring({ namespace: 'bench', name: 'k', wrappingKey: randomData(32) });
  const key = await crypto.subtle.importKey('raw', randomData(32), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const iv = randomData(12);
  const rawSealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data));
  const options = frameLength ? { keyring, frameLength } : { keyring };
  const { ciphertext } = await encrypt(data, options);
  const t = { rawEncrypt: [] as number[], rawDecrypt: [] as number[], sealboxEncrypt: [] as number[], sealboxDecrypt: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    t.rawEncrypt.push(await time(() => crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data)));
    t.sealboxEncrypt.push(await time(() => encrypt(data, options)));
    t.rawDecrypt.push(await time(() => crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, rawSealed)));
    t.sealboxDecrypt.push(await time(() => decrypt(ciphertext, { keyring })));
  }
  return {
    backend: getAeadBackend().name,
    sizeMiB: size / MiB,
    frameLength: frameLength ?? 65536,
    rawEncryptMs: median(t.rawEncrypt),
    sealboxEncryptMs: median(t.sealboxEncrypt),
    rawDecryptMs: median(t.rawDecrypt),
    sealboxDecryptMs: median(t.sealboxDecrypt),
  };
}

(globalThis as unknown as { sealboxBench: typeof bench }).sealboxBench = bench;
