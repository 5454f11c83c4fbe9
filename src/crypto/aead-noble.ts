import type { AeadBackend, AeadKey } from './aead.js';
import { authFailure, withHeadroom } from './aead.js';
import { copyBytes } from './bytes.js';

type Gcm = typeof import('@noble/ciphers/aes.js').gcm;
let gcmModule: Promise<Gcm> | undefined;

/**
 * Pure-JS AES-GCM from @noble/ciphers: the portable fallback for runtimes with neither
 * node:crypto nor WebCrypto (e.g. an insecure browser context). About 40 MiB/s, so it is never
 * chosen when a native backend exists. Loaded on first use: importing it costs about 9 MiB of
 * resident memory in Node, which the native paths should not pay.
 */
export function createNobleAeadBackend(): AeadBackend {
  return {
    name: 'noble',
    async importKey(raw: Uint8Array): Promise<AeadKey> {
      if (raw.length !== 32 && raw.length !== 16) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      const key = copyBytes(raw);
      const gcm = await (gcmModule ??= import('@noble/ciphers/aes.js').then((m) => m.gcm));
      return {
        seal(nonce, aad, plaintext, headroom = 0) {
          return withHeadroom(gcm(key, nonce, aad).encrypt(plaintext), headroom);
        },
        open(nonce, aad, sealed) {
          try {
            // noble verifies the tag before it produces any plaintext.
            return gcm(key, nonce, aad).decrypt(sealed);
          } catch {
            return authFailure();
          }
        },
      };
    },
  };
}
