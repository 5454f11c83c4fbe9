import { nodeCrypto, offHeapScratch } from './aead-node.js';
import type { HkdfSha512 } from './hkdf.js';
import { SHA512_BYTES, checkLength } from './hkdf.js';

// Node only: the browser bundle replaces this file with hkdf-node.browser.ts.

/**
 * HKDF-SHA-512 on node:crypto HMAC. Not `hkdfSync`: that repeats the extract for every label
 * and costs about 12 us a call here, against about 3 us per HMAC.
 */
export const hkdfSha512Node: HkdfSha512 | undefined = (() => {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  // Small inputs go through off-heap scratches (see offHeapScratch), wiped after each call.
  const keyIn = offHeapScratch();
  const dataIn = offHeapScratch();
  const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array => {
    try {
      return crypto.createHmac('sha512', keyIn(key)).update(dataIn(data)).digest();
    } finally {
      keyIn.wipe();
      dataIn.wipe();
    }
  };
  return {
    // RFC 5869: an empty salt is a string of HashLen zeros; HMAC pads short keys with zeros anyway.
    extract: (ikm, salt) => hmac(salt, ikm),
    expand: (prk, info, length) => {
      checkLength(length);
      if (length <= SHA512_BYTES) {
        // One block (every message key): T(1) = HMAC(prk, info ‖ 1), returned in place (node's
        // digest owns its 64-byte memory) with the bytes past `length` cleared, as a plain
        // Uint8Array like every other path.
        const data = new Uint8Array(info.length + 1);
        data.set(info);
        data[info.length] = 1;
        const t1 = hmac(prk, data);
        t1.fill(0, length);
        return new Uint8Array(t1.buffer, t1.byteOffset, length);
      }
      // T(i) = HMAC(prk, T(i-1) ‖ info ‖ i), T(0) empty.
      const input = new Uint8Array(SHA512_BYTES + info.length + 1);
      input.set(info, SHA512_BYTES);
      let block: Uint8Array | undefined;
      const out = new Uint8Array(length);
      for (let i = 0, off = 0; off < length; i++, off += SHA512_BYTES) {
        if (block) input.set(block, 0);
        input[input.length - 1] = i + 1;
        block?.fill(0);
        block = hmac(prk, i === 0 ? input.subarray(SHA512_BYTES) : input);
        out.set(block.subarray(0, Math.min(SHA512_BYTES, length - off)), off);
      }
      block?.fill(0);
      input.fill(0);
      return out;
    },
  };
})();
