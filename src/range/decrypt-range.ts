import { copyBytes, ownView, readU32 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import type { DecryptOptions } from '../message/prologue.js';
import { acceptHeader, beginDecryption, planDecryption } from '../message/prologue.js';
import type { RangeSource } from './source.js';

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
   * With `signaturePolicy: 'require-signed'` (which asks for that proof) it is a TypeError.
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

/**
 * What the range reader takes from the core. The reader itself is a lazy chunk (most pages never
 * read a range), and a lazy chunk that imported core modules would split the core bundle in two
 * files (larger gzipped than one): so the core hands it these instead.
 */
export const rangeCore = {
  SealboxError, formatInvalid, limitExceeded, readPreamble, readU32, acceptHeader, beginDecryption, planDecryption, copyBytes, ownView,
  FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD,
};

/** The core functions the range reader uses: see {@link rangeCore}. */
export type RangeCore = typeof rangeCore;

/**
 * Decrypts plaintext bytes `[start, end)` of a message without reading the rest: it reads the
 * header, the frames that cover the range, and the final frame, whose position follows from
 * the total size (SPEC §6: regular frames are F + 17 bytes, the final one L + 21). The final
 * frame is always authenticated, so a truncated or extended message is rejected even when the
 * range lies far from its end; when the size puts no final frame where it should (a message cut
 * or extended), the frames' type bytes are read from the start to report what `decrypt` reports
 * (ERR_TRAILING_DATA for bytes after the end, not ERR_TRUNCATED). Every frame returned from was
 * authenticated. A signed message
 * (suite 2) is refused unless `skipSignatureVerification: true` (then its signature is not
 * checked: see that option).
 *
 * The header and its tag are copied once read; bytes in a SharedArrayBuffer (a `Uint8Array`
 * source, or what a source's `read` returns) are copied as they are read, so another thread
 * cannot change a frame between its tag check and its decryption.
 *
 * @example
 * ```ts
 * // Bytes 1 000 000 to 1 000 999 of a large encrypted file, reading about two frames.
 * const fh = await fs.promises.open('video.sbx');
 * try {
 *   const { plaintext } = await decryptRange(fh, { keyring, start: 1_000_000, end: 1_001_000 });
 *   console.log(plaintext.length); // 1000
 * } finally {
 *   await fh.close(); // the caller's handle: decryptRange does not close it
 * }
 * ```
 * @throws SealboxError ERR_RANGE (range outside the plaintext), ERR_TRUNCATED (size inconsistent
 * with a final frame, or the source returned too few bytes), ERR_TRAILING_DATA, ERR_FORMAT_INVALID,
 * ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED, ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY,
 * ERR_KEYRING, ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED, ERR_SIGNATURE_POLICY (a signed message
 * without `skipSignatureVerification`, or refused by `signaturePolicy`). TypeError/RangeError for bad arguments
 * (TypeError for `skipSignatureVerification: true` with `signaturePolicy: 'require-signed'`),
 * and TypeError for a source whose `read` returns something other than a Uint8Array or more bytes
 * than asked. What the source's `read` throws passes through as it is.
 */
export async function decryptRange(source: RangeSource, options: DecryptRangeOptions): Promise<DecryptRangeResult> {
  return (await import('./decrypt-range-impl.js')).decryptRangeWith(rangeCore, source, options);
}
