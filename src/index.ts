// Public API of `sealbox` (works in Node and browsers): named exports only.
export { encrypt } from './encrypt.js';
export type { EncryptOptions, EncryptResult } from './encrypt.js';
export { decrypt } from './decrypt.js';
export type { DecryptOptions, DecryptResult } from './decrypt.js';
export type { SignaturePolicy } from './message/prologue.js';
export { SealboxError, isSealboxError } from './errors.js';
export type { SealboxErrorCode, SealboxErrorOptions } from './errors.js';
export type { Keyring, WrapRequest, WrapResult, UnwrapRequest, EncryptionContext } from './keyring/keyring.js';
export { acceptDataKey, checkedKeyring, unwrapFailed } from './keyring/keyring.js';
export { RawAesKeyring } from './keyring/raw-aes.js';
export type { RawAesKeyringOptions } from './keyring/raw-aes.js';
export { RawRsaKeyring, MIN_RSA_MODULUS_BITS, MAX_RSA_MODULUS_BITS } from './keyring/raw-rsa.js';
export type { CryptoKeyLike, RawRsaKeyringOptions, RsaKeyInput, RsaOaepHash } from './keyring/raw-rsa.js';
export { MultiKeyring } from './keyring/multi.js';
export type { MultiKeyringOptions } from './keyring/multi.js';
export type { EncryptedDataKey } from './format/edk.js';
export type { MessageHeader } from './format/header.js';
export { RESERVED_CONTEXT_PREFIX } from './format/context.js';
export type { Suite } from './crypto/suites.js';
export { SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT, DEFAULT_SUITE } from './crypto/suites.js';
export { SIGNING_KEY_CONTEXT_KEY } from './format/signature.js';
export { getAeadBackend } from './crypto/backend.js';
export type { AeadBackendName } from './crypto/backend.js';
export type { AeadBackend, AeadKey } from './crypto/aead.js';
export type {
  MaterialsManager,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  DecryptionMaterials,
  DecryptionMaterialsRequest,
} from './materials/materials.js';
export { DefaultMaterialsManager } from './materials/default.js';
export type { KeySource } from './materials/resolve.js';
export { encryptStream } from './stream/encrypt-stream.js';
export type { EncryptionStream } from './stream/encrypt-stream.js';
export { decryptStream } from './stream/decrypt-stream.js';
export type { DecryptionStream } from './stream/decrypt-stream.js';
export { readHeader } from './stream/read-header.js';
export type { HeaderSource, ReadHeaderOptions } from './stream/read-header.js';
export { decryptRange } from './range/decrypt-range.js';
export type { DecryptRangeOptions, DecryptRangeResult } from './range/decrypt-range.js';
export type { RangeSource, RangeReader, FileHandleLike } from './range/source.js';
export { KmsKeyring, KmsDiscoveryKeyring } from './keyring/kms.js';
export { KmsRsaKeyring, KMS_RSA_PROVIDER_ID } from './keyring/kms-rsa.js';
export type { KmsRsaKeyringOptions, KmsRsaAlgorithm } from './keyring/kms-rsa.js';
export type { KmsKeyringOptions, KmsDiscoveryKeyringOptions, KmsConnectionOptions } from './keyring/kms.js';
export { KMS_PROVIDER_ID, DEFAULT_KMS_CALL_TIMEOUT_MS } from './keyring/kms-call.js';
export { kmsClientSupplier, singleClientSupplier, DEFAULT_KMS_CONNECTION_TIMEOUT_MS, DEFAULT_KMS_REQUEST_TIMEOUT_MS } from './keyring/kms-client-supplier.js';
export type { KmsClientLike, KmsClientSupplier, KmsClientSupplierOptions } from './keyring/kms-client-supplier.js';
export { parseKmsArn, sameKmsKey } from './keyring/kms-arn.js';
export type { KmsKeyArn } from './keyring/kms-arn.js';
export { CachingMaterialsManager } from './materials/caching.js';
export type { CachingMaterialsManagerOptions, CachingMaterialsManagerStats } from './materials/caching.js';
export { RequiredContextMaterialsManager } from './materials/required-context.js';
export type { RequiredContextMaterialsManagerOptions } from './materials/required-context.js';
export { XWingKeyring, XWING_PROVIDER_ID, generateXWingKeyPair, xwingPublicKey } from './keyring/xwing.js';
export type { XWingKeyringOptions } from './keyring/xwing.js';
