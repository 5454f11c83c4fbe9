import { limitExceeded } from '../errors.js';

/** SHA-512 output length; HKDF output is capped at 255 blocks (RFC 5869 section 2.3). */
export const SHA512_BYTES = 64;
const MAX_OKM = 255 * SHA512_BYTES;

/**
 * HKDF-SHA-512 split into its two steps (RFC 5869 §2.2, §2.3), so one extract can serve several
 * expands: the message keys need two labels from one data key.
 */
export interface HkdfSha512 {
  extract(ikm: Uint8Array, salt: Uint8Array): Uint8Array;
  expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

/**
 * One-call HKDF-SHA-512 (extract then expand).
 *
 * @throws SealboxError ERR_LIMIT_EXCEEDED when `length` exceeds 255 * 64 bytes.
 */
export function hkdf(impl: HkdfSha512, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkLength(length);
  return impl.expand(impl.extract(ikm, salt), info, length);
}

/** Throws RangeError for a bad length, ERR_LIMIT_EXCEEDED above 255 * 64 bytes. */
export function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('"length" expected a non-negative integer');
  if (length > MAX_OKM) throw limitExceeded('HKDF output length', length, MAX_OKM);
}
