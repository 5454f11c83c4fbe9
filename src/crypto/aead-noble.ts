import { gcm } from '@noble/ciphers/aes.js';
import type { AeadBackend, AeadKey } from './aead.js';
import { authFailure, withHeadroom } from './aead.js';

/**
 * Pure-JS AES-GCM from @noble/ciphers: the portable fallback for runtimes with neither
 * node:crypto nor WebCrypto (e.g. an insecure browser context). About 40 MiB/s, so it is never
 * chosen when a native backend exists.
 */
export function createNobleAeadBackend(): AeadBackend {
  return {
    name: 'noble',
    importKey(raw: Uint8Array): AeadKey {
      if (raw.length !== 32 && raw.length !== 16) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      const key = raw.slice();
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
