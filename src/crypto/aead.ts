import { decryptionFailed } from '../errors.js';

/** A value or a promise of it: node:crypto and noble answer synchronously, WebCrypto does not. */
export type MaybePromise<T> = T | Promise<T>;

/** Nonce length for AES-GCM in this format (96 bits, the only length GCM handles natively). */
export const NONCE_BYTES = 12;

/**
 * An imported AES-256-GCM key. `seal` returns ciphertext followed by the 16-byte tag; `open`
 * returns the plaintext only after the tag has verified, and otherwise throws the opaque
 * ERR_DECRYPTION_FAILED.
 */
export interface AeadKey {
  /**
   * `headroom` (default 0) reserves that many zero bytes before the ciphertext in the returned
   * array, so a framer can write its frame prefix there instead of copying the whole frame.
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, headroom?: number): MaybePromise<Uint8Array>;
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * Optional, synchronous backends only: seal returning ciphertext and tag as two arrays, so a
   * writer that gathers (writev) needs no copy of the ciphertext.
   */
  sealParts?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): [Uint8Array, Uint8Array];
  /**
   * Optional, synchronous backends only: seal writing ciphertext ‖ tag straight into
   * `out[offset ..]`, for one-shot encrypt of large messages (no per-frame output array).
   */
  sealInto?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void;
  /**
   * Optional, synchronous backends only: open writing the plaintext into `out[offset ..]`. The
   * bytes may be written before the tag is checked; on failure they are zeroed before the
   * opaque ERR_DECRYPTION_FAILED is thrown, so `out` must be a buffer the caller has not
   * released to anyone.
   */
  openInto?(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, offset: number): void;
}

/** A key from {@link AeadBackend.importTransientKey}. */
export interface TransientAeadKey extends AeadKey {
  /** Wipes the key; every later call throws ERR_STATE. Idempotent. */
  dispose(): void;
}

/** Wipes a key from {@link AeadBackend.importTransientKey}; other keys have nothing to dispose of. */
export function disposeKey(key: AeadKey | undefined): void {
  (key as Partial<TransientAeadKey> | undefined)?.dispose?.();
}

/** A source of AES-GCM keys: `node:crypto`, WebCrypto or `@noble/ciphers`. */
export interface AeadBackend {
  /** Which implementation this is, for diagnostics and benchmarks. */
  readonly name: 'node' | 'webcrypto' | 'noble';
  /** Import a 16- or 32-byte raw key. The caller may wipe `key` afterwards. */
  importKey(key: Uint8Array): MaybePromise<AeadKey>;
  /**
   * Optional: a key for a few calls in one operation, which the caller disposes of as soon as
   * it is done (in a `finally`): `dispose()` wipes the key's bytes at once, and any later call
   * throws ERR_STATE. The caller may wipe `key` afterwards. On Node, node:crypto is handed the
   * bytes on each call instead of a `KeyObject`: no key object to make (~1.4 us) and a cheaper
   * cipher per call (~0.3 us); one-shot rewrap's content key serves two header tags.
   */
  importTransientKey?(key: Uint8Array): TransientAeadKey;
}

/** Shared guard: every `open` of every backend fails with the same opaque error. */
export function authFailure(): never {
  throw decryptionFailed();
}

/** `bytes` preceded by `headroom` zero bytes (a copy unless `headroom` is 0). */
export function withHeadroom(bytes: Uint8Array, headroom: number): Uint8Array {
  if (headroom === 0) return bytes;
  const out = new Uint8Array(headroom + bytes.length);
  out.set(bytes, headroom);
  return out;
}
