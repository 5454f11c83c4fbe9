import { copyBytes, ownView } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import { walkFrames } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { TAG_BYTES } from '../limits.js';
import type { RewrapOptions } from '../message/rewrap-session.js';
import { checkFrameTags, planRewrap, rewrapHeader } from '../message/rewrap-session.js';

export type { RewrapOptions } from '../message/rewrap-session.js';

/** What {@link rewrap} returns. */
export interface RewrapResult {
  /** The rewrapped message: the new header and header tag, then the old body, byte for byte. */
  readonly ciphertext: Uint8Array;
  /** The new header. */
  readonly header: MessageHeader;
  /** The old header (authenticated). */
  readonly previousHeader: MessageHeader;
}

/**
 * Moves a message to new keys without re-encrypting it: the header gets new encrypted data keys
 * (EDKs) for the same data key and a new header tag; the frames are copied unchanged. The
 * message id, encryption context, frame length and key commitment stay the same (the suite
 * becomes 3, see below).
 *
 * Before anything is produced the old header is authenticated completely (a data key is
 * unwrapped, the commitment and the header tag are checked) and the frame structure is walked
 * (truncation, trailing bytes, frame types and lengths). Frame tags are not checked unless
 * `verifyFrames` is set (a decrypt pass that keeps no plaintext): a rewrapped message whose
 * frames were damaged fails on decrypt exactly as it would have before. The data key is zeroed
 * before this returns.
 *
 * The result is in suite 3 (`SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT`): suite 1's key
 * derivation and frames, unchanged, and a header that carries a fresh random 8-byte salt from
 * which its header tag's nonce is made. Suite 1's header tag has a fixed nonce, so a second
 * suite 1 header under the same content key would reuse it and let whoever sees both headers
 * forge the message; with a fresh salt per header the old and the new versions side by side
 * give nothing away (docs/rewrap.md, SPEC §6). Sealbox releases before suite 3 refuse the result
 * with ERR_UNSUPPORTED_VERSION. The data key is found as decrypt finds it (SPEC §8.3: a bad EDK or
 * a key failing the commitment moves on to the next EDK). Signed messages are refused: their
 * signature covers the header.
 *
 * The old header and its tag are copied before they are decoded, so the new header is made of
 * the bytes that were authenticated; a message in a SharedArrayBuffer is copied whole first.
 * Any other message must not change until the promise settles (its body is copied at the end).
 *
 * @example
 * ```ts
 * import { rewrap } from 'sealbox/rewrap';
 * // Retire key-1: the message then opens with key-2 only.
 * const { ciphertext } = await rewrap(message, { keyring: key1, to: key2 });
 * // Add an escrow recipient, keep the others, and require the context first.
 * await rewrap(message, { keyring: key1, to: escrow, mode: 'add', expectedEncryptionContext: { tenant: 'acme' } });
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION (unknown version or suite, or a
 * suite that cannot be rewrapped: a signed one), ERR_LIMIT_EXCEEDED (also when the new header would hold more
 * EDKs than `maxEncryptedDataKeys`, default 16, at most 255), ERR_TRUNCATED, ERR_TRAILING_DATA,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING (unwrapping, or wrapping
 * with `to`), ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED (header tag; with `verifyFrames`,
 * any frame). TypeError/RangeError for bad arguments.
 */
export async function rewrap(message: Uint8Array, options: RewrapOptions): Promise<RewrapResult> {
  // A SharedArrayBuffer's bytes are copied first: another thread could change the body after
  // its structure was walked.
  message = ownView('message', message, true);
  const plan = planRewrap(options);
  const headerEnd = readPreamble(message, plan.decrypt.limits.maxHeaderBytes);
  if (headerEnd === undefined || message.length < headerEnd + TAG_BYTES) {
    throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
  }
  const bodyStart = headerEnd + TAG_BYTES;
  // The body's public structure is walked before any keyring is asked (frame tags: verifyFrames).
  const body = message.subarray(bodyStart);
  // The new header is written at the start of the result's array, with room left for the body.
  // Our own copy of the old header and its tag: the header authenticated is the one acted on
  // and spliced into the new header, which gets a valid tag of its own, even if the caller's
  // array changes while a keyring is asked.
  const headerAll = copyBytes(message.subarray(0, bodyStart));
  const pending = rewrapHeader(
    plan,
    headerAll.subarray(0, headerEnd),
    headerAll.subarray(headerEnd),
    (h) => {
      walkFrames(message, bodyStart, h.frameLength);
    },
    body.length,
  );
  // Synchronous with raw keyrings on node:crypto: no turn to wait for.
  const result = pending instanceof Promise ? await pending : pending;
  const { header, previous, headerBytes } = result;
  if (plan.verifyFrames) await checkFrameTags(result.openFrames(), body, header.frameLength, 0);
  const ciphertext = new Uint8Array(headerBytes.buffer, 0, headerBytes.length + body.length);
  ciphertext.set(body, headerBytes.length);
  return { ciphertext, header, previousHeader: previous };
}
