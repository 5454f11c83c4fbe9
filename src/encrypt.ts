import { assertBytes } from './crypto/bytes.js';
import { frameLayout, framesByteLength } from './format/frame.js';
import type { MessageHeader } from './format/header.js';
import type { EncryptOptions } from './message/prologue.js';
import { beginEncryption, planEncryption } from './message/prologue.js';

export type { EncryptOptions } from './message/prologue.js';

/** What {@link encrypt} returns. */
export interface EncryptResult {
  /** The whole message: header, header tag, frames. */
  readonly ciphertext: Uint8Array;
  /** The header that was written (context, EDKs, frame length, ...). */
  readonly header: MessageHeader;
}

/**
 * Encrypts `plaintext` under a fresh data key wrapped by the keyring(s).
 *
 * @example
 * ```ts
 * import { encrypt, RawAesKeyring } from 'sealbox';
 * const keyring = new RawAesKeyring({ namespace: 'app', name: 'key-1', wrappingKey });
 * const { ciphertext } = await encrypt(new TextEncoder().encode('hello'), {
 *   keyring,
 *   encryptionContext: { tenant: 'acme' },
 * });
 * ```
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_INVALID (reserved prefix, bad text), ERR_LIMIT_EXCEEDED,
 * ERR_KEYRING (keyring failure; see `cause`). TypeError/RangeError for bad arguments.
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<EncryptResult> {
  return encryptWithMessageId(plaintext, options);
}

/**
 * {@link encrypt} with an optional fixed message id. Internal: only the frozen-vector generator
 * and cross-backend tests pass one; a reused message id under one data key reuses nonces.
 */
export async function encryptWithMessageId(plaintext: Uint8Array, options: EncryptOptions, messageId?: Uint8Array): Promise<EncryptResult> {
  assertBytes('plaintext', plaintext);
  const plan = planEncryption(options);
  const frameLength = plan.frameLength;
  const session = await beginEncryption(plan, plaintext.length, messageId);

  // The output size is known: allocate once, write each frame in place.
  const out = new Uint8Array(session.headerBytes.length + framesByteLength(plaintext.length, frameLength));
  out.set(session.headerBytes, 0);
  let pos = session.headerBytes.length;
  const { regular, finalLength } = frameLayout(plaintext.length, frameLength);
  for (let i = 0; i <= regular; i++) {
    const final = i === regular;
    const start = i * frameLength;
    const chunk = plaintext.subarray(start, start + (final ? finalLength : frameLength));
    // Written straight into the output: no per-frame arrays with node:crypto.
    const written = session.sealFrameInto(i, final, chunk, out, pos);
    pos += written instanceof Promise ? await written : written;
  }
  return { ciphertext: out, header: session.header };
}
