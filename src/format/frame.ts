import { readU32, writeU64 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { NONCE_BYTES } from '../crypto/aead.js';
import { MAX_FRAMES, MESSAGE_ID_BYTES, TAG_BYTES } from '../limits.js';

/** Frame type byte of a regular (non-final) frame: exactly `frameLength` plaintext bytes. */
export const FRAME_REGULAR = 0x00;
/** Frame type byte of the final frame: a u32 plaintext length (less than `frameLength`) follows. */
export const FRAME_FINAL = 0x01;

/** Bytes a regular frame adds to its plaintext: type byte and tag. */
export const REGULAR_FRAME_OVERHEAD = 1 + TAG_BYTES;
/** Bytes the final frame adds: type byte, u32 length, tag. */
export const FINAL_FRAME_OVERHEAD = 1 + 4 + TAG_BYTES;
/** Bytes before the ciphertext in a final frame. */
export const FINAL_FRAME_PREFIX = 5;

/** Nonce kinds (SPEC §6): the header tag, a regular frame, the final frame, a salted header tag. */
const NONCE_HEADER = 0;
const NONCE_REGULAR = 1;
const NONCE_FINAL = 2;
const NONCE_SALTED_HEADER = 3;

/** nonce = 0x000000 ‖ kind ‖ u64be(index). Derived, never stored. */
export function frameNonce(index: number, final: boolean): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES);
  nonce[3] = final ? NONCE_FINAL : NONCE_REGULAR;
  writeU64(nonce, 4, index);
  return nonce;
}

/**
 * The header tag's nonce (SPEC §6): kind 0, index 0 for a header without a salt (suite 1);
 * `0x000000 ‖ 0x03 ‖ salt` for a header with its 8-byte salt (suite 3), so a rewritten header
 * gets a fresh nonce under the same content key, apart from every frame nonce (kinds 1 and 2).
 */
export function headerNonce(salt?: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES);
  if (salt === undefined) {
    nonce[3] = NONCE_HEADER;
  } else {
    if (salt.length !== NONCE_BYTES - 4) throw new RangeError(`header salt expected ${NONCE_BYTES - 4} bytes, got ${salt.length}`);
    nonce[3] = NONCE_SALTED_HEADER;
    nonce.set(salt, 4);
  }
  return nonce;
}

/** aad = messageId ‖ u64be(index) ‖ final (0x00 or 0x01). */
export function frameAad(messageId: Uint8Array, index: number, final: boolean): Uint8Array {
  const aad = new Uint8Array(MESSAGE_ID_BYTES + 9);
  aad.set(messageId, 0);
  writeU64(aad, MESSAGE_ID_BYTES, index);
  aad[MESSAGE_ID_BYTES + 8] = final ? 1 : 0;
  return aad;
}

/** How plaintext of `length` bytes splits: `regular` full frames, then a final frame of `finalLength` (< frameLength). */
export interface FrameLayout {
  readonly regular: number;
  readonly finalLength: number;
}

/** Frames are filled eagerly: floor(length / F) regular frames, the rest (possibly 0 bytes) in the final frame. */
export function frameLayout(plaintextLength: number, frameLength: number): FrameLayout {
  return { regular: Math.floor(plaintextLength / frameLength), finalLength: plaintextLength % frameLength };
}

/** Total bytes of the frames for a plaintext of `plaintextLength` bytes (without a signature). */
export function framesByteLength(plaintextLength: number, frameLength: number): number {
  const { regular, finalLength } = frameLayout(plaintextLength, frameLength);
  return regular * (frameLength + REGULAR_FRAME_OVERHEAD) + finalLength + FINAL_FRAME_OVERHEAD;
}

/** The frame structure of a complete message body, as far as it is sound (see {@link scanFrames}). */
export interface FrameScan {
  /** Regular frames that are whole, before the final frame or the first structural fault. */
  readonly regular: number;
  /** Plaintext length of the final frame, when it is whole (its tag not yet checked). */
  readonly finalLength?: number;
  /**
   * The first structural fault in byte order, if any: it is reported only after the tags of
   * the frames before it (and, for trailing bytes, the final frame's tag) have verified.
   */
  readonly fault?: SealboxError;
  /** Where the final frame ends (the signature starts), when it is whole. */
  readonly end?: number;
}

/**
 * Reads the frames of a complete message body starting at `start` by their type bytes and
 * declared lengths, without decrypting, in the order SPEC §8.1 checks them: for each frame, input
 * ending before it (rule 16), the frame count (28), its type byte (18); for the final frame
 * its length bytes (16), `L < F` (18), its body (16); then, for a signed suite, the
 * `signatureLength` bytes of its signature (41); then bytes after it all (17). Never throws:
 * the decoder opens the sound frames first, so a tag failure before a fault wins; a signed
 * message's signature is checked between a missing signature (41) and trailing bytes (17).
 */
export function scanFrames(bytes: Uint8Array, start: number, frameLength: number, signatureLength = 0): FrameScan {
  const regularSize = frameLength + REGULAR_FRAME_OVERHEAD;
  let pos = start;
  let regular = 0;
  for (;;) {
    if (pos >= bytes.length) return { regular, fault: new SealboxError('ERR_TRUNCATED', 'The message ends before its final frame') };
    if (regular + 1 > MAX_FRAMES) return { regular, fault: limitExceeded('frames', regular + 1, MAX_FRAMES) };
    const type = bytes[pos];
    if (type === FRAME_REGULAR) {
      if (pos + regularSize > bytes.length) return { regular, fault: new SealboxError('ERR_TRUNCATED', 'The message ends inside a frame') };
      pos += regularSize;
      regular++;
      continue;
    }
    if (type !== FRAME_FINAL) return { regular, fault: formatInvalid('unknown frame type') };
    if (pos + FINAL_FRAME_PREFIX > bytes.length) return { regular, fault: new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame') };
    const finalLength = readU32(bytes, pos + 1);
    if (finalLength >= frameLength) return { regular, fault: formatInvalid('final frame length must be below the frame length') };
    const end = pos + FINAL_FRAME_OVERHEAD + finalLength;
    if (end > bytes.length) return { regular, fault: new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame') };
    if (end + signatureLength > bytes.length) return { regular, finalLength, end, fault: new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame') };
    if (end + signatureLength < bytes.length) return { regular, finalLength, end, fault: new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame') };
    return { regular, finalLength, end };
  }
}

/**
 * Checks the frame structure only and throws its first fault ({@link scanFrames}); for callers
 * that never decrypt (rewrap).
 *
 * @throws SealboxError ERR_TRUNCATED, ERR_TRAILING_DATA, ERR_FORMAT_INVALID, ERR_LIMIT_EXCEEDED
 */
export function walkFrames(bytes: Uint8Array, start: number, frameLength: number): FrameLayout {
  const { regular, finalLength, fault } = scanFrames(bytes, start, frameLength);
  if (fault) throw fault;
  return { regular, finalLength: finalLength as number };
}
