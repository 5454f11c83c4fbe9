import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { nodeCrypto } from './aead-node.js';
import { limitExceeded } from '../errors.js';

/** SHA-512 output length; HKDF output is capped at 255 blocks (RFC 5869 section 2.3). */
const SHA512_BYTES = 64;
const MAX_OKM = 255 * SHA512_BYTES;

/** An HKDF-SHA-512 implementation. */
export type HkdfSha512 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array;

/** HKDF-SHA-512 in pure JS (@noble/hashes): browsers and the fallback path. */
export const hkdfSha512Noble: HkdfSha512 = (ikm, salt, info, length) => {
  checkLength(length);
  return nobleHkdf(sha512, ikm, salt, info, length);
};

/** HKDF-SHA-512 through node:crypto (OpenSSL); undefined outside Node. */
export const hkdfSha512Node: HkdfSha512 | undefined = (() => {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  return (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => {
    checkLength(length);
    return new Uint8Array(crypto.hkdfSync('sha512', ikm, salt, info, length));
  };
})();

/**
 * HKDF-SHA-512 (RFC 5869), the fastest implementation this runtime has.
 *
 * @throws SealboxError ERR_LIMIT_EXCEEDED when `length` exceeds 255 * 64 bytes.
 */
export const hkdfSha512: HkdfSha512 = hkdfSha512Node ?? hkdfSha512Noble;

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('"length" expected a non-negative integer');
  if (length > MAX_OKM) throw limitExceeded('HKDF output length', length, MAX_OKM);
}
