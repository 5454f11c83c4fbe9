import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { OperationContext } from './operation.js';
import { aliasArn, getKeyByStorageId, keyStateError } from './key-store.js';
import { invalidMarker } from './paging.js';

export const MAX_ALIAS_NAME_LENGTH = 256;
const ALIAS_NAME = { type: 'string', required: true, min: 1, max: MAX_ALIAS_NAME_LENGTH } as const;
const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;

/** Alias names: `alias/` then [a-zA-Z0-9:/_-] (and at most 256 characters, ALIAS_NAME). */
export const ALIAS_NAME_PATTERN = /^alias\/[a-zA-Z0-9:/_-]+$/;
/** Reserved for AWS managed keys. */
export const RESERVED_ALIAS_PREFIX = 'alias/aws/';

/** Alias names: `alias/` then [a-zA-Z0-9:/_-]; `alias/aws/` is reserved for AWS managed keys. */
function checkAliasName(name: string): void {
  if (!ALIAS_NAME_PATTERN.test(name)) throw new LocalKmsError('ValidationException', 'AliasName must match ^alias/[a-zA-Z0-9:/_-]+$');
  if (name.startsWith(RESERVED_ALIAS_PREFIX)) throw new LocalKmsError('InvalidAliasNameException', 'Alias names beginning with alias/aws/ are reserved');
}

/** The key id of a `keys.key_id` (KeyRecord.storageId): a multi-Region row is `mrk-.../<region>`. */
function publicKeyId(storageId: string): string {
  const slash = storageId.indexOf('/');
  return slash < 0 ? storageId : storageId.slice(0, slash);
}

/** The key id an alias of this region points to. @throws NotFoundException when there is no such alias. */
function currentTarget(ctx: OperationContext, aliasName: string): string {
  const row = ctx.db.prepare('SELECT key_id FROM aliases WHERE region = ? AND alias_name = ?').get(ctx.region, aliasName) as { key_id: string } | undefined;
  const key = row && getKeyByStorageId(ctx.db, ctx.accountId, row.key_id);
  if (!key) throw new LocalKmsError('NotFoundException', `Alias ${aliasName} is not found`);
  return key.keyId;
}

/** Aliases one KMS key may have (AWS KMS resource quota "Aliases per KMS key"). */
export const MAX_ALIASES_PER_KEY = 50;

/**
 * A key an alias is to point at: usable, and with room for one more alias (LimitExceededException)
 * unless the alias already points at it (`current`, a storage id).
 */
function targetKey(ctx: OperationContext, keyId: string, action: string, current?: string) {
  // Aliases point at keys, never at other aliases.
  const key = ctx.resolveKey(keyId, { allowAlias: false, action });
  // AWS KMS Developer Guide, key state table, CreateAlias and UpdateAlias: a target pending
  // deletion or pending replica deletion (one column) is KMSInvalidStateException.
  if (key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion') throw keyStateError(key);
  const { n } = ctx.db.prepare('SELECT count(*) AS n FROM aliases WHERE key_id = ?').get(key.storageId) as { n: number };
  if (n >= MAX_ALIASES_PER_KEY && key.storageId !== current) throw new LocalKmsError('LimitExceededException', `${key.arn} already has ${MAX_ALIASES_PER_KEY} aliases, the most a key may have.`);
  return key;
}

const createAlias = defineOperation<{ AliasName: string; TargetKeyId: string }>(
  'CreateAlias',
  { AliasName: ALIAS_NAME, TargetKeyId: KEY_ID },
  (ctx, input) => {
    checkAliasName(input.AliasName);
    const key = targetKey(ctx, input.TargetKeyId, 'kms:CreateAlias');
    const exists = ctx.db.prepare('SELECT 1 FROM aliases WHERE region = ? AND alias_name = ?').get(ctx.region, input.AliasName);
    if (exists) throw new LocalKmsError('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.region, ctx.accountId, input.AliasName)} already exists`);
    const t = ctx.now.getTime();
    ctx.db.prepare('INSERT INTO aliases (region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(ctx.region, input.AliasName, key.storageId, t, t);
    return {};
  },
);

const updateAlias = defineOperation<{ AliasName: string; TargetKeyId: string }>(
  'UpdateAlias',
  { AliasName: ALIAS_NAME, TargetKeyId: KEY_ID },
  (ctx, input) => {
    checkAliasName(input.AliasName);
    const current = currentTarget(ctx, input.AliasName);
    // AWS requires kms:UpdateAlias on the key the alias points to now AND on the new target:
    // without the first check, anyone with rights on some key of their own could repoint
    // another principal's alias at it, and every later call "under the alias" would use it.
    const old = ctx.resolveKey(current, { allowAlias: false, action: 'kms:UpdateAlias' });
    const key = targetKey(ctx, input.TargetKeyId, 'kms:UpdateAlias', old.storageId);
    // AWS: the new key must have the same key usage (and spec family) as the old one.
    if (old.keyUsage !== key.keyUsage || (old.keySpec === 'SYMMETRIC_DEFAULT') !== (key.keySpec === 'SYMMETRIC_DEFAULT')) {
      throw new LocalKmsError('ValidationException', 'The new target key must have the same key type and key usage as the current one');
    }
    ctx.db.prepare('UPDATE aliases SET key_id = ?, updated_at = ? WHERE region = ? AND alias_name = ?').run(key.storageId, ctx.now.getTime(), ctx.region, input.AliasName);
    return {};
  },
);

const deleteAlias = defineOperation<{ AliasName: string }>('DeleteAlias', { AliasName: ALIAS_NAME }, (ctx, input) => {
  checkAliasName(input.AliasName);
  ctx.resolveKey(currentTarget(ctx, input.AliasName), { allowAlias: false, action: 'kms:DeleteAlias' });
  ctx.db.prepare('DELETE FROM aliases WHERE region = ? AND alias_name = ?').run(ctx.region, input.AliasName);
  return {};
});

const listAliases = defineOperation<{ KeyId?: string; Limit?: number; Marker?: string }>(
  'ListAliases',
  { KeyId: { type: 'string', min: 1, max: 2048 }, Limit: { type: 'integer', min: 1, max: 100 }, Marker: { type: 'string', min: 1, max: 1024 } },
  (ctx, input) => {
    ctx.authorize({ action: 'kms:ListAliases' });
    // The marker is the last alias name listed: anything else was not issued here.
    if (input.Marker !== undefined && !ALIAS_NAME_PATTERN.test(input.Marker)) throw invalidMarker();
    const keyId = input.KeyId ? ctx.resolveKey(input.KeyId, { allowAlias: false }).storageId : undefined;
    const limit = input.Limit ?? 50;
    const rows = (keyId
      ? ctx.db.prepare('SELECT * FROM aliases WHERE key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?').all(keyId, input.Marker ?? '', limit + 1)
      : ctx.db.prepare('SELECT * FROM aliases WHERE region = ? AND alias_name > ? ORDER BY alias_name LIMIT ?').all(ctx.region, input.Marker ?? '', limit + 1)) as {
      alias_name: string; key_id: string; created_at: number; updated_at: number;
    }[];
    const page = rows.slice(0, limit);
    const truncated = rows.length > limit;
    return {
      Aliases: page.map((r) => ({
        AliasName: r.alias_name,
        AliasArn: aliasArn(ctx.region, ctx.accountId, r.alias_name),
        TargetKeyId: publicKeyId(r.key_id),
        CreationDate: new Date(r.created_at),
        LastUpdatedDate: new Date(r.updated_at),
      })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: page[page.length - 1]!.alias_name } : {}),
    };
  },
);

/** Alias operations. */
export const aliasOperations = [createAlias, updateAlias, deleteAlias, listAliases];
