import { describe, expect, it } from 'vitest';
import { createNodeAeadBackend } from '../../src/crypto/aead-node.js';
import { createWebCryptoAeadBackend } from '../../src/crypto/aead-webcrypto.js';
import { createNobleAeadBackend } from '../../src/crypto/aead-noble.js';
import { isSealboxError } from '../../src/errors.js';
import { pattern, thrown } from '../helpers/keys.js';

// The WebCrypto backend takes what the other backends take and fails the way they fail
// (issue 7: identical bytes; decryption failures opaque).
const webcrypto = createWebCryptoAeadBackend()!;
const node = createNodeAeadBackend()!;
const noble = createNobleAeadBackend();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** `bytes` copied into a SharedArrayBuffer at an odd offset (WebCrypto refuses such views natively). */
function shared(bytes: Uint8Array): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(bytes.length + 3), 3, bytes.length);
  view.set(bytes);
  return view;
}

describe('WebCrypto AES-GCM backend', () => {
  const raw = pattern(32, 3);
  const nonce = pattern(12, 4);
  const aad = pattern(41, 5);
  const plaintext = pattern(1000, 6);

  it('seals and opens views of a SharedArrayBuffer like node:crypto and noble', async () => {
    const expected = hex(await (await node.importKey(raw)).seal(nonce, aad, plaintext));
    expect(hex(await (await noble.importKey(raw)).seal(nonce, aad, plaintext))).toBe(expected);
    const key = await webcrypto.importKey(shared(raw));
    const sealed = await key.seal(shared(nonce), shared(aad), shared(plaintext));
    expect(hex(sealed)).toBe(expected);
    expect(hex(await key.open(shared(nonce), shared(aad), shared(sealed)))).toBe(hex(plaintext));
  });

  it('seals with headroom: zero bytes before the same ciphertext', async () => {
    const key = await webcrypto.importKey(raw);
    const plain = await key.seal(nonce, aad, plaintext);
    const roomy = await key.seal(nonce, aad, plaintext, 5);
    expect(hex(roomy)).toBe('00'.repeat(5) + hex(plain));
  });

  it('every tag failure is the opaque ERR_DECRYPTION_FAILED, with no plaintext', async () => {
    const key = await webcrypto.importKey(raw);
    const sealed = await key.seal(nonce, aad, plaintext);
    const cases = [
      sealed.map((b, i) => (i === 0 ? b ^ 1 : b)), // ciphertext bit
      sealed.map((b, i) => (i === sealed.length - 1 ? b ^ 0x80 : b)), // tag bit
      sealed.subarray(0, sealed.length - 1), // short tag
      sealed.subarray(0, 15), // shorter than a tag
      new Uint8Array(0),
    ];
    for (const c of cases) expect(isSealboxError(await thrown(() => key.open(nonce, aad, c)), 'ERR_DECRYPTION_FAILED')).toBe(true);
    expect(isSealboxError(await thrown(() => key.open(nonce, pattern(41, 9), sealed)), 'ERR_DECRYPTION_FAILED')).toBe(true);
  });

  it('refuses key lengths other than 16 or 32 and nonces other than 96 bits with RangeError', async () => {
    for (const n of [0, 15, 24, 33]) expect(await thrown(() => webcrypto.importKey(new Uint8Array(n)))).toBeInstanceOf(RangeError);
    const key = await webcrypto.importKey(raw);
    for (const n of [8, 11, 13, 16]) {
      expect(await thrown(() => key.seal(new Uint8Array(n), aad, plaintext))).toBeInstanceOf(RangeError);
      expect(await thrown(() => key.open(new Uint8Array(n), aad, new Uint8Array(32)))).toBeInstanceOf(RangeError);
    }
  });

  it("does not keep or change the caller's key bytes", async () => {
    const mine = pattern(32, 3);
    const key = await webcrypto.importKey(mine);
    expect(hex(mine)).toBe(hex(raw));
    mine.fill(0); // the caller may wipe its copy: the imported key still works
    const sealed = await key.seal(nonce, aad, plaintext);
    expect(hex(sealed)).toBe(hex(await (await node.importKey(raw)).seal(nonce, aad, plaintext)));
  });
});
