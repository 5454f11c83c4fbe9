import { randomBytes } from 'node:crypto';
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import type { KeyRecord } from './key-record.js';
import { keyStateError, relatedKeys } from './key-store.js';
import { numberMarker, readNumberMarker } from './paging.js';

const DAY = 24 * 60 * 60 * 1000;
const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;

const scheduleKeyDeletion = defineOperation<{ KeyId: string; PendingWindowInDays?: number }>(
  'ScheduleKeyDeletion',
  { KeyId: KEY_ID, PendingWindowInDays: { type: 'integer', min: 7, max: 30 } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ScheduleKeyDeletion' });
    if (key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion') throw new LocalKmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    const days = input.PendingWindowInDays ?? 30;
    // A multi-Region primary is not deleted while it has replicas: it waits in
    // PendingReplicaDeletion, with no deletion date, until the last one is deleted; then its
    // waiting period begins (AWS KMS API Reference, ScheduleKeyDeletion; scheduler.ts).
    if (key.multiRegion === 'PRIMARY' && relatedKeys(ctx.db, ctx.accountId, key.keyId).length > 1) {
      ctx.db.prepare("UPDATE keys SET state = 'PendingReplicaDeletion', deletion_date = NULL, pending_window_days = ? WHERE key_id = ?").run(days, key.storageId);
      return { KeyId: key.arn, KeyState: 'PendingReplicaDeletion', PendingWindowInDays: days };
    }
    const deletionDate = new Date(ctx.now.getTime() + days * DAY);
    ctx.db.prepare("UPDATE keys SET state = 'PendingDeletion', deletion_date = ?, pending_window_days = ? WHERE key_id = ?").run(deletionDate.getTime(), days, key.storageId);
    return { KeyId: key.arn, DeletionDate: deletionDate, KeyState: 'PendingDeletion', PendingWindowInDays: days };
  },
);

const cancelKeyDeletion = defineOperation<{ KeyId: string }>('CancelKeyDeletion', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:CancelKeyDeletion' });
  if (key.state !== 'PendingDeletion' && key.state !== 'PendingReplicaDeletion') throw new LocalKmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
  // AWS: a key whose deletion is cancelled is Disabled (PendingImport if it has no material).
  const state = key.currentVersion === 0 ? 'PendingImport' : 'Disabled';
  ctx.db.prepare('UPDATE keys SET state = ?, deletion_date = NULL, pending_window_days = NULL WHERE key_id = ?').run(state, key.storageId);
  return { KeyId: key.arn };
});

function rotatable(key: KeyRecord): void {
  // Rotation is shared by related multi-Region keys and set on the primary (AWS KMS Developer
  // Guide, "Rotating multi-Region keys"): a replica cannot change it or rotate on demand.
  if (key.multiRegion === 'REPLICA') throw new LocalKmsError('UnsupportedOperationException', `${key.arn} is a multi-Region replica key: rotate its primary key`);
  // Worded as AWS's key state table words it for a key with imported material (footnote 6).
  if (key.origin === 'EXTERNAL') throw new LocalKmsError('UnsupportedOperationException', `${key.arn} origin is EXTERNAL which is not valid for this operation.`);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' || key.origin !== 'AWS_KMS') {
    throw new LocalKmsError('UnsupportedOperationException', `${key.arn}: only symmetric keys with AWS_KMS origin rotate`);
  }
  if (key.state !== 'Enabled') throw keyStateError(key);
}

/**
 * Adds a fresh key version and records the rotation (on every related key of a multi-Region key)
 * as of `at`: the call time, or for a scheduled rotation the date it fell due.
 */
export function addRotation(ctx: OperationContext, key: KeyRecord, type: 'AUTOMATIC' | 'ON_DEMAND', at: Date = ctx.now): number {
  const version = ctx.addMaterial(key.storageId, new Uint8Array(randomBytes(32)));
  const rows = key.multiRegion === undefined ? [key.storageId] : relatedKeys(ctx.db, ctx.accountId, key.keyId).map((k) => k.storageId);
  for (const row of rows) ctx.db.prepare('INSERT INTO rotations (key_id, version, rotated_at, rotation_type) VALUES (?, ?, ?, ?)').run(row, version, at.getTime(), type);
  return version;
}

/** The key whose rotation settings count: a replica's primary (the setting is shared), else the key. */
function rotationOwner(ctx: OperationContext, key: KeyRecord): KeyRecord {
  if (key.multiRegion !== 'REPLICA') return key;
  return relatedKeys(ctx.db, ctx.accountId, key.keyId).find((k) => k.multiRegion === 'PRIMARY') ?? key;
}

const enableKeyRotation = defineOperation<{ KeyId: string; RotationPeriodInDays?: number }>(
  'EnableKeyRotation',
  { KeyId: KEY_ID, RotationPeriodInDays: { type: 'integer', min: 90, max: 2560 } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:EnableKeyRotation' });
    rotatable(key);
    const days = input.RotationPeriodInDays ?? 365;
    ctx.db.prepare('UPDATE keys SET rotation_enabled = 1, rotation_period_days = ?, next_rotation_at = ? WHERE key_id = ?').run(days, ctx.now.getTime() + days * DAY, key.storageId);
    return {};
  },
);

const disableKeyRotation = defineOperation<{ KeyId: string }>('DisableKeyRotation', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:DisableKeyRotation' });
  rotatable(key);
  ctx.db.prepare('UPDATE keys SET rotation_enabled = 0, next_rotation_at = NULL WHERE key_id = ?').run(key.storageId);
  return {};
});

const getKeyRotationStatus = defineOperation<{ KeyId: string }>('GetKeyRotationStatus', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:GetKeyRotationStatus' });
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('UnsupportedOperationException', `${key.arn} is not a symmetric key`);
  const owner = rotationOwner(ctx, key);
  // "While a KMS key is pending deletion, its key rotation status is false ... If you cancel the
  // deletion, the original key rotation status returns to true" (AWS KMS API Reference,
  // GetKeyRotationStatus): the setting is kept, and reported false meanwhile.
  const enabled = owner.rotationEnabled && key.state !== 'PendingDeletion' && key.state !== 'PendingReplicaDeletion';
  return {
    KeyId: key.arn,
    KeyRotationEnabled: enabled,
    ...(enabled ? { RotationPeriodInDays: owner.rotationPeriodInDays, NextRotationDate: owner.nextRotationAt } : {}),
  };
});

/**
 * On-demand rotations one KMS key may have in its life (AWS KMS Developer Guide, "Perform
 * on-demand key rotation" and the resource quota of that name: 25, not adjustable; the API
 * Reference page of RotateKeyOnDemand still says 10).
 */
export const MAX_ON_DEMAND_ROTATIONS = 25;

const rotateKeyOnDemand = defineOperation<{ KeyId: string }>('RotateKeyOnDemand', { KeyId: KEY_ID }, (ctx, input) => {
  const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:RotateKeyOnDemand' });
  rotatable(key);
  const { n } = ctx.db.prepare("SELECT count(*) AS n FROM rotations WHERE key_id = ? AND rotation_type = 'ON_DEMAND'").get(key.storageId) as { n: number };
  if (n >= MAX_ON_DEMAND_ROTATIONS) throw new LocalKmsError('LimitExceededException', `${key.arn} has been rotated on demand ${MAX_ON_DEMAND_ROTATIONS} times, the most a key may be.`);
  addRotation(ctx, key, 'ON_DEMAND');
  return { KeyId: key.keyId };
});

const listKeyRotations = defineOperation<{ KeyId: string; Limit?: number; Marker?: string; IncludeKeyMaterial?: string }>(
  'ListKeyRotations',
  { KeyId: KEY_ID, Limit: { type: 'integer', min: 1, max: 1000 }, Marker: { type: 'string', min: 1, max: 1024 }, IncludeKeyMaterial: { type: 'string', enum: ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] } },
  (ctx, input) => {
    // ALL_KEY_MATERIAL lists imported material versions too, which are not built here.
    if (input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL') throw new LocalKmsError('UnsupportedOperationException', 'IncludeKeyMaterial ALL_KEY_MATERIAL is not supported by the local KMS: key material versions are not built');
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ListKeyRotations' });
    if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new LocalKmsError('UnsupportedOperationException', `${key.arn} is not a symmetric key`);
    // Limit 1-1000, default 100 (AWS KMS API Reference, ListKeyRotations); the marker is the last version listed.
    const after = readNumberMarker(input.Marker);
    const limit = input.Limit ?? 100;
    const rows = ctx.db
      .prepare('SELECT version, rotated_at, rotation_type FROM rotations WHERE key_id = ? AND version > ? ORDER BY version LIMIT ?')
      .all(key.storageId, after, limit + 1) as { version: number; rotated_at: number; rotation_type: string }[];
    const page = rows.slice(0, limit);
    const truncated = rows.length > limit;
    return {
      Rotations: page.map((r) => ({ KeyId: key.keyId, RotationDate: new Date(r.rotated_at), RotationType: r.rotation_type })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: numberMarker(page[page.length - 1]!.version) } : {}),
    };
  },
);

/** Deletion and rotation operations. */
export const lifecycleOperations = [scheduleKeyDeletion, cancelKeyDeletion, enableKeyRotation, disableKeyRotation, getKeyRotationStatus, rotateKeyOnDemand, listKeyRotations];
