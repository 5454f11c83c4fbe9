import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { LocalKmsError } from './errors.js';

type NobleMlDsa = typeof import('@noble/post-quantum/ml-dsa.js');
let noble: NobleMlDsa | undefined;
/**
 * @noble/post-quantum's ML-DSA, loaded on first use: building its tables costs tens of
 * milliseconds, which every `LocalKms.open` (every CLI command) would otherwise pay for keys
 * it may never have. Node 20.19+ and 22.12+ (package.json "engines") load ES modules with require().
 */
function nobleModule(): NobleMlDsa {
  return (noble ??= createRequire(import.meta.url)('@noble/post-quantum/ml-dsa.js') as NobleMlDsa);
}

// ML-DSA (FIPS 204) keys of the local KMS, as AWS KMS offers them ("ML-DSA keys in AWS KMS",
// developer guide): key specs ML_DSA_44 / ML_DSA_65 / ML_DSA_87, key usage SIGN_VERIFY, signing
// algorithm ML_DSA_SHAKE_256, message types RAW (the message itself, up to 4096 bytes) and
// EXTERNAL_MU (the 64-byte μ of FIPS 204 §6.2, computed by the caller); no DIGEST, and no
// FIPS 204 context string (μ is over an empty one). Signing is FIPS 204's hedged variant. The
// arithmetic is OpenSSL's through node:crypto where this Node has ML-DSA (24.7 and later with
// OpenSSL 3.5; about ten times faster), else @noble/post-quantum's (Node 20 and 22). node:crypto
// takes no external μ, so EXTERNAL_MU is always noble's. The key material stored is the 32-byte
// seed ξ (FIPS 204 §6.1), from which the key pair is derived on use; both implementations derive
// the same key pair from it, and each verifies the other's signatures (test/local-kms/ml-dsa.test.ts).

/** The ML-DSA key specs and their parameter sets (public key, signature sizes: FIPS 204 Table 2). */
const PARAMS = {
  ML_DSA_44: { dsa: () => nobleModule().ml_dsa44, oid: '2.16.840.1.101.3.4.3.17', oidDer: '0609608648016503040311' },
  ML_DSA_65: { dsa: () => nobleModule().ml_dsa65, oid: '2.16.840.1.101.3.4.3.18', oidDer: '0609608648016503040312' },
  ML_DSA_87: { dsa: () => nobleModule().ml_dsa87, oid: '2.16.840.1.101.3.4.3.19', oidDer: '0609608648016503040313' },
} as const;

export type MlDsaKeySpec = keyof typeof PARAMS;
export const ML_DSA_KEY_SPECS: readonly MlDsaKeySpec[] = Object.freeze(Object.keys(PARAMS) as MlDsaKeySpec[]);
export const ML_DSA_SIGNING_ALGORITHM = 'ML_DSA_SHAKE_256';
/** AWS KMS: "asymmetric key signatures for messages up to 4 KB using the RAW message type". */
const MAX_RAW_MESSAGE_BYTES = 4096;
/** AWS KMS: "When the value of MessageType is EXTERNAL_MU the length of the Message value must be 64 bytes." */
const MU_BYTES = 64;

export function isMlDsaKeySpec(keySpec: string): keySpec is MlDsaKeySpec {
  return Object.prototype.hasOwnProperty.call(PARAMS, keySpec);
}

/** Fresh key material: the 32-byte seed ξ. */
export function generateMlDsaSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/**
 * One ML-DSA implementation: the public key of a seed, and RAW signing and verification with an
 * empty context (FIPS 204 Algorithms 2 and 3, hedged).
 */
export interface MlDsa {
  readonly name: 'node' | 'noble';
  publicKey(keySpec: MlDsaKeySpec, seed: Uint8Array): Uint8Array;
  sign(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for any signature that does not verify, of any length. */
  verify(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

function nobleKeyPair(keySpec: MlDsaKeySpec, seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return PARAMS[keySpec].dsa().keygen(seed);
}

export const nobleMlDsa: MlDsa = {
  name: 'noble',
  publicKey: (keySpec, seed) => {
    const { publicKey, secretKey } = nobleKeyPair(keySpec, seed);
    secretKey.fill(0);
    return publicKey;
  },
  sign: (keySpec, seed, message) => {
    const { secretKey } = nobleKeyPair(keySpec, seed);
    try {
      return PARAMS[keySpec].dsa().sign(message, secretKey);
    } finally {
      secretKey.fill(0);
    }
  },
  verify: (keySpec, seed, message, signature) => {
    try {
      return PARAMS[keySpec].dsa().verify(signature, message, nobleMlDsa.publicKey(keySpec, seed));
    } catch {
      return false;
    }
  },
};

/**
 * node:crypto's private key of a seed: PKCS #8 in the seed-only form (RFC 9881:
 * OneAsymmetricKey { 0, id-ml-dsa-*, [0] IMPLICIT OCTET STRING (32) ξ }), which OpenSSL expands
 * with FIPS 204 ML-DSA.KeyGen_internal, as noble does.
 */
function nodePrivateKey(keySpec: MlDsaKeySpec, seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('ML-DSA seed expected 32 bytes');
  const algorithm = Buffer.concat([Uint8Array.of(0x30, 0x0b), Buffer.from(PARAMS[keySpec].oidDer, 'hex')]);
  const der = Buffer.concat([Uint8Array.of(0x30, 0x34, 0x02, 0x01, 0x00), algorithm, Uint8Array.of(0x04, 0x22, 0x80, 0x20), seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

const nodeImpl: MlDsa = {
  name: 'node',
  publicKey: (keySpec, seed) => new Uint8Array(Buffer.from((createPublicKey(nodePrivateKey(keySpec, seed)).export({ format: 'jwk' }) as { pub: string }).pub, 'base64url')),
  // OpenSSL signs hedged (fresh randomness with the key's seed) and with an empty context by default.
  sign: (keySpec, seed, message) => new Uint8Array(nodeSign(null, message, nodePrivateKey(keySpec, seed))),
  verify: (keySpec, seed, message, signature) => {
    try {
      return nodeVerify(null, message, createPublicKey(nodePrivateKey(keySpec, seed)), signature);
    } catch {
      return false;
    }
  },
};

function hasNodeMlDsa(): boolean {
  // Older Nodes skip the probe below: its failure costs 1-2 ms of every process that loads
  // the local KMS (the CLI's start-up, docs/performance.md).
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 24 || (major === 24 && minor < 7)) return false;
  try {
    // Present and working (Node 20 and 22 know no ML-DSA key: this throws there).
    const seed = new Uint8Array(32).fill(1);
    return nodeImpl.verify('ML_DSA_44', seed, Uint8Array.of(1), nodeImpl.sign('ML_DSA_44', seed, Uint8Array.of(1)));
  } catch {
    return false;
  }
}

/** node:crypto's ML-DSA where this Node has it (24.7 and later), else undefined. */
export const nodeMlDsa: MlDsa | undefined = hasNodeMlDsa() ? nodeImpl : undefined;

/** The implementation the local KMS uses. */
export const mlDsa: MlDsa = nodeMlDsa ?? nobleMlDsa;

/** DER length octets. */
function derLength(n: number): Uint8Array {
  return n < 0x80 ? Uint8Array.of(n) : n < 0x100 ? Uint8Array.of(0x81, n) : Uint8Array.of(0x82, n >> 8, n & 0xff);
}

/**
 * SubjectPublicKeyInfo DER (RFC 5280) with the NIST OID of the parameter set and no
 * parameters (RFC 9881, "Algorithm Identifiers for ML-DSA"), as GetPublicKey returns it.
 */
export function mlDsaSpki(keySpec: MlDsaKeySpec, seed: Uint8Array, impl: MlDsa = mlDsa): Uint8Array {
  return mlDsaSpkiOf(keySpec, impl.publicKey(keySpec, seed));
}

/** The SubjectPublicKeyInfo DER of an ML-DSA public key (exported for tests). */
export function mlDsaSpkiOf(keySpec: MlDsaKeySpec, pk: Uint8Array): Uint8Array {
  const algorithm = Buffer.concat([Uint8Array.of(0x30), derLength(PARAMS[keySpec].oidDer.length / 2), Buffer.from(PARAMS[keySpec].oidDer, 'hex')]);
  const bitString = Buffer.concat([Uint8Array.of(0x03), derLength(pk.length + 1), Uint8Array.of(0), pk]);
  const body = Buffer.concat([algorithm, bitString]);
  return new Uint8Array(Buffer.concat([Uint8Array.of(0x30), derLength(body.length), body]));
}

/** The message as ML-DSA takes it: RAW (≤ 4096 bytes) or EXTERNAL_MU (64 bytes); DIGEST is refused. */
function checkMessage(messageType: string | undefined, message: Uint8Array): boolean {
  if (messageType === 'DIGEST') throw new LocalKmsError('ValidationException', 'ML_DSA_SHAKE_256 takes MessageType RAW or EXTERNAL_MU, not DIGEST');
  if (messageType === 'EXTERNAL_MU') {
    if (message.length !== MU_BYTES) throw new LocalKmsError('ValidationException', `An EXTERNAL_MU message is ${MU_BYTES} bytes (FIPS 204 §6.2 μ)`);
    return true;
  }
  if (message.length > MAX_RAW_MESSAGE_BYTES) throw new LocalKmsError('ValidationException', `A RAW message is at most ${MAX_RAW_MESSAGE_BYTES} bytes; sign its EXTERNAL_MU instead`);
  return false;
}

/** Checks the algorithm name and message for an ML-DSA key. */
export function checkMlDsaRequest(keyArn: string, algorithm: string, messageType: string | undefined, message: Uint8Array): boolean {
  if (algorithm !== ML_DSA_SIGNING_ALGORITHM) throw new LocalKmsError('InvalidKeyUsageException', `${algorithm} is not a signing algorithm of ${keyArn}`);
  return checkMessage(messageType, message);
}

/** Signs (hedged) with an empty context; EXTERNAL_MU signs the caller's μ (noble's: node:crypto takes no μ). */
export function mlDsaSign(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array, externalMu: boolean, impl: MlDsa = mlDsa): Uint8Array {
  if (!externalMu) return impl.sign(keySpec, seed, message);
  const { secretKey } = nobleKeyPair(keySpec, seed);
  try {
    return PARAMS[keySpec].dsa().internal.sign(message, secretKey, { externalMu: true });
  } finally {
    secretKey.fill(0);
  }
}

/** Verifies; a malformed signature (any length) is simply not valid. */
export function mlDsaVerify(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array, externalMu: boolean, signature: Uint8Array, impl: MlDsa = mlDsa): boolean {
  if (!externalMu) return impl.verify(keySpec, seed, message, signature);
  try {
    // The public key from either implementation is the same; node:crypto's derives it faster.
    return PARAMS[keySpec].dsa().internal.verify(signature, message, impl.publicKey(keySpec, seed), { externalMu: true });
  } catch {
    return false;
  }
}
