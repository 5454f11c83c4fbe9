import type { AeadBackend, AeadKey } from './aead.js';
import { authFailure } from './aead.js';
import { TAG_BYTES } from '../limits.js';

// The core may not import node:* (it must bundle for browsers), so the Node backend reaches
// node:crypto at run time through process.getBuiltinModule (Node >= 20.16).
type NodeCrypto = typeof import('node:crypto');

/** node:crypto when running on Node, else undefined. */
export function nodeCrypto(): NodeCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  return mod && typeof mod.createCipheriv === 'function' ? mod : undefined;
}

/** AES-GCM through OpenSSL (node:crypto): the fast path on Node. Undefined outside Node. */
export function createNodeAeadBackend(): AeadBackend | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  return {
    name: 'node',
    importKey(raw: Uint8Array): AeadKey {
      const algorithm = raw.length === 32 ? 'aes-256-gcm' : raw.length === 16 ? 'aes-128-gcm' : undefined;
      if (!algorithm) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
      const key = crypto.createSecretKey(raw);
      return {
        seal(nonce, aad, plaintext, headroom = 0) {
          const cipher = crypto.createCipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
          cipher.setAAD(aad);
          const out = new Uint8Array(headroom + plaintext.length + TAG_BYTES);
          out.set(cipher.update(plaintext), headroom);
          cipher.final();
          out.set(cipher.getAuthTag(), headroom + plaintext.length);
          return out;
        },
        sealParts(nonce, aad, plaintext) {
          const cipher = crypto.createCipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
          cipher.setAAD(aad);
          const ciphertext = cipher.update(plaintext);
          cipher.final();
          return [ciphertext, cipher.getAuthTag()];
        },
        open(nonce, aad, sealed) {
          if (sealed.length < TAG_BYTES) authFailure();
          const ctLen = sealed.length - TAG_BYTES;
          const decipher = crypto.createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
          decipher.setAAD(aad);
          decipher.setAuthTag(sealed.subarray(ctLen));
          // update() output is held back until final() has checked the tag.
          const pt = decipher.update(sealed.subarray(0, ctLen));
          try {
            decipher.final();
          } catch {
            pt.fill(0);
            authFailure();
          }
          return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
        },
      };
    },
  };
}
