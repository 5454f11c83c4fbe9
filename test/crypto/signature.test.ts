import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  P384_PUBLIC_KEY_LENGTH,
  P384_SIGNATURE_LENGTH,
  createMessageSigner,
  createMessageVerifier,
  getSignatureBackend,
} from '../../src/crypto/signature.js';
import { isCanonicalSignature } from '../../src/crypto/signature-policy.js';
import type { SignatureBackendName } from '../../src/crypto/signature.js';
import { SealboxError } from '../../src/errors.js';
import { signChunks, verifyChunks } from '../helpers/signatures.js';

const BACKENDS: SignatureBackendName[] = ['node', 'noble'];
const PAIRS = BACKENDS.flatMap((a) => BACKENDS.map((b) => [a, b] as const));

const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn;
const B = 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn;

const toBig = (b: Uint8Array): bigint => BigInt('0x' + Buffer.from(b).toString('hex'));
const fromBig = (x: bigint, len = 48): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(len * 2, '0'), 'hex'));
const rs = (r: bigint, s: bigint): Uint8Array => Uint8Array.from([...fromBig(r), ...fromBig(s)]);
const point = (prefix: number, x: bigint): Uint8Array => Uint8Array.from([prefix, ...fromBig(x)]);

/** Whether x³ - 3x + b is a square mod p (so x is the x-coordinate of a point). */
function onCurve(x: bigint): boolean {
  const mod = (a: bigint): bigint => ((a % P) + P) % P;
  let r = 1n;
  let base = mod(x ** 3n - 3n * x + B);
  for (let e = (P - 1n) / 2n; e > 0n; e >>= 1n, base = (base * base) % P) if (e & 1n) r = (r * base) % P;
  return r === 1n;
}


const message = new TextEncoder().encode('the signed bytes of one message');

describe.each(PAIRS)('signed by %s, verified by %s', (signer, verifier) => {
  it('verifies, with the lengths and encodings the format fixes', async () => {
    const { publicKey, signature } = await signChunks(signer, [message]);
    expect(publicKey.length).toBe(P384_PUBLIC_KEY_LENGTH);
    expect([0x02, 0x03]).toContain(publicKey[0]);
    expect(signature.length).toBe(P384_SIGNATURE_LENGTH);
    expect(isCanonicalSignature(signature)).toBe(true);
    expect(await verifyChunks(verifier, publicKey, [message], signature)).toBe(true);
  });

  it('any split of the bytes into chunks gives the same verdict (property)', async () => {
    const { publicKey, signature } = await signChunks(signer, [message]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: message.length }), { maxLength: 6 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), message.length];
        const chunks = points.slice(1).map((end, i) => message.subarray(points[i], end));
        expect(await verifyChunks(verifier, publicKey, chunks, signature)).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  it('refuses other bytes, another key, and any flipped signature bit', async () => {
    const { publicKey, signature } = await signChunks(signer, [message]);
    const other = message.slice();
    other[3]! ^= 1;
    expect(await verifyChunks(verifier, publicKey, [other], signature)).toBe(false);
    expect(await verifyChunks(verifier, publicKey, [message, new Uint8Array(1)], signature)).toBe(false);
    expect(await verifyChunks(verifier, publicKey, [message.subarray(1)], signature)).toBe(false);
    const another = await signChunks(signer, [message]);
    expect(await verifyChunks(verifier, another.publicKey, [message], signature)).toBe(false);
    for (const bit of [0, 7, 8 * 47 + 7, 8 * 48, 8 * 95 + 7]) {
      const flipped = signature.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(await verifyChunks(verifier, publicKey, [message], flipped), `bit ${bit}`).toBe(false);
    }
  });

  it('the high-s twin (r, n - s) is valid raw ECDSA but refused by the message verifier', async () => {
    const { publicKey, signature } = await signChunks(signer, [message]);
    const twin = rs(toBig(signature.subarray(0, 48)), N - toBig(signature.subarray(48)));
    const raw = await (await getSignatureBackend(verifier)).createRawVerifier(publicKey);
    raw!.update(message);
    expect(await raw!.verify(twin)).toBe(true);
    expect(await verifyChunks(verifier, publicKey, [message], twin)).toBe(false);
  });
});

describe.each(BACKENDS)('%s backend', (backend) => {
  it('always signs low-s (both parities of s would occur without normalizing)', async () => {
    for (let i = 0; i < 24; i++) {
      const { signature } = await signChunks(backend, [message]);
      expect(toBig(signature.subarray(48)) <= (N - 1n) / 2n).toBe(true);
    }
  });

  it('signs the empty message, and large chunks', async () => {
    const empty = await signChunks(backend, []);
    expect(await verifyChunks(backend, empty.publicKey, [new Uint8Array(0)], empty.signature)).toBe(true);
    const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i * 7);
    const chunks = [big.subarray(0, 1), big.subarray(1, 2 * 1024 * 1024), big.subarray(2 * 1024 * 1024)];
    const s = await signChunks(backend, chunks);
    expect(await verifyChunks(backend, s.publicKey, [big], s.signature)).toBe(true);
  });

  it('update copies: the caller may overwrite a chunk after passing it', async () => {
    const buf = message.slice();
    const signer = await createMessageSigner(backend);
    signer.update(buf);
    buf.fill(0);
    const signature = await signer.sign();
    expect(await verifyChunks(backend, signer.publicKey, [message], signature)).toBe(true);
    const verifier = await createMessageVerifier(signer.publicKey, backend);
    const again = message.slice();
    verifier.update(again);
    again.fill(0);
    expect(await verifier.verify(signature)).toBe(true);
  });

  it('update copies a Node Buffer too (whose slice() is a view), small and worker-sized, and so does createMessageVerifier its key', async () => {
    for (const size of [100, 300 * 1024, 1536 * 1024]) {
      const data = Buffer.alloc(size, 7);
      const reused = Buffer.alloc(size);
      const signer = await createMessageSigner(backend);
      data.copy(reused);
      signer.update(reused.subarray(0, size));
      reused.fill(1); // the caller reuses its read buffer, as decryptFile's pump does
      const signature = await signer.sign();
      expect(await verifyChunks(backend, signer.publicKey, [data], signature), `sign ${size}`).toBe(true);
      const key = Buffer.from(signer.publicKey);
      const verifier = await createMessageVerifier(key, backend);
      key.fill(0);
      data.copy(reused);
      verifier.update(reused.subarray(0, size));
      reused.fill(1);
      expect(await verifier.verify(signature), `verify ${size}`).toBe(true);
    }
  });

  it('returns false (no throw) for r or s of 0 or >= n, and for the wrong length', async () => {
    const { publicKey, signature } = await signChunks(backend, [message]);
    const r = toBig(signature.subarray(0, 48));
    const s = toBig(signature.subarray(48));
    const bad = [rs(0n, s), rs(r, 0n), rs(N, s), rs(r, N), rs(r + N, s), rs(2n ** 384n - 1n, s), rs(r, 2n ** 384n - 1n), signature.subarray(0, 95), Uint8Array.from([...signature, 0]), new Uint8Array(0), new Uint8Array(96)];
    for (const sig of bad) expect(await verifyChunks(backend, publicKey, [message], sig)).toBe(false);
  });

  it('refuses a public key that is not a canonical compressed point on P-384 with ERR_FORMAT_INVALID', async () => {
    const { publicKey } = await signChunks(backend, [message]);
    let small = 0n;
    while (!onCurve(small)) small++;
    let off = 1n;
    while (onCurve(off)) off++;
    const bad = [
      publicKey.subarray(0, 48),
      Uint8Array.from([...publicKey, 0]),
      point(0x04, toBig(publicKey.subarray(1))),
      point(0x00, toBig(publicKey.subarray(1))),
      point(0x02, off), // no point has this x
      point(0x02, small + P), // a point's x, plus p: not canonical
      point(0x02, P),
      point(0x02, 2n ** 384n - 1n),
      new Uint8Array(49),
    ];
    // The canonical encoding of the same x is accepted (the refusals are about encoding).
    await expect(createMessageVerifier(point(0x02, small), backend)).resolves.toBeDefined();
    for (const key of bad) {
      const err = await createMessageVerifier(key, backend).catch((e: unknown) => e);
      expect(err, Buffer.from(key).toString('hex')).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe('ERR_FORMAT_INVALID');
    }
    // The curve check is the backend's own (not only the encoding rules in front of it).
    await expect(createMessageVerifier(point(0x02, off), backend)).rejects.toMatchObject({ code: 'ERR_FORMAT_INVALID' });
  });

  it('a programming error (Error) for update after sign or verify, and for a second sign or verify', async () => {
    const signer = await createMessageSigner(backend);
    const signature = await signer.sign();
    expect(() => signer.update(message)).toThrow(Error);
    await expect(signer.sign()).rejects.toThrow(Error);
    const verifier = await createMessageVerifier(signer.publicKey, backend);
    expect(await verifier.verify(signature)).toBe(true);
    expect(() => verifier.update(message)).toThrow(Error);
    await expect(verifier.verify(signature)).rejects.toThrow(Error);
  });

  it('gives every signer a fresh key pair', async () => {
    const keys = new Set<string>();
    for (let i = 0; i < 8; i++) keys.add(Buffer.from((await createMessageSigner(backend)).publicKey).toString('hex'));
    expect(keys.size).toBe(8);
  });
});

it('the default backend on Node is node:crypto', async () => {
  expect((await getSignatureBackend()).name).toBe('node');
});

it('a TypeError for a public key that is not a Uint8Array', async () => {
  await expect(createMessageVerifier('02ab' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
});
