import type { AeadBackend, TransientAeadKey } from './aead.js';
import { authFailure, withHeadroom } from './aead.js';
import { copyBytes } from './bytes.js';
import { SealboxError } from '../errors.js';

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
    // The key is our copy in JavaScript memory (there is no CryptoKey to hold it): it can be
    // disposed of, which wipes it. One-shot encrypt and decrypt do so once the last frame is
    // done, as they do node:crypto's transient keys (disposeKey); keyrings and streams never.
    async importKey(raw: Uint8Array): Promise<TransientAeadKey> {
      if (raw.length !== 32 && raw.length !== 16) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      const key = copyBytes(raw);
      const gcm = await (gcmModule ??= import('@noble/ciphers/aes.js').then((m) => m.gcm));
      let disposed = false;
      const current = (): Uint8Array => {
        if (disposed) throw new SealboxError('ERR_STATE', 'The key was disposed of');
        return key;
      };
      return {
        seal(nonce, aad, plaintext, headroom = 0) {
          return withHeadroom(gcm(current(), nonce, aad).encrypt(plaintext), headroom);
        },
        open(nonce, aad, sealed) {
          const k = current();
          try {
            // noble verifies the tag before it produces any plaintext.
            return gcm(k, nonce, aad).decrypt(sealed);
          } catch {
            return authFailure();
          }
        },
        dispose() {
          disposed = true;
          key.fill(0);
        },
      };
    },
  };
}
