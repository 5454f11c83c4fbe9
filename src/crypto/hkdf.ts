import { nodeCrypto } from './aead-node.js';
import { limitExceeded } from '../errors.js';

/** SHA-512 output length; HKDF output is capped at 255 blocks (RFC 5869 section 2.3). */
const SHA512_BYTES = 64;
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
 * HKDF-SHA-512 on node:crypto HMAC. Not `hkdfSync`: that repeats the extract for every label
 * and costs about 12 us a call here, against about 3 us per HMAC.
 */
export const hkdfSha512Node: HkdfSha512 | undefined = (() => {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
    const h = crypto.createHmac('sha512', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  return {
    // RFC 5869: an empty salt is a string of HashLen zeros; HMAC pads short keys with zeros anyway.
    extract: (ikm, salt) => hmac(salt, ikm),
    expand: (prk, info, length) => {
      checkLength(length);
      const out = new Uint8Array(length);
      let block: Uint8Array = new Uint8Array(0);
      for (let i = 0, off = 0; off < length; i++, off += SHA512_BYTES) {
        block = hmac(prk, block, info, Uint8Array.of(i + 1));
        out.set(block.subarray(0, Math.min(SHA512_BYTES, length - off)), off);
      }
      return out;
    },
  };
})();

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
