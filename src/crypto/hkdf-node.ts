import { nodeCrypto, offHeapScratch } from './aead-node.js';
import type { HkdfSha512 } from './hkdf.js';
import { SHA512_BYTES, checkLength } from './hkdf.js';

/** Messages up to this many bytes take the one-shot hash path of HMAC (larger ones an Hmac object). */
const SCRATCH_DATA = 128;

// Node only: the browser bundle replaces this file with hkdf-node.browser.ts.

/**
 * HKDF-SHA-512 on node:crypto HMAC. Not `hkdfSync`: that repeats the extract for every label
 * and costs about 12 us a call here, against about 3 us per HMAC.
 */
export const hkdfSha512Node: HkdfSha512 | undefined = (() => {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const { Buffer } = (globalThis as unknown as { process: { getBuiltinModule(id: 'node:buffer'): typeof import('node:buffer') } }).process.getBuiltinModule('node:buffer');
  // Small inputs go through off-heap scratches (see offHeapScratch), wiped after each call.
  const keyIn = offHeapScratch();
  const dataIn = offHeapScratch();
  const hmacObject = (key: Uint8Array, data: Uint8Array): Uint8Array => {
    try {
      return crypto.createHmac('sha512', keyIn(key)).update(dataIn(data)).digest();
    } finally {
      keyIn.wipe();
      dataIn.wipe();
    }
  };
  // HMAC-SHA-512 (RFC 2104) as two one-shot crypto.hash calls (Node >= 20.12) when the key and
  // message are small (every HMAC of a message's key derivation): H((K ^ opad) || H((K ^ ipad)
  // || m)). No Hmac object per call, which costs more than the hashing here (3 per message).
  // The padded key and inner digest sit in one reused off-heap array, wiped after each call.
  const hash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array }).hash;
  const BLOCK = 128;
  const pad = Buffer.allocUnsafeSlow(BLOCK + SCRATCH_DATA).fill(0);
  // Views of the pad's first n bytes, made once per length (a Buffer's subarray costs ~0.2 us).
  const padViews: Uint8Array[] = [];
  const padView = (n: number): Uint8Array => (padViews[n] ??= new Uint8Array(pad.buffer, pad.byteOffset, n));
  const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array => {
    if (!hash || key.length > BLOCK || data.length > SCRATCH_DATA) return hmacObject(key, data);
    let inner: Uint8Array | undefined;
    try {
      pad.fill(0x36, 0, BLOCK);
      for (let i = 0; i < key.length; i++) pad[i] = (key[i] as number) ^ 0x36;
      pad.set(data, BLOCK);
      inner = hash('sha512', padView(BLOCK + data.length), 'buffer');
      pad.fill(0x5c, 0, BLOCK);
      for (let i = 0; i < key.length; i++) pad[i] = (key[i] as number) ^ 0x5c;
      pad.set(inner, BLOCK);
      return hash('sha512', padView(BLOCK + SHA512_BYTES), 'buffer');
    } finally {
      pad.fill(0);
      inner?.fill(0);
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
