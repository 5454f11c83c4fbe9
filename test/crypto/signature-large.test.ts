import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMessageSigner, getSignatureBackend } from '../../src/crypto/signature.js';
import { signChunks, verifyChunks } from '../helpers/signatures.js';

// Large messages on the node backend, fed in chunks of any size (one byte, frames, more than a
// MiB at odd offsets) or whole; each verifies across backends.

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

// The signed 256 MiB file's peak RSS (limit 96 MiB): a hash worker thread alone cost 10-12 MiB.
// First in this file: a thread started by an earlier test would stay (an idle worker stayed 30 s).
const threads = (): number => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
it.runIf(existsSync('/proc/self/status'))('hashes on the calling thread: signing and verifying a large message in frames starts no thread', async () => {
  // libuv's thread pool starts all its threads at its first use; the worker that makes signing
  // keys and nonces ahead (src/crypto/presign-node.ts) starts at the second signature.
  await signChunks('node', [big.subarray(0, 10)]);
  await signChunks('node', [big.subarray(0, 10)]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = threads();
  const { publicKey, signature } = await signChunks('node', chunked(big, [65536]));
  expect(await verifyChunks('node', publicKey, chunked(big, [65536]), signature)).toBe(true);
  expect(threads()).toBe(before);
});

describe('large messages on the node backend', () => {
  it('signed frame by frame, verified in other chunkings and in noble; chunk sizes do not matter', async () => {
    const { publicKey, signature } = await signChunks('node', chunked(big, [65536 + 17]));
    // Chunks of more than a MiB, at odd offsets.
    expect(await verifyChunks('node', publicKey, chunked(big, [1, 2 * MIB + 1, 3 * MIB - 7]), signature), 'node').toBe(true);
    expect(await verifyChunks('noble', publicKey, [big], signature), 'noble').toBe(true);
  });

  it('a whole message in one chunk (one-shot encrypt and decrypt) and frame by frame give the same verdicts', async () => {
    const header = big.subarray(0, 100);
    const { publicKey, signature } = await signChunks('node', [header, big.subarray(100)]);
    expect(await verifyChunks('node', publicKey, [header, big.subarray(100)], signature)).toBe(true);
    expect(await verifyChunks('node', publicKey, chunked(big, [65536]), signature)).toBe(true);
    const signedOnWorker = await signChunks('node', chunked(big, [65536]));
    expect(await verifyChunks('node', signedOnWorker.publicKey, [big], signedOnWorker.signature)).toBe(true);
    expect(await verifyChunks('node', publicKey, [big.subarray(0, big.length - 1)], signature)).toBe(false);
  });

  it('noble signs, node verifies frame by frame', async () => {
    const { publicKey, signature } = await signChunks('noble', [big]);
    expect(await verifyChunks('node', publicKey, chunked(big, [65536]), signature)).toBe(true);
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

  it('raw DER verify of a large message fed in frames', async () => {
    const { publicKey, signature } = await signChunks('node', [big]);
    const raw = await (await getSignatureBackend('node')).createRawVerifier(publicKey);
    for (const c of chunked(big, [65536])) raw!.update(c);
    expect(await raw!.verify(der(signature), 'der')).toBe(true);
    const wrong = await (await getSignatureBackend('node')).createRawVerifier(publicKey);
    for (const c of chunked(big.subarray(1), [65536])) wrong!.update(c);
    expect(await wrong!.verify(der(signature), 'der')).toBe(false);
  });

  it('two large messages signed at once, interleaved, each with its own key', async () => {
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
