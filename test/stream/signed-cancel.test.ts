import { afterEach, describe, expect, it, vi } from 'vitest';
import { decryptStream, encrypt, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { recordOpens } from '../helpers/record-opens.js';

// docs/streaming.md, "Signed messages": a Web decrypt stream cancelled (Node calls the
// transformer's cancel) while a signed message's signature is awaited releases nothing more,
// and the plaintext it held back (the withheld last frame with plaintext, and a regular frame
// waiting for the next one to verify) is zeroed, for either backend.
const keyring = testKeyring('c', 5);
const F = 64;
const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;

afterEach(() => vi.restoreAllMocks());


describe.each(['node', 'webcrypto'] as const)('signed decryptStream cancelled before its signature (%s)', (backend) => {
  it.each([
    ['a final frame with plaintext: it is withheld', 150, 128],
    ['whole frames: the last regular frame is withheld', 128, 64],
    ['cut after frame 2 of 5: frame 2 waits for frame 3', 5 * F + 9, 2 * F],
  ])('%s, released nothing more, zeroed', async (_name, size, releasedBefore) => {
    const plaintext = pattern(size, 3);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, suite: SIGNED });
    const opened = recordOpens(backend);
    const dec = decryptStream({ keyring, backend });
    const writer = dec.writable.getWriter();
    const reader = dec.readable.getReader();
    // Everything but the signature, or the first three frames of the long one (header = total
    // minus body: regular frames are F + 17 bytes, the final one L + 21, the signature 96).
    const bodyBytes = Math.floor(size / F) * (F + 17) + (size % F) + 21 + 96;
    const headerBytes = ciphertext.length - bodyBytes;
    const upTo = size > 3 * F ? headerBytes + 3 * (F + 17) : ciphertext.length - 96;
    void writer.write(ciphertext.slice(0, upTo)).catch(() => undefined);
    const released: Uint8Array[] = [];
    let total = 0;
    while (total < releasedBefore) {
      const r = await reader.read();
      released.push(r.value!);
      total += r.value!.length;
    }
    // Nothing more comes while the rest is awaited.
    const more = reader.read().then((r) => (r.done ? 'done' : `${r.value.length} more bytes`));
    expect(await Promise.race([more, new Promise((resolve) => setTimeout(() => resolve('nothing'), 20))])).toBe('nothing');
    await reader.cancel('stop');
    expect(await more).toBe('done');
    expect(bytesEqual(concat(...released), plaintext.subarray(0, releasedBefore))).toBe(true);
    // The header tag opens first (no plaintext), then the frames in order; those after the
    // released ones were held back (small frames are released as gathered copies, so the
    // released ones' own arrays are not zeroed).
    expect(opened[0]!.length).toBe(0);
    const held = opened.slice(1 + releasedBefore / F).filter((p) => p.length > 0);
    expect(held.length).toBe(1);
    expect(held[0]!.length).toBeGreaterThan(0);
    for (const p of held) expect(p.every((b) => b === 0)).toBe(true);
    // The rest of the message after the cancel is refused; no more plaintext.
    await expect(writer.write(ciphertext.slice(upTo))).rejects.toBeDefined();
  });
});
