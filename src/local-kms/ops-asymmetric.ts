import { constants, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';
import { keySpecInfo } from './key-specs.js';
import { checkMlDsaRequest, isMlDsaKeySpec, mlDsaSign, mlDsaSpki, mlDsaVerify } from './ml-dsa.js';
import type { MlDsaKeySpec } from './ml-dsa.js';
import { CONTEXT, sealSymmetric } from './ops-crypto.js';
import { RECIPIENT } from './validate.js';
import { DIGEST_BYTES, signDigest, verifyDigest, type SigningHash } from './digest-signing.js';

const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;
const GRANT_TOKENS = { type: 'stringList', max: 10, memberLength: { min: 1, max: 8192 } } as const;
/**
 * The SigningAlgorithmSpec values of the AWS KMS API: a value outside them is ValidationException
 * (as for any enum member); one the key does not support is InvalidKeyUsageException.
 */
const SIGNING_ALGORITHM = {
  type: 'string',
  required: true,
  enum: [
    'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
    'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'SM2DSA', 'ML_DSA_SHAKE_256', 'ED25519_SHA_512', 'ED25519_PH_SHA_512',
  ],
} as const;
type Hash = SigningHash;

/** Signing algorithms: hash, padding, and AWS's PSS salt length (= digest length). */
const SIGNING: Record<string, { hash: Hash; kind: 'pss' | 'pkcs1' | 'ecdsa' }> = {
  RSASSA_PSS_SHA_256: { hash: 'sha256', kind: 'pss' },
  RSASSA_PSS_SHA_384: { hash: 'sha384', kind: 'pss' },
  RSASSA_PSS_SHA_512: { hash: 'sha512', kind: 'pss' },
  RSASSA_PKCS1_V1_5_SHA_256: { hash: 'sha256', kind: 'pkcs1' },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: 'sha384', kind: 'pkcs1' },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: 'sha512', kind: 'pkcs1' },
  ECDSA_SHA_256: { hash: 'sha256', kind: 'ecdsa' },
  ECDSA_SHA_384: { hash: 'sha384', kind: 'ecdsa' },
  ECDSA_SHA_512: { hash: 'sha512', kind: 'ecdsa' },
};
function usable(
  ctx: OperationContext,
  keyId: string,
  action: string,
  usage: string,
  grantTokens: string[] | undefined,
  encryptionContext?: Record<string, string>,
): KeyRecord {
  // Operations that take an encryption context are authorized with it (policy conditions on
  // kms:EncryptionContext:*, grant constraints), exactly as Encrypt and GenerateDataKey are.
  const key = ctx.resolveKey(keyId, {
    allowAlias: true,
    action,
    ...(grantTokens ? { grantTokens } : {}),
    ...(encryptionContext ? { encryptionContext } : {}),
  });
  ctx.requireUsable(key);
  if (key.keyUsage !== usage) throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage}, not ${usage}`);
  return key;
}

function privateKeyOf(ctx: OperationContext, key: KeyRecord): KeyObject {
  const material = ctx.material(key);
  try {
    return createPrivateKey({ key: Buffer.from(material), format: 'der', type: 'pkcs8' });
  } finally {
    material.fill(0);
  }
}

/** `use(material)`, the key's material wiped after. */
function withMaterial<T>(ctx: OperationContext, key: KeyRecord, use: (material: Uint8Array) => T): T {
  const material = ctx.material(key);
  try {
    return use(material);
  } finally {
    material.fill(0);
  }
}

interface SignRequest { KeyId: string; Message: Uint8Array; MessageType?: string; SigningAlgorithm: string; GrantTokens?: string[] }

function algorithmFor(key: KeyRecord, name: string, messageType: string | undefined, message: Uint8Array): { hash: Hash; kind: 'pss' | 'pkcs1' | 'ecdsa'; digest: boolean } {
  const alg = SIGNING[name];
  if (!alg || !keySpecInfo(key.keySpec).signingAlgorithms.includes(name as never)) {
    throw new LocalKmsError('InvalidKeyUsageException', `${name} is not a signing algorithm of ${key.arn}`);
  }
  const digest = messageType === 'DIGEST';
  if (digest) {
    // AWS KMS API Reference, Sign: with DIGEST the message length must match the algorithm's hash.
    if (message.length !== DIGEST_BYTES[alg.hash]) throw new LocalKmsError('ValidationException', `A ${alg.hash.toUpperCase()} digest is ${DIGEST_BYTES[alg.hash]} bytes`);
  } else if (message.length > 4096) {
    throw new LocalKmsError('ValidationException', 'A RAW message is at most 4096 bytes; sign a DIGEST instead');
  }
  return { ...alg, digest };
}

function padding(kind: 'pss' | 'pkcs1' | 'ecdsa', hash: Hash) {
  return kind === 'pss' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: DIGEST_BYTES[hash] } : kind === 'pkcs1' ? { padding: constants.RSA_PKCS1_PADDING } : { dsaEncoding: 'der' as const };
}

/**
 * Verifies a signature over a RAW message as Verify does (ECDSA signatures DER-encoded, PSS
 * salt = digest length). Malformed signatures are simply not valid.
 */
export function verifySignature(algorithm: string, publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  const alg = SIGNING[algorithm];
  if (!alg) return false;
  try {
    return verify(alg.hash, message, { key: publicKey, ...padding(alg.kind, alg.hash) }, signature);
  } catch {
    return false;
  }
}

const signOp = defineOperation<SignRequest>(
  'Sign',
  { KeyId: KEY_ID, Message: { type: 'blob', required: true, min: 1, max: 4096 }, MessageType: { type: 'string', enum: ['RAW', 'DIGEST', 'EXTERNAL_MU'] }, SigningAlgorithm: SIGNING_ALGORITHM, GrantTokens: GRANT_TOKENS, DryRun: { type: 'boolean' } },
  (ctx, input) => {
    const key = usable(ctx, input.KeyId, 'kms:Sign', 'SIGN_VERIFY', input.GrantTokens);
    if (isMlDsaKeySpec(key.keySpec)) {
      const externalMu = checkMlDsaRequest(key.arn, input.SigningAlgorithm, input.MessageType, input.Message);
      const signature = withMaterial(ctx, key, (seed) => mlDsaSign(key.keySpec as MlDsaKeySpec, seed, input.Message, externalMu));
      return { KeyId: key.arn, Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
    }
    if (input.MessageType === 'EXTERNAL_MU') throw new LocalKmsError('ValidationException', 'MessageType EXTERNAL_MU is for ML-DSA keys only');
    const alg = algorithmFor(key, input.SigningAlgorithm, input.MessageType, input.Message);
    const privateKey = privateKeyOf(ctx, key);
    const signature = alg.digest
      ? signDigest(alg.kind, alg.hash, privateKey, input.Message)
      : sign(alg.hash, input.Message, { key: privateKey, ...padding(alg.kind, alg.hash) });
    return { KeyId: key.arn, Signature: new Uint8Array(signature), SigningAlgorithm: input.SigningAlgorithm };
  },
);

interface VerifyRequest extends SignRequest { Signature: Uint8Array }

const verifyOp = defineOperation<VerifyRequest>(
  'Verify',
  { KeyId: KEY_ID, Message: { type: 'blob', required: true, min: 1, max: 4096 }, MessageType: { type: 'string', enum: ['RAW', 'DIGEST', 'EXTERNAL_MU'] }, Signature: { type: 'blob', required: true, min: 1, max: 6144 }, SigningAlgorithm: SIGNING_ALGORITHM, GrantTokens: GRANT_TOKENS, DryRun: { type: 'boolean' } },
  (ctx, input) => {
    const key = usable(ctx, input.KeyId, 'kms:Verify', 'SIGN_VERIFY', input.GrantTokens);
    if (isMlDsaKeySpec(key.keySpec)) {
      const externalMu = checkMlDsaRequest(key.arn, input.SigningAlgorithm, input.MessageType, input.Message);
      if (!withMaterial(ctx, key, (seed) => mlDsaVerify(key.keySpec as MlDsaKeySpec, seed, input.Message, externalMu, input.Signature))) {
        throw new LocalKmsError('KMSInvalidSignatureException', 'The signature is not valid');
      }
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
    }
    if (input.MessageType === 'EXTERNAL_MU') throw new LocalKmsError('ValidationException', 'MessageType EXTERNAL_MU is for ML-DSA keys only');
    const alg = algorithmFor(key, input.SigningAlgorithm, input.MessageType, input.Message);
    const publicKey = createPublicKey(privateKeyOf(ctx, key));
    const valid = alg.digest
      ? verifyDigest(alg.kind, alg.hash, publicKey, input.Message, input.Signature)
      : verifySignature(input.SigningAlgorithm, publicKey, input.Message, input.Signature);
    if (!valid) throw new LocalKmsError('KMSInvalidSignatureException', 'The signature is not valid');
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
);

const getPublicKey = defineOperation<{ KeyId: string; GrantTokens?: string[] }>(
  'GetPublicKey',
  { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: true, action: 'kms:GetPublicKey', ...(input.GrantTokens ? { grantTokens: input.GrantTokens } : {}) });
    ctx.requireUsable(key);
    const mlDsa = isMlDsaKeySpec(key.keySpec);
    if (!key.keySpec.startsWith('RSA_') && !key.keySpec.startsWith('ECC_') && !mlDsa) throw new LocalKmsError('UnsupportedOperationException', `${key.arn} is not an asymmetric key`);
    const info = keySpecInfo(key.keySpec);
    const spki = mlDsa
      ? withMaterial(ctx, key, (seed) => mlDsaSpki(key.keySpec as MlDsaKeySpec, seed))
      : createPublicKey(privateKeyOf(ctx, key)).export({ type: 'spki', format: 'der' });
    return {
      KeyId: key.arn,
      PublicKey: new Uint8Array(spki),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...(key.keyUsage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: info.encryptionAlgorithms } : { SigningAlgorithms: info.signingAlgorithms }),
    };
  },
);

const MAC_HASH: Record<string, string> = { HMAC_SHA_224: 'sha224', HMAC_SHA_256: 'sha256', HMAC_SHA_384: 'sha384', HMAC_SHA_512: 'sha512' };

function mac(ctx: OperationContext, input: { KeyId: string; Message: Uint8Array; MacAlgorithm: string; GrantTokens?: string[] }, action: string): { key: KeyRecord; tag: Buffer } {
  const key = usable(ctx, input.KeyId, action, 'GENERATE_VERIFY_MAC', input.GrantTokens);
  if (!keySpecInfo(key.keySpec).macAlgorithms.includes(input.MacAlgorithm as never)) throw new LocalKmsError('InvalidKeyUsageException', `${input.MacAlgorithm} is not the MAC algorithm of ${key.arn}`);
  const material = ctx.material(key);
  try {
    return { key, tag: createHmac(MAC_HASH[input.MacAlgorithm]!, material).update(input.Message).digest() };
  } finally {
    material.fill(0);
  }
}

const MAC_SHAPE = { KeyId: KEY_ID, Message: { type: 'blob', required: true, min: 1, max: 4096 }, MacAlgorithm: { type: 'string', required: true, enum: Object.keys(MAC_HASH) }, GrantTokens: GRANT_TOKENS, DryRun: { type: 'boolean' } } as const;

const generateMac = defineOperation<{ KeyId: string; Message: Uint8Array; MacAlgorithm: string; GrantTokens?: string[] }>('GenerateMac', MAC_SHAPE, (ctx, input) => {
  const { key, tag } = mac(ctx, input, 'kms:GenerateMac');
  return { Mac: new Uint8Array(tag), MacAlgorithm: input.MacAlgorithm, KeyId: key.arn };
});

const verifyMac = defineOperation<{ KeyId: string; Message: Uint8Array; MacAlgorithm: string; Mac: Uint8Array; GrantTokens?: string[] }>(
  'VerifyMac',
  { ...MAC_SHAPE, Mac: { type: 'blob', required: true, min: 1, max: 6144 } },
  (ctx, input) => {
    const { key, tag } = mac(ctx, input, 'kms:VerifyMac');
    // Constant time: a MAC comparison must not say how many leading bytes matched.
    if (tag.length !== input.Mac.length || !timingSafeEqual(tag, input.Mac)) throw new LocalKmsError('KMSInvalidMacException', 'The MAC is not valid');
    return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
  },
);

const PAIR_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1'];
interface PairRequest { KeyId: string; KeyPairSpec: string; EncryptionContext?: Record<string, string>; GrantTokens?: string[] }
const PAIR_SHAPE = { KeyId: KEY_ID, KeyPairSpec: { type: 'string', required: true, enum: PAIR_SPECS }, EncryptionContext: CONTEXT, GrantTokens: GRANT_TOKENS, DryRun: { type: 'boolean' } } as const;

function dataKeyPair(ctx: OperationContext, input: PairRequest, action: string) {
  const key = usable(ctx, input.KeyId, action, 'ENCRYPT_DECRYPT', input.GrantTokens, input.EncryptionContext);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} is not a symmetric encryption key`);
  const privateDer = ctx.keyPair(keySpecInfo(input.KeyPairSpec).keyPair!);
  const publicDer = createPublicKey(createPrivateKey({ key: Buffer.from(privateDer), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
  const blob = sealSymmetric(ctx, key, privateDer, input.EncryptionContext);
  return { key, privateDer, publicDer: new Uint8Array(publicDer), blob };
}

const generateDataKeyPair = defineOperation<PairRequest>('GenerateDataKeyPair', { ...PAIR_SHAPE, Recipient: RECIPIENT }, (ctx, input) => {
  const p = dataKeyPair(ctx, input, 'kms:GenerateDataKeyPair');
  return { PrivateKeyCiphertextBlob: p.blob, PrivateKeyPlaintext: p.privateDer, PublicKey: p.publicDer, KeyId: p.key.arn, KeyPairSpec: input.KeyPairSpec };
});

const generateDataKeyPairWithoutPlaintext = defineOperation<PairRequest>('GenerateDataKeyPairWithoutPlaintext', PAIR_SHAPE, (ctx, input) => {
  const p = dataKeyPair(ctx, input, 'kms:GenerateDataKeyPairWithoutPlaintext');
  p.privateDer.fill(0);
  return { PrivateKeyCiphertextBlob: p.blob, PublicKey: p.publicDer, KeyId: p.key.arn, KeyPairSpec: input.KeyPairSpec };
});

/** Sign/Verify, GetPublicKey, HMAC and data key pair operations. */
export const asymmetricOperations = [signOp, verifyOp, getPublicKey, generateMac, verifyMac, generateDataKeyPair, generateDataKeyPairWithoutPlaintext];

