import type { Keyring } from '../keyring/keyring.js';
import type { MaterialsManager } from './materials.js';
import { DefaultMaterialsManager } from './default.js';

/** Either a keyring or a materials manager, as the one-shot and stream APIs accept. */
export interface KeySource {
  /** The keyring that wraps and unwraps data keys. */
  keyring?: Keyring;
  /** A materials manager (caching, required context, ...) instead of a keyring. */
  materialsManager?: MaterialsManager;
}

/** Exactly one of `keyring` / `materialsManager`, as a materials manager. Throws TypeError otherwise. */
export function resolveMaterialsManager(options: KeySource): MaterialsManager {
  if (typeof options !== 'object' || options === null) throw new TypeError('options expected an object with "keyring" or "materialsManager"');
  const { keyring, materialsManager } = options;
  if (keyring && materialsManager) throw new TypeError('pass either "keyring" or "materialsManager", not both');
  if (materialsManager) {
    if (typeof materialsManager.getEncryptionMaterials !== 'function' || typeof materialsManager.getDecryptionMaterials !== 'function') {
      throw new TypeError('"materialsManager" expected getEncryptionMaterials and getDecryptionMaterials methods');
    }
    return materialsManager;
  }
  if (!keyring) throw new TypeError('options expected "keyring" or "materialsManager"');
  let cmm = defaultManagers.get(keyring);
  if (!cmm) {
    cmm = new DefaultMaterialsManager(keyring);
    defaultManagers.set(keyring, cmm);
  }
  return cmm;
}

// The default manager holds no state but its keyring: one per keyring saves re-wrapping it per call.
const defaultManagers = new WeakMap<object, DefaultMaterialsManager>();
