import type { AeadBackend, AeadKey, MaybePromise } from '../crypto/aead.js';
import { disposeKey } from '../crypto/aead.js';
import { constantTimeEqual, copyBytes, wipe } from '../crypto/bytes.js';
import type { MessageKeys } from '../crypto/derive.js';
import { deriveMessageKeys } from '../crypto/derive.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import { SealboxError, decryptionFailed, formatInvalid } from '../errors.js';
import type { MessageVerifier } from '../crypto/signature.js';
import type { MessageHeader } from '../format/header.js';
import { frameAad, frameNonce, headerNonce } from '../format/frame.js';
import type { DecryptionMaterials } from '../materials/materials.js';

/** Opens the frames of one authenticated header. */
export interface DecryptSession {
  /** Opens frame `index`: returns its plaintext only if its tag verifies, else throws ERR_DECRYPTION_FAILED. */
  openFrame(index: number, final: boolean, sealed: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * Opens frame `index` into `out[offset ..]` (with node:crypto without a per-frame array). On
   * failure the bytes written are zeroed and ERR_DECRYPTION_FAILED is thrown; `out` must not have
   * been released to anyone yet.
   */
  openFrameInto(index: number, final: boolean, sealed: Uint8Array, out: Uint8Array, offset: number): MaybePromise<void>;
  /**
   * A signed message's verifier (SPEC §11), already given the header bytes and tag: the reader
   * passes it every frame's encoding, in order, and must not release the last frame that has
   * plaintext (the final frame, or the last regular frame when the final frame is empty) before
   * {@link checkSignature} resolves. Undefined for an unsigned suite.
   */
  readonly verifier?: MessageVerifier;
  /**
   * Set when the session was started with a transient key (one-shot decrypt): wipes it, after
   * which opening a frame throws ERR_STATE. Call it as soon as the last frame is open.
   */
  dispose?(): void;
}

/**
 * SPEC §11.2, §8.1 stage 9: the signature that follows the final frame is canonical (rule 42),
 * then verifies over everything `verifier` was given (rule 43).
 *
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_DECRYPTION_FAILED
 */
export async function checkSignature(verifier: MessageVerifier, signature: Uint8Array): Promise<void> {
  if (!(await import('./signing.js')).isCanonicalSignature(signature)) throw formatInvalid('non-canonical signature');
  if (!(await verifier.verify(signature))) throw decryptionFailed();
}

/**
 * Checks the key commitment (constant time) before the data key is used for anything else,
 * then the header tag over the exact header bytes received. Returns the content key, imported.
 * Shared by every decrypt path and by rewrap (which seals its new header with the same key).
 *
 * @param headerBytes preamble + CBOR body exactly as received
 * @param headerTag the 16 bytes that follow them
 * @param checkedContentKey the content key of `materials.dataKey`, when its commitment was
 * already checked (decrypt checks each candidate key, SPEC §8.3); it is wiped here
 * @param transient import the content key with the backend's `importTransientKey` when it has
 * one: the caller then calls {@link disposeKey} on the result as soon as it is done with it
 * (here on failure)
 * @throws SealboxError ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED
 */
export function openHeader(
  header: MessageHeader,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  materials: DecryptionMaterials,
  backend: AeadBackend,
  checkedContentKey?: Uint8Array,
  transient = false,
): MaybePromise<AeadKey> {
  return drive(openHeaderSteps(header, headerBytes, headerTag, materials, backend, checkedContentKey, transient));
}

function* openHeaderSteps(
  header: MessageHeader,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  materials: DecryptionMaterials,
  backend: AeadBackend,
  checkedContentKey: Uint8Array | undefined,
  transient: boolean,
): Steps<AeadKey> {
  let contentKey = checkedContentKey;
  if (!contentKey) {
    const keys: MessageKeys = yield deriveMessageKeys(header.version, header.suite, materials.dataKey, header.messageId);
    if (!constantTimeEqual(keys.commitment, header.commitment)) {
      wipe(keys.contentKey);
      throw new SealboxError('ERR_COMMITMENT_MISMATCH', 'The data key does not match the message\'s key commitment');
    }
    contentKey = keys.contentKey;
  }
  const bytes = contentKey;
  let key: AeadKey;
  try {
    key = transient && backend.importTransientKey ? backend.importTransientKey(bytes) : yield backend.importKey(bytes);
  } finally {
    wipe(bytes);
  }
  const sealed = new Uint8Array(headerTag.length);
  sealed.set(headerTag);
  try {
    yield key.open(headerNonce(header.headerSalt), headerBytes, sealed);
  } catch (err) {
    disposeKey(key);
    throw err;
  }
  return key;
}

/**
 * {@link openHeader}, then a session that opens the message's frames. The materials' data key
 * is zeroed once the header is open (or on failure): the frames need only the content key.
 *
 * @throws SealboxError ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED
 */
export function startDecryption(
  header: MessageHeader,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  materials: DecryptionMaterials,
  backend: AeadBackend,
  checkedContentKey?: Uint8Array,
  verifier?: MessageVerifier,
  transient = false,
): MaybePromise<DecryptSession> {
  return drive(startDecryptionSteps(header, headerBytes, headerTag, materials, backend, checkedContentKey, verifier, transient));
}

function* startDecryptionSteps(
  header: MessageHeader,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  materials: DecryptionMaterials,
  backend: AeadBackend,
  checkedContentKey: Uint8Array | undefined,
  verifier: MessageVerifier | undefined,
  transient: boolean,
): Steps<DecryptSession> {
  try {
    const key: AeadKey = yield openHeader(header, headerBytes, headerTag, materials, backend, checkedContentKey, transient);
    return frameOpener(key, header.messageId, verifier, transient);
  } finally {
    wipe(materials.dataKey);
  }
}

/**
 * Opens the frames of the message `messageId` under its (authenticated) content key; with
 * `transient`, the session's dispose() wipes the key. (One object literal: spreading one
 * session into another cost ~1 us per 1 KiB decrypt.)
 */
export function frameOpener(key: AeadKey, headerMessageId: Uint8Array, verifier?: MessageVerifier, transient = false): DecryptSession {
  // Our own copy: the header is the caller's (streams hand it out before the first frame).
  const messageId = copyBytes(headerMessageId);
  return {
    verifier,
    dispose: transient ? () => disposeKey(key) : undefined,
    openFrame(index, final, frame) {
      return key.open(frameNonce(index, final), frameAad(messageId, index, final), frame);
    },
    openFrameInto(index, final, frame, out, offset) {
      const nonce = frameNonce(index, final);
      const aad = frameAad(messageId, index, final);
      if (key.openInto) return key.openInto(nonce, aad, frame, out, offset);
      const opened = key.open(nonce, aad, frame);
      if (opened instanceof Promise) return opened.then((plaintext) => void out.set(plaintext, offset));
      out.set(opened, offset);
      return undefined;
    },
  };
}
