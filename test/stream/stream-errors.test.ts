import { describe, expect, it } from 'vitest';
import { encrypt } from '../../src/encrypt.js';
import { SealboxError } from '../../src/errors.js';
import { decryptStream } from '../../src/stream/decrypt-stream.js';
import { encryptStream } from '../../src/stream/encrypt-stream.js';
import { concat } from '../../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { readableOf } from './helpers.js';

const keyring = testKeyring();
const F = 64;
const plaintext = pattern(3 * F + 10, 9);

/** Decrypts through a stream; returns what was released and the error code, if any. */
async function attempt(ciphertext: Uint8Array, chunk = 13): Promise<{ released: Uint8Array; code?: string }> {
  const dec = decryptStream({ keyring });
  const reader = readableOf(ciphertext, chunk).pipeThrough(dec).getReader();
  const parts: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (err) {
    expect(err).toBeInstanceOf(SealboxError);
    // The header promise rejects with the same error when the header itself failed.
    return { released: concat(...parts), code: (err as SealboxError).code };
  }
  return { released: concat(...parts) };
}

/** Released plaintext must be whole verified frames: a prefix of the plaintext, a multiple of F. */
function expectWholeFramePrefix(released: Uint8Array): void {
  expect(released.length % F).toBe(0);
  expect(bytesEqual(released, plaintext.subarray(0, released.length))).toBe(true);
}

describe('decryptStream rejects damaged streams with codes', async () => {
  const { ciphertext, header } = await encrypt(plaintext, { keyring, frameLength: F });
  const bodyStart = ciphertext.length - (3 * (F + 17) + 10 + 21);
  const frame = (i: number): Uint8Array => ciphertext.subarray(bodyStart + i * (F + 17), bodyStart + (i + 1) * (F + 17));
  const finalFrame = ciphertext.subarray(bodyStart + 3 * (F + 17));
  const head = ciphertext.subarray(0, bodyStart);

  it('decrypts the intact message', async () => {
    const r = await attempt(ciphertext);
    expect(r.code).toBeUndefined();
    expect(bytesEqual(r.released, plaintext)).toBe(true);
    expect(header.frameLength).toBe(F);
  });

  it('every truncation is ERR_TRUNCATED, after releasing only verified whole frames', async () => {
    for (let len = 0; len < ciphertext.length; len++) {
      for (const chunk of [1, 50, 1000]) {
        const r = await attempt(ciphertext.subarray(0, len), chunk);
        expect(r.code, `length ${len}, chunks of ${chunk}`).toBe('ERR_TRUNCATED');
        expectWholeFramePrefix(r.released);
      }
    }
  });

  it('a removed final frame is ERR_TRUNCATED', async () => {
    const r = await attempt(concat(head, frame(0), frame(1), frame(2)));
    expect(r.code).toBe('ERR_TRUNCATED');
    expect(r.released.length).toBe(3 * F);
  });

  it('reordered, duplicated and dropped frames are ERR_DECRYPTION_FAILED', async () => {
    for (const frames of [
      [frame(1), frame(0), frame(2), finalFrame],
      [frame(0), frame(2), frame(1), finalFrame],
      [frame(0), frame(0), frame(1), frame(2), finalFrame],
      [frame(0), frame(2), finalFrame],
    ]) {
      const r = await attempt(concat(head, ...frames));
      expect(r.code).toBe('ERR_DECRYPTION_FAILED');
      expectWholeFramePrefix(r.released);
    }
  });

  it('any byte after the final frame is ERR_TRAILING_DATA', async () => {
    for (const extra of [Uint8Array.of(0), Uint8Array.of(1, 2, 3), finalFrame, ciphertext]) {
      for (const chunk of [1, 13, 100000]) {
        const r = await attempt(concat(ciphertext, extra), chunk);
        expect(r.code).toBe('ERR_TRAILING_DATA');
        // Everything before was authenticated, including the final frame.
        expect(bytesEqual(r.released, plaintext)).toBe(true);
      }
    }
  });

  it('a flipped bit in frame k releases exactly frames 0..k-1', async () => {
    for (let k = 0; k < 4; k++) {
      const damaged = ciphertext.slice();
      damaged[bodyStart + k * (F + 17) + 20] = (damaged[bodyStart + k * (F + 17) + 20] as number) ^ 1;
      const r = await attempt(damaged);
      expect(r.code).toBe('ERR_DECRYPTION_FAILED');
      expect(r.released.length).toBe(k * F);
      expectWholeFramePrefix(r.released);
    }
  });

  it('header failures reject the header promise too', async () => {
    const bad = ciphertext.slice();
    bad[0] = 0;
    const dec = decryptStream({ keyring });
    const done = readableOf(bad, 100).pipeThrough(dec).pipeTo(new WritableStream());
    await expect(done).rejects.toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    await expect(dec.header).rejects.toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    const other = decryptStream({ keyring: testKeyring('other', 99) });
    await expect(readableOf(ciphertext, 100).pipeThrough(other).pipeTo(new WritableStream())).rejects.toMatchObject({ code: 'ERR_NO_MATCHING_KEY' });
  });

  it('a declared header length above the limit fails before the header is buffered', async () => {
    const dec = decryptStream({ keyring, maxHeaderBytes: 16 });
    // Only the 8-byte preamble is sent: the limit must already fire.
    const w = dec.writable.getWriter();
    const read = dec.readable.pipeTo(new WritableStream());
    await w.write(ciphertext.slice(0, 8)).catch(() => undefined);
    await expect(read).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
  });

  it('a non-Uint8Array chunk errors the stream with a TypeError', async () => {
    const enc = encryptStream({ keyring });
    const w = enc.writable.getWriter();
    const read = enc.readable.pipeTo(new WritableStream());
    await w.write('text' as unknown as Uint8Array).catch(() => undefined);
    await expect(read).rejects.toBeInstanceOf(TypeError);
  });
});
