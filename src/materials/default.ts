import { SealboxError } from '../errors.js';
import type { MaybePromise } from '../crypto/aead.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import type { Keyring, KeyringNow, WrapResult } from '../keyring/keyring.js';
import { checkedKeyring, wrapNow } from '../keyring/keyring.js';
import { unwrapInOrder } from '../keyring/multi.js';
import type {
  DecryptionMaterials,
  DecryptionMaterialsRequest,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  MaterialsManager,
  MaterialsManagerNow,
} from './materials.js';
import { decryptionMaterialsNow, encryptionMaterialsNow, normalizeRequest } from './materials.js';

/**
 * The default materials manager: asks one keyring (often a multi-keyring) for a fresh data key
 * per message, and to unwrap one on decrypt.
 *
 * @example
 * ```ts
 * const cmm = new DefaultMaterialsManager(keyring);
 * await encrypt(data, { materialsManager: cmm });
 * ```
 * @throws SealboxError `ERR_KEYRING` when the keyring fails; `ERR_NO_MATCHING_KEY` when it
 * holds none of the message's keys; `ERR_COMMITMENT_MISMATCH` when what it unwrapped is not the
 * message's key (docs/SPEC.md §8.3).
 */
export class DefaultMaterialsManager implements MaterialsManager, MaterialsManagerNow {
  readonly #keyring: Keyring & KeyringNow;

  /** The keyring, as the one-element list {@link unwrapInOrder} takes. */
  readonly #keyrings: readonly Keyring[];

  constructor(keyring: Keyring) {
    this.#keyring = checkedKeyring(keyring);
    this.#keyrings = [this.#keyring];
  }

  async getEncryptionMaterials(given: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    return drive(this.#encryptionSteps(given));
  }

  async getDecryptionMaterials(given: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    return drive(this.#decryptionSteps(given));
  }

  /** Internal: {@link getEncryptionMaterials}, synchronous when the keyring answers at once. */
  [encryptionMaterialsNow](given: EncryptionMaterialsRequest): MaybePromise<EncryptionMaterials> {
    return drive(this.#encryptionSteps(given));
  }

  /** Internal: {@link getDecryptionMaterials}, synchronous when the keyring answers at once. */
  [decryptionMaterialsNow](given: DecryptionMaterialsRequest): MaybePromise<DecryptionMaterials> {
    return drive(this.#decryptionSteps(given));
  }

  *#encryptionSteps(given: EncryptionMaterialsRequest): Steps<EncryptionMaterials> {
    const request = normalizeRequest(given);
    const { dataKey, encryptedDataKeys }: WrapResult = yield wrapNow(this.#keyring, {
      suite: request.suite,
      encryptionContext: request.encryptionContext,
    });
    return { suite: request.suite, dataKey, encryptedDataKeys, encryptionContext: request.encryptionContext };
  }

  *#decryptionSteps(given: DecryptionMaterialsRequest): Steps<DecryptionMaterials> {
    const request = normalizeRequest(given);
    // SPEC §8.3: a key whose commitment does not match moves on to the next EDK.
    const dataKey: Uint8Array | null = yield unwrapInOrder(this.#keyrings, request);
    if (dataKey === null) throw new SealboxError('ERR_NO_MATCHING_KEY', 'No keyring holds a key for any of the message\'s encrypted data keys');
    return { suite: request.suite, dataKey, encryptionContext: request.encryptionContext };
  }
}
