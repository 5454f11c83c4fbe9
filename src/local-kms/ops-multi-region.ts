/**
 * Multi-Region keys (AWS KMS Developer Guide, "Multi-Region keys in AWS KMS"): ReplicateKey and
 * UpdatePrimaryRegion. CreateKey `MultiRegion: true` makes the primary (ops-keys.ts).
 *
 * One store holds every region (key-store.ts): the related keys of a multi-Region key share its
 * key id (`mrk-...`), key spec, usage, origin, material (every version, sealed once under the
 * key id and stored on each row) and automatic rotation (set on the primary; a rotation of the
 * primary adds the version to every replica). Each keeps its own state, description, policy,
 * tags, aliases and grants. A ciphertext made under one decrypts under any other, since the
 * blob names the key id and version, not the region.
 *
 * Deletion (ScheduleKeyDeletion, scheduler.ts): replicas at any time; a primary that still has
 * replicas goes to PendingReplicaDeletion and its waiting period begins only when the last
 * replica is deleted.
 */
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';
import { getKey, keyStateError, REGION_NAME, relatedKeys, storageIdOf } from './key-store.js';
import { KEY_POLICY_TEXT, defaultKeyPolicy, parseKeyPolicy } from './policy.js';
import { insertKey, keyMetadata, putTags, TAGS } from './ops-keys.js';
import { checkPolicyLockout } from './access.js';

const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;
const REGION = { type: 'string', required: true, min: 1, max: 32, pattern: REGION_NAME } as const;

/** The key must be a multi-Region primary key. @throws UnsupportedOperationException otherwise. */
function requirePrimary(key: KeyRecord, operation: string): void {
  if (key.multiRegion === undefined) throw new LocalKmsError('UnsupportedOperationException', `${operation}: ${key.arn} is not a multi-Region key`);
  if (key.multiRegion === 'REPLICA') throw new LocalKmsError('UnsupportedOperationException', `${operation}: ${key.arn} is a replica key; name its primary key`);
}

function requireEnabledOrDisabled(key: KeyRecord): void {
  if (key.state !== 'Enabled' && key.state !== 'Disabled') throw keyStateError(key);
}

interface ReplicateKeyInput {
  KeyId: string;
  ReplicaRegion: string;
  Policy?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Description?: string;
  Tags?: { TagKey: string; TagValue: string }[];
}

const replicateKey = defineOperation<ReplicateKeyInput>(
  'ReplicateKey',
  {
    KeyId: KEY_ID,
    ReplicaRegion: REGION,
    Policy: { type: 'string', min: 1, max: 32768, pattern: KEY_POLICY_TEXT, jsonDocument: true },
    BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
    Description: { type: 'string', max: 8192 },
    Tags: TAGS,
  },
  (ctx, input) => {
    const primary = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ReplicateKey' });
    requirePrimary(primary, 'ReplicateKey');
    // Only an Enabled primary is replicated: Disabled is DisabledException, pending deletion (or
    // waiting for its replicas to go) KMSInvalidStateException (AWS KMS Developer Guide, key state
    // table, ReplicateKey).
    if (primary.state !== 'Enabled') throw keyStateError(primary);
    // Making the replica is CreateKey in the replica's region (IAM-only in AWS; here: the account,
    // and its identity policies). Its conditions see the replica, not ReplicateKey's input (which
    // names no key spec and no MultiRegion): a multi-Region key with the primary's spec, usage
    // and origin, so a Deny on making multi-Region (or some spec of) keys holds here too.
    ctx.authorize({
      action: 'kms:CreateKey',
      keyToCreate: { keySpec: primary.keySpec, keyUsage: primary.keyUsage, origin: primary.origin, multiRegion: 'REPLICA' },
    });
    const storageId = storageIdOf(primary.keyId, input.ReplicaRegion);
    if (ctx.db.prepare('SELECT 1 FROM keys WHERE key_id = ?').get(storageId)) {
      throw new LocalKmsError('AlreadyExistsException', `${primary.keyId} already has a related key in ${input.ReplicaRegion}`);
    }
    if (input.Policy !== undefined) {
      const policy = parseKeyPolicy(input.Policy);
      const replicaArn = `arn:aws:kms:${input.ReplicaRegion}:${ctx.accountId}:key/${primary.keyId}`;
      if (input.BypassPolicyLockoutSafetyCheck !== true) checkPolicyLockout(ctx, policy, replicaArn, undefined, { ...input });
    }
    const policy = input.Policy ?? defaultKeyPolicy(ctx.accountId);
    // Shared: spec, usage, origin, material. Not shared: description (default none), policy (default: the default policy), tags.
    insertKey(ctx, {
      storageId,
      region: input.ReplicaRegion,
      keySpec: primary.keySpec,
      keyUsage: primary.keyUsage,
      origin: primary.origin,
      state: 'Enabled',
      description: input.Description ?? '',
      policy,
      multiRegion: { keyId: primary.keyId, role: 'REPLICA' },
    });
    ctx.db.prepare('INSERT INTO key_versions (key_id, version, sealed_material, created_at) SELECT ?, version, sealed_material, created_at FROM key_versions WHERE key_id = ?').run(storageId, primary.storageId);
    ctx.db.prepare('INSERT INTO rotations (key_id, version, rotated_at, rotation_type) SELECT ?, version, rotated_at, rotation_type FROM rotations WHERE key_id = ?').run(storageId, primary.storageId);
    ctx.db.prepare('UPDATE keys SET current_version = ? WHERE key_id = ?').run(primary.currentVersion, storageId);
    if (input.Tags) putTags(ctx, storageId, input.Tags);
    const replica = getKey(ctx.db, input.ReplicaRegion, ctx.accountId, primary.keyId)!;
    return {
      ReplicaKeyMetadata: keyMetadata(ctx, replica),
      ReplicaPolicy: policy,
      ReplicaTags: input.Tags ?? [],
    };
  },
);

const updatePrimaryRegion = defineOperation<{ KeyId: string; PrimaryRegion: string }>(
  'UpdatePrimaryRegion',
  { KeyId: KEY_ID, PrimaryRegion: REGION },
  (ctx, input) => {
    const primary = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:UpdatePrimaryRegion' });
    requirePrimary(primary, 'UpdatePrimaryRegion');
    const replica = relatedKeys(ctx.db, ctx.accountId, primary.keyId).find((k) => k.region === input.PrimaryRegion && k.multiRegion === 'REPLICA');
    // "There must be an existing replica key in this Region" (API Reference, UpdatePrimaryRegion).
    if (replica === undefined) throw new LocalKmsError('NotFoundException', `${primary.keyId} has no replica key in ${input.PrimaryRegion}`);
    // The caller needs kms:UpdatePrimaryRegion on both keys, each under its own policy.
    ctx.authorize({ action: 'kms:UpdatePrimaryRegion', keyArn: replica.arn, key: replica });
    // The primary named must be Enabled: Disabled is DisabledException (AWS KMS Developer Guide,
    // key state table, UpdatePrimaryRegion). The table says nothing of the replica's state: a
    // Disabled replica is accepted, one pending deletion is not.
    if (primary.state !== 'Enabled') throw keyStateError(primary);
    requireEnabledOrDisabled(replica);
    swapPrimary(ctx, primary, replica);
    return {};
  },
);

/** Makes `replica` the primary and `primary` a replica; the shared rotation setting moves along. */
function swapPrimary(ctx: OperationContext, primary: KeyRecord, replica: KeyRecord): void {
  ctx.db
    .prepare("UPDATE keys SET mrk_role = 'PRIMARY', rotation_enabled = ?, rotation_period_days = ?, next_rotation_at = ? WHERE key_id = ?")
    .run(primary.rotationEnabled ? 1 : 0, primary.rotationPeriodInDays ?? null, primary.nextRotationAt?.getTime() ?? null, replica.storageId);
  ctx.db.prepare("UPDATE keys SET mrk_role = 'REPLICA', rotation_enabled = 0, rotation_period_days = NULL, next_rotation_at = NULL WHERE key_id = ?").run(primary.storageId);
}

/** The multi-Region key operations. */
export const multiRegionOperations = [replicateKey, updatePrimaryRegion];
