import { SealboxError } from '../errors.js';
import type { Keyring } from '../keyring/keyring.js';
import { checkedKeyring } from '../keyring/keyring.js';
import { unwrapInOrder } from '../keyring/multi.js';
import type {
  DecryptionMaterials,
  DecryptionMaterialsRequest,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  MaterialsManager,
} from './materials.js';
import { normalizeRequest } from './materials.js';

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
export class DefaultMaterialsManager implements MaterialsManager {
  readonly #keyring: Keyring;

  constructor(keyring: Keyring) {
    this.#keyring = checkedKeyring(keyring);
  }

  async getEncryptionMaterials(given: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const request = normalizeRequest(given);
    const { dataKey, encryptedDataKeys } = await this.#keyring.wrapKey({
      suite: request.suite,
      encryptionContext: request.encryptionContext,
    });
    return { suite: request.suite, dataKey, encryptedDataKeys, encryptionContext: request.encryptionContext };
  }

  async getDecryptionMaterials(given: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    const request = normalizeRequest(given);
    // SPEC §8.3: a key whose commitment does not match moves on to the next EDK.
    const dataKey = await unwrapInOrder([this.#keyring], request);
    if (dataKey === null) throw new SealboxError('ERR_NO_MATCHING_KEY', 'No keyring holds a key for any of the message\'s encrypted data keys');
    return { suite: request.suite, dataKey, encryptionContext: request.encryptionContext };
  }
}
