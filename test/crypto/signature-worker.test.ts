import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageSigner, getSignatureBackend } from '../../src/crypto/signature.js';
import { hashSessionCount } from '../../src/crypto/signature-worker.js';
import { ROOT } from '../browser/build.js';
import { signChunks, verifyChunks } from '../helpers/signatures.js';

// Large messages: the node backend hashes them on a worker thread (signature-worker.ts) fed
// through a 2 MiB ring. Sizes below cross the ring several times and wrap at odd offsets.

const MIB = 1024 * 1024;
const big = new Uint8Array(9 * MIB + 12345);
for (let i = 0; i < big.length; i += 4096) big[i] = (i * 2654435761) >>> 24;

/** `bytes` cut into chunks of the given sizes, repeated. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < bytes.length; off += sizes[i % sizes.length]!, i++) out.push(bytes.subarray(off, off + sizes[i % sizes.length]!));
  return out;
}


/** r ‖ s as DER (SEQUENCE of two INTEGERs), for the raw DER verify path. */
function der(signature: Uint8Array): Uint8Array {
  const int = (b: Uint8Array): number[] => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = [...b.subarray(i)];
    if (v[0]! & 0x80) v.unshift(0);
    return [0x02, v.length, ...v];
  };
  const body = [...int(signature.subarray(0, 48)), ...int(signature.subarray(48))];
  return Uint8Array.from([0x30, body.length, ...body]);
}

describe('large messages on the node backend (hashed on a worker thread)', () => {
  it('sign on the worker, verify on the worker and in noble; chunk sizes do not matter', async () => {
    const before = hashSessionCount();
    const { publicKey, signature } = await signChunks('node', chunked(big, [65536 + 17]));
    expect(hashSessionCount()).toBe(before + 1);
    // Chunks larger than the ring, at odd offsets.
    expect(await verifyChunks('node', publicKey, chunked(big, [1, 2 * MIB + 1, 3 * MIB - 7]), signature), 'node').toBe(true);
    expect(hashSessionCount()).toBe(before + 2);
    expect(await verifyChunks('noble', publicKey, [big], signature), 'noble').toBe(true);
  });

  it('a whole message in one chunk (one-shot encrypt and decrypt) is hashed on this thread, uncopied', async () => {
    const before = hashSessionCount();
    const header = big.subarray(0, 100);
    const { publicKey, signature } = await signChunks('node', [header, big.subarray(100)]);
    expect(await verifyChunks('node', publicKey, [header, big.subarray(100)], signature)).toBe(true);
    expect(await verifyChunks('node', publicKey, chunked(big, [65536]), signature)).toBe(true);
    const signedOnWorker = await signChunks('node', chunked(big, [65536]));
    expect(await verifyChunks('node', signedOnWorker.publicKey, [big], signedOnWorker.signature)).toBe(true);
    expect(await verifyChunks('node', publicKey, [big.subarray(0, big.length - 1)], signature)).toBe(false);
    // Two of those five went through a worker thread: the ones fed frame by frame.
    expect(hashSessionCount()).toBe(before + 2);
  });

  it('noble signs, the node worker verifies', async () => {
    const { publicKey, signature } = await signChunks('noble', [big]);
    const before = hashSessionCount();
    expect(await verifyChunks('node', publicKey, chunked(big, [65536]), signature)).toBe(true);
    expect(hashSessionCount()).toBe(before + 1);
  });

  it('refuses a flipped byte anywhere, a truncation, an extra byte and a high-s twin', async () => {
    const { publicKey, signature } = await signChunks('node', [big]);
    for (const at of [0, 4 * MIB - 1, 4 * MIB, big.length - 1]) {
      const copy = big.slice();
      copy[at]! ^= 0x40;
      expect(await verifyChunks('node', publicKey, chunked(copy, [65536]), signature), `byte ${at}`).toBe(false);
    }
    expect(await verifyChunks('node', publicKey, [big.subarray(0, big.length - 1)], signature)).toBe(false);
    expect(await verifyChunks('node', publicKey, [big, new Uint8Array(1)], signature)).toBe(false);
    const n = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
    const s = BigInt('0x' + Buffer.from(signature.subarray(48)).toString('hex'));
    const twin = Uint8Array.from([...signature.subarray(0, 48), ...Buffer.from((n - s).toString(16).padStart(96, '0'), 'hex')]);
    expect(await verifyChunks('node', publicKey, [big], twin)).toBe(false);
    const raw = await (await getSignatureBackend('node')).createRawVerifier(publicKey);
    raw!.update(big);
    expect(await raw!.verify(twin)).toBe(true);
  });

  it('raw DER verify on the worker path', async () => {
    const { publicKey, signature } = await signChunks('node', [big]);
    const before = hashSessionCount();
    const raw = await (await getSignatureBackend('node')).createRawVerifier(publicKey);
    for (const c of chunked(big, [65536])) raw!.update(c);
    expect(await raw!.verify(der(signature), 'der')).toBe(true);
    const wrong = await (await getSignatureBackend('node')).createRawVerifier(publicKey);
    for (const c of chunked(big.subarray(1), [65536])) wrong!.update(c);
    expect(await wrong!.verify(der(signature), 'der')).toBe(false);
    expect(hashSessionCount()).toBe(before + 2);
  });

  it('two large messages signed at once, interleaved, each on its own thread', async () => {
    const a = await createMessageSigner('node');
    const b = await createMessageSigner('node');
    const other = big.map((x) => x ^ 1);
    for (let off = 0; off < big.length; off += MIB) {
      a.update(big.subarray(off, off + MIB));
      b.update(other.subarray(off, off + MIB));
    }
    const [sa, sb] = await Promise.all([a.sign(), b.sign()]);
    expect(await verifyChunks('node', a.publicKey, [big], sa)).toBe(true);
    expect(await verifyChunks('node', b.publicKey, [other], sb)).toBe(true);
    expect(await verifyChunks('node', b.publicKey, [big], sb)).toBe(false);
  });
});

describe('the worker thread and the process lifetime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-sigworker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A script using the signer in a fresh Node process; returns its stdout. */
  async function run(code: string): Promise<string> {
    const out = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
    await build({
      stdin: { contents: `import { createMessageSigner, createMessageVerifier } from './src/crypto/signature.js';\n${code}`, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: out,
      logLevel: 'silent',
    });
    return execFileSync(process.execPath, [out], { encoding: 'utf8', timeout: 30_000 });
  }

  it('a process awaiting only the worker thread for its signature does not exit early', async () => {
    const out = await run(`
      const s = await createMessageSigner();
      const big = new Uint8Array(6 * 1024 * 1024);
      s.update(big);
      const sig = await s.sign();
      const v = await createMessageVerifier(s.publicKey);
      v.update(big);
      console.log('signed', sig.length, await v.verify(sig));`);
    expect(out.trim()).toBe('signed 96 true');
  });

  it('a signer or verifier dropped mid-message (an encryption that failed, a forged stream) does not keep the process alive', async () => {
    const started = Date.now();
    const out = await run(`
      const s = await createMessageSigner();
      s.update(new Uint8Array(6 * 1024 * 1024));
      const v = await createMessageVerifier(s.publicKey);
      v.update(new Uint8Array(6 * 1024 * 1024));
      console.log('dropped');`);
    expect(out.trim()).toBe('dropped');
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
