import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyMetadata, KeySpec } from '@aws-sdk/client-kms';
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';
import { getKey, keyStateError, relatedKeys, storageIdOf } from './key-store.js';
import { KEY_POLICY_TEXT, defaultKeyPolicy, parseKeyPolicy } from './policy.js';
import { keySpecInfo } from './key-specs.js';
import { checkPolicyLockout } from './access.js';
import { RECIPIENT } from './validate.js';
import { keyMarker, readTextMarker, textMarker } from './paging.js';


/** DescribeKey's KeyMetadata for a key, as AWS shapes it. */
export function keyMetadata(ctx: OperationContext, key: KeyRecord): KeyMetadata {
  const info = keySpecInfo(key.keySpec);
  return {
    AWSAccountId: ctx.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.createdAt,
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    // PendingDeletionWindowInDays only while a primary waits for its replicas (PendingReplicaDeletion);
    // a key pending deletion shows its DeletionDate (AWS KMS API Reference, KeyMetadata).
    ...(key.deletionDate ? { DeletionDate: key.deletionDate } : {}),
    ...(key.state === 'PendingReplicaDeletion' ? { PendingDeletionWindowInDays: key.pendingWindowInDays } : {}),
    ...(key.validTo ? { ValidTo: key.validTo } : {}),
    Origin: key.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec as KeyMetadata['CustomerMasterKeySpec'],
    KeySpec: key.keySpec,
    // Only while imported material is present: DeleteImportedKeyMaterial (or its expiry) removes it
    // and the expiration model with it (AWS KMS API Reference, KeyMetadata: ExpirationModel).
    ...(key.origin === 'EXTERNAL' && key.currentVersion > 0 ? { ExpirationModel: key.validTo ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {}),
    ...(key.keyUsage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: info.encryptionAlgorithms } : {}),
    ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: info.signingAlgorithms } : {}),
    ...(key.keyUsage === 'GENERATE_VERIFY_MAC' ? { MacAlgorithms: info.macAlgorithms } : {}),
    MultiRegion: key.multiRegion !== undefined,
    ...(key.multiRegion !== undefined ? { MultiRegionConfiguration: multiRegionConfiguration(ctx, key) } : {}),
  };
}

/**
 * DescribeKey's MultiRegionConfiguration: the key's role, its primary, and every replica
 * (including the key itself when it is one, as AWS lists them).
 */
function multiRegionConfiguration(ctx: OperationContext, key: KeyRecord): NonNullable<KeyMetadata['MultiRegionConfiguration']> {
  const related = relatedKeys(ctx.db, ctx.accountId, key.keyId);
  const primary = related.find((k) => k.multiRegion === 'PRIMARY');
  return {
    MultiRegionKeyType: key.multiRegion!,
    ...(primary ? { PrimaryKey: { Arn: primary.arn, Region: primary.region } } : {}),
    ReplicaKeys: related.filter((k) => k.multiRegion === 'REPLICA').map((k) => ({ Arn: k.arn, Region: k.region })),
  };
}

/** What a new `keys` row holds. */
export interface NewKeyRow {
  readonly storageId: string;
  readonly region: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly origin: string;
  readonly state: string;
  readonly description: string;
  readonly policy: string;
  readonly multiRegion: { readonly keyId: string; readonly role: 'PRIMARY' | 'REPLICA' } | undefined;
}

/** Inserts a key row (no material: see OperationContext.addMaterial). */
export function insertKey(ctx: OperationContext, row: NewKeyRow): void {
  const { n } = ctx.db.prepare('SELECT count(*) AS n FROM keys WHERE region = ?').get(row.region) as { n: number };
  // AWS KMS resource quotas: "AWS KMS keys", per account and Region, in every key state.
  if (n >= MAX_KEYS_PER_REGION) throw new LocalKmsError('LimitExceededException', `A region can hold at most ${MAX_KEYS_PER_REGION} KMS keys; schedule unused keys for deletion first.`);
  ctx.db
    .prepare('INSERT INTO keys (key_id, region, key_spec, key_usage, origin, state, description, policy, created_at, current_version, mrk_id, mrk_role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)')
    .run(row.storageId, row.region, row.keySpec, row.keyUsage, row.origin, row.state, row.description, row.policy, ctx.now.getTime(), row.multiRegion?.keyId ?? null, row.multiRegion?.role ?? null);
}

function describe(ctx: OperationContext, keyId: string): { KeyMetadata: KeyMetadata } {
  return { KeyMetadata: keyMetadata(ctx, getKey(ctx.db, ctx.region, ctx.accountId, keyId)!) };
}

/** KMS keys one account may have in one region (AWS KMS resource quota "AWS KMS keys"); CreateKey and ReplicateKey beyond it are `LimitExceededException`. */
export const MAX_KEYS_PER_REGION = 100_000;

/** Tags one key may have (AWS KMS quotas). */
const MAX_TAGS_PER_KEY = 50;

/** The Tags member of CreateKey, TagResource and ReplicateKey. */
export const TAGS = { type: 'tagList', max: 50 } as const;

/** Adds or replaces tags of a key (by {@link KeyRecord.storageId}). */
export function putTags(ctx: OperationContext, storageId: string, tags: { TagKey: string; TagValue: string }[]): void {
  for (const t of tags) {
    if (t.TagKey.length < 1 || t.TagKey.length > 128 || t.TagValue.length > 256) throw new LocalKmsError('TagException', 'Tag keys are 1-128 characters, values 0-256');
    // The aws: prefix is reserved in any letter case (AWS KMS Developer Guide, "Tagging keys").
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new LocalKmsError('TagException', 'Tag keys beginning with aws: are reserved');
    ctx.db.prepare('INSERT INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT(key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value').run(storageId, t.TagKey, t.TagValue);
  }
  // At most 50 tags per key (AWS KMS quotas). The API Reference names no exception for this;
  // LimitExceededException is its "a quota was exceeded" error. The savepoint undoes the inserts.
  const { n } = ctx.db.prepare('SELECT count(*) AS n FROM tags WHERE key_id = ?').get(storageId) as { n: number };
  if (n > MAX_TAGS_PER_KEY) throw new LocalKmsError('LimitExceededException', `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags`);
}

interface CreateKeyInput {
  Policy?: string;
  Description?: string;
  KeyUsage?: string;
  KeySpec?: string;
  CustomerMasterKeySpec?: string;
  Origin?: string;
  Tags?: { TagKey: string; TagValue: string }[];
  MultiRegion?: boolean;
  BypassPolicyLockoutSafetyCheck?: boolean;
  CustomKeyStoreId?: string;
  XksKeyId?: string;
}

const createKey = defineOperation<CreateKeyInput>(
  'CreateKey',
  {
    Policy: { type: 'string', min: 1, max: 32768, pattern: KEY_POLICY_TEXT, jsonDocument: true },
    Description: { type: 'string', max: 8192 },
    KeyUsage: { type: 'string', enum: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] },
    KeySpec: { type: 'string' },
    CustomerMasterKeySpec: { type: 'string' },
    Origin: { type: 'string', enum: ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] },
    Tags: TAGS,
    MultiRegion: { type: 'boolean' },
    BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
    CustomKeyStoreId: { type: 'string', min: 1, max: 64 },
    XksKeyId: { type: 'string', min: 1, max: 128 },
  },
  (ctx, input) => {
    ctx.authorize({ action: 'kms:CreateKey' });
    // A key in a custom key store (CloudHSM or external): there are none locally. Before, these
    // members were dropped unseen and an ordinary key was made.
    if (input.CustomKeyStoreId !== undefined || input.XksKeyId !== undefined) {
      throw new LocalKmsError('UnsupportedOperationException', 'Custom key stores are not supported by the local KMS');
    }
    const keySpec = (input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT') as KeySpec;
    const info = keySpecInfo(keySpec); // ValidationException for unknown specs
    // KeyUsage may be omitted only for symmetric encryption keys (AWS KMS API Reference, CreateKey: KeyUsage).
    if (input.KeyUsage === undefined && keySpec !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('ValidationException', `KeyUsage is required for KeySpec ${keySpec}`);
    const keyUsage = input.KeyUsage ?? info.usages[0]!;
    if (!info.usages.includes(keyUsage)) throw new LocalKmsError('ValidationException', `KeyUsage ${keyUsage} is not valid for KeySpec ${keySpec}`);
    const origin = input.Origin ?? 'AWS_KMS';
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') throw new LocalKmsError('UnsupportedOperationException', `Origin ${origin} is not supported by the local KMS`);
    if (origin === 'EXTERNAL' && keySpec !== 'SYMMETRIC_DEFAULT' && !keySpec.startsWith('HMAC_')) {
      throw new LocalKmsError('UnsupportedOperationException', 'The local KMS imports only symmetric and HMAC key material');
    }
    if (input.MultiRegion === true && origin === 'EXTERNAL') {
      throw new LocalKmsError('UnsupportedOperationException', 'The local KMS makes multi-Region keys with AWS_KMS origin only');
    }
    // Multi-Region keys: `mrk-` and 32 hex digits (AWS KMS Developer Guide, "Multi-Region key identifiers").
    const keyId = input.MultiRegion === true ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
    // Checked by the same parser that enforces policies, so no stored policy is half-understood,
    // and by the lockout safety check, as AWS does unless BypassPolicyLockoutSafetyCheck.
    if (input.Policy !== undefined) {
      const policy = parseKeyPolicy(input.Policy);
      if (input.BypassPolicyLockoutSafetyCheck !== true) checkPolicyLockout(ctx, policy, ctx.keyArn(keyId), undefined, { ...input });
    }
    const storageId = storageIdOf(keyId, ctx.region);
    insertKey(ctx, {
      storageId, region: ctx.region, keySpec, keyUsage, origin,
      state: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      description: input.Description ?? '',
      policy: input.Policy ?? defaultKeyPolicy(ctx.accountId),
      multiRegion: input.MultiRegion === true ? { keyId, role: 'PRIMARY' } : undefined,
    });
    ctx.auditKey(storageId);
    if (origin === 'AWS_KMS') ctx.addMaterial(storageId, info.keyPair ? ctx.keyPair(info.keyPair) : info.generate());
    if (input.Tags) putTags(ctx, storageId, input.Tags);
    return describe(ctx, keyId);
  },
);

const describeKey = defineOperation<{ KeyId: string; GrantTokens?: string[] }>(
  'DescribeKey',
  { KeyId: { type: 'string', required: true, min: 1, max: 2048 }, GrantTokens: { type: 'stringList', max: 10, memberLength: { min: 1, max: 8192 } } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: true, action: 'kms:DescribeKey', ...(input.GrantTokens ? { grantTokens: input.GrantTokens } : {}) });
    return { KeyMetadata: keyMetadata(ctx, key) };
  },
);

const listKeys = defineOperation<{ Limit?: number; Marker?: string }>(
  'ListKeys',
  { Limit: { type: 'integer', min: 1, max: 1000 }, Marker: { type: 'string', min: 1, max: 1024 } },
  (ctx, input) => {
    ctx.authorize({ action: 'kms:ListKeys' });
    const limit = input.Limit ?? 100;
    const rows = ctx.db.prepare('SELECT key_id, mrk_id FROM keys WHERE region = ? AND key_id > ? ORDER BY key_id LIMIT ?').all(ctx.region, keyMarker(input.Marker), limit + 1) as { key_id: string; mrk_id: string | null }[];
    const page = rows.slice(0, limit);
    const truncated = rows.length > limit;
    return {
      Keys: page.map((r) => ({ KeyId: r.mrk_id ?? r.key_id, KeyArn: ctx.keyArn(r.mrk_id ?? r.key_id) })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: page[page.length - 1]!.key_id } : {}),
    };
  },
);

const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;

const enableKey = defineOperation<{ KeyId: string }>('EnableKey', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:EnableKey' });
  if (key.state !== 'Enabled' && key.state !== 'Disabled') throw keyStateError(key);
  ctx.updateKey(key.storageId, { state: 'Enabled' });
  // A Disabled key is not rotated. Re-enabled after its rotation date passed, it is rotated once,
  // now, and every period from now; before it, it keeps its schedule (AWS KMS API Reference,
  // GetKeyRotationStatus, "Disabled"). Without this, the scheduler rotated it for every period
  // it was disabled, each dated inside that time.
  if (key.state === 'Disabled' && key.rotationEnabled && key.nextRotationAt !== undefined && key.nextRotationAt.getTime() < ctx.now.getTime()) {
    ctx.db.prepare('UPDATE keys SET next_rotation_at = ? WHERE key_id = ?').run(ctx.now.getTime(), key.storageId);
  }
  return {};
});

const disableKey = defineOperation<{ KeyId: string }>('DisableKey', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:DisableKey' });
  if (key.state !== 'Enabled' && key.state !== 'Disabled') throw keyStateError(key);
  ctx.updateKey(key.storageId, { state: 'Disabled' });
  return {};
});

const updateKeyDescription = defineOperation<{ KeyId: string; Description: string }>(
  'UpdateKeyDescription',
  { KeyId: KEY_ID, Description: { type: 'string', required: true, max: 8192 } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:UpdateKeyDescription' });
    if (key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion') throw keyStateError(key);
    ctx.db.prepare('UPDATE keys SET description = ? WHERE key_id = ?').run(input.Description, key.storageId);
    return {};
  },
);

const tagResource = defineOperation<{ KeyId: string; Tags: { TagKey: string; TagValue: string }[] }>(
  'TagResource',
  { KeyId: KEY_ID, Tags: { ...TAGS, required: true } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:TagResource' });
    if (key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion') throw keyStateError(key);
    putTags(ctx, key.storageId, input.Tags);
    return {};
  },
);

const untagResource = defineOperation<{ KeyId: string; TagKeys: string[] }>(
  'UntagResource',
  { KeyId: KEY_ID, TagKeys: { type: 'stringList', required: true, max: 50, memberLength: { min: 1, max: 128 } } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:UntagResource' });
    if (key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion') throw keyStateError(key);
    for (const k of input.TagKeys) ctx.db.prepare('DELETE FROM tags WHERE key_id = ? AND tag_key = ?').run(key.storageId, k);
    return {};
  },
);

const listResourceTags = defineOperation<{ KeyId: string; Limit?: number; Marker?: string }>(
  'ListResourceTags',
  { KeyId: KEY_ID, Limit: { type: 'integer', min: 1, max: 50 }, Marker: { type: 'string', min: 1, max: 1024 } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ListResourceTags' });
    const after = readTextMarker(input.Marker);
    // Limit 1-50, default 50 (AWS KMS API Reference, ListResourceTags); the marker is the last tag key listed.
    const limit = input.Limit ?? 50;
    const rows = ctx.db
      .prepare('SELECT tag_key, tag_value FROM tags WHERE key_id = ? AND tag_key > ? ORDER BY tag_key LIMIT ?')
      .all(key.storageId, after, limit + 1) as { tag_key: string; tag_value: string }[];
    const page = rows.slice(0, limit);
    const truncated = rows.length > limit;
    return {
      Tags: page.map((t) => ({ TagKey: t.tag_key, TagValue: t.tag_value })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: textMarker(page[page.length - 1]!.tag_key) } : {}),
    };
  },
);

const generateRandom = defineOperation<{ NumberOfBytes?: number; CustomKeyStoreId?: string }>(
  'GenerateRandom',
  { NumberOfBytes: { type: 'integer', min: 1, max: 1024 }, CustomKeyStoreId: { type: 'string', min: 1, max: 64 }, Recipient: RECIPIENT },
  (ctx, input) => {
    ctx.authorize({ action: 'kms:GenerateRandom' });
    if (input.NumberOfBytes === undefined) throw new LocalKmsError('ValidationException', 'NumberOfBytes is required');
    // Random bytes from a CloudHSM cluster: there are no custom key stores locally (docs/local-kms.md,
    // "Differences from AWS KMS"); ignoring the member would hand out bytes from elsewhere.
    if (input.CustomKeyStoreId !== undefined) throw new LocalKmsError('UnsupportedOperationException', 'Custom key stores are not supported by the local KMS');
    return { Plaintext: new Uint8Array(randomBytes(input.NumberOfBytes)) };
  },
);

/** Key management operations. */
export const keyOperations = [createKey, describeKey, listKeys, enableKey, disableKey, updateKeyDescription, tagResource, untagResource, listResourceTags, generateRandom];

