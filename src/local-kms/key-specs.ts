import { generateKeyPair, generateKeyPairSync, randomBytes } from 'node:crypto';
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
  /** For RSA and ECC specs: the key pair their material is, for {@link OperationContext.keyPair}. */
  readonly keyPair?: KeyPairParams;
  /** Fresh material: raw bytes (symmetric, HMAC), PKCS#8 DER (RSA, ECC) or the 32-byte seed (ML-DSA). */
  generate(): Uint8Array;
}

/** An RSA or ECC key pair to make (node:crypto's names). */
export type KeyPairParams = { readonly type: 'rsa'; readonly modulusLength: number } | { readonly type: 'ec'; readonly namedCurve: string };


/** A fresh key pair's private key, PKCS#8 DER, made on this thread. */
export function keyPairDer(params: KeyPairParams): Uint8Array {
  const privateKey: Buffer = params.type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: params.modulusLength, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey
    : generateKeyPairSync('ec', { namedCurve: params.namedCurve, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey;
  return new Uint8Array(privateKey);
}

/**
 * {@link keyPairDer} on libuv's thread pool: an RSA-4096 pair takes 0.1-1.5 s, and made on the
 * event loop it would hold every other request of a KMS server for that long.
 */
export function keyPairDerAsync(params: KeyPairParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: Buffer, privateKey: Buffer): void => (err ? reject(err) : resolve(new Uint8Array(privateKey)));
    if (params.type === 'rsa') generateKeyPair('rsa', { modulusLength: params.modulusLength, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }, done);
    else generateKeyPair('ec', { namedCurve: params.namedCurve, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }, done);
  });
}

/** The key pair of an RSA key spec (`RSA_2048`, ...), also for GetParametersForImport's wrapping keys. */
export const rsaKeyPair = (bits: number): KeyPairParams => ({ type: 'rsa', modulusLength: bits });

const pairSpec = (keyPair: KeyPairParams): Pick<KeySpecInfo, 'keyPair' | 'generate'> => ({ keyPair, generate: () => keyPairDer(keyPair) });

const RSA_SIGN: SigningAlgorithmSpec[] = ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'];
const rsa = (bits: number): KeySpecInfo => ({
  usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  encryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  signingAlgorithms: RSA_SIGN,
  macAlgorithms: [],
  ...pairSpec(rsaKeyPair(bits)),
});
const ecc = (curve: string, alg: SigningAlgorithmSpec): KeySpecInfo => ({
  usages: ['SIGN_VERIFY'],
  encryptionAlgorithms: [],
  signingAlgorithms: [alg],
  macAlgorithms: [],
  ...pairSpec({ type: 'ec', namedCurve: curve }),
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
