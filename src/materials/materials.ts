import type { MaybePromise } from '../crypto/aead.js';
import type { Suite } from '../crypto/suites.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import { normalizeContext } from '../format/context.js';

/** Asked of a materials manager on encrypt. */
export interface EncryptionMaterialsRequest {
  readonly suite: Suite;
  readonly encryptionContext: EncryptionContext;
  /** Plaintext length when known (one-shot calls); undefined for streams of unknown length. */
  readonly plaintextLength?: number;
}

/** What encrypt needs: a data key, its wrapped copies, the context to store. */
export interface EncryptionMaterials {
  readonly suite: Suite;
  /**
   * The message's own data key: Sealbox zeroes these bytes once the content key and
   * commitment are derived. A manager that reuses a key hands out a copy per message.
   */
  readonly dataKey: Uint8Array;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  readonly encryptionContext: EncryptionContext;
  /**
   * Called with each frame's plaintext length before the frame is encrypted. A manager that
   * limits bytes per data key (the caching manager) throws ERR_LIMIT_EXCEEDED here.
   */
  readonly onPlaintext?: (bytes: number) => void;
}

/** Asked of a materials manager on decrypt. */
export interface DecryptionMaterialsRequest {
  readonly suite: Suite;
  readonly encryptionContext: EncryptionContext;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  /**
   * Given by decrypt: whether a data key is the message's (its key commitment matches the
   * header's). A manager that unwraps EDKs one by one should call it on each key it gets and
   * move on to the next EDK when it answers false (SPEC §8.3), as the default manager does.
   * A manager that ignores it returns the first key it finds; decrypt checks the commitment
   * anyway and fails with ERR_COMMITMENT_MISMATCH.
   */
  readonly isMessageKey?: (dataKey: Uint8Array) => Promise<boolean>;
}

/** What decrypt needs: the unwrapped data key. */
export interface DecryptionMaterials {
  readonly suite: Suite;
  /** The message's own data key: zeroed once derived from, as for {@link EncryptionMaterials}. */
  readonly dataKey: Uint8Array;
  readonly encryptionContext: EncryptionContext;
}

/**
 * Turns requests into materials. The default manager asks a keyring; others (caching,
 * required encryption context) sit in front of it. The materials returned belong to one
 * message: Sealbox zeroes their `dataKey` as soon as it has derived the message's keys, so a
 * manager that keeps a key for later (a cache) must hand out a copy each time.
 */
export interface MaterialsManager {
  getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials>;
  getDecryptionMaterials(request: DecryptionMaterialsRequest): Promise<DecryptionMaterials>;
}

/**
 * Internal, not part of the {@link MaterialsManager} contract: the default manager also answers
 * under these keys, synchronously when its keyring does (see `wrapKeyNow` in keyring.ts).
 */
export const encryptionMaterialsNow: unique symbol = Symbol('sealbox.encryptionMaterialsNow');
/** See {@link encryptionMaterialsNow}. */
export const decryptionMaterialsNow: unique symbol = Symbol('sealbox.decryptionMaterialsNow');

/** What {@link encryptionMaterialsNow} and {@link decryptionMaterialsNow} name. */
export interface MaterialsManagerNow {
  [encryptionMaterialsNow]?(request: EncryptionMaterialsRequest): MaybePromise<EncryptionMaterials>;
  [decryptionMaterialsNow]?(request: DecryptionMaterialsRequest): MaybePromise<DecryptionMaterials>;
}

/** `cmm.getEncryptionMaterials(request)`, at once when the manager can answer at once. */
export function encryptionMaterialsOf(cmm: MaterialsManager, request: EncryptionMaterialsRequest): MaybePromise<EncryptionMaterials> {
  const now = (cmm as MaterialsManager & MaterialsManagerNow)[encryptionMaterialsNow];
  return now ? now.call(cmm, request) : Promise.resolve(cmm.getEncryptionMaterials(request));
}

/** `cmm.getDecryptionMaterials(request)`, at once when the manager can answer at once. */
export function decryptionMaterialsOf(cmm: MaterialsManager, request: DecryptionMaterialsRequest): MaybePromise<DecryptionMaterials> {
  const now = (cmm as MaterialsManager & MaterialsManagerNow)[decryptionMaterialsNow];
  return now ? now.call(cmm, request) : Promise.resolve(cmm.getDecryptionMaterials(request));
}

/**
 * A request whose encryption context is Sealbox's normalized form: the managers call this
 * first, so a caller who asks a manager directly with a Map gets the same checks as `encrypt`
 * (the request is returned as is when its context already is one Sealbox made).
 *
 * @throws TypeError unless the context is a plain object or Map of strings
 */
export function normalizeRequest<R extends { readonly encryptionContext: EncryptionContext }>(request: R): R {
  if (typeof request !== 'object' || request === null) throw new TypeError('a materials request expected an object');
  const encryptionContext = normalizeContext(request.encryptionContext, 'encryptionContext');
  return encryptionContext === request.encryptionContext ? request : { ...request, encryptionContext };
}
