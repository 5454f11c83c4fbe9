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

/**
 * From this many bytes, `sealInto` / `openInto` ask node:crypto for its output as a latin1
 * string and write that into the destination. node:crypto makes a fresh Buffer per `update()`
 * either way, and V8 frees such external memory only when a collection runs, which for
 * Buffers alone happens after tens of MiB have piled up. The string is allocated in V8's young
 * generation, so the young generation fills and is collected every few MiB, taking the
 * per-frame Buffers with it. For a 64 MiB message that is ~25 MiB less peak RSS, for one more
 * copy per frame (bench/worker.mjs buffer-rss and buffer). Below it, the Buffer path is cheaper.
 */
const STRING_OUTPUT_BYTES = 16 * 1024;

/** AES-GCM through OpenSSL (node:crypto): the fast path on Node. Undefined outside Node. */
export function createNodeAeadBackend(): AeadBackend | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const { Buffer } = (globalThis as unknown as { process: { getBuiltinModule(id: 'node:buffer'): typeof import('node:buffer') } }).process.getBuiltinModule('node:buffer');
  /** Writes `update()` output for `input` into out[offset ..]; returns the bytes written. */
  const updateInto = (c: import('node:crypto').Cipher | import('node:crypto').Decipher, input: Uint8Array, out: Uint8Array, offset: number): number => {
    if (input.length < STRING_OUTPUT_BYTES) {
      const chunk = c.update(input);
      out.set(chunk, offset);
      return chunk.length;
    }
    const text = c.update(input, undefined, 'latin1');
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(text, offset, 'latin1');
  };
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
        sealInto(nonce, aad, plaintext, out, offset) {
          const cipher = crypto.createCipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
          cipher.setAAD(aad);
          const written = updateInto(cipher, plaintext, out, offset);
          cipher.final();
          if (written !== plaintext.length) throw new RangeError('"out" is too small for the sealed frame');
          out.set(cipher.getAuthTag(), offset + written);
        },
        openInto(nonce, aad, sealed, out, offset) {
          if (sealed.length < TAG_BYTES) authFailure();
          const ctLen = sealed.length - TAG_BYTES;
          if (offset + ctLen > out.length) throw new RangeError('"out" is too small for the opened frame');
          const decipher = crypto.createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
          decipher.setAAD(aad);
          decipher.setAuthTag(sealed.subarray(ctLen));
          updateInto(decipher, sealed.subarray(0, ctLen), out, offset);
          try {
            decipher.final();
          } catch {
            out.fill(0, offset, offset + ctLen);
            authFailure();
          }
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
