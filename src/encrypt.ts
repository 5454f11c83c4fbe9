import type { AeadBackendName } from './crypto/backend.js';
import { getAeadBackend } from './crypto/backend.js';
import { assertBytes } from './crypto/bytes.js';
import { DEFAULT_SUITE } from './crypto/suites.js';
import { canonicalContext, contextObject } from './format/context.js';
import { FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, frameLayout, framesByteLength } from './format/frame.js';
import type { MessageHeader } from './format/header.js';
import { writeU32 } from './crypto/bytes.js';
import type { EncryptionContext } from './keyring/keyring.js';
import { DEFAULT_FRAME_LENGTH } from './limits.js';
import type { KeySource } from './materials/resolve.js';
import { resolveMaterialsManager } from './materials/resolve.js';
import { checkFrameLength, startEncryption } from './message/encrypt-session.js';

/** Options of {@link encrypt}. Give exactly one of `keyring` or `materialsManager`. */
export interface EncryptOptions extends KeySource {
  /** Text pairs authenticated with the message and stored in its header (not secret). */
  encryptionContext?: EncryptionContext;
  /** Plaintext bytes per frame; default 64 KiB. */
  frameLength?: number;
  /** Force an AES-GCM backend (default: the fastest this runtime has). */
  backend?: AeadBackendName;
}

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
  const cmm = resolveMaterialsManager(options);
  const frameLength = options.frameLength ?? DEFAULT_FRAME_LENGTH;
  checkFrameLength(frameLength);
  const backend = getAeadBackend(options.backend);
  const encryptionContext = contextObject(canonicalContext(options.encryptionContext));
  const materials = await cmm.getEncryptionMaterials({ suite: DEFAULT_SUITE, encryptionContext, plaintextLength: plaintext.length });
  const session = await startEncryption(materials, frameLength, backend, messageId);

  // The output size is known: allocate once, write each frame in place.
  const out = new Uint8Array(session.headerBytes.length + framesByteLength(plaintext.length, frameLength));
  out.set(session.headerBytes, 0);
  let pos = session.headerBytes.length;
  const { regular, finalLength } = frameLayout(plaintext.length, frameLength);
  for (let i = 0; i <= regular; i++) {
    const final = i === regular;
    const start = i * frameLength;
    const chunk = plaintext.subarray(start, start + (final ? finalLength : frameLength));
    if (final) {
      out[pos] = FRAME_FINAL;
      writeU32(out, pos + 1, finalLength);
      pos += FINAL_FRAME_PREFIX;
    } else {
      out[pos++] = FRAME_REGULAR;
    }
    const sealed = session.sealFrame(i, final, chunk);
    const bytes = sealed instanceof Promise ? await sealed : sealed;
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return { ciphertext: out, header: session.header };
}
