import { createHash, createPrivateKey, createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { rsaKeyPair } from './key-specs.js';
import { rsaOaepDecryptDer } from './rsa-oaep.js';
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { Migration, OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';

const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;
/** Members of key material versions, which the local KMS does not have (docs/local-kms.md). */
const MATERIAL_VERSIONS = { type: 'unsupportedParameter', reason: 'a key takes one key material for life' } as const;

/** Import parameters are valid for 24 hours, as in AWS. */
const TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;
/**
 * Import parameter sets one key keeps (each holds a sealed RSA private key): a new one beyond
 * this drops the oldest, whose token is then InvalidImportTokenException. AWS documents no such
 * number; without one, repeated GetParametersForImport calls grew the store without bound.
 */
export const MAX_IMPORT_TOKENS_PER_KEY = 10;
/** How long after it expired a token is still recognized (ExpiredImportTokenException) before it is deleted. */
const EXPIRED_TOKEN_KEPT_MS = 7 * TOKEN_LIFETIME_MS;
/** Material sizes by key spec: what ImportKeyMaterial accepts. */
const MATERIAL_BYTES: Record<string, number> = { SYMMETRIC_DEFAULT: 32, HMAC_224: 28, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 };

/** Tables of the import operations. */
export const importMigrations: readonly Migration[] = [
  {
    module: 'import',
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE import_tokens (
          token_hash TEXT PRIMARY KEY,
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          wrapping_algorithm TEXT NOT NULL,
          sealed_private_key BLOB NOT NULL,
          expires_at INTEGER NOT NULL
        );
        CREATE TABLE imported_material (
          key_id TEXT PRIMARY KEY REFERENCES keys(key_id) ON DELETE CASCADE,
          sealed_material BLOB NOT NULL
        );
      `),
  },
];

/** A key with EXTERNAL origin (UnsupportedOperationException otherwise), pending deletion only where `pendingDeletion` allows it. */
function externalKey(ctx: OperationContext, keyId: string, action: string, pendingDeletion: 'refused' | 'allowed' = 'refused'): KeyRecord {
  const key = ctx.resolveKey(keyId, { allowAlias: false, action });
  if (key.origin !== 'EXTERNAL') throw new LocalKmsError('UnsupportedOperationException', `${key.arn} does not have EXTERNAL origin`);
  if (key.state === 'PendingDeletion' && pendingDeletion === 'refused') throw new LocalKmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  return key;
}

const tokenHash = (token: Uint8Array): string => createHash('sha256').update(token).digest('hex');

const getParametersForImport = defineOperation<{ KeyId: string; WrappingAlgorithm: string; WrappingKeySpec: string }>(
  'GetParametersForImport',
  {
    KeyId: KEY_ID,
    WrappingAlgorithm: { type: 'string', required: true, enum: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] },
    WrappingKeySpec: { type: 'string', required: true, enum: ['RSA_2048', 'RSA_3072', 'RSA_4096'] },
  },
  (ctx, input) => {
    const key = externalKey(ctx, input.KeyId, 'kms:GetParametersForImport');
    const privateKey = ctx.keyPair(rsaKeyPair(Number(input.WrappingKeySpec.slice(4))));
    const publicKey = createPublicKey(createPrivateKey({ key: Buffer.from(privateKey.buffer, privateKey.byteOffset, privateKey.length), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
    const token = new Uint8Array(randomBytes(32));
    const hash = tokenHash(token);
    const expires = ctx.now.getTime() + TOKEN_LIFETIME_MS;
    ctx.db.prepare('INSERT INTO import_tokens (token_hash, key_id, wrapping_algorithm, sealed_private_key, expires_at) VALUES (?, ?, ?, ?, ?)').run(
      hash, key.storageId, input.WrappingAlgorithm, ctx.seal(`import-token/${hash}`, new Uint8Array(privateKey)), expires,
    );
    privateKey.fill(0);
    ctx.db.prepare('DELETE FROM import_tokens WHERE expires_at < ?').run(ctx.now.getTime() - EXPIRED_TOKEN_KEPT_MS);
    ctx.db
      .prepare('DELETE FROM import_tokens WHERE key_id = ? AND rowid NOT IN (SELECT rowid FROM import_tokens WHERE key_id = ? ORDER BY rowid DESC LIMIT ?)')
      .run(key.storageId, key.storageId, MAX_IMPORT_TOKENS_PER_KEY);
    return { KeyId: key.arn, ImportToken: token, PublicKey: new Uint8Array(publicKey), ParametersValidTo: new Date(expires) };
  },
);

interface ImportInput { KeyId: string; ImportToken: Uint8Array; EncryptedKeyMaterial: Uint8Array; ValidTo?: Date; ExpirationModel?: string; ImportType?: string }

const importKeyMaterial = defineOperation<ImportInput>(
  'ImportKeyMaterial',
  {
    KeyId: KEY_ID,
    ImportToken: { type: 'blob', required: true, min: 1, max: 6144 },
    EncryptedKeyMaterial: { type: 'blob', required: true, min: 1, max: 6144 },
    ValidTo: { type: 'timestamp' },
    ExpirationModel: { type: 'string', enum: ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] },
    // Key material versions (AWS: several imported materials per key) are not built: a key takes
    // one material for life, which EXISTING_KEY_MATERIAL (re-importing it) is.
    ImportType: { type: 'string', enum: ['EXISTING_KEY_MATERIAL', 'NEW_KEY_MATERIAL'] },
    KeyMaterialId: MATERIAL_VERSIONS,
    KeyMaterialDescription: MATERIAL_VERSIONS,
  },
  (ctx, input) => {
    if (input.ImportType === 'NEW_KEY_MATERIAL') throw new LocalKmsError('UnsupportedOperationException', 'ImportType NEW_KEY_MATERIAL is not supported by the local KMS: a key takes one key material for life');
    const key = externalKey(ctx, input.KeyId, 'kms:ImportKeyMaterial');
    // The default model is KEY_MATERIAL_EXPIRES, which needs ValidTo (AWS KMS API Reference, ImportKeyMaterial).
    const model = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
    if (model === 'KEY_MATERIAL_EXPIRES' && !input.ValidTo) throw new LocalKmsError('ValidationException', 'ValidTo is required with KEY_MATERIAL_EXPIRES');
    if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && input.ValidTo) throw new LocalKmsError('ValidationException', 'ValidTo is not allowed with KEY_MATERIAL_DOES_NOT_EXPIRE');
    if (input.ValidTo && input.ValidTo.getTime() <= ctx.now.getTime()) throw new LocalKmsError('ValidationException', 'ValidTo must be in the future');
    const hash = tokenHash(input.ImportToken);
    const row = ctx.db.prepare('SELECT key_id, wrapping_algorithm, sealed_private_key, expires_at FROM import_tokens WHERE token_hash = ?').get(hash) as
      | { key_id: string; wrapping_algorithm: string; sealed_private_key: Buffer; expires_at: number }
      | undefined;
    if (!row || row.key_id !== key.storageId) throw new LocalKmsError('InvalidImportTokenException', 'The import token is not valid for this key');
    if (ctx.now.getTime() > row.expires_at) throw new LocalKmsError('ExpiredImportTokenException', 'The import token has expired');
    const privateDer = ctx.unseal(`import-token/${hash}`, row.sealed_private_key);
    let opened: Uint8Array | undefined;
    try {
      opened = rsaOaepDecryptDer(privateDer, row.wrapping_algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256', input.EncryptedKeyMaterial);
    } finally {
      privateDer.fill(0);
    }
    if (!opened) throw new LocalKmsError('InvalidCiphertextException', 'The encrypted key material does not decrypt under the import parameters');
    const material = opened;
    try {
      if (material.length !== MATERIAL_BYTES[key.keySpec]) throw new LocalKmsError('IncorrectKeyMaterialException', `${key.keySpec} key material is ${MATERIAL_BYTES[key.keySpec]} bytes`);
      // A key takes one material for life: re-imports must bring the same bytes back.
      const previous = ctx.db.prepare('SELECT sealed_material FROM imported_material WHERE key_id = ?').get(key.storageId) as { sealed_material: Buffer } | undefined;
      if (previous) {
        const known = ctx.unseal(`imported/${key.storageId}`, previous.sealed_material);
        const same = known.length === material.length && timingSafeEqual(known, material);
        known.fill(0);
        if (!same) throw new LocalKmsError('IncorrectKeyMaterialException', 'This key was imported with different key material');
      } else {
        ctx.db.prepare('INSERT INTO imported_material (key_id, sealed_material) VALUES (?, ?)').run(key.storageId, ctx.seal(`imported/${key.storageId}`, material));
      }
      if (key.currentVersion === 0) ctx.addMaterial(key.storageId, material);
      ctx.updateKey(key.storageId, { validTo: input.ValidTo, ...(key.state === 'PendingImport' ? { state: 'Enabled' as const } : {}) });
      ctx.db.prepare('DELETE FROM import_tokens WHERE token_hash = ?').run(hash);
    } finally {
      material.fill(0);
    }
    return { KeyId: key.arn };
  },
);

const deleteImportedKeyMaterial = defineOperation<{ KeyId: string }>('DeleteImportedKeyMaterial', { KeyId: KEY_ID, KeyMaterialId: { type: 'string' } }, (ctx, input) => {
  // "When the specified KMS key is in the PendingDeletion state, this operation does not change
  // the KMS key's state. Otherwise, it changes the KMS key's state to PendingImport" (AWS KMS API
  // Reference, DeleteImportedKeyMaterial; the key state table's pending deletion cell succeeds).
  const key = externalKey(ctx, input.KeyId, 'kms:DeleteImportedKeyMaterial', 'allowed');
  ctx.deleteMaterial(key.storageId);
  ctx.updateKey(key.storageId, { ...(key.state === 'PendingDeletion' ? {} : { state: 'PendingImport' as const }), validTo: undefined });
  return { KeyId: key.arn };
});

/** Key import operations (keys with Origin EXTERNAL). */
export const importOperations = [getParametersForImport, importKeyMaterial, deleteImportedKeyMaterial];
