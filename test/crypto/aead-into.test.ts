import { createCipheriv } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createNodeAeadBackend } from '../../src/crypto/aead-node.js';
import { decrypt } from '../../src/decrypt.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { counterRandom, pattern } from '../helpers/keys.js';

const KEY = pattern(32, 3);
const NONCE = pattern(12, 4);
const AAD = pattern(20, 5);

function reference(plaintext: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', KEY, NONCE);
  c.setAAD(AAD);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

describe('node backend sealInto / openInto (Buffer path below 16 KiB, from it half of the bytes through strings)', () => {
  const key = createNodeAeadBackend()!.importKey(KEY) as Exclude<ReturnType<NonNullable<ReturnType<typeof createNodeAeadBackend>>['importKey']>, Promise<unknown>>;

  for (const n of [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65536, 200_003]) {
    it(`${n} bytes: the same bytes as one node:crypto call, written at an offset, and back`, () => {
      const plaintext = pattern(n, n);
      const out = new Uint8Array(7 + n + 16 + 5).fill(0xee);
      key.sealInto!(NONCE, AAD, plaintext, out, 7);
      expect(Buffer.from(out.subarray(7, 7 + n + 16)).equals(reference(plaintext))).toBe(true);
      expect(out.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
      expect(out.subarray(7 + n + 16).every((b) => b === 0xee)).toBe(true);
      const back = new Uint8Array(n + 3).fill(0xee);
      key.openInto!(NONCE, AAD, out.subarray(7, 7 + n + 16), back, 3);
      expect(Buffer.from(back.subarray(3)).equals(Buffer.from(plaintext))).toBe(true);
    });
  }

  it('a bad tag zeroes what was written and throws ERR_DECRYPTION_FAILED', () => {
    for (const n of [1000, 40_000]) {
      const sealed = reference(pattern(n, 9));
      sealed[sealed.length - 1]! ^= 1;
      const out = new Uint8Array(n + 10).fill(0xee);
      expect(() => key.openInto!(NONCE, AAD, sealed, out, 5)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPTION_FAILED' }));
      expect(out.subarray(5, 5 + n).every((b) => b === 0)).toBe(true);
      expect(out.subarray(0, 5).every((b) => b === 0xee)).toBe(true);
    }
  });

  // From 16 KiB half of the output bytes come through latin1 strings and half as Buffers,
  // alternating with 64 KiB frames: runs of consecutive calls cover both paths, whatever the
  // backend's state before.
  it('consecutive large frames (both output paths): the same bytes as node:crypto, and back', () => {
    for (let i = 0; i < 6; i++) {
      const n = 65536 + (i % 3) * 4099;
      const plaintext = pattern(n, 40 + i);
      const out = new Uint8Array(n + 16 + 2).fill(0xee);
      key.sealInto!(NONCE, AAD, plaintext, out, 1);
      expect(Buffer.from(out.subarray(1, 1 + n + 16)).equals(reference(plaintext))).toBe(true);
      expect([out[0], out[n + 17]]).toEqual([0xee, 0xee]);
      const back = new Uint8Array(n).fill(0xee);
      key.openInto!(NONCE, AAD, out.subarray(1, 1 + n + 16), back, 0);
      expect(Buffer.from(back).equals(Buffer.from(plaintext))).toBe(true);
    }
  });

  // The strings are what keeps the peak RSS of large one-shot calls bounded (aead-node.ts): every
  // large sealInto output goes through one, and half of openInto's, whatever came before.
  it('large outputs through strings: all of sealInto\'s, every other one of openInto\'s', () => {
    const write = vi.spyOn(Buffer.prototype, 'write');
    try {
      const plaintext = pattern(65536, 70);
      const sealed = new Uint8Array(65536 + 16);
      for (let i = 0; i < 10; i++) key.sealInto!(NONCE, AAD, plaintext, sealed, 0);
      expect(write).toHaveBeenCalledTimes(10);
      write.mockClear();
      const back = new Uint8Array(65536);
      for (let i = 0; i < 10; i++) key.openInto!(NONCE, AAD, sealed, back, 0);
      expect(write).toHaveBeenCalledTimes(5);
      expect(Buffer.from(back).equals(Buffer.from(plaintext))).toBe(true);
    } finally {
      write.mockRestore();
    }
  });

  it('a bad tag on consecutive large frames (both output paths) zeroes what was written', () => {
    for (let i = 0; i < 4; i++) {
      const sealed = reference(pattern(65536, 50 + i));
      sealed[i * 1000]! ^= 1;
      const out = new Uint8Array(65536 + 2).fill(0xee);
      expect(() => key.openInto!(NONCE, AAD, sealed, out, 1)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPTION_FAILED' }));
      expect(out.subarray(1, 65537).every((b) => b === 0)).toBe(true);
      expect([out[0], out[65537]]).toEqual([0xee, 0xee]);
    }
  });

  it('seal with headroom: zero bytes before the sealed frame, also in reused (dirty) memory', () => {
    for (let i = 0; i < 40; i++) {
      // Garbage full of 0xff, freed and reallocated: seal's large outputs are not zeroed first.
      Buffer.allocUnsafeSlow(65536 + 21).fill(0xff);
      const plaintext = pattern(65536 + (i % 2), 60 + i);
      const sealed = key.seal(NONCE, AAD, plaintext, 5) as Uint8Array;
      expect(sealed.constructor).toBe(Uint8Array);
      expect(sealed.length).toBe(5 + plaintext.length + 16);
      expect(Array.from(sealed.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
      expect(Buffer.from(sealed.subarray(5)).equals(reference(plaintext))).toBe(true);
    }
  });

  it('refuses an output too small for the frame', () => {
    // Twice each: both output paths.
    for (let i = 0; i < 2; i++) {
      expect(() => key.sealInto!(NONCE, AAD, pattern(40_000), new Uint8Array(40_000), 0)).toThrow(RangeError);
      expect(() => key.openInto!(NONCE, AAD, reference(pattern(40_000)), new Uint8Array(39_999), 0)).toThrow(RangeError);
    }
  });
});

describe('one-shot messages with large frames', () => {
  const plaintext = pattern(3 * 65536 + 12_345, 11);

  it('node:crypto, WebCrypto and noble write identical bytes and open each other', async () => {
    const messages = await Promise.all(
      (['node', 'webcrypto', 'noble'] as const).map(async (backend) => {
        const keyring = new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9), random: counterRandom() });
        return (await encryptWithMessageId(plaintext, { keyring, backend }, pattern(32, 77))).ciphertext;
      }),
    );
    expect(Buffer.from(messages[1]!).equals(Buffer.from(messages[0]!))).toBe(true);
    expect(Buffer.from(messages[2]!).equals(Buffer.from(messages[0]!))).toBe(true);
    const keyring = new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9) });
    for (const backend of ['node', 'webcrypto', 'noble'] as const) {
      const { plaintext: out } = await decrypt(messages[0]!, { keyring, backend });
      expect(Buffer.from(out).equals(Buffer.from(plaintext))).toBe(true);
    }
  });

  it('a flipped bit in any frame fails with ERR_DECRYPTION_FAILED', async () => {
    const keyring = new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9) });
    const { ciphertext } = await encryptWithMessageId(plaintext, { keyring }, pattern(32, 78));
    for (const from of [1, 2, 3, 4]) {
      const bad = ciphertext.slice();
      const at = bad.length - from * 50_000;
      bad[at] = bad[at]! ^ 0x10;
      await expect(decrypt(bad, { keyring })).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    }
  });
});

describe('node backend importTransientKey (one-shot rewrap\'s content key)', () => {
  const backend = createNodeAeadBackend()!;

  it('seals and opens exactly as importKey does, for every method, until disposed; then every call is ERR_STATE', () => {
    const raw = new Uint8Array(KEY);
    const transient = backend.importTransientKey!(raw);
    raw.fill(0); // the caller may wipe its copy at once
    const plaintext = pattern(300, 9);
    const expected = new Uint8Array(reference(plaintext));
    expect(new Uint8Array(transient.seal(NONCE, AAD, plaintext) as Uint8Array)).toEqual(expected);
    const out = new Uint8Array(plaintext.length + 16);
    transient.sealInto!(NONCE, AAD, plaintext, out, 0);
    expect(out).toEqual(expected);
    expect(new Uint8Array(transient.open(NONCE, AAD, expected) as Uint8Array)).toEqual(plaintext);
    const opened = new Uint8Array(plaintext.length);
    transient.openInto!(NONCE, AAD, expected, opened, 0);
    expect(opened).toEqual(plaintext);
    const tampered = new Uint8Array(expected);
    tampered[0]! ^= 1;
    expect(() => transient.open(NONCE, AAD, tampered)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPTION_FAILED' }));
    transient.dispose();
    transient.dispose(); // idempotent
    for (const call of [
      () => transient.seal(NONCE, AAD, plaintext),
      () => transient.sealInto!(NONCE, AAD, plaintext, out, 0),
      () => transient.sealParts!(NONCE, AAD, plaintext),
      () => transient.open(NONCE, AAD, expected),
      () => transient.openInto!(NONCE, AAD, expected, opened, 0),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_STATE' }));
    }
  });

  it('checks the key length as importKey does', () => {
    expect(() => backend.importTransientKey!(new Uint8Array(31))).toThrow(RangeError);
  });
});
