import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { MAX_KMS_ENCRYPTION_CONTEXT_BYTES } from '../limits.js';
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';
import { blobAad, decodeBlob, encodeBlob } from './ciphertext-blob.js';
import { rsaOaepDecryptDer } from './rsa-oaep.js';
import { RECIPIENT } from './validate.js';

type Context = Record<string, string> | undefined;
/** `DryRunModifiers: ['IGNORE_CIPHERTEXT']` (a dry run without a ciphertext): not built; refused rather than ignored. */
const DRY_RUN_MODIFIERS = { type: 'unsupportedParameter', reason: 'a dry run always checks the ciphertext here' } as const;
const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;
/** An encryption context, bounded as src/limits.ts explains. */
export const CONTEXT = { type: 'stringMap', max: MAX_KMS_ENCRYPTION_CONTEXT_BYTES } as const;
const GRANT_TOKENS = { type: 'stringList', max: 10, memberLength: { min: 1, max: 8192 } } as const;
const ALGORITHM = { type: 'string', enum: ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] } as const;

function invalidCiphertext(): LocalKmsError {
  return new LocalKmsError('InvalidCiphertextException', 'The ciphertext is invalid, or was made under another key or encryption context');
}

/** Resolves and checks a key for an encryption-side operation. */
function keyFor(ctx: OperationContext, keyId: string, action: string, context: Context, grantTokens: string[] | undefined): KeyRecord {
  const key = ctx.resolveKey(keyId, { allowAlias: true, action, ...(context ? { encryptionContext: context } : {}), ...(grantTokens ? { grantTokens } : {}) });
  ctx.requireUsable(key);
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage}, not ENCRYPT_DECRYPT`);
  return key;
}

function requireSymmetric(key: KeyRecord): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} is not a symmetric encryption key`);
}

/** AWS caps RSA-OAEP plaintext at the modulus size minus the OAEP overhead. */
function rsaParams(key: KeyRecord, algorithm: string | undefined): { hash: 'sha1' | 'sha256'; max: number } {
  if (algorithm !== 'RSAES_OAEP_SHA_1' && algorithm !== 'RSAES_OAEP_SHA_256') {
    throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} requires EncryptionAlgorithm RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256`);
  }
  const bytes = Number(key.keySpec.slice(4)) / 8;
  const hash = algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
  return { hash, max: bytes - 2 * (hash === 'sha1' ? 20 : 32) - 2 };
}

/** Encrypts under the key's current version: the blob of ciphertext-blob.ts. */
export function sealSymmetric(ctx: OperationContext, key: KeyRecord, plaintext: Uint8Array, context: Context): Uint8Array {
  requireSymmetric(key);
  const version = key.currentVersion;
  const material = ctx.material(key, version);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', material, iv);
  c.setAAD(blobAad(key.keyId, version, context));
  const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  material.fill(0);
  return encodeBlob(key.keyId, version, iv, sealed);
}

/**
 * Decrypts a symmetric blob. `expected` is the key the caller named (IncorrectKeyException if
 * the blob is for another); without it the key comes from the blob.
 */
export function openSymmetric(ctx: OperationContext, blob: Uint8Array, context: Context, action: string, expected: KeyRecord | undefined, grantTokens: string[] | undefined): { key: KeyRecord; plaintext: Uint8Array } {
  const parts = decodeBlob(blob);
  let key = expected;
  if (key) {
    if (key.keyId !== parts.keyId) throw new LocalKmsError('IncorrectKeyException', 'The ciphertext was not encrypted under the KMS key given');
  } else {
    try {
      key = ctx.resolveKey(parts.keyId, { allowAlias: false, fromCiphertext: true, action, ...(context ? { encryptionContext: context } : {}), ...(grantTokens ? { grantTokens } : {}) });
    } catch (err) {
      if (err instanceof LocalKmsError && err.name === 'NotFoundException') throw invalidCiphertext();
      throw err;
    }
  }
  ctx.requireUsable(key);
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage}`);
  // Only a symmetric key makes this blob format: one naming an RSA encryption key is forged,
  // and that key's material (a PKCS #8 private key) must not be opened, let alone used as AES.
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw invalidCiphertext();
  let material: Uint8Array;
  try {
    material = ctx.material(key, parts.version);
  } catch {
    throw invalidCiphertext();
  }
  let pt: Buffer | undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', material, parts.iv);
    d.setAAD(blobAad(key.keyId, parts.version, context));
    d.setAuthTag(parts.sealed.subarray(parts.sealed.length - 16));
    pt = d.update(parts.sealed.subarray(0, parts.sealed.length - 16));
    try {
      d.final();
    } catch {
      throw invalidCiphertext();
    }
    return { key, plaintext: new Uint8Array(pt) };
  } finally {
    material.fill(0);
    pt?.fill(0);
  }
}

function encryptWith(ctx: OperationContext, key: KeyRecord, plaintext: Uint8Array, context: Context, algorithm: string | undefined): { blob: Uint8Array; algorithm: string } {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') {
    if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('InvalidKeyUsageException', `${key.arn} supports only SYMMETRIC_DEFAULT`);
    return { blob: sealSymmetric(ctx, key, plaintext, context), algorithm: 'SYMMETRIC_DEFAULT' };
  }
  const { hash, max } = rsaParams(key, algorithm);
  if (plaintext.length > max) throw new LocalKmsError('ValidationException', `Plaintext is longer than ${max} bytes for ${key.keySpec} with ${algorithm}`);
  const material = ctx.material(key);
  const publicKey = createPublicKey(createPrivateKey({ key: Buffer.from(material), format: 'der', type: 'pkcs8' }));
  material.fill(0);
  return { blob: new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext)), algorithm: algorithm! };
}

function decryptWith(ctx: OperationContext, input: { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string>; KeyId?: string; EncryptionAlgorithm?: string; GrantTokens?: string[] }, action: string): { key: KeyRecord; plaintext: Uint8Array; algorithm: string } {
  const named = input.KeyId
    ? ctx.resolveKey(input.KeyId, { allowAlias: true, action, ...(input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {}), ...(input.GrantTokens ? { grantTokens: input.GrantTokens } : {}) })
    : undefined;
  // An HMAC key never made a ciphertext, so naming one is the wrong key, not a wrong usage
  // (AWS KMS API Reference, Decrypt: "If you identify a different KMS key ... IncorrectKeyException").
  if (named && named.keyUsage === 'GENERATE_VERIFY_MAC') throw new LocalKmsError('IncorrectKeyException', 'The ciphertext was not encrypted under the KMS key given');
  if (named && named.keySpec !== 'SYMMETRIC_DEFAULT') {
    ctx.requireUsable(named);
    if (named.keyUsage !== 'ENCRYPT_DECRYPT') throw new LocalKmsError('InvalidKeyUsageException', `${named.arn} key usage is ${named.keyUsage}`);
    const { hash } = rsaParams(named, input.EncryptionAlgorithm);
    const material = ctx.material(named);
    try {
      const plaintext = rsaOaepDecryptDer(material, hash, input.CiphertextBlob);
      if (!plaintext) throw invalidCiphertext();
      return { key: named, plaintext, algorithm: input.EncryptionAlgorithm! };
    } finally {
      material.fill(0);
    }
  }
  if (input.EncryptionAlgorithm !== undefined && input.EncryptionAlgorithm !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('IncorrectKeyException', 'The ciphertext was made with SYMMETRIC_DEFAULT');
  const { key, plaintext } = openSymmetric(ctx, input.CiphertextBlob, input.EncryptionContext, action, named, input.GrantTokens);
  return { key, plaintext, algorithm: 'SYMMETRIC_DEFAULT' };
}

interface EncryptInput { KeyId: string; Plaintext: Uint8Array; EncryptionContext?: Record<string, string>; GrantTokens?: string[]; EncryptionAlgorithm?: string }

const encrypt = defineOperation<EncryptInput>(
  'Encrypt',
  { KeyId: KEY_ID, Plaintext: { type: 'blob', required: true, min: 1, max: 4096 }, EncryptionContext: CONTEXT, GrantTokens: GRANT_TOKENS, EncryptionAlgorithm: ALGORITHM, DryRun: { type: 'boolean' } },
  (ctx, input) => {
    const key = keyFor(ctx, input.KeyId, 'kms:Encrypt', input.EncryptionContext, input.GrantTokens);
    const { blob, algorithm } = encryptWith(ctx, key, input.Plaintext, input.EncryptionContext, input.EncryptionAlgorithm);
    return { CiphertextBlob: blob, KeyId: key.arn, EncryptionAlgorithm: algorithm };
  },
);

interface DecryptInput { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string>; GrantTokens?: string[]; KeyId?: string; EncryptionAlgorithm?: string }

const decrypt = defineOperation<DecryptInput>(
  'Decrypt',
  {
    CiphertextBlob: { type: 'blob', required: true, min: 1, max: 6144 },
    EncryptionContext: CONTEXT,
    GrantTokens: GRANT_TOKENS,
    KeyId: { type: 'string', min: 1, max: 2048 },
    EncryptionAlgorithm: ALGORITHM,
    DryRun: { type: 'boolean' },
    DryRunModifiers: DRY_RUN_MODIFIERS,
    Recipient: RECIPIENT,
  },
  (ctx, input) => {
    const { key, plaintext, algorithm } = decryptWith(ctx, input, 'kms:Decrypt');
    return { KeyId: key.arn, Plaintext: plaintext, EncryptionAlgorithm: algorithm };
  },
);

interface ReEncryptInput {
  CiphertextBlob: Uint8Array; SourceEncryptionContext?: Record<string, string>; SourceKeyId?: string; DestinationKeyId: string;
  DestinationEncryptionContext?: Record<string, string>; SourceEncryptionAlgorithm?: string; DestinationEncryptionAlgorithm?: string; GrantTokens?: string[];
}

const reEncrypt = defineOperation<ReEncryptInput>(
  'ReEncrypt',
  {
    CiphertextBlob: { type: 'blob', required: true, min: 1, max: 6144 },
    SourceEncryptionContext: CONTEXT,
    SourceKeyId: { type: 'string', min: 1, max: 2048 },
    DestinationKeyId: KEY_ID,
    DestinationEncryptionContext: CONTEXT,
    SourceEncryptionAlgorithm: ALGORITHM,
    DestinationEncryptionAlgorithm: ALGORITHM,
    GrantTokens: GRANT_TOKENS,
    DryRun: { type: 'boolean' },
    DryRunModifiers: DRY_RUN_MODIFIERS,
  },
  (ctx, input) => {
    const source = decryptWith(
      ctx,
      {
        CiphertextBlob: input.CiphertextBlob,
        ...(input.SourceEncryptionContext ? { EncryptionContext: input.SourceEncryptionContext } : {}),
        ...(input.SourceKeyId ? { KeyId: input.SourceKeyId } : {}),
        ...(input.SourceEncryptionAlgorithm ? { EncryptionAlgorithm: input.SourceEncryptionAlgorithm } : {}),
        ...(input.GrantTokens ? { GrantTokens: input.GrantTokens } : {}),
      },
      'kms:ReEncryptFrom',
    );
    try {
      const dest = keyFor(ctx, input.DestinationKeyId, 'kms:ReEncryptTo', input.DestinationEncryptionContext, input.GrantTokens);
      const { blob, algorithm } = encryptWith(ctx, dest, source.plaintext, input.DestinationEncryptionContext, input.DestinationEncryptionAlgorithm);
      return { CiphertextBlob: blob, SourceKeyId: source.key.arn, KeyId: dest.arn, SourceEncryptionAlgorithm: source.algorithm, DestinationEncryptionAlgorithm: algorithm };
    } finally {
      source.plaintext.fill(0);
    }
  },
);

interface GenerateDataKeyInput { KeyId: string; EncryptionContext?: Record<string, string>; NumberOfBytes?: number; KeySpec?: string; GrantTokens?: string[] }
const DATA_KEY_SHAPE = {
  KeyId: KEY_ID,
  EncryptionContext: CONTEXT,
  NumberOfBytes: { type: 'integer', min: 1, max: 1024 },
  KeySpec: { type: 'string', enum: ['AES_256', 'AES_128'] },
  GrantTokens: GRANT_TOKENS,
  DryRun: { type: 'boolean' },
} as const;

function dataKey(ctx: OperationContext, input: GenerateDataKeyInput, action: string): { key: KeyRecord; plaintext: Uint8Array; blob: Uint8Array } {
  if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined)) {
    throw new LocalKmsError('ValidationException', 'Specify exactly one of KeySpec and NumberOfBytes');
  }
  const key = keyFor(ctx, input.KeyId, action, input.EncryptionContext, input.GrantTokens);
  requireSymmetric(key);
  const length = input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : 32);
  const plaintext = new Uint8Array(randomBytes(length));
  return { key, plaintext, blob: sealSymmetric(ctx, key, plaintext, input.EncryptionContext) };
}

const generateDataKey = defineOperation<GenerateDataKeyInput>('GenerateDataKey', { ...DATA_KEY_SHAPE, Recipient: RECIPIENT }, (ctx, input) => {
  const { key, plaintext, blob } = dataKey(ctx, input, 'kms:GenerateDataKey');
  return { CiphertextBlob: blob, Plaintext: plaintext, KeyId: key.arn };
});

const generateDataKeyWithoutPlaintext = defineOperation<GenerateDataKeyInput>('GenerateDataKeyWithoutPlaintext', DATA_KEY_SHAPE, (ctx, input) => {
  const { key, plaintext, blob } = dataKey(ctx, input, 'kms:GenerateDataKeyWithoutPlaintext');
  plaintext.fill(0);
  return { CiphertextBlob: blob, KeyId: key.arn };
});

/** Cryptographic operations of encryption keys. */
export const cryptoOperations = [encrypt, decrypt, reEncrypt, generateDataKey, generateDataKeyWithoutPlaintext];
