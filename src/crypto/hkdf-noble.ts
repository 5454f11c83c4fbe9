import { extract as nobleExtract, expand as nobleExpand } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import type { HkdfSha512 } from './hkdf.js';

/**
 * HKDF-SHA-512 in pure JS (@noble/hashes): the fallback where neither node:crypto nor
 * crypto.subtle exists. Its own module so that it is loaded (import()) only there: the browser
 * bundle then carries @noble/hashes as a lazily fetched chunk. It imports nothing else of
 * Sealbox, so no core module is shared with that chunk (a shared module would split the core
 * into two files that compress worse). Output lengths are checked by `hkdf()` and the message
 * key derivation (always 32 bytes); noble itself refuses more than 255 blocks.
 */
export const hkdfSha512Noble: HkdfSha512 = {
  extract: (ikm, salt) => nobleExtract(sha512, ikm, salt),
  expand: (prk, info, length) => nobleExpand(sha512, prk, info, length),
};
