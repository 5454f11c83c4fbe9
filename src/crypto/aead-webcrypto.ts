import type { AeadBackend, AeadKey } from './aead.js';
import { authFailure, withHeadroom } from './aead.js';
import { TAG_BYTES } from '../limits.js';

/** The WebCrypto SubtleCrypto, when this runtime has one (secure browser contexts, Node, workers). */
export function subtleCrypto(): SubtleCrypto | undefined {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  return c && c.subtle && typeof c.subtle.importKey === 'function' ? c.subtle : undefined;
}

/**
 * AES-GCM through WebCrypto. The key is imported once per message as a non-extractable
 * CryptoKey; every call is asynchronous, so frames should be large (64 KiB default).
 */
export function createWebCryptoAeadBackend(): AeadBackend | undefined {
  const subtle = subtleCrypto();
  if (!subtle) return undefined;
  return {
    name: 'webcrypto',
    async importKey(raw: Uint8Array): Promise<AeadKey> {
      if (raw.length !== 32 && raw.length !== 16) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      const key = await subtle.importKey('raw', raw.slice(), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
      return {
        async seal(nonce, aad, plaintext, headroom = 0) {
          const out = await subtle.encrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BYTES * 8 }, key, plaintext as BufferSource);
          return withHeadroom(new Uint8Array(out), headroom);
        },
        async open(nonce, aad, sealed) {
          if (sealed.length < TAG_BYTES) authFailure();
          try {
            const out = await subtle.decrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: aad as BufferSource, tagLength: TAG_BYTES * 8 }, key, sealed as BufferSource);
            return new Uint8Array(out);
          } catch {
            return authFailure();
          }
        },
      };
    },
  };
}
