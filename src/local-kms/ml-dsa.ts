import { randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { LocalKmsError } from './errors.js';

// ML-DSA (FIPS 204) keys of the local KMS, as AWS KMS offers them ("ML-DSA keys in AWS KMS",
// developer guide): key specs ML_DSA_44 / ML_DSA_65 / ML_DSA_87, key usage SIGN_VERIFY, signing
// algorithm ML_DSA_SHAKE_256, message types RAW (the message itself, up to 4096 bytes) and
// EXTERNAL_MU (the 64-byte μ of FIPS 204 §6.2, computed by the caller); no DIGEST, and no
// FIPS 204 context string (μ is over an empty one). Signing is FIPS 204's hedged variant. The
// arithmetic is @noble/post-quantum's (Node 20 has no ML-DSA); the key material stored is the
// 32-byte seed ξ (FIPS 204 §6.1), from which the key pair is derived on use.

/** The ML-DSA key specs and their parameter sets (public key, signature sizes: FIPS 204 Table 2). */
const PARAMS = {
  ML_DSA_44: { dsa: ml_dsa44, oid: '2.16.840.1.101.3.4.3.17', oidDer: '0609608648016503040311' },
  ML_DSA_65: { dsa: ml_dsa65, oid: '2.16.840.1.101.3.4.3.18', oidDer: '0609608648016503040312' },
  ML_DSA_87: { dsa: ml_dsa87, oid: '2.16.840.1.101.3.4.3.19', oidDer: '0609608648016503040313' },
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

function keyPair(keySpec: MlDsaKeySpec, seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return PARAMS[keySpec].dsa.keygen(seed);
}

/** DER length octets. */
function derLength(n: number): Uint8Array {
  return n < 0x80 ? Uint8Array.of(n) : n < 0x100 ? Uint8Array.of(0x81, n) : Uint8Array.of(0x82, n >> 8, n & 0xff);
}

/**
 * SubjectPublicKeyInfo DER (RFC 5280) with the NIST OID of the parameter set and no
 * parameters (RFC 9881, "Algorithm Identifiers for ML-DSA"), as GetPublicKey returns it.
 */
export function mlDsaSpki(keySpec: MlDsaKeySpec, seed: Uint8Array): Uint8Array {
  return mlDsaSpkiOf(keySpec, keyPair(keySpec, seed).publicKey);
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

/** Signs (hedged) with an empty context; EXTERNAL_MU signs the caller's μ. */
export function mlDsaSign(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array, externalMu: boolean): Uint8Array {
  const { dsa } = PARAMS[keySpec];
  const { secretKey } = keyPair(keySpec, seed);
  try {
    return externalMu ? dsa.internal.sign(message, secretKey, { externalMu: true }) : dsa.sign(message, secretKey);
  } finally {
    secretKey.fill(0);
  }
}

/** Verifies; a malformed signature (any length) is simply not valid. */
export function mlDsaVerify(keySpec: MlDsaKeySpec, seed: Uint8Array, message: Uint8Array, externalMu: boolean, signature: Uint8Array): boolean {
  const { dsa } = PARAMS[keySpec];
  const { publicKey, secretKey } = keyPair(keySpec, seed);
  secretKey.fill(0);
  try {
    return externalMu ? dsa.internal.verify(signature, message, publicKey, { externalMu: true }) : dsa.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
