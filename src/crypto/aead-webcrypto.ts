import type { AeadBackend, AeadKey } from './aead.js';
import { authFailure, NONCE_BYTES, withHeadroom } from './aead.js';
import { TAG_BYTES } from '../limits.js';
import { copyBytes } from './bytes.js';

/** The WebCrypto SubtleCrypto, when this runtime has one (secure browser contexts, Node, workers). */
export function subtleCrypto(): SubtleCrypto | undefined {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  return c && c.subtle && typeof c.subtle.importKey === 'function' ? c.subtle : undefined;
}

/**
 * A view WebCrypto accepts. Browsers refuse views of a SharedArrayBuffer (cross-origin-isolated
 * pages, wasm memory) and of a resizable ArrayBuffer (WebIDL's BufferSource without
 * [AllowResizable]: Chromium throws a TypeError), which node:crypto, noble and Node's own
 * WebCrypto take, so those are copied: every backend accepts the same inputs. Views of a plain
 * ArrayBuffer pass through uncopied (WebCrypto copies them itself).
 */
export function webCryptoView(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const buffer = view.buffer;
  const plain = buffer instanceof ArrayBuffer && (buffer as { resizable?: boolean }).resizable !== true;
  return (plain ? view : copyBytes(view)) as Uint8Array<ArrayBuffer>;
}

/**
 * AES-GCM through WebCrypto. The key is imported once per message as a non-extractable
 * CryptoKey; every call is asynchronous, so frames should be large (64 KiB default).
 *
 * Byte-identical to the node:crypto and noble backends: 96-bit nonce, 128-bit tag appended to
 * the ciphertext, AAD authenticated (test/crypto/backends-identical.test.ts, and in Chromium
 * test/browser/chromium.test.ts).
 */
export function createWebCryptoAeadBackend(): AeadBackend | undefined {
  const subtle = subtleCrypto();
  if (!subtle) return undefined;
  const params = (nonce: Uint8Array, aad: Uint8Array): AesGcmParams => {
    // WebCrypto accepts any IV length (and GHASHes the others); the format only ever uses 96 bits.
    if (nonce.length !== NONCE_BYTES) throw new RangeError(`"nonce" expected Uint8Array of length ${NONCE_BYTES}, got length=${nonce.length}`);
    return { name: 'AES-GCM', iv: webCryptoView(nonce), additionalData: webCryptoView(aad), tagLength: TAG_BYTES * 8 };
  };
  return {
    name: 'webcrypto',
    async importKey(raw: Uint8Array): Promise<AeadKey> {
      if (raw.length !== 32 && raw.length !== 16) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      // The CryptoKey holds its own copy (non-extractable): wipe ours once it is imported.
      const copy = copyBytes(raw);
      let key: CryptoKey;
      try {
        key = await subtle.importKey('raw', copy, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
      } finally {
        copy.fill(0);
      }
      return {
        async seal(nonce, aad, plaintext, headroom = 0) {
          const out = await subtle.encrypt(params(nonce, aad), key, webCryptoView(plaintext));
          return withHeadroom(new Uint8Array(out), headroom);
        },
        async open(nonce, aad, sealed) {
          if (sealed.length < TAG_BYTES) authFailure();
          const p = params(nonce, aad);
          let out: ArrayBuffer;
          try {
            // WebCrypto checks the tag before it returns any plaintext.
            out = await subtle.decrypt(p, key, webCryptoView(sealed));
          } catch (err) {
            // OperationError is the tag failure: opaque like every backend's. Anything else
            // (a detached buffer, say) is a programming error and stays visible.
            if ((err as { name?: unknown })?.name === 'OperationError') authFailure();
            throw err;
          }
          return new Uint8Array(out);
        },
      };
    },
  };
}
