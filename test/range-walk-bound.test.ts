import { describe, expect, it } from 'vitest';
import { decrypt, decryptRange, encrypt, isSealboxError, RawAesKeyring, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../src/index.js';
import { readPreamble } from '../src/format/header.js';
import { FINAL_FRAME_OVERHEAD, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } from '../src/format/frame.js';
import { TAG_BYTES } from '../src/limits.js';

// decryptRange, given a message whose size puts no final frame where it should, walks the frames'
// type bytes from the start to name the fault as a front-to-back decoder would (SPEC §8.4). For a
// file or a caller's reader each step may be a system call or an HTTP range request: a damaged
// object of many 64 KiB frames cost one read per frame. The walk is bounded (1,024 reads); a
// message in memory is walked whole.

const keyring = new RawAesKeyring({ namespace: 'test', name: 'range-walk', wrappingKey: new Uint8Array(32).fill(3) });
const F = 64 * 1024;


/** A reader of `frames` regular frames (and one byte more), the frame at index `badFrame` (if any) of unknown type. */
async function makeReader(frames: number, badFrame = -1) {
  const { ciphertext } = await encrypt(new Uint8Array(F * 2 + 10), { keyring, frameLength: F });
  const bodyStart = readPreamble(ciphertext)! + TAG_BYTES;
  // The regular frame's size from a real message: its second frame starts where the first ends.
  const R = F + 1 + TAG_BYTES;
  expect(ciphertext[bodyStart]).toBe(FRAME_REGULAR);
  expect(ciphertext[bodyStart + R]).toBe(FRAME_REGULAR);
  const size = bodyStart + frames * R + 1;
  let reads = 0;
  const reader = {
    size,
    read(offset: number, length: number): Uint8Array {
      reads++;
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const at = offset + i;
        if (at < bodyStart) out[i] = ciphertext[at]!;
        else if ((at - bodyStart) % R === 0) out[i] = (at - bodyStart) / R === badFrame ? 0x7f : FRAME_REGULAR;
      }
      return out;
    },
  };
  return { reader, reads: () => reads };
}

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isSealboxError(err)) return err.message;
    throw err;
  }
  throw new Error('resolved');
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isSealboxError(err)) return err.code;
    throw err;
  }
  throw new Error('resolved');
}

describe('decryptRange on a message with no final frame where its size puts it', () => {
  it('a reader over 3,000 frames of 64 KiB is read at most about 1,024 times, and the fault is ERR_TRUNCATED', async () => {
    const { reader, reads } = await makeReader(3000);
    expect(await code(decryptRange(reader, { keyring, start: 0, end: 1 }))).toBe('ERR_TRUNCATED');
    expect(reads()).toBeLessThanOrEqual(1024 + 8);
  });

  it('the bound is 1,024 reads exactly: an unknown frame type met by the 1,024th read is named, one the 1,025th would meet is not', async () => {
    for (const [badFrame, expected] of [[1023, 'ERR_FORMAT_INVALID'], [1024, 'ERR_TRUNCATED']] as const) {
      const { reader, reads } = await makeReader(3000, badFrame);
      expect(await code(decryptRange(reader, { keyring, start: 0, end: 1 })), `frame ${badFrame}`).toBe(expected);
      expect(reads()).toBeLessThanOrEqual(1024 + 8);
    }
  });

  it('a message in memory is walked whole, past 1,024 frames, to its fault', async () => {
    // 1,101 frames of 64 KiB (about 72 MB, zero-filled): each frame's type byte is one step.
    const { reader } = await makeReader(1101, 1100);
    const message = reader.read(0, reader.size);
    expect(await code(decryptRange(message, { keyring, start: 0, end: 1 }))).toBe('ERR_FORMAT_INVALID');
  });

  it('a short one is walked to its fault (the extra byte after the last whole frame: ERR_TRUNCATED inside a frame)', async () => {
    const { reader, reads } = await makeReader(20);
    expect(await code(decryptRange(reader, { keyring, start: 0, end: 1 }))).toBe('ERR_TRUNCATED');
    expect(reads()).toBeGreaterThanOrEqual(20);
    expect(await message(decryptRange(reader, { keyring, start: 0, end: 1 }))).toContain('ends inside a frame');
  });

  it('a signed message cut inside its signature: ERR_TRUNCATED saying so (the final frame is whole)', async () => {
    const { ciphertext } = await encrypt(new Uint8Array(100).fill(1), { keyring, frameLength: 64, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
    const cut = ciphertext.subarray(0, ciphertext.length - 1);
    expect(await code(decryptRange(cut, { keyring, start: 0, end: 1, skipSignatureVerification: true }))).toBe('ERR_TRUNCATED');
    expect(await message(decryptRange(cut, { keyring, start: 0, end: 1, skipSignatureVerification: true }))).toContain('inside its signature');
  });

  /** A message of 3 regular frames of 64 bytes and a final one of 10, with the final frame's offset. */
  async function small() {
    const F = 64;
    const { ciphertext } = await encrypt(new Uint8Array(3 * F + 10).fill(7), { keyring, frameLength: F });
    const finalAt = readPreamble(ciphertext)! + TAG_BYTES + 3 * (F + REGULAR_FRAME_OVERHEAD);
    expect(ciphertext[finalAt]).toBe(FRAME_FINAL);
    expect(ciphertext.length).toBe(finalAt + FINAL_FRAME_OVERHEAD + 10);
    return { F, ciphertext, finalAt };
  }

  // Each backend: webcrypto opens frames asynchronously, the others at once.
  it.each(['node', 'webcrypto', 'noble'] as const)('a final frame with a bad tag, followed by a byte: its tag fails first, as decrypt reports it, not ERR_TRAILING_DATA (%s)', async (backend) => {
    const { ciphertext, finalAt } = await small();
    const bad = new Uint8Array(ciphertext.length + 1);
    bad.set(ciphertext);
    bad[finalAt + 5]! ^= 1; // the final frame's first ciphertext byte
    const expected = await code(decrypt(bad, { keyring, backend }));
    expect(expected).toBe('ERR_DECRYPTION_FAILED');
    expect(await code(decryptRange(bad, { keyring, backend, start: 0, end: 1 }))).toBe(expected);
  });

  it('a final frame declaring the frame length or more, where the size would put one that long: ERR_FORMAT_INVALID, as decrypt reports it', async () => {
    const { F, ciphertext, finalAt } = await small();
    // 60 bytes more put a final frame of 70 bytes (at least F, less than F + 17) where the size says.
    const bad = new Uint8Array(ciphertext.length + 60);
    bad.set(ciphertext);
    new DataView(bad.buffer).setUint32(finalAt + 1, 70);
    expect(70).toBeGreaterThanOrEqual(F);
    expect(await code(decrypt(bad, { keyring }))).toBe('ERR_FORMAT_INVALID');
    expect(await code(decryptRange(bad, { keyring, start: 0, end: 1 }))).toBe('ERR_FORMAT_INVALID');
  });
});
