import type { AeadBackend, AeadKey, TransientAeadKey } from './aead.js';
import { authFailure } from './aead.js';
import { TAG_BYTES } from '../limits.js';
import { SealboxError } from '../errors.js';

// The core may not import node:* (it must bundle for browsers), so the Node backend reaches
// node:crypto at run time through process.getBuiltinModule (Node >= 20.16).
type NodeCrypto = typeof import('node:crypto');
type KeyObject = import('node:crypto').KeyObject;
type CipherGCM = import('node:crypto').CipherGCM;
type DecipherGCM = import('node:crypto').DecipherGCM;
type GcmAlgorithm = 'aes-256-gcm' | 'aes-128-gcm';

/** node:crypto when running on Node, else undefined. */
export function nodeCrypto(): NodeCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  return mod && typeof mod.createCipheriv === 'function' ? mod : undefined;
}

/**
 * From this many bytes, `sealInto` asks node:crypto for its output as latin1 strings written
 * into the destination, and `openInto` for half of its output (by bytes), taking the other half
 * as the Buffer `update()` returns. node:crypto makes a fresh Buffer per `update()` either way,
 * and V8 frees such external memory only when a collection runs, which for Buffers alone happens
 * after tens of MiB have piled up. A string is allocated in V8's young generation, so the young
 * generation fills and is collected every few MiB, taking the per-frame Buffers with it. For a
 * 64 MiB message that is ~25 MiB less peak RSS, for one more copy per string. Measured for a
 * 64 MiB one-shot decrypt (bench/worker.mjs buffer-rss, limit 192 MiB): strings for every frame,
 * 181-183 MiB; for half of the bytes, 184-187 MiB and 3-7% less CPU time; for a quarter, 192 MiB
 * (decryptFile, signed or not, stayed at 80-89 MiB for 256 MiB).
 * Below this size the Buffer path is always cheaper.
 */
const STRING_OUTPUT_BYTES = 16 * 1024;

/** Node's Buffer class (call only where nodeCrypto() found Node). */
function nodeBuffer(): typeof import('node:buffer').Buffer {
  return (globalThis as unknown as { process: { getBuiltinModule(id: 'node:buffer'): typeof import('node:buffer') } }).process.getBuiltinModule('node:buffer').Buffer;
}

/** Inputs up to this many bytes are copied into an off-heap scratch buffer (see {@link offHeapScratch}). */
const SCRATCH_BYTES = 64;

/**
 * Hands small inputs to node:crypto from a reused off-heap Buffer. V8 keeps a new typed array of
 * at most 64 bytes inside its heap, and node:crypto first moves such an array out of it, about
 * 0.5 us a call; nonces, frame AAD, message ids and data keys are all that small and fresh, a
 * dozen of them per message. Copying into a Buffer made once costs tens of nanoseconds.
 * node:crypto copies what it is given before returning, so the caller may reuse the scratch at
 * once; `wipe()` clears it after secret inputs.
 */
export function offHeapScratch(): ((bytes: Uint8Array) => Uint8Array) & { wipe(): void } {
  const Buffer = nodeBuffer();
  const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES).fill(0);
  const views: (Uint8Array | undefined)[] = [];
  const copy = (bytes: Uint8Array): Uint8Array => {
    if (bytes.length > SCRATCH_BYTES) return bytes;
    scratch.set(bytes);
    return (views[bytes.length] ??= scratch.subarray(0, bytes.length));
  };
  return Object.assign(copy, { wipe: () => void scratch.fill(0) });
}

/** AES-GCM through OpenSSL (node:crypto): the fast path on Node. Undefined outside Node. */
export function createNodeAeadBackend(): AeadBackend | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const Buffer = nodeBuffer();
  // One scratch per role, shared by every key of this backend: each is filled and consumed
  // within one synchronous call.
  const nonceIn = offHeapScratch();
  const aadIn = offHeapScratch();
  const tagIn = offHeapScratch();
  const dataIn = offHeapScratch();
  /** A cipher for `nonce` and `aad`, both passed through the scratches (as is the decipher's tag). */
  const cipher = (algorithm: GcmAlgorithm, key: KeyObject | Uint8Array, nonce: Uint8Array, aad: Uint8Array): CipherGCM => {
    const c = crypto.createCipheriv(algorithm, key, nonceIn(nonce), { authTagLength: TAG_BYTES });
    c.setAAD(aadIn(aad));
    return c;
  };
  const decipherFor = (algorithm: GcmAlgorithm, key: KeyObject | Uint8Array, nonce: Uint8Array, aad: Uint8Array, tag: Uint8Array): DecipherGCM => {
    const d = crypto.createDecipheriv(algorithm, key, nonceIn(nonce), { authTagLength: TAG_BYTES });
    d.setAAD(aadIn(aad));
    d.setAuthTag(tagIn(tag));
    return d;
  };
  /** update() on a small secret input (a data key being wrapped or unwrapped) through the scratch, wiped after. */
  const updateSmall = (c: import('node:crypto').Cipher | import('node:crypto').Decipher, input: Uint8Array): Uint8Array => {
    if (input.length > SCRATCH_BYTES) return c.update(input);
    try {
      return c.update(dataIn(input));
    } finally {
      dataIn.wipe();
    }
  };
  /**
   * Of the large outputs with `halfStrings`, across every key of this backend: bytes written
   * from Buffers minus bytes written from strings (at most one output away from 0). The next one
   * takes the Buffer path while this is not positive.
   */
  let bufferLead = 0;
  /**
   * Writes `update()` output for `input` into out[offset ..]; returns the bytes written.
   * `halfStrings`: only half of the large outputs' bytes through strings (openInto; sealInto
   * keeps strings for all, its 64 MiB peak RSS being higher).
   */
  const updateInto = (c: import('node:crypto').Cipher | import('node:crypto').Decipher, input: Uint8Array, out: Uint8Array, offset: number, halfStrings = false): number => {
    const large = input.length >= STRING_OUTPUT_BYTES;
    if (!large || (halfStrings && bufferLead <= 0)) {
      const chunk = c.update(input);
      out.set(chunk, offset);
      if (large) bufferLead += chunk.length;
      return chunk.length;
    }
    if (halfStrings) bufferLead -= input.length;
    const text = c.update(input, undefined, 'latin1');
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(text, offset, 'latin1');
  };
  /**
   * A plain Uint8Array of `length` bytes for an output every byte of which the caller writes at
   * once. From 16 KiB its memory is not zeroed first: for 64 KiB frames `new Uint8Array`'s
   * zeroing took half as long as the AES-GCM itself (perf of a Node stream encrypt). Small arrays
   * stay ordinary ones (V8 keeps those of up to 64 bytes in its heap, which is cheaper).
   */
  const uninitialized = (length: number): Uint8Array => {
    if (length < 16 * 1024) return new Uint8Array(length);
    const b = Buffer.allocUnsafeSlow(length);
    return new Uint8Array(b.buffer, b.byteOffset, length);
  };
  const gcmAlgorithm = (raw: Uint8Array): GcmAlgorithm => {
    const algorithm: GcmAlgorithm | undefined = raw.length === 32 ? 'aes-256-gcm' : raw.length === 16 ? 'aes-128-gcm' : undefined;
    if (!algorithm) throw new RangeError(`"key" expected Uint8Array of length 16 or 32, got length=${raw.length}`);
    return algorithm;
  };
  return {
    name: 'node',
    importKey(raw: Uint8Array): AeadKey {
      const algorithm = gcmAlgorithm(raw);
      let key: KeyObject;
      try {
        key = crypto.createSecretKey(dataIn(raw));
      } finally {
        dataIn.wipe();
      }
      return keyOf(algorithm, () => key);
    },
    importTransientKey(raw: Uint8Array): TransientAeadKey {
      const algorithm = gcmAlgorithm(raw);
      // The key's own off-heap bytes (not a pooled Buffer), handed to node:crypto on each call
      // (it copies them into the cipher) and wiped by dispose().
      const bytes = Buffer.allocUnsafeSlow(raw.length);
      bytes.set(raw);
      let disposed = false;
      const key = keyOf(algorithm, () => {
        if (disposed) throw new SealboxError('ERR_STATE', 'The key was disposed of');
        return bytes;
      });
      return Object.assign(key, {
        dispose(): void {
          disposed = true;
          bytes.fill(0);
        },
      });
    },
  };

  /** The AES-GCM operations under one key; `current()` gives node:crypto the key on each call. */
  function keyOf(algorithm: GcmAlgorithm, current: () => KeyObject | Uint8Array): AeadKey {
    return {
      seal(nonce, aad, plaintext, headroom = 0) {
        const c = cipher(algorithm, current(), nonce, aad);
        const out = uninitialized(headroom + plaintext.length + TAG_BYTES);
        out.fill(0, 0, headroom);
        if (plaintext.length > 0) out.set(updateSmall(c, plaintext), headroom);
        c.final();
        out.set(c.getAuthTag(), headroom + plaintext.length);
        return out;
      },
      sealParts(nonce, aad, plaintext) {
        const c = cipher(algorithm, current(), nonce, aad);
        const ciphertext = c.update(plaintext);
        c.final();
        return [ciphertext, c.getAuthTag()];
      },
      sealInto(nonce, aad, plaintext, out, offset) {
        const c = cipher(algorithm, current(), nonce, aad);
        // Nothing to encrypt (a header tag): no update() call, and no empty Buffer from it.
        const written = plaintext.length === 0 ? 0 : updateInto(c, plaintext, out, offset);
        c.final();
        if (written !== plaintext.length) throw new RangeError('"out" is too small for the sealed frame');
        out.set(c.getAuthTag(), offset + written);
      },
      openInto(nonce, aad, sealed, out, offset) {
        if (sealed.length < TAG_BYTES) authFailure();
        const ctLen = sealed.length - TAG_BYTES;
        if (offset + ctLen > out.length) throw new RangeError('"out" is too small for the opened frame');
        const decipher = decipherFor(algorithm, current(), nonce, aad, sealed.subarray(ctLen));
        updateInto(decipher, sealed.subarray(0, ctLen), out, offset, true);
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
        const decipher = decipherFor(algorithm, current(), nonce, aad, sealed.subarray(ctLen));
        // update() output is held back until final() has checked the tag. Nothing to decrypt
        // (a header tag): no update() call.
        const pt = ctLen === 0 ? new Uint8Array(0) : updateSmall(decipher, sealed.subarray(0, ctLen));
        try {
          decipher.final();
        } catch {
          pt.fill(0);
          authFailure();
        }
        return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
      },
    };
  }
}
