import { formatInvalid } from '../errors.js';
import type { RawVerifier } from './signature-policy.js';
import { getSignatureBackend } from './signature-backend.js';

/**
 * ECDSA P-384 / SHA-384 message signatures (the signed suite, issue 20): a fresh key pair per
 * message, the public key as a compressed SEC1 point, the signature as fixed-length r ‖ s
 * (IEEE P1363) with s in low-s form.
 *
 * Backends: `node:crypto` (OpenSSL) on Node; `@noble/hashes` SHA-384 and `@noble/curves` P-384
 * elsewhere, loaded on first use through `import()`. The encoding rules (signature-policy.ts)
 * live with the backends, so in the browser bundle all of this but the two entry points below
 * is a lazy chunk. Signatures of either backend verify in the other.
 */

/** Length of a P-384 public key as a compressed SEC1 point: 0x02 or 0x03, then x (48 bytes). */
export const P384_PUBLIC_KEY_LENGTH = 49;
/** Length of a signature: r ‖ s, 48 bytes each, big-endian (IEEE P1363), s in low-s form. */
export const P384_SIGNATURE_LENGTH = 96;

/**
 * Signs one message incrementally: everything passed to {@link MessageSigner.update}, in order,
 * is hashed with SHA-384, and {@link MessageSigner.sign} signs that digest once.
 */
export interface MessageSigner {
  /** The fresh key pair's public key, a compressed point ({@link P384_PUBLIC_KEY_LENGTH} bytes). */
  readonly publicKey: Uint8Array;
  /**
   * Appends `chunk` to the signed bytes. The bytes are consumed or copied before this returns,
   * so the caller may reuse `chunk` at once. Throws Error after `sign` (a programming error).
   */
  update(chunk: Uint8Array): void;
  /**
   * The signature over everything passed to `update` ({@link P384_SIGNATURE_LENGTH} bytes,
   * r ‖ s, low-s). Callable once (a second call rejects with Error).
   */
  sign(): Promise<Uint8Array>;
}

/** Verifies one message's signature incrementally (see {@link createMessageVerifier}). */
export interface MessageVerifier {
  /** Appends `chunk` to the verified bytes (consumed or copied before this returns). Throws Error after `verify`. */
  update(chunk: Uint8Array): void;
  /**
   * True when `signature` is a valid low-s r ‖ s signature over everything passed to `update`.
   * False, never a throw, for any bad signature: wrong length, r or s of 0 or >= n, high s, or
   * a signature of other bytes or by another key. Callable once (a second call rejects with Error).
   */
  verify(signature: Uint8Array): Promise<boolean>;
}

/**
 * Internal (Node files): a SHA-384 that runs somewhere else than the calling thread, holding
 * the message's hash for one signer or verifier of the `node` backend (src/node/hash-thread.ts).
 * `update` has the same contract as {@link MessageSigner.update} unless its caller and the
 * hash agreed otherwise (shared memory the caller does not reuse until the hash is done).
 * The keys are node:crypto KeyObjects; the answers are raw ECDSA (r ‖ s, either s).
 */
export interface ExternalHash {
  update(chunk: Uint8Array): void;
  /** The raw signature (r ‖ s, either s) of everything given to `update`, under `privateKey`. */
  sign(privateKey: object): Promise<Uint8Array>;
  /** Whether `signature` (r ‖ s, or DER when `der`) verifies under `publicKey` as raw ECDSA. */
  verify(publicKey: object, signature: Uint8Array, der: boolean): Promise<boolean>;
}

/** An ECDSA P-384 / SHA-384 implementation: `node:crypto`, or `@noble/curves` with `@noble/hashes`. */
export interface SignatureBackend {
  /** Which implementation this is, for diagnostics, tests and benchmarks. */
  readonly name: 'node' | 'noble';
  /**
   * A signer with a fresh key pair, emitting low-s signatures. `hash` (Node files, `node`
   * backend only; others ignore it): where the signed bytes are hashed and the digest signed.
   */
  createSigner(hash?: ExternalHash): Promise<MessageSigner>;
  /**
   * A verifier with the low-s rule, or undefined when `publicKey` is not a canonical compressed
   * point on P-384. `hash`: as for {@link SignatureBackend.createSigner}.
   */
  createVerifier(publicKey: Uint8Array, hash?: ExternalHash): Promise<MessageVerifier | undefined>;
  /** Raw ECDSA verify (high-s accepted; r ‖ s or DER), for Wycheproof; undefined as for createVerifier. */
  createRawVerifier(publicKey: Uint8Array): Promise<RawVerifier | undefined>;
}

/** Names accepted by {@link getSignatureBackend}. */
export type SignatureBackendName = SignatureBackend['name'];

// getSignatureBackend lives in signature-backend.ts, which imports nothing from the core, so
// that code loaded lazily for signed messages (src/message/signing.ts) can use it in the
// browser bundle without pulling core modules into a lazy chunk.
export { getSignatureBackend } from './signature-backend.js';

/**
 * Starts signing one message with a fresh P-384 key pair. Everything passed to `update` is
 * hashed with SHA-384; `sign` returns r ‖ s in low-s form.
 *
 * @example
 * ```ts
 * const signer = await createMessageSigner();
 * signer.update(header);
 * for (const frame of frames) signer.update(frame);
 * const signature = await signer.sign(); // 96 bytes
 * // signer.publicKey (49 bytes) travels with the message
 * ```
 * @param backend - Internal: a named backend (tests and benchmarks); default the runtime's.
 */
export async function createMessageSigner(backend?: SignatureBackendName): Promise<MessageSigner> {
  return (await getSignatureBackend(backend)).createSigner();
}

/**
 * Starts verifying one message's signature under `publicKey`, a compressed P-384 point.
 *
 * @example
 * ```ts
 * const verifier = await createMessageVerifier(publicKey);
 * verifier.update(header);
 * for (const frame of frames) verifier.update(frame);
 * if (!(await verifier.verify(signature))) throw decryptionFailed();
 * ```
 * @param backend - Internal: a named backend (tests and benchmarks); default the runtime's.
 * @throws SealboxError ERR_FORMAT_INVALID when `publicKey` is not a canonical compressed point
 * on P-384 (wrong length, first byte other than 0x02/0x03, x >= p, or an x with no point);
 * TypeError when it is not a Uint8Array.
 */
export async function createMessageVerifier(publicKey: Uint8Array, backend?: SignatureBackendName): Promise<MessageVerifier> {
  const verifier = await (await getSignatureBackend(backend)).createVerifier(publicKey);
  if (!verifier) throw formatInvalid('bad signing public key');
  return verifier;
}
