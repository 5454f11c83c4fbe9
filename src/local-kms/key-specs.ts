import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { EncryptionAlgorithmSpec, MacAlgorithmSpec, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { LocalKmsError } from './errors.js';
import { ML_DSA_KEY_SPECS, ML_DSA_SIGNING_ALGORITHM, generateMlDsaSeed } from './ml-dsa.js';

/** What a key spec allows and how its material is made (AWS KMS "Key spec reference"). */
export interface KeySpecInfo {
  /** Allowed KeyUsage values, the default first. */
  readonly usages: readonly string[];
  readonly encryptionAlgorithms: EncryptionAlgorithmSpec[];
  readonly signingAlgorithms: SigningAlgorithmSpec[];
  readonly macAlgorithms: MacAlgorithmSpec[];
  /** Fresh material: raw bytes (symmetric, HMAC), PKCS#8 DER (RSA, ECC) or the 32-byte seed (ML-DSA). */
  generate(): Uint8Array;
}

const pkcs8 = (type: 'rsa' | 'ec', options: { modulusLength?: number; namedCurve?: string }) => (): Uint8Array => {
  const { privateKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength!, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } })
    : generateKeyPairSync('ec', { namedCurve: options.namedCurve!, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } });
  return new Uint8Array(privateKey);
};

const RSA_SIGN: SigningAlgorithmSpec[] = ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'];
const rsa = (bits: number): KeySpecInfo => ({
  usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  encryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  signingAlgorithms: RSA_SIGN,
  macAlgorithms: [],
  generate: pkcs8('rsa', { modulusLength: bits }),
});
const ecc = (curve: string, alg: SigningAlgorithmSpec): KeySpecInfo => ({
  usages: ['SIGN_VERIFY'],
  encryptionAlgorithms: [],
  signingAlgorithms: [alg],
  macAlgorithms: [],
  generate: pkcs8('ec', { namedCurve: curve }),
});
const hmac = (bytes: number, alg: MacAlgorithmSpec): KeySpecInfo => ({
  usages: ['GENERATE_VERIFY_MAC'],
  encryptionAlgorithms: [],
  signingAlgorithms: [],
  macAlgorithms: [alg],
  generate: () => new Uint8Array(randomBytes(bytes)),
});

const SPECS: Record<string, KeySpecInfo> = {
  SYMMETRIC_DEFAULT: {
    usages: ['ENCRYPT_DECRYPT'],
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    signingAlgorithms: [],
    macAlgorithms: [],
    generate: () => new Uint8Array(randomBytes(32)),
  },
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: ecc('prime256v1', 'ECDSA_SHA_256'),
  ECC_NIST_P384: ecc('secp384r1', 'ECDSA_SHA_384'),
  ECC_NIST_P521: ecc('secp521r1', 'ECDSA_SHA_512'),
  // secp256k1 (the Bitcoin and Ethereum curve): AWS KMS allows ECDSA_SHA_256 only, SIGN_VERIFY only.
  ECC_SECG_P256K1: ecc('secp256k1', 'ECDSA_SHA_256'),
  HMAC_224: hmac(28, 'HMAC_SHA_224'),
  HMAC_256: hmac(32, 'HMAC_SHA_256'),
  HMAC_384: hmac(48, 'HMAC_SHA_384'),
  HMAC_512: hmac(64, 'HMAC_SHA_512'),
  ...Object.fromEntries(
    ML_DSA_KEY_SPECS.map((spec) => [
      spec,
      // Material: the FIPS 204 seed (ml-dsa.ts).
      { usages: ['SIGN_VERIFY'], encryptionAlgorithms: [], signingAlgorithms: [ML_DSA_SIGNING_ALGORITHM as SigningAlgorithmSpec], macAlgorithms: [], generate: generateMlDsaSeed } satisfies KeySpecInfo,
    ]),
  ),
};

/** The key specs the local KMS supports, for tools that list them (the CLI's `--spec`). */
export const SUPPORTED_KEY_SPECS: readonly string[] = Object.freeze(Object.keys(SPECS));

/** @throws ValidationException for a key spec the local KMS does not support. */
export function keySpecInfo(keySpec: string): KeySpecInfo {
  const info = Object.prototype.hasOwnProperty.call(SPECS, keySpec) ? SPECS[keySpec] : undefined;
  if (!info) throw new LocalKmsError('ValidationException', `KeySpec ${keySpec} is not supported`);
  return info;
}
