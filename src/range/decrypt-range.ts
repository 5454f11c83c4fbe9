import { readU32 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import { MAX_FRAMES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptOptions } from '../message/prologue.js';
import { acceptHeader, beginDecryption, planDecryption } from '../message/prologue.js';
import type { RangeSource } from './source.js';
import { readExactly, toRangeReader } from './source.js';

/** Options of {@link decryptRange}: decrypt options plus the plaintext byte range. */
export interface DecryptRangeOptions extends DecryptOptions {
  /** First plaintext byte wanted (inclusive). */
  start: number;
  /** End of the range (exclusive); default the end of the plaintext. */
  end?: number;
  /**
   * A signed message's signature covers the whole message, which a range read does not read, so
   * `decryptRange` refuses signed messages (ERR_SIGNATURE_POLICY) unless this is `true`. Then the
   * frames returned are authenticated as for an unsigned message (by the content key: against
   * anyone who cannot unwrap the data key), but not against a recipient who can, which only the
   * signature would prove; its last 96 bytes are taken to be the signature and not checked.
   */
  skipSignatureVerification?: boolean;
}

/** What {@link decryptRange} returns. */
export interface DecryptRangeResult {
  /** Plaintext bytes `[start, end)`. */
  readonly plaintext: Uint8Array;
  /** Length of the whole plaintext (known from the message size, authenticated by the final frame). */
  readonly plaintextLength: number;
  readonly encryptionContext: EncryptionContext;
  readonly header: MessageHeader;
}

/** About this many bytes per read of consecutive frames. */
const BATCH_BYTES = 1024 * 1024;

function truncated(): SealboxError {
  return new SealboxError('ERR_TRUNCATED', 'The message has no valid final frame where its size puts it');
}

/**
 * Decrypts plaintext bytes `[start, end)` of a message without reading the rest: it reads the
 * header, the frames that cover the range, and the final frame, whose position follows from
 * the total size (SPEC §6: regular frames are F + 17 bytes, the final one L + 21). The final
 * frame is always authenticated, so a truncated or extended message is rejected even when the
 * range lies far from its end. Every frame returned from was authenticated. A signed message
 * (suite 2) is refused unless `skipSignatureVerification: true` (then its signature is not
 * checked: see that option).
 *
 * @example
 * ```ts
 * // Bytes 1 000 000 to 1 000 999 of a large encrypted file, reading about two frames.
 * const fh = await fs.promises.open('video.sbx');
 * const { plaintext } = await decryptRange(fh, { keyring, start: 1_000_000, end: 1_001_000 });
 * ```
 * @throws SealboxError ERR_RANGE (range outside the plaintext), ERR_TRUNCATED (size inconsistent
 * with a final frame, or the source returned too few bytes), ERR_TRAILING_DATA, ERR_FORMAT_INVALID,
 * ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED, ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY,
 * ERR_KEYRING, ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED, ERR_SIGNATURE_POLICY (a signed message
 * without `skipSignatureVerification`, or refused by `signaturePolicy`). TypeError/RangeError for bad arguments.
 */
export async function decryptRange(source: RangeSource, options: DecryptRangeOptions): Promise<DecryptRangeResult> {
  const plan = planDecryption(options);
  const { start, end: endOption } = options;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`"start" expected a non-negative integer, got ${start}`);
  if (endOption !== undefined && (!Number.isSafeInteger(endOption) || endOption < 0)) throw new RangeError(`"end" expected a non-negative integer, got ${endOption}`);
  const reader = await toRangeReader(source);
  const size = reader.size;

  // Header: preamble (limits checked before the body is read), body, tag.
  const pre = await readExactly(reader, 0, Math.min(size, PREAMBLE_BYTES));
  const headerEnd = readPreamble(pre, plan.limits.maxHeaderBytes);
  if (headerEnd === undefined || size < headerEnd + TAG_BYTES) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
  const headerAll = await readExactly(reader, 0, headerEnd + TAG_BYTES);
  const headerBytes = headerAll.subarray(0, headerEnd);
  const header = acceptHeader(plan, headerBytes);
  // SPEC §8.4: a range decoder cannot check a signature without reading everything; it refuses
  // signed messages unless told to do without (stage 6, with the caller's other expectations).
  if (header.suite.signed && options.skipSignatureVerification !== true) {
    throw new SealboxError('ERR_SIGNATURE_POLICY', 'signed');
  }
  const bodyStart = headerEnd + TAG_BYTES;
  // Keys, commitment and header tag before anything about the frames (SPEC §8.1).
  const session = await beginDecryption(plan, header, headerBytes, headerAll.subarray(headerEnd));

  // Layout from the size: x = n (F + 17) + L with 0 <= L < F.
  const F = header.frameLength;
  const R = F + REGULAR_FRAME_OVERHEAD;
  const x = size - header.suite.signatureLength - bodyStart - FINAL_FRAME_OVERHEAD;
  if (x < 0) throw truncated();
  const n = Math.floor(x / R);
  const L = x - n * R;
  if (L >= F) throw truncated();
  if (n + 1 > MAX_FRAMES) throw limitExceeded('frames', n + 1, MAX_FRAMES);
  const plaintextLength = n * F + L;
  const end = endOption ?? plaintextLength;
  if (start > end || end > plaintextLength) {
    throw new SealboxError('ERR_RANGE', `Range [${start}, ${end}) is outside the plaintext of ${plaintextLength} bytes`);
  }


  // The final frame first, whatever the range: it proves the message is whole.
  const finalBytes = await readExactly(reader, bodyStart + n * R, L + FINAL_FRAME_OVERHEAD);
  if (finalBytes[0] !== FRAME_FINAL) {
    if (finalBytes[0] === FRAME_REGULAR) throw truncated();
    throw formatInvalid('unknown frame type');
  }
  const declared = readU32(finalBytes, 1);
  if (declared >= F) throw formatInvalid('final frame length must be below the frame length');
  if (declared < L) throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
  if (declared > L) throw truncated();
  const opened = session.openFrame(n, true, finalBytes.subarray(FINAL_FRAME_PREFIX));
  const finalPlaintext = opened instanceof Promise ? await opened : opened;

  const out = new Uint8Array(end - start);
  if (start === end) return { plaintext: out, plaintextLength, encryptionContext: header.encryptionContext, header };
  const first = Math.floor(start / F);
  const last = Math.floor((end - 1) / F);
  // Copies the part of frame `index` (plaintext `pt`) that lies in [start, end).
  const place = (index: number, pt: Uint8Array): void => {
    const frameStart = index * F;
    const from = Math.max(start, frameStart);
    const to = Math.min(end, frameStart + pt.length);
    out.set(pt.subarray(from - frameStart, to - frameStart), from - start);
  };
  try {
    const batch = Math.max(1, Math.floor(BATCH_BYTES / R));
    for (let i = first; i <= Math.min(last, n - 1); i += batch) {
      const count = Math.min(batch, Math.min(last, n - 1) - i + 1);
      const bytes = await readExactly(reader, bodyStart + i * R, count * R);
      for (let j = 0; j < count; j++) {
        const frame = bytes.subarray(j * R, (j + 1) * R);
        if (frame[0] !== FRAME_REGULAR) throw formatInvalid('expected a regular frame');
        const r = session.openFrame(i + j, false, frame.subarray(1));
        place(i + j, r instanceof Promise ? await r : r);
      }
    }
    if (last === n) place(n, finalPlaintext);
  } catch (err) {
    out.fill(0);
    throw err;
  }
  return { plaintext: out, plaintextLength, encryptionContext: header.encryptionContext, header };
}
