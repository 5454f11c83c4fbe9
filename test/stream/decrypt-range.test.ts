import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat } from '../../src/crypto/bytes.js';
import { encrypt } from '../../src/encrypt.js';
import { decryptRange } from '../../src/range/decrypt-range.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

const keyring = testKeyring();
const F = 100;

describe('decryptRange', async () => {
  const plaintext = pattern(10 * F + 37, 3);
  const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, encryptionContext: { k: 'v' } });
  const bodyStart = ciphertext.length - (10 * (F + 17) + 37 + 21);
  const frameAt = (i: number): number => bodyStart + i * (F + 17);

  it('random ranges equal slices of the plaintext, from every kind of source', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(plaintext.length), fc.nat(plaintext.length), async (a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        const r = await decryptRange(ciphertext, { keyring, start, end });
        expect(bytesEqual(r.plaintext, plaintext.subarray(start, end))).toBe(true);
        expect(r.plaintextLength).toBe(plaintext.length);
        expect(r.encryptionContext).toEqual({ k: 'v' });
      }),
      { numRuns: 200 },
    );
    const reads: [number, number][] = [];
    const source = {
      size: ciphertext.length,
      read: async (offset: number, length: number) => {
        reads.push([offset, length]);
        return ciphertext.slice(offset, offset + length);
      },
    };
    const r = await decryptRange(source, { keyring, start: 250, end: 260 });
    expect(bytesEqual(r.plaintext, plaintext.subarray(250, 260))).toBe(true);
    // Preamble, header, final frame, frame 2: nothing else.
    expect(reads.length).toBe(4);
    expect(reads.map(([o]) => o)).toContain(frameAt(2));
    expect(reads.map(([o]) => o)).toContain(frameAt(10));
  });

  it('defaults end to the end of the plaintext; empty ranges still check the final frame', async () => {
    expect(bytesEqual((await decryptRange(ciphertext, { keyring, start: 990 })).plaintext, plaintext.subarray(990))).toBe(true);
    expect((await decryptRange(ciphertext, { keyring, start: 5, end: 5 })).plaintext.length).toBe(0);
    const cut = ciphertext.subarray(0, frameAt(10));
    expect(await thrown(() => decryptRange(cut, { keyring, start: 5, end: 5 }))).toMatchObject({ code: 'ERR_TRUNCATED' });
  });

  it('rejects ranges outside the plaintext with ERR_RANGE and bad arguments with RangeError', async () => {
    expect(await thrown(() => decryptRange(ciphertext, { keyring, start: 0, end: plaintext.length + 1 }))).toMatchObject({ code: 'ERR_RANGE' });
    expect(await thrown(() => decryptRange(ciphertext, { keyring, start: 10, end: 5 }))).toMatchObject({ code: 'ERR_RANGE' });
    expect(await thrown(() => decryptRange(ciphertext, { keyring, start: -1 }))).toBeInstanceOf(RangeError);
    expect(await thrown(() => decryptRange(ciphertext, { keyring, start: 1.5 }))).toBeInstanceOf(RangeError);
  });

  it('a tampered frame inside the range is ERR_DECRYPTION_FAILED; one outside it is not read', async () => {
    const bad = ciphertext.slice();
    bad[frameAt(3) + 30] = (bad[frameAt(3) + 30] as number) ^ 1;
    expect(await thrown(() => decryptRange(bad, { keyring, start: 310, end: 320 }))).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    // Straddling frames 2 and 3: frame 3 is needed.
    expect(await thrown(() => decryptRange(bad, { keyring, start: 295, end: 305 }))).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    expect(bytesEqual((await decryptRange(bad, { keyring, start: 0, end: 300 })).plaintext, plaintext.subarray(0, 300))).toBe(true);
  });

  it('a tampered final frame, header or type byte is rejected even for a range far from it', async () => {
    const finalBad = ciphertext.slice();
    finalBad[finalBad.length - 1] = (finalBad[finalBad.length - 1] as number) ^ 1;
    expect(await thrown(() => decryptRange(finalBad, { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    const typeBad = ciphertext.slice();
    typeBad[frameAt(1)] = 1;
    expect(await thrown(() => decryptRange(typeBad, { keyring, start: 100, end: 110 }))).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    const headerBad = ciphertext.slice();
    headerBad[bodyStart - 1] = (headerBad[bodyStart - 1] as number) ^ 1;
    expect(await thrown(() => decryptRange(headerBad, { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('a removed final frame, any truncation and appended bytes are rejected', async () => {
    const noFinal = ciphertext.subarray(0, frameAt(10));
    expect(await thrown(() => decryptRange(noFinal, { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_TRUNCATED' });
    for (let len = 0; len < ciphertext.length; len += 7) {
      const err = await thrown(() => decryptRange(ciphertext.subarray(0, len), { keyring, start: 0, end: 0 }));
      expect(['ERR_TRUNCATED', 'ERR_DECRYPTION_FAILED', 'ERR_TRAILING_DATA', 'ERR_FORMAT_INVALID']).toContain((err as { code: string }).code);
    }
    expect(await thrown(() => decryptRange(concat(ciphertext, Uint8Array.of(0)), { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_TRAILING_DATA' });
    // A whole frame cut from the middle: sizes still fit a layout, but the frame at the final position fails.
    const dropped = concat(ciphertext.subarray(0, frameAt(4)), ciphertext.subarray(frameAt(5)));
    expect(await thrown(() => decryptRange(dropped, { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('every cut of the message is ERR_TRUNCATED, down to a body too short for any final frame', async () => {
    // SPEC rule 16 alone: whatever the size, the final frame's position falls on a frame
    // boundary, and the frame found there is not a final frame of that length. Cuts within the
    // first 21 bytes after the header tag leave no room for a final frame at all.
    for (let len = 0; len < ciphertext.length; len++) {
      const err = await thrown(() => decryptRange(ciphertext.subarray(0, len), { keyring, start: 0, end: 0 }));
      expect((err as { code?: string }).code, `cut to ${len} bytes`).toBe('ERR_TRUNCATED');
    }
  });

  it('a source that returns fewer bytes than its size is ERR_TRUNCATED', async () => {
    const liar = { size: ciphertext.length, read: (o: number, l: number) => ciphertext.subarray(o, Math.min(o + l, ciphertext.length - 5)) };
    expect(await thrown(() => decryptRange(liar, { keyring, start: 0, end: 10 }))).toMatchObject({ code: 'ERR_TRUNCATED' });
  });
});

describe('decryptRange: sources that break their contract', async () => {
  const plaintext = pattern(1000, 5);
  const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F });

  it('more bytes than asked is a TypeError that says so (it was ERR_TRUNCATED, "fewer bytes")', async () => {
    const generous = { size: ciphertext.length, read: (o: number, l: number) => ciphertext.slice(o, o + l + 1) };
    const err = await thrown(() => decryptRange(generous, { keyring, start: 0, end: 10 }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/9 bytes .* 8 were asked/);
  });

  it('its size is read once, as it was checked', async () => {
    let reads = 0;
    const changing = {
      get size() {
        return ++reads === 1 ? ciphertext.length : ciphertext.length + 0.5;
      },
      read: (o: number, l: number) => ciphertext.slice(o, o + l),
    };
    const r = await decryptRange(changing, { keyring, start: 0, end: 10 });
    expect(bytesEqual(r.plaintext, plaintext.subarray(0, 10))).toBe(true);
    expect(reads).toBe(1);
  });
});
