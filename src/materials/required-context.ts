import { isWellFormed } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import { RESERVED_CONTEXT_PREFIX } from '../format/context.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import type {
  DecryptionMaterials,
  DecryptionMaterialsRequest,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  MaterialsManager,
} from './materials.js';
import { normalizeRequest } from './materials.js';
import type { KeySource } from './resolve.js';
import { resolveMaterialsManager } from './resolve.js';

/** Options of {@link RequiredContextMaterialsManager}. Give exactly one of `keyring` or `materialsManager`. */
export interface RequiredContextMaterialsManagerOptions extends KeySource {
  /** Context keys every message must carry (any value, the empty string included). */
  requiredKeys: readonly string[];
}

function missing(context: EncryptionContext, keys: readonly string[]): string | undefined {
  return keys.find((k) => !Object.prototype.hasOwnProperty.call(context, k));
}

/**
 * Enforces that named encryption-context keys are present, on both sides:
 *
 * - Encrypt: a context without one of the keys fails with ERR_ENCRYPTION_CONTEXT_INVALID before
 *   any keyring is called, so no message can be written without them.
 * - Decrypt: a message whose authenticated context lacks one of the keys fails with
 *   ERR_ENCRYPTION_CONTEXT_MISMATCH before any keyring is called, so a message written by code
 *   that skipped the rule (another client sharing the key, an older release) is refused
 *   without spending a KMS call.
 *
 * It checks presence, not values: a value is data only the caller knows (which tenant, which
 * record). Pass `expectedEncryptionContext` to `decrypt` to check values; both checks together
 * are what a multi-tenant service wants.
 *
 * @example
 * ```ts
 * const cmm = new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant'] });
 * await encrypt(data, { materialsManager: cmm, encryptionContext: { tenant: 'acme' } });
 * await decrypt(bytes, { materialsManager: cmm, expectedEncryptionContext: { tenant: 'acme' } });
 * ```
 * Keys are compared exactly, as the context stores them: `Tenant`, `tenant ` or another
 * Unicode normalization of a key is another key, and a message that has only such a variant
 * is refused.
 *
 * @throws TypeError / RangeError for bad options (an empty key, a key with the reserved
 * `sealbox:` prefix or a lone surrogate); SealboxError ERR_ENCRYPTION_CONTEXT_INVALID
 * (encrypt without a required key), ERR_ENCRYPTION_CONTEXT_MISMATCH (decrypt of a message without one),
 * and whatever the underlying manager throws.
 */
export class RequiredContextMaterialsManager implements MaterialsManager {
  readonly requiredKeys: readonly string[];
  readonly #backing: MaterialsManager;

  constructor(options: RequiredContextMaterialsManagerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('RequiredContextMaterialsManager expected an options object');
    const keys = options.requiredKeys;
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('"requiredKeys" expected a non-empty array of context keys');
    for (const k of keys) {
      if (typeof k !== 'string' || k.length === 0) throw new TypeError('"requiredKeys" expected non-empty strings');
      // Callers cannot set reserved keys, so requiring one would refuse every message.
      if (k.startsWith(RESERVED_CONTEXT_PREFIX)) throw new RangeError(`"requiredKeys" entry ${JSON.stringify(k)} uses the reserved prefix`);
      // No context can hold a key with a lone surrogate (encrypt refuses it): the same.
      if (!isWellFormed(k)) throw new RangeError(`"requiredKeys" entry ${JSON.stringify(k)} is not well-formed Unicode (a lone surrogate)`);
    }
    this.requiredKeys = Object.freeze([...new Set(keys)]);
    this.#backing = resolveMaterialsManager(options);
  }

  async getEncryptionMaterials(given: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const request = normalizeRequest(given);
    const absent = missing(request.encryptionContext, this.requiredKeys);
    if (absent !== undefined) throw new SealboxError('ERR_ENCRYPTION_CONTEXT_INVALID', `Encryption context lacks the required key "${absent}"`);
    const materials = await this.#backing.getEncryptionMaterials(request);
    // An underlying manager must not drop a required key from what gets stored.
    const dropped = missing(materials.encryptionContext, this.requiredKeys);
    if (dropped !== undefined) {
      materials.dataKey.fill(0);
      throw new SealboxError('ERR_ENCRYPTION_CONTEXT_INVALID', `Materials lack the required context key "${dropped}"`);
    }
    return materials;
  }

  async getDecryptionMaterials(given: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    const request = normalizeRequest(given);
    const absent = missing(request.encryptionContext, this.requiredKeys);
    if (absent !== undefined) throw new SealboxError('ERR_ENCRYPTION_CONTEXT_MISMATCH', `Message's encryption context lacks the required key "${absent}"`);
    return this.#backing.getDecryptionMaterials(request);
  }
}
