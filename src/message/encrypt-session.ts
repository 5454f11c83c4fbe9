import type { AeadBackend, AeadKey, MaybePromise } from '../crypto/aead.js';
import { disposeKey } from '../crypto/aead.js';
import { copyBytes, wipe, writeU32 } from '../crypto/bytes.js';
import type { MessageKeys } from '../crypto/derive.js';
import { deriveAndWipe } from '../crypto/derive.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import { randomBytes } from '../crypto/random.js';
import { FORMAT_VERSION, encodeHeader } from '../format/header.js';
import type { MessageHeader } from '../format/header.js';
import { FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, frameAad, frameNonce, headerNonce } from '../format/frame.js';
import { SealboxError, limitExceeded } from '../errors.js';
import { MAX_FRAMES, MAX_FRAME_LENGTH, MESSAGE_ID_BYTES, MIN_FRAME_LENGTH, TAG_BYTES } from '../limits.js';
import type { EncryptionMaterials } from '../materials/materials.js';
import { copyEncryptedDataKey } from '../format/edk.js';
import type { MessageSigner } from '../crypto/signature.js';

/** Everything needed to write one message: its header bytes and a sealer for its frames. */
export interface EncryptSession {
  readonly header: MessageHeader;
  /**
   * Preamble, CBOR body and header tag: the first bytes of the message. Started with `room`
   * (one-shot encrypt), a view of the start of an array that has `room` more bytes after it.
   */
  readonly headerBytes: Uint8Array;
  /** Seals frame `index`; returns ciphertext ‖ tag. Frames must be sealed with increasing indexes. */
  sealFrame(index: number, final: boolean, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * Seals frame `index` and returns its whole encoding (SPEC §6): type byte, the final frame's
   * u32 length, ciphertext, tag. One allocation: streams emit it as one chunk.
   */
  sealFrameEncoded(index: number, final: boolean, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * Like {@link sealFrameEncoded}, as parts to write in order (prefix, ciphertext, tag when the
   * backend can, else one array): for gathering writers, without copying the ciphertext.
   */
  sealFrameParts(index: number, final: boolean, plaintext: Uint8Array): MaybePromise<Uint8Array[]>;
  /**
   * Like {@link sealFrameEncoded}, written into `out[offset ..]`; returns the bytes written. With
   * node:crypto nothing is allocated per frame: one-shot encrypt uses it.
   */
  sealFrameInto(index: number, final: boolean, plaintext: Uint8Array, out: Uint8Array, offset: number): MaybePromise<number>;
  /**
   * A signed suite's signer (SPEC §11.2): the writer passes it every byte of the message it
   * writes, in order (header bytes, then each frame's encoding), and writes `signer.sign()`
   * after the final frame. Undefined for an unsigned suite.
   */
  readonly signer: MessageSigner | undefined;
  /**
   * Set when the session was started with a transient key (one-shot encrypt): wipes it, after
   * which sealing a frame throws ERR_STATE. Call it as soon as the last frame is sealed.
   */
  dispose?(): void;
}

/** Throws RangeError unless `frameLength` is an allowed frame length. */
export function checkFrameLength(frameLength: number): void {
  if (!Number.isInteger(frameLength) || frameLength < MIN_FRAME_LENGTH || frameLength > MAX_FRAME_LENGTH) {
    throw new RangeError(`"frameLength" expected an integer from ${MIN_FRAME_LENGTH} to ${MAX_FRAME_LENGTH}, got ${frameLength}`);
  }
}

/**
 * Encodes `header` and appends its header tag (SPEC §3), made with the message's content key:
 * preamble ‖ CBOR body ‖ tag in one new array. Encrypt and rewrap both write headers with it.
 * `preEncoded`: the header already encoded, with {@link TAG_BYTES} reserved at its end (rewrap's
 * re-encoding of the old header's bytes); it is tagged in place and returned.
 *
 * @throws SealboxError ERR_LIMIT_EXCEEDED (header body above 1 MiB)
 */
export function sealHeader(header: MessageHeader, key: AeadKey, preEncoded?: Uint8Array): MaybePromise<Uint8Array> {
  // One array for the header and its tag.
  const headerBytes = preEncoded ?? encodeHeader(header, TAG_BYTES);
  const encoded = headerBytes.subarray(0, headerBytes.length - TAG_BYTES);
  const nonce = headerNonce(header.headerSalt);
  if (key.sealInto) {
    key.sealInto(nonce, encoded, new Uint8Array(0), headerBytes, encoded.length);
    return headerBytes;
  }
  const place = (tag: Uint8Array): Uint8Array => {
    headerBytes.set(tag, encoded.length);
    return headerBytes;
  };
  const sealed = key.seal(nonce, encoded, new Uint8Array(0));
  return sealed instanceof Promise ? sealed.then(place) : place(sealed);
}

/**
 * Starts a message: derives the content key and commitment from the materials' data key and
 * a fresh message id, builds the header and its tag. Shared by one-shot and stream encrypt.
 * The materials' data key is zeroed once derived from (or on failure): nothing later needs it.
 */
export function startEncryption(
  materials: EncryptionMaterials,
  frameLength: number,
  backend: AeadBackend,
  messageId: Uint8Array = randomBytes(MESSAGE_ID_BYTES),
  signer?: MessageSigner,
  transient = false,
  room = 0,
): MaybePromise<EncryptSession> {
  // Synchronous on node:crypto (see `drive`).
  return drive(startEncryptionSteps(materials, frameLength, backend, messageId, signer, transient, room));
}

function* startEncryptionSteps(
  materials: EncryptionMaterials,
  frameLength: number,
  backend: AeadBackend,
  messageId: Uint8Array,
  signer: MessageSigner | undefined,
  transient: boolean,
  room: number,
): Steps<EncryptSession> {
  const { contentKey, commitment }: MessageKeys = yield deriveAndWipe(FORMAT_VERSION, materials.suite, materials.dataKey, messageId, () => checkFrameLength(frameLength));
  let key: AeadKey;
  try {
    // A transient key (one-shot encrypt, which disposes of it when the last frame is sealed):
    // no KeyObject to make, and a cheaper cipher per call (see AeadBackend.importTransientKey).
    key = transient && backend.importTransientKey ? backend.importTransientKey(contentKey) : yield backend.importKey(contentKey);
  } finally {
    wipe(contentKey);
  }
  const header: MessageHeader = Object.freeze({
    version: FORMAT_VERSION,
    suite: materials.suite,
    // The caller's copy: the session's frames use its own, whatever happens to this one.
    messageId: copyBytes(messageId),
    encryptionContext: materials.encryptionContext,
    // Copies: a caching materials manager shares its EDKs between messages, and this header is
    // the caller's to keep (or change).
    encryptedDataKeys: Object.freeze(materials.encryptedDataKeys.map(copyEncryptedDataKey)),
    frameLength,
    commitment,
    // Suite 3 (SPEC §3.2): a fresh salt makes the header tag's nonce.
    ...(materials.suite.headerSaltLength > 0 ? { headerSalt: randomBytes(materials.suite.headerSaltLength) } : {}),
  });
  let headerBytes: Uint8Array;
  try {
    // With `room`, the header is written at the start of an array with that much more after it.
    headerBytes = yield room === 0 ? sealHeader(header, key) : sealHeader(header, key, encodeHeader(header, TAG_BYTES + room).subarray(0, -room));
  } catch (err) {
    disposeKey(key);
    throw err;
  }
  let next = 0;
  const claim = (index: number, final: boolean, plaintext: Uint8Array): void => {
    // Nonce reuse under one key would be catastrophic: refuse anything but the next index.
    if (next === -1) throw new SealboxError('ERR_STATE', 'The final frame was already sealed');
    if (index !== next) throw new RangeError(`frame ${index} sealed out of order (expected ${next})`);
    if (index + 1 > MAX_FRAMES) throw limitExceeded('frames', index + 1, MAX_FRAMES);
    next = final ? -1 : next + 1;
    materials.onPlaintext?.(plaintext.length);
  };
  const seal = (index: number, final: boolean, plaintext: Uint8Array, headroom: number): MaybePromise<Uint8Array> => {
    claim(index, final, plaintext);
    return key.seal(frameNonce(index, final), frameAad(messageId, index, final), plaintext, headroom);
  };
  const writePrefix = (frame: Uint8Array, final: boolean, length: number): Uint8Array => {
    if (final) {
      frame[0] = FRAME_FINAL;
      writeU32(frame, 1, length);
    } else {
      frame[0] = FRAME_REGULAR;
    }
    return frame;
  };
  const sealEncoded = (index: number, final: boolean, plaintext: Uint8Array): MaybePromise<Uint8Array> => {
    const sealed = seal(index, final, plaintext, final ? FINAL_FRAME_PREFIX : 1);
    return sealed instanceof Promise
      ? sealed.then((frame) => writePrefix(frame, final, plaintext.length))
      : writePrefix(sealed, final, plaintext.length);
  };
  return {
    header,
    headerBytes,
    signer,
    ...(transient ? { dispose: () => disposeKey(key) } : {}),
    sealFrame(index, final, plaintext) {
      return seal(index, final, plaintext, 0);
    },
    sealFrameEncoded: sealEncoded,
    sealFrameInto(index, final, plaintext, out, offset) {
      const prefix = final ? FINAL_FRAME_PREFIX : 1;
      if (!key.sealInto) {
        const sealed = seal(index, final, plaintext, 0);
        const place = (frame: Uint8Array): number => {
          writePrefix(out.subarray(offset, offset + prefix), final, plaintext.length);
          out.set(frame, offset + prefix);
          return prefix + frame.length;
        };
        return sealed instanceof Promise ? sealed.then(place) : place(sealed);
      }
      claim(index, final, plaintext);
      writePrefix(out.subarray(offset, offset + prefix), final, plaintext.length);
      key.sealInto(frameNonce(index, final), frameAad(messageId, index, final), plaintext, out, offset + prefix);
      return prefix + plaintext.length + TAG_BYTES;
    },
    sealFrameParts(index, final, plaintext) {
      if (!key.sealParts) {
        // The prefix as its own part: no headroom copy of the sealed frame (WebCrypto, noble).
        const sealed = seal(index, final, plaintext, 0);
        const prefix = writePrefix(new Uint8Array(final ? FINAL_FRAME_PREFIX : 1), final, plaintext.length);
        return sealed instanceof Promise ? sealed.then((frame) => [prefix, frame]) : [prefix, sealed];
      }
      claim(index, final, plaintext);
      const [ciphertext, tag] = key.sealParts(frameNonce(index, final), frameAad(messageId, index, final), plaintext);
      return [writePrefix(new Uint8Array(final ? FINAL_FRAME_PREFIX : 1), final, plaintext.length), ciphertext, tag];
    },
  };
}
