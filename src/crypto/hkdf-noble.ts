import { extract as nobleExtract, expand as nobleExpand } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import type { HkdfSha512 } from './hkdf.js';
import { checkLength } from './hkdf.js';

/**
 * HKDF-SHA-512 in pure JS (@noble/hashes): the fallback where neither node:crypto nor
 * crypto.subtle exists. Its own module so that it is loaded (import()) only there: the browser
 * bundle then carries @noble/hashes as a lazily fetched chunk.
 */
export const hkdfSha512Noble: HkdfSha512 = {
  extract: (ikm, salt) => nobleExtract(sha512, ikm, salt),
  expand: (prk, info, length) => {
    checkLength(length);
    return nobleExpand(sha512, prk, info, length);
  },
};
