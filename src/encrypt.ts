import { ownView } from './crypto/bytes.js';
import type { MessageSigner } from './crypto/signature.js';
import { frameLayout, framesByteLength } from './format/frame.js';
import type { MessageHeader } from './format/header.js';
import type { EncryptOptions } from './message/prologue.js';
import { beginEncryption, planEncryption } from './message/prologue.js';

export type { EncryptOptions } from './message/prologue.js';

/** What {@link encrypt} returns. */
export interface EncryptResult {
  /** The whole message: header, header tag, frames (and, for a signed suite, the signature). */
  readonly ciphertext: Uint8Array;
  /** The header that was written (context, EDKs, frame length, ...). */
  readonly header: MessageHeader;
}

/**
 * Encrypts `plaintext` under a fresh data key wrapped by the keyring(s). The plaintext is read as
 * each frame is sealed, after the keyrings answered: it must not change until the promise
 * settles (its buffer detached or shrunk below it meanwhile is a TypeError, and nothing is returned).
 *
 * @example
 * ```ts
 * import { encrypt, RawAesKeyring, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from 'sealbox';
 * const keyring = new RawAesKeyring({ namespace: 'app', name: 'key-1', wrappingKey });
 * const { ciphertext } = await encrypt(new TextEncoder().encode('hello'), {
 *   keyring,
 *   encryptionContext: { tenant: 'acme' },
 * });
 * // Signed: recipients who can unwrap the data key still cannot forge a message.
 * await encrypt(data, { keyring, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
 * ```
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_INVALID (reserved prefix, bad text), ERR_LIMIT_EXCEEDED,
 * ERR_KEYRING (keyring failure; see `cause`). TypeError/RangeError for bad arguments.
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<EncryptResult> {
  return encryptWithMessageId(plaintext, options);
}

/**
 * {@link encrypt} with an optional fixed message id (and, for a signed suite, signer). Internal:
 * only the frozen-vector generator and cross-backend tests pass them; a reused message id under
 * one data key reuses nonces, and a reused signing key would link messages.
 */
export async function encryptWithMessageId(plaintext: Uint8Array, options: EncryptOptions, messageId?: Uint8Array, fixedSigner?: MessageSigner): Promise<EncryptResult> {
  // Read through its own memory, its length once: the output is sized for that length, and
  // each frame is checked to have its bytes (a resizable buffer may shrink while a keyring is asked).
  plaintext = ownView('plaintext', plaintext, false);
  const length = plaintext.length;
  const plan = planEncryption(options);
  const frameLength = plan.frameLength;
  // A transient content key: disposed of (wiped) as soon as the last frame is sealed. The
  // output size is known: the header is written at the start of the one array, with room for
  // the frames (and signature) after it, each written in place.
  const room = framesByteLength(length, frameLength) + plan.suite.signatureLength;
  // Synchronous with a raw keyring on node:crypto: no turn to wait for.
  const begun = beginEncryption(plan, length, messageId, fixedSigner, true, room);
  const session = begun instanceof Promise ? await begun : begun;
  let pos = session.headerBytes.length;
  const out = new Uint8Array(session.headerBytes.buffer, session.headerBytes.byteOffset, pos + room);

  const { regular, finalLength } = frameLayout(length, frameLength);
  try {
    for (let i = 0; i <= regular; i++) {
      const final = i === regular;
      const start = i * frameLength;
      const chunk = plaintext.subarray(start, start + (final ? finalLength : frameLength));
      if (chunk.length !== (final ? finalLength : frameLength)) throw new TypeError('"plaintext" was detached or shrunk while encrypt was pending');
      // Written straight into the output: no per-frame arrays with node:crypto.
      const written = session.sealFrameInto(i, final, chunk, out, pos);
      pos += written instanceof Promise ? await written : written;
    }
  } finally {
    session.dispose?.();
  }
  // A signed suite: the signature over everything above follows the final frame (SPEC §11.2).
  const { signer } = session;
  if (signer) {
    signer.update(out.subarray(0, pos));
    out.set(await signer.sign(), pos);
  }
  return { ciphertext: out, header: session.header };
}
