import type { AeadKey, MaybePromise } from '../crypto/aead.js';
import { disposeKey } from '../crypto/aead.js';
import { copyBytes, readU32, wipe } from '../crypto/bytes.js';
import { randomBytes } from '../crypto/random.js';
import type { Suite } from '../crypto/suites.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT } from '../crypto/suites.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR } from '../format/frame.js';
import type { EncryptedDataKey } from '../format/edk.js';
import { copyEncryptedDataKey } from '../format/edk.js';
import type { MessageHeader } from '../format/header.js';
import { encodeRewrappedHeader } from '../format/header.js';
import type { Keyring, WrapResult } from '../keyring/keyring.js';
import { checkedKeyring, unwrapNow, wrapNow } from '../keyring/keyring.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import { MAX_ENCRYPTED_DATA_KEYS, MAX_HEADER_BYTES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptSession } from './decrypt-session.js';
import { frameOpener, openHeader } from './decrypt-session.js';
import { sealHeader } from './encrypt-session.js';
import type { DecryptOptions, DecryptPlan, FoundDataKey } from './prologue.js';
import { acceptHeader, findDataKey, planDecryption } from './prologue.js';

/**
 * Rewrap: a message gets new wrapped data keys by rewriting its header alone. The frames depend
 * only on the content key and the message id (SPEC §5, §6), which derive from the data key and
 * the message id, and both stay; so the body is copied byte for byte.
 */

/**
 * Options of `rewrap`, `rewrapStream`, `rewrapFile` and `createRewrapStream`. `keyring` or
 * `materialsManager` unwraps the data key of the message as it is; `to` wraps it for the new header.
 */
export interface RewrapOptions extends DecryptOptions {
  /** Wraps the message's data key for the new header (a multi-keyring wraps it for several keys). */
  to: Keyring;
  /**
   * `'replace'` (default): the new header holds only the EDKs `to` makes, so the keys of the old
   * EDKs can no longer decrypt the message. `'add'`: the old EDKs stay and `to`'s are appended.
   */
  mode?: 'replace' | 'add';
  /**
   * With `mode: 'add'`: the old EDKs this keyring unwraps are dropped (the key being retired).
   * Each old EDK is offered to it alone: one key-service call per EDK it claims as its own.
   * If it fails on one of them the rewrap fails: nothing is written.
   */
  remove?: Keyring;
  /**
   * Also authenticate every frame (a full decrypt pass whose plaintext is discarded, never
   * released). Default false: rewrap authenticates the header and checks the frame structure,
   * and the frames are verified by whoever decrypts the result, as they were before.
   */
  verifyFrames?: boolean;
}

/** Validated rewrap options. */
export interface RewrapPlan {
  readonly decrypt: DecryptPlan;
  readonly to: Keyring;
  readonly mode: 'replace' | 'add';
  readonly remove: Keyring | undefined;
  readonly verifyFrames: boolean;
}

/**
 * The suite of a rewrapped message, by the suite of the message as it is; a suite that is not a
 * key here cannot be rewrapped. Suite 1's header tag has a fixed nonce, so a second header under
 * the same content key would reuse it (whoever saw both headers could recover the GHASH key and
 * forge the message): its messages become suite 3, which has the same key derivation and frames
 * and a fresh random header salt in every header, making every header tag's nonce new (SPEC §3,
 * §6; docs/rewrap.md). A signed suite is absent on purpose: its signature covers the header, and
 * rewrap does not hold the signing key.
 */
const REWRAPPED_SUITE: ReadonlyMap<number, Suite> = new Map([
  [SUITE_AES256_GCM_HKDF_SHA512_COMMIT.id, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT],
  [SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT.id, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT],
]);

/** The suite a message of `suite` becomes when rewrapped, or undefined when it cannot be (see {@link REWRAPPED_SUITE}). */
export function rewrappedSuite(suite: Suite): Suite | undefined {
  return REWRAPPED_SUITE.get(suite.id);
}

/**
 * Checks rewrap options without calling any keyring.
 *
 * @throws TypeError / RangeError for bad options
 */
export function planRewrap(options: RewrapOptions): RewrapPlan {
  const decrypt = planDecryption(options);
  if (typeof options.to !== 'object' || options.to === null) throw new TypeError('"to" expected a keyring');
  const to = checkedKeyring(options.to);
  const mode = options.mode ?? 'replace';
  if (mode !== 'replace' && mode !== 'add') throw new TypeError('"mode" expected "replace" or "add"');
  if (options.remove !== undefined && mode !== 'add') throw new TypeError('"remove" needs mode "add" ("replace" drops every old EDK)');
  const remove = options.remove === undefined ? undefined : checkedKeyring(options.remove);
  if (options.verifyFrames !== undefined && typeof options.verifyFrames !== 'boolean') throw new TypeError('"verifyFrames" expected a boolean');
  return { decrypt, to, mode, remove, verifyFrames: options.verifyFrames ?? false };
}

/** What {@link rewrapHeader} produced. */
export interface RewrappedHeader {
  /** The new header: suite 3 (a fresh header salt), the same message id, context, frame length and commitment; new EDKs. */
  readonly header: MessageHeader;
  /** The old header, authenticated. */
  readonly previous: MessageHeader;
  /**
   * The new preamble ‖ CBOR body ‖ header tag: what replaces the old header and tag. With
   * `room`, a view of the start of an array that has `room` more bytes after it (its
   * `buffer`, from offset 0), for the caller to fill.
   */
  readonly headerBytes: Uint8Array;
  /**
   * Opens the message's frames (for `verifyFrames`); the body is unchanged, so its frames are
   * the same. Only with `verifyFrames`: without it the content key is wiped before
   * {@link rewrapHeader} returns, and opening a frame throws ERR_STATE.
   */
  openFrames(): DecryptSession;
}

/**
 * Header in, header out. Decodes the old header (within the limits, expected context checked),
 * refuses suites that cannot be rewrapped, unwraps the data key, checks the commitment and the
 * header tag (the old header is fully authenticated before anything is produced), wraps the same
 * data key with `to`, and seals the new header with the same content key. The data key is
 * zeroed before this returns, whatever happens.
 *
 * @param headerBytes the old preamble ‖ CBOR body, exactly as read
 * @param headerTag the 16 bytes that follow them
 * @param checkBody called with the decoded (not yet authenticated) header before any keyring
 * is asked: callers check the body's public structure there, so a cut message costs no key call
 * @param room bytes to leave after the new header tag in the same array (one-shot rewrap puts
 * the body there: one allocation and no copy of the header)
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED, and what `checkBody` throws
 */
export function rewrapHeader(
  plan: RewrapPlan,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  checkBody?: (header: MessageHeader) => MaybePromise<void>,
  room = 0,
): MaybePromise<RewrappedHeader> {
  // Synchronous from end to end with raw keyrings on node:crypto (see `drive`).
  return drive(rewrapHeaderSteps(plan, headerBytes, headerTag, checkBody, room));
}

function* rewrapHeaderSteps(
  plan: RewrapPlan,
  headerBytes: Uint8Array,
  headerTag: Uint8Array,
  checkBody: ((header: MessageHeader) => MaybePromise<void>) | undefined,
  room: number,
): Steps<RewrappedHeader> {
  const previous = acceptHeader(plan.decrypt, headerBytes);
  const suite = rewrappedSuite(previous.suite);
  if (suite === undefined) throw new SealboxError('ERR_UNSUPPORTED_VERSION', `Messages of suite ${previous.suite.name} cannot be rewrapped`);
  if (checkBody) yield checkBody(previous);
  const { encryptionContext } = previous;
  // SPEC §8.3 as decrypt: a bad EDK or a key failing the commitment moves on to the next EDK.
  const { materials, contentKey }: FoundDataKey = yield findDataKey(plan.decrypt, previous);
  const dataKey = materials.dataKey;
  let key: AeadKey | undefined;
  try {
    // Without verifyFrames the content key serves the two header tags only: a transient key,
    // wiped below as soon as the new header is sealed.
    key = (yield openHeader(previous, headerBytes, headerTag, materials, plan.decrypt.backend, contentKey, !plan.verifyFrames)) as AeadKey;
    const kept: EncryptedDataKey[] = [];
    if (plan.mode === 'add') {
      for (const edk of previous.encryptedDataKeys) {
        if (plan.remove) {
          const opened: Uint8Array | null = yield unwrapNow(plan.remove, { suite: previous.suite, encryptionContext, encryptedDataKeys: [edk] });
          if (opened !== null) {
            wipe(opened);
            continue;
          }
        }
        kept.push(edk);
      }
    }
    const wrapped: WrapResult = yield wrapNow(plan.to, { suite, encryptionContext, dataKey });
    const edks = [...kept, ...wrapped.encryptedDataKeys.map(copyEncryptedDataKey)];
    // Never write a message that decrypt with the same bound would refuse.
    const maxEdks = Math.min(plan.decrypt.limits.maxEncryptedDataKeys, MAX_ENCRYPTED_DATA_KEYS);
    if (edks.length > maxEdks) throw limitExceeded('encrypted data keys', edks.length, maxEdks);
    const header: MessageHeader = Object.freeze({
      version: previous.version,
      suite,
      messageId: copyBytes(previous.messageId),
      encryptionContext,
      encryptedDataKeys: Object.freeze(edks),
      frameLength: previous.frameLength,
      commitment: copyBytes(previous.commitment),
      // Fresh for every header: its tag's nonce (SPEC §6).
      headerSalt: freshSalt(suite.headerSaltLength, previous.headerSalt),
    });
    // The old header's bytes with the new EDKs and salt spliced in: no second encoding of the
    // context (the same bytes as encodeHeader; test/rewrap.test.ts compares them).
    const encoded = encodeRewrappedHeader(headerBytes, previous, header, TAG_BYTES + room);
    // Nor one whose header is above the caller's bound (the body, as readPreamble counts it).
    const bodyLength = encoded.length - PREAMBLE_BYTES - TAG_BYTES - room;
    const maxBody = Math.min(plan.decrypt.limits.maxHeaderBytes, MAX_HEADER_BYTES);
    if (bodyLength > maxBody) throw limitExceeded('header bytes', bodyLength, maxBody);
    const sealed: Uint8Array = yield sealHeader(header, key, room === 0 ? encoded : encoded.subarray(0, encoded.length - room));
    const frameKey = key;
    return { header, previous, headerBytes: sealed, openFrames: () => frameOpener(frameKey, header.messageId) };
  } finally {
    wipe(dataKey);
    if (key && !plan.verifyFrames) disposeKey(key);
  }
}

/**
 * A new header salt, never the salt of the header it replaces (SPEC §3.2: no salt twice in one
 * message; that header's is the only earlier one at hand). A repeat has probability 2^-64.
 */
function freshSalt(length: number, previous: Uint8Array | undefined): Uint8Array {
  for (;;) {
    const salt = randomBytes(length);
    if (previous === undefined || previous.length !== length || salt.some((b, i) => b !== previous[i])) return salt;
  }
}

/**
 * Opens consecutive whole frames (`bytes` starts with frame `firstIndex`; it may end with the
 * final frame) into one reused scratch frame, zeroed afterwards: the tags are checked and no
 * plaintext leaves. Returns the index of the next frame. For `verifyFrames`.
 *
 * @throws SealboxError ERR_DECRYPTION_FAILED, ERR_FORMAT_INVALID, ERR_TRUNCATED
 */
export async function checkFrameTags(session: DecryptSession, bytes: Uint8Array, frameLength: number, firstIndex: number): Promise<number> {
  const scratch = new Uint8Array(Math.min(frameLength, bytes.length));
  let pos = 0;
  let index = firstIndex;
  try {
    while (pos < bytes.length) {
      const final = bytes[pos] === FRAME_FINAL;
      if (!final && bytes[pos] !== FRAME_REGULAR) throw formatInvalid('unknown frame type');
      if (final && pos + FINAL_FRAME_PREFIX > bytes.length) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame');
      const len = final ? readU32(bytes, pos + 1) : frameLength;
      if (len >= frameLength && final) throw formatInvalid('final frame length must be below the frame length');
      pos += final ? FINAL_FRAME_PREFIX : 1;
      if (pos + len + TAG_BYTES > bytes.length) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside a frame');
      const opened = session.openFrameInto(index, final, bytes.subarray(pos, pos + len + TAG_BYTES), scratch, 0);
      if (opened instanceof Promise) await opened;
      pos += len + TAG_BYTES;
      index++;
      if (final && pos < bytes.length) throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
    }
  } finally {
    scratch.fill(0);
  }
  return index;
}
