import { copyBytes, ownView } from './crypto/bytes.js';
import { SealboxError } from './errors.js';
import { FINAL_FRAME_PREFIX, scanFrames } from './format/frame.js';
import type { MessageHeader } from './format/header.js';
import { readPreamble } from './format/header.js';
import type { EncryptionContext } from './keyring/keyring.js';
import { TAG_BYTES } from './limits.js';
import type { DecryptOptions } from './message/prologue.js';
import { acceptHeader, beginDecryption, planDecryption } from './message/prologue.js';
import { checkSignature } from './message/decrypt-session.js';

export type { DecryptOptions } from './message/prologue.js';
export { headerLimits } from './message/prologue.js';

/** What {@link decrypt} returns. */
export interface DecryptResult {
  readonly plaintext: Uint8Array;
  /** The message's authenticated encryption context. */
  readonly encryptionContext: EncryptionContext;
  readonly header: MessageHeader;
}

/**
 * Decrypts a whole message. Nothing is returned unless the commitment, the header tag, every
 * frame and, for a signed message, the signature verify; on any failure the partial output is
 * zeroed.
 *
 * The header and its tag are copied before they are decoded, and a message in a
 * SharedArrayBuffer is copied whole first (another thread could change it between a check and
 * the use of what was checked). Any other message must not change until the promise settles:
 * its frames are read where they are (docs/security.md, "Input that changes while Sealbox
 * reads it").
 *
 * @example
 * ```ts
 * const { plaintext, encryptionContext } = await decrypt(ciphertext, {
 *   keyring,
 *   expectedEncryptionContext: { tenant: 'acme' },
 * });
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED, ERR_TRUNCATED,
 * ERR_TRAILING_DATA, ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING,
 * ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED (opaque: any tag failure, or a signature that does not
 * verify), ERR_SIGNATURE_POLICY (`signaturePolicy` refuses the message).
 */
export async function decrypt(ciphertext: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  // A SharedArrayBuffer's bytes are copied first: another thread could change a frame between
  // its tag check and its decryption, or the body between the frames and the signature.
  ciphertext = ownView('ciphertext', ciphertext, true);
  const plan = planDecryption(options);

  const headerEnd = readPreamble(ciphertext, plan.limits.maxHeaderBytes);
  if (headerEnd === undefined || ciphertext.length < headerEnd + TAG_BYTES) {
    throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
  }
  const bodyStart = headerEnd + TAG_BYTES;
  // Our own copy of the header and its tag: the header acted on is the one authenticated, even
  // if the caller's array changes while a keyring is asked.
  const headerAll = copyBytes(ciphertext.subarray(0, bodyStart));
  const headerBytes = headerAll.subarray(0, headerEnd);
  const header = acceptHeader(plan, headerBytes);
  // The structure is public and read first so the output is allocated once, but reported in
  // SPEC §8.1 order: after the keys, the header tag and the tags of the frames before it.
  const signatureLength = header.suite.signatureLength;
  const { regular, finalLength, fault, end } = scanFrames(ciphertext, bodyStart, header.frameLength, signatureLength);

  // A transient content key: disposed of (wiped) as soon as the last frame is open.
  // Synchronous for an unsigned message with a raw keyring on node:crypto: no turn to wait for.
  const begun = beginDecryption(plan, header, headerBytes, headerAll.subarray(headerEnd), true);
  const session = begun instanceof Promise ? await begun : begun;

  const F = header.frameLength;
  // A message of one frame: the plaintext is the array the backend opens it into (node:crypto
  // makes one per call anyway), not a copy of it into another (1 KiB decrypt: ~1.5 us less).
  const single = regular === 0 && finalLength !== undefined;
  let out: Uint8Array = new Uint8Array(single ? 0 : regular * F + (finalLength ?? 0));
  let pos = bodyStart;
  try {
    if (single) {
      pos += FINAL_FRAME_PREFIX;
      const opened = session.openFrame(0, true, ciphertext.subarray(pos, pos + finalLength + TAG_BYTES));
      out = opened instanceof Promise ? await opened : opened;
    }
    for (let i = 0; i <= regular && !single; i++) {
      const final = i === regular;
      if (final && finalLength === undefined) break;
      const len = final ? (finalLength as number) : F;
      pos += final ? FINAL_FRAME_PREFIX : 1;
      const opened = session.openFrameInto(i, final, ciphertext.subarray(pos, pos + len + TAG_BYTES), out, i * F);
      if (opened instanceof Promise) await opened;
      pos += len + TAG_BYTES;
    }
    // SPEC §8.1 stage 9: after the final frame's tag, a signature that is all there (rule 41),
    // canonical (42) and valid (43), before any byte after it (17). Nothing is returned unless
    // it verifies.
    const { verifier } = session;
    if (verifier && end !== undefined) {
      if (fault?.code === 'ERR_TRUNCATED') throw fault;
      verifier.update(ciphertext.subarray(bodyStart, end));
      await checkSignature(verifier, ciphertext.subarray(end, end + signatureLength));
    }
    if (fault) throw fault;
  } catch (err) {
    out.fill(0);
    throw err;
  } finally {
    session.dispose?.();
  }
  return { plaintext: out, encryptionContext: header.encryptionContext, header };
}
