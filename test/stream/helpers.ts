import type { DecryptionMaterials, DecryptionMaterialsRequest, EncryptionMaterials, EncryptionMaterialsRequest, MaterialsManager } from '../../src/materials/materials.js';
import { DefaultMaterialsManager } from '../../src/materials/default.js';
import { testKeyring } from '../helpers/keys.js';

export { chunks, collect, readableOf, through } from '../helpers/web-streams.js';

/**
 * A materials manager that hands out the same data key and EDKs to every encrypt: with a fixed
 * message id too, two encryptions are then byte-identical (tests only: real messages must
 * never share a message id under one data key).
 */
export class FixedMaterialsManager implements MaterialsManager {
  readonly #inner = new DefaultMaterialsManager(testKeyring());
  #materials: EncryptionMaterials | undefined;

  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    this.#materials ??= await this.#inner.getEncryptionMaterials(request);
    // A copy per message: Sealbox zeroes the data key it is handed once it has derived from it.
    return { ...this.#materials, dataKey: this.#materials.dataKey.slice() };
  }

  getDecryptionMaterials(request: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    return this.#inner.getDecryptionMaterials(request);
  }
}

/** A fixed 32-byte message id. */
export const MESSAGE_ID = new Uint8Array(32).fill(0x5a);

