// Public API of `sealbox`: named exports only.
export { SealboxError, isSealboxError } from './errors.js';
export type { SealboxErrorCode, SealboxErrorOptions } from './errors.js';
export type { Keyring, WrapRequest, WrapResult, UnwrapRequest, EncryptionContext } from './keyring/keyring.js';
export { checkedKeyring } from './keyring/keyring.js';
export type { EncryptedDataKey } from './format/edk.js';
export type { Suite } from './crypto/suites.js';
export { SUITE_AES256_GCM_HKDF_SHA512_COMMIT, DEFAULT_SUITE } from './crypto/suites.js';
export type {
  MaterialsManager,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  DecryptionMaterials,
  DecryptionMaterialsRequest,
} from './materials/materials.js';
export { DefaultMaterialsManager } from './materials/default.js';
