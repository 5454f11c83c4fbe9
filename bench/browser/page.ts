// In-page benchmark: Sealbox (the minified bundle) against one raw crypto.subtle AES-GCM call
// over the same 16 MiB, in the same page and run. Loaded by bench/browser/run.ts.
import { decrypt, decryptStream, encrypt, encryptStream, getAeadBackend, RawAesKeyring } from '../../src/index.js';

const MiB = 1024 * 1024;

function randomData(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

/** Drains a stream, counting bytes (no copy into one array: that would be measured too). */
async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) n += r.value.length;
  return n;
}

/** `data` as a stream of 64 KiB chunks (views, as a fetch body or file would deliver). */
function chunked(data: Uint8Array): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (pos >= data.length) c.close();
      else c.enqueue(data.subarray(pos, (pos += 65536)));
    },
  });
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
  const t = { rawEncrypt: [] as number[], rawDecrypt: [] as number[], sealboxEncrypt: [] as number[], sealboxDecrypt: [] as number[], streamEncrypt: [] as number[], streamDecrypt: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    t.rawEncrypt.push(await time(() => crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data)));
    t.sealboxEncrypt.push(await time(() => encrypt(data, options)));
    t.rawDecrypt.push(await time(() => crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, rawSealed)));
    t.sealboxDecrypt.push(await time(() => decrypt(ciphertext, { keyring })));
    t.streamEncrypt.push(await time(() => drain(chunked(data).pipeThrough(encryptStream(options)))));
    t.streamDecrypt.push(await time(() => drain(chunked(ciphertext).pipeThrough(decryptStream({ keyring })))));
  }
  return {
    backend: getAeadBackend().name,
    sizeMiB: size / MiB,
    frameLength: frameLength ?? 65536,
    rawEncryptMs: median(t.rawEncrypt),
    sealboxEncryptMs: median(t.sealboxEncrypt),
    rawDecryptMs: median(t.rawDecrypt),
    sealboxDecryptMs: median(t.sealboxDecrypt),
    streamEncryptMs: median(t.streamEncrypt),
    streamDecryptMs: median(t.streamDecrypt),
  };
}

(globalThis as unknown as { sealboxBench: typeof bench }).sealboxBench = bench;

/**
 * Per-message key derivation, as Sealbox does it (one HKDF-SHA-512 extract, two 32-byte
 * expands), in @noble/hashes (what the bundle uses) against WebCrypto HKDF (importKey + two
 * deriveBits), and small messages end to end. Microseconds per operation.
 */
async function smallOps(iterations: number) {
  const { hkdfSha512Noble } = await import('../../src/crypto/hkdf-noble.js');
  const ikm = randomData(32);
  const salt = randomData(32);
  const info1 = new TextEncoder().encode('sealbox v1 suite 1 content key');
  const info2 = new TextEncoder().encode('sealbox v1 suite 1 key commitment');
  let t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const prk = hkdfSha512Noble.extract(ikm, salt);
    hkdfSha512Noble.expand(prk, info1, 32);
    hkdfSha512Noble.expand(prk, info2, 32);
  }
  const nobleUs = ((performance.now() - t0) * 1000) / iterations;
  t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
    await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-512', salt, info: info1 }, base, 256);
    await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-512', salt, info: info2 }, base, 256);
  }
  const webcryptoUs = ((performance.now() - t0) * 1000) / iterations;
  const keyring = new RawAesKeyring({ namespace: 'bench', name: 'k', wrappingKey: randomData(32) });
  const kib = randomData(1024);
  const { ciphertext } = await encrypt(kib, { keyring });
  t0 = performance.now();
  for (let i = 0; i < iterations; i++) await encrypt(kib, { keyring });
  const encryptUs = ((performance.now() - t0) * 1000) / iterations;
  t0 = performance.now();
  for (let i = 0; i < iterations; i++) await decrypt(ciphertext, { keyring });
  const decryptUs = ((performance.now() - t0) * 1000) / iterations;
  return { nobleUs, webcryptoUs, encryptUs, decryptUs };
}

(globalThis as unknown as { sealboxSmallOps: typeof smallOps }).sealboxSmallOps = smallOps;
