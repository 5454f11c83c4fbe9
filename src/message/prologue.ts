import type { AeadBackend, MaybePromise } from '../crypto/aead.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import type { AeadBackendName } from '../crypto/backend.js';
import { getAeadBackend } from '../crypto/backend.js';
import type { Suite } from '../crypto/suites.js';
import { DEFAULT_SUITE, checkSuiteOption } from '../crypto/suites.js';
import type { MessageSigner, MessageVerifier } from '../crypto/signature.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { frameLayout } from '../format/frame.js';
import { SIGNING_KEY_CONTEXT_KEY } from '../format/signature.js';
import { constantTimeEqual, isWellFormed, wipe } from '../crypto/bytes.js';
import { checkEncryptedDataKey } from '../format/edk.js';
import type { MessageKeys } from '../crypto/derive.js';
import { deriveMessageKeys } from '../crypto/derive.js';
import { canonicalContext, checkExpectedContext, contextObject, normalizeContext } from '../format/context.js';
import type { HeaderLimits, MessageHeader } from '../format/header.js';
import { decodeHeader } from '../format/header.js';
import type { EncryptionContext, UnwrapRequestNow } from '../keyring/keyring.js';
import { isMessageKeyNow } from '../keyring/keyring.js';
import { DEFAULT_FRAME_LENGTH, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, DEFAULT_MAX_FRAME_LENGTH, MAX_FRAMES, MAX_FRAME_LENGTH, MAX_HEADER_BYTES } from '../limits.js';
import type { DecryptionMaterials, DecryptionMaterialsRequest, EncryptionMaterials, MaterialsManager } from '../materials/materials.js';
import { decryptionMaterialsOf, encryptionMaterialsOf } from '../materials/materials.js';
import type { KeySource } from '../materials/resolve.js';
import { resolveMaterialsManager } from '../materials/resolve.js';
import { DefaultMaterialsManager } from '../materials/default.js';
import type { DecryptSession } from './decrypt-session.js';
import { startDecryption } from './decrypt-session.js';
import type { EncryptSession } from './encrypt-session.js';
import { checkFrameLength, startEncryption } from './encrypt-session.js';

/**
 * The "options -> materials -> session" prologue every encrypt and decrypt path shares
 * (one-shot, Web Streams, Node streams, range decrypt), so they validate options identically.
 * Planning is synchronous and checks every option before any keyring is called.
 */

/** Options of `encrypt`, `encryptStream` and the Node encrypt helpers. Give exactly one of `keyring` or `materialsManager`. */
export interface EncryptOptions extends KeySource {
  /** Text pairs authenticated with the message and stored in its header (not secret): a plain object or a Map. */
  encryptionContext?: EncryptionContext | ReadonlyMap<string, string>;
  /**
   * Plaintext bytes per frame; default 64 KiB. An integer from 1 to 16 MiB (RangeError otherwise);
   * above 4 MiB, decrypt refuses the message (ERR_LIMIT_EXCEEDED) unless given a `maxFrameLength`
   * at least as large (SPEC §7).
   */
  frameLength?: number;
  /** Force an AES-GCM backend (default: the fastest this runtime has). */
  backend?: AeadBackendName;
  /**
   * The algorithm suite, one of the exported suite constants: `SUITE_AES256_GCM_HKDF_SHA512_COMMIT`
   * (the default) or `SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384`, which signs the message
   * with a fresh P-384 key so that recipients who can unwrap its data key cannot forge it, or
   * `SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT` (suite 3, what rewrap writes: a random
   * header salt; its first rewrap keeps the header's length, so a file is rewrapped in place
   * from the start; releases before suite 3 cannot read it).
   */
  suite?: Suite;
}

/**
 * What decrypt accepts as to signatures (SPEC §8.2 rule 44): `'accept-any'` (default) opens
 * signed and unsigned messages alike (a signed one only if its signature verifies);
 * `'require-signed'` refuses unsigned messages and `'refuse-signed'` signed ones, with
 * ERR_SIGNATURE_POLICY, before any keyring is asked.
 */
export type SignaturePolicy = 'accept-any' | 'require-signed' | 'refuse-signed';


/** Options of `decrypt`, `decryptStream`, `decryptRange` and the Node decrypt helpers. Give exactly one of `keyring` or `materialsManager`. */
export interface DecryptOptions extends KeySource {
  /** Pairs the message's encryption context must contain (it may contain more): a plain object or a Map. */
  expectedEncryptionContext?: EncryptionContext | ReadonlyMap<string, string>;
  /** Refuse headers with more EDKs than this (default 16, at most 255): each may cost a KMS call. */
  maxEncryptedDataKeys?: number;
  /** Refuse frame lengths above this (default 4 MiB, at most 16 MiB): bounds stream memory. */
  maxFrameLength?: number;
  /** Refuse headers larger than this many bytes (default and maximum 1 MiB). */
  maxHeaderBytes?: number;
  /** Force an AES-GCM backend (default: the fastest this runtime has). */
  backend?: AeadBackendName;
  /** Signed messages, unsigned messages or both (default `'accept-any'`); see {@link SignaturePolicy}. */
  signaturePolicy?: SignaturePolicy;
}

/** Validated encrypt options. */
export interface EncryptPlan {
  readonly cmm: MaterialsManager;
  readonly frameLength: number;
  readonly backend: AeadBackend;
  readonly encryptionContext: EncryptionContext;
  readonly suite: Suite;
}

/** Validated decrypt options. */
export interface DecryptPlan {
  readonly cmm: MaterialsManager;
  readonly limits: HeaderLimits;
  readonly backend: AeadBackend;
  readonly expectedEncryptionContext: EncryptionContext | undefined;
  readonly signaturePolicy: SignaturePolicy;
}

/**
 * Checks encrypt options (TypeError/RangeError for programmer mistakes, ERR_ENCRYPTION_CONTEXT_INVALID
 * and ERR_LIMIT_EXCEEDED for a bad context) without calling any keyring.
 */
export function planEncryption(options: EncryptOptions): EncryptPlan {
  const cmm = resolveMaterialsManager(options);
  const frameLength = options.frameLength ?? DEFAULT_FRAME_LENGTH;
  checkFrameLength(frameLength);
  const backend = getAeadBackend(options.backend);
  const encryptionContext = contextObject(canonicalContext(options.encryptionContext));
  const suite = options.suite === undefined ? DEFAULT_SUITE : checkSuiteOption(options.suite);
  return { cmm, frameLength, backend, encryptionContext, suite };
}

/**
 * The EDKs a materials manager gave, held to what a keyring's are held to (checkedKeyring): at
 * least one, each well formed and within the format's limits, its provider id well-formed
 * Unicode. A custom manager's EDK that broke these was written as given, and the message could
 * never be decrypted (a lone surrogate stored as U+FFFD names another provider; an oversized EDK
 * is refused by every decoder), though encrypt reported success.
 *
 * @throws SealboxError ERR_KEYRING
 */
function checkMaterialsEdks(materials: EncryptionMaterials): void {
  const bad = (what: string): SealboxError => new SealboxError('ERR_KEYRING', `Bad materials: ${what}`);
  if (!Array.isArray(materials.encryptedDataKeys) || materials.encryptedDataKeys.length === 0) throw bad('no encrypted data key');
  for (const edk of materials.encryptedDataKeys) {
    try {
      checkEncryptedDataKey(edk);
    } catch (err) {
      throw bad(err instanceof Error ? err.message : 'malformed encrypted data key');
    }
    if (!isWellFormed(edk.providerId)) throw bad('EDK provider id is not well-formed Unicode (a lone surrogate)');
  }
}

/**
 * Asks the materials manager for a data key and starts the message (for a signed suite, with a
 * fresh signing key pair). `plaintextLength` is undefined for streams of unknown length.
 */
export function beginEncryption(plan: EncryptPlan, plaintextLength?: number, messageId?: Uint8Array, fixedSigner?: MessageSigner, transient = false, room = 0): MaybePromise<EncryptSession> {
  // Synchronous for an unsigned message with a raw keyring on node:crypto (see `drive`).
  return drive(beginEncryptionSteps(plan, plaintextLength, messageId, fixedSigner, transient, room));
}

function* beginEncryptionSteps(plan: EncryptPlan, plaintextLength: number | undefined, messageId: Uint8Array | undefined, fixedSigner: MessageSigner | undefined, transient: boolean, room: number): Steps<EncryptSession> {
  const { suite } = plan;
  // A length known up front that needs more frames than a message may have (SPEC rule 28) is
  // refused now, before a keyring (a KMS call) or any frame: it was found only at frame 2^32,
  // hours into a large file, or as an allocation error of one-shot encrypt.
  if (plaintextLength !== undefined) {
    const frames = frameLayout(plaintextLength, plan.frameLength).regular + 1;
    if (frames > MAX_FRAMES) throw limitExceeded('frames', frames, MAX_FRAMES);
  }
  // SPEC §11.1: a signed message's key pair is made first, and its public key goes into the
  // context the keyrings wrap the data key under. It is never reused or cached. (`fixedSigner`:
  // the frozen-vector generator's seeded key only.)
  const signing: { signer: MessageSigner; keyText: string } | undefined = suite.signed ? yield import('./signing.js').then((m) => m.newSigner(fixedSigner)) : undefined;
  const encryptionContext = signing ? contextObject(canonicalContext({ ...plan.encryptionContext, [SIGNING_KEY_CONTEXT_KEY]: signing.keyText }, true)) : plan.encryptionContext;
  const materials: EncryptionMaterials = yield encryptionMaterialsOf(plan.cmm, { suite, encryptionContext, plaintextLength });
  try {
    // A manager that answered for another suite, or dropped or changed the public key, would make
    // an unsigned or unreadable message: refuse it rather than write it.
    if (materials.suite.id !== suite.id || materials.encryptionContext[SIGNING_KEY_CONTEXT_KEY] !== signing?.keyText) {
      throw new SealboxError('ERR_KEYRING', 'Bad materials');
    }
    // A data key of another length (SPEC §9: never used as a key) would still derive a content
    // key: from an empty or short one, a content key anyone could find, under EDKs that wrap
    // some other key. checkedKeyring checks what keyrings return; a manager is checked here.
    const length = materials.dataKey instanceof Uint8Array ? materials.dataKey.length : undefined;
    if (length !== suite.dataKeyLength) throw new SealboxError('ERR_KEYRING', `Bad materials: the data key has ${length ?? 'no'} bytes, expected ${suite.dataKeyLength}`);
    // The default manager's EDKs passed checkedKeyring already: not checked twice per message.
    if (!(plan.cmm instanceof DefaultMaterialsManager)) checkMaterialsEdks(materials);
  } catch (err) {
    // Refused materials go to no message: their data key is zeroed, as a used one is.
    if (materials?.dataKey instanceof Uint8Array) wipe(materials.dataKey);
    throw err;
  }
  // The suite of that id is Sealbox's own object: a manager's look-alike (a copy with another
  // derivation, salt length or signing flag) was written as the header's suite id but used for
  // the keys and the layout, and encrypt reported success for a message no decoder could read.
  const own = materials.suite === suite ? materials : { ...materials, suite };
  return (yield startEncryption(own, plan.frameLength, plan.backend, messageId, signing?.signer, transient, room)) as EncryptSession;
}

/** Decrypt-side limits from options, each checked as a programmer error when out of range. */
export function headerLimits(options: Pick<DecryptOptions, 'maxEncryptedDataKeys' | 'maxFrameLength' | 'maxHeaderBytes'>): HeaderLimits {
  const limit = (name: string, value: number | undefined, dflt: number, max: number): number => {
    if (value === undefined) return dflt;
    if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`"${name}" expected an integer from 1 to ${max}, got ${value}`);
    return value;
  };
  return {
    maxEncryptedDataKeys: limit('maxEncryptedDataKeys', options.maxEncryptedDataKeys, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, 255),
    maxFrameLength: limit('maxFrameLength', options.maxFrameLength, DEFAULT_MAX_FRAME_LENGTH, MAX_FRAME_LENGTH),
    maxHeaderBytes: limit('maxHeaderBytes', options.maxHeaderBytes, MAX_HEADER_BYTES, MAX_HEADER_BYTES),
  };
}

/** Checks decrypt options without calling any keyring. */
export function planDecryption(options: DecryptOptions): DecryptPlan {
  const cmm = resolveMaterialsManager(options);
  const limits = headerLimits(options);
  const backend = getAeadBackend(options.backend);
  // Normalized like encrypt's context, so a Map is checked pair by pair, not read as no pairs.
  const expected = options.expectedEncryptionContext;
  const expectedEncryptionContext = expected === undefined ? undefined : normalizeContext(expected, 'expectedEncryptionContext');
  const signaturePolicy = options.signaturePolicy ?? 'accept-any';
  // A string first: the regular expression would read ['require-signed'] as its text, and the
  // policy check then as no policy at all (signed messages refused, unsigned ones accepted).
  if (typeof signaturePolicy !== 'string' || !/^(accept-any|re(quire|fuse)-signed)$/.test(signaturePolicy)) {
    throw new TypeError(`"signaturePolicy" expected "accept-any", "require-signed" or "refuse-signed", got ${typeof signaturePolicy === 'string' ? JSON.stringify(signaturePolicy.slice(0, 40)) : Array.isArray(signaturePolicy) ? 'an array' : typeof signaturePolicy}`);
  }
  return { cmm, limits, backend, expectedEncryptionContext, signaturePolicy };
}

/**
 * SPEC §8.2 rule 44: the caller's signature policy, after the expected context.
 *
 * @throws SealboxError ERR_SIGNATURE_POLICY
 */
export function checkSignaturePolicy(policy: SignaturePolicy, header: MessageHeader): void {
  if (policy[2] !== 'c' && header.suite.signed !== (policy[2] === 'q')) throw new SealboxError('ERR_SIGNATURE_POLICY', `${header.suite.signed ? 'Signed' : 'Unsigned'} message refused (${policy})`);
}

/**
 * Decodes a complete header (preamble + CBOR body) within the plan's limits and checks the
 * expected encryption context, before any keyring is asked.
 *
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED, ERR_ENCRYPTION_CONTEXT_MISMATCH
 */
export function acceptHeader(plan: DecryptPlan, headerBytes: Uint8Array): MessageHeader {
  const header = decodeHeader(headerBytes, plan.limits);
  checkExpectedContext(header.encryptionContext, plan.expectedEncryptionContext);
  checkSignaturePolicy(plan.signaturePolicy, header);
  return header;
}

/** The message's data key, found by the key search of SPEC §8.3, and its content key when already checked. */
export interface FoundDataKey {
  readonly materials: DecryptionMaterials;
  /**
   * The content key derived while the commitment of `materials.dataKey` was checked (the
   * caller owns it and wipes it: {@link startDecryption} and `openHeader` do); undefined when
   * the manager returned a key it did not check (`openHeader` then checks it).
   */
  readonly contentKey: Uint8Array | undefined;
}

/**
 * SPEC §8.1 stage 7, rules 39 and 40: a signed message's public key must be canonical and a
 * point of P-384, checked before any keyring is asked (a message whose signature can never
 * verify costs no key call). Returns its verifier (nothing fed yet); undefined when unsigned.
 * Also what `readHeader` checks, so it rejects what decrypt rejects at this stage.
 *
 * @throws SealboxError ERR_FORMAT_INVALID
 */
export async function signingKeyVerifier(header: MessageHeader): Promise<MessageVerifier | undefined> {
  if (!header.suite.signed) return undefined;
  const verifier = await (await import('./signing.js')).newVerifier(header.encryptionContext[SIGNING_KEY_CONTEXT_KEY]!);
  if (!verifier) throw formatInvalid('bad signing key');
  return verifier;
}

/**
 * {@link signingKeyVerifier}, fed the header bytes and tag.
 *
 * @throws SealboxError ERR_FORMAT_INVALID
 */
export async function headerVerifier(header: MessageHeader, headerBytes: Uint8Array, headerTag: Uint8Array): Promise<MessageVerifier | undefined> {
  const verifier = await signingKeyVerifier(header);
  verifier?.update(headerBytes);
  verifier?.update(headerTag);
  return verifier;
}

/**
 * After {@link acceptHeader}: asks the materials manager for the message's data key, passing
 * `isMessageKey` so that a key whose commitment does not match moves the search on to the next
 * EDK (SPEC §8.3). Each candidate's keys are derived once: the content key of the accepted one is
 * returned for the header tag and the frames. Shared by decrypt and rewrap.
 *
 * @throws SealboxError ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH
 */
export function findDataKey(plan: DecryptPlan, header: MessageHeader): MaybePromise<FoundDataKey> {
  return drive(findDataKeySteps(plan, header));
}

function* findDataKeySteps(plan: DecryptPlan, header: MessageHeader): Steps<FoundDataKey> {
  let accepted: { dataKey: Uint8Array; contentKey: Uint8Array } | undefined;
  const isTheMessageKey = (dataKey: Uint8Array): MaybePromise<boolean> => {
    if (accepted?.dataKey === dataKey) return true; // checked already (by the keyring, then its caller)
    const pending = deriveMessageKeys(header.version, header.suite, dataKey, header.messageId);
    const check = ({ contentKey, commitment }: MessageKeys): boolean => {
      if (!constantTimeEqual(commitment, header.commitment)) {
        wipe(contentKey);
        return false;
      }
      wipe(accepted?.contentKey);
      accepted = { dataKey, contentKey };
      return true;
    };
    return pending instanceof Promise ? pending.then(check) : check(pending);
  };
  let materials: DecryptionMaterials;
  try {
    const request: DecryptionMaterialsRequest & UnwrapRequestNow = {
      suite: header.suite,
      encryptionContext: header.encryptionContext,
      encryptedDataKeys: header.encryptedDataKeys,
      isMessageKey: async (dataKey) => isTheMessageKey(dataKey),
      [isMessageKeyNow]: isTheMessageKey,
    };
    materials = yield decryptionMaterialsOf(plan.cmm, request);
  } catch (err) {
    wipe(accepted?.contentKey);
    throw err;
  }
  // A key of another length is never used as one (SPEC §9), whatever a manager returns.
  const length = materials?.dataKey instanceof Uint8Array ? materials.dataKey.length : undefined;
  if (length !== header.suite.dataKeyLength) {
    wipe(accepted?.contentKey);
    if (materials?.dataKey instanceof Uint8Array) wipe(materials.dataKey);
    throw new SealboxError('ERR_KEYRING', `Bad materials: the data key has ${length ?? 'no'} bytes, expected ${header.suite.dataKeyLength}`);
  }
  // Only for the very array that was checked: a manager may return another key.
  const checked = accepted?.dataKey === materials.dataKey ? accepted.contentKey : undefined;
  if (!checked) wipe(accepted?.contentKey);
  return { materials, contentKey: checked };
}

/**
 * After {@link acceptHeader}: unwraps the data key ({@link findDataKey}), checks the commitment
 * and the header tag.
 *
 * @throws SealboxError ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED
 */
export function beginDecryption(plan: DecryptPlan, header: MessageHeader, headerBytes: Uint8Array, headerTag: Uint8Array, transient = false): MaybePromise<DecryptSession> {
  // Synchronous for an unsigned message with a raw keyring on node:crypto (see `drive`).
  return drive(beginDecryptionSteps(plan, header, headerBytes, headerTag, transient));
}

function* beginDecryptionSteps(plan: DecryptPlan, header: MessageHeader, headerBytes: Uint8Array, headerTag: Uint8Array, transient: boolean): Steps<DecryptSession> {
  const verifier: MessageVerifier | undefined = header.suite.signed ? yield headerVerifier(header, headerBytes, headerTag) : undefined;
  const { materials, contentKey }: FoundDataKey = yield findDataKey(plan, header);
  return (yield startDecryption(header, headerBytes, headerTag, materials, plan.backend, contentKey, verifier, transient)) as DecryptSession;
}
