import type { SqliteDatabase as Database } from './sqlite.js';
import type { KeySpec, KeyState, KeyUsageType, OriginType } from '@aws-sdk/client-kms';
import type { KeyRecord, MultiRegionRole } from './key-record.js';
import { LocalKmsError } from './errors.js';

/** A `keys` row as SQLite returns it. */
interface KeyRow {
  key_id: string;
  key_spec: string;
  key_usage: string;
  origin: string;
  state: string;
  description: string;
  policy: string;
  created_at: number;
  deletion_date: number | null;
  pending_window_days: number | null;
  rotation_enabled: number;
  rotation_period_days: number | null;
  next_rotation_at: number | null;
  current_version: number;
  valid_to: number | null;
  region: string;
  mrk_role: string | null;
}

const date = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

/** An AWS region name (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`). */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+){1,3}-\d{1,2}$/;

/** A multi-Region key id: `mrk-` and 32 lower-case hex digits (AWS's form). */
export const MULTI_REGION_KEY_ID = /^mrk-[0-9a-f]{32}$/;

/**
 * The `keys.key_id` of a key in a region: the key id, except for multi-Region keys, whose
 * related keys (one per region) share their key id and are stored as `mrk-.../<region>`.
 */
export function storageIdOf(keyId: string, region: string): string {
  return keyId.startsWith('mrk-') ? `${keyId}/${region}` : keyId;
}

function fromRow(row: KeyRow, accountId: string): KeyRecord {
  const keyId = row.mrk_role === null ? row.key_id : row.key_id.slice(0, row.key_id.indexOf('/'));
  return {
    keyId,
    storageId: row.key_id,
    region: row.region,
    arn: keyArn(row.region, accountId, keyId),
    keySpec: row.key_spec as KeySpec,
    keyUsage: row.key_usage as KeyUsageType,
    origin: row.origin as OriginType,
    state: row.state as KeyState,
    description: row.description,
    policy: row.policy,
    createdAt: new Date(row.created_at),
    deletionDate: date(row.deletion_date),
    pendingWindowInDays: row.pending_window_days ?? undefined,
    rotationEnabled: row.rotation_enabled === 1,
    rotationPeriodInDays: row.rotation_period_days ?? undefined,
    nextRotationAt: date(row.next_rotation_at),
    currentVersion: row.current_version,
    validTo: date(row.valid_to),
    multiRegion: (row.mrk_role ?? undefined) as MultiRegionRole | undefined,
  };
}

/** Reads a key by its key id in a region; undefined when there is none there. */
export function getKey(db: Database, region: string, accountId: string, keyId: string): KeyRecord | undefined {
  const row = db.prepare('SELECT * FROM keys WHERE key_id = ?').get(storageIdOf(keyId, region)) as KeyRow | undefined;
  if (!row || row.region !== region) return undefined;
  return fromRow(row, accountId);
}

/** Reads a key by its row id (`KeyRecord.storageId`), whatever its region. */
export function getKeyByStorageId(db: Database, accountId: string, storageId: string): KeyRecord | undefined {
  const row = db.prepare('SELECT * FROM keys WHERE key_id = ?').get(storageId) as KeyRow | undefined;
  return row ? fromRow(row, accountId) : undefined;
}

/** Every key of a multi-Region key's set (primary and replicas), primary first, then by region. */
export function relatedKeys(db: Database, accountId: string, keyId: string): KeyRecord[] {
  const rows = db.prepare("SELECT * FROM keys WHERE mrk_id = ? ORDER BY mrk_role = 'REPLICA', region").all(keyId) as KeyRow[];
  return rows.map((r) => fromRow(r, accountId));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;

/** The alias name (`alias/...`) a KeyId member names, by name or alias ARN; undefined for key ids and key ARNs. */
export function aliasNamed(keyId: string): string | undefined {
  if (keyId.startsWith('alias/')) return keyId;
  const arn = ARN.exec(keyId);
  return arn && arn[4]!.startsWith('alias/') ? arn[4] : undefined;
}

/**
 * Resolves a KeyId member: key id, key ARN and, where `allowAlias`, alias name or alias ARN.
 * An ARN naming another region or account is NotFoundException, as it would be in AWS.
 */
export function resolveKeyId(db: Database, region: string, accountId: string, keyId: string, allowAlias: boolean): KeyRecord {
  let ref = keyId;
  const arn = ARN.exec(keyId);
  if (arn) {
    if (arn[2] !== region || arn[3] !== accountId) throw new LocalKmsError('NotFoundException', `Key '${keyId}' does not exist in this region and account`);
    ref = arn[4]!;
    if (ref.startsWith('key/')) ref = ref.slice(4);
  } else if (keyId.startsWith('arn:')) {
    throw new LocalKmsError('NotFoundException', `Invalid arn ${keyId}`);
  }
  if (ref.startsWith('alias/')) {
    if (!allowAlias) throw new LocalKmsError('NotFoundException', `An alias is not accepted here: '${keyId}'`);
    const row = db.prepare('SELECT key_id FROM aliases WHERE region = ? AND alias_name = ?').get(region, ref) as { key_id: string } | undefined;
    if (!row) throw new LocalKmsError('NotFoundException', `Alias '${ref}' is not found`);
    const key = getKeyByStorageId(db, accountId, row.key_id);
    if (!key) throw new LocalKmsError('NotFoundException', `Alias '${ref}' is not found`);
    return key;
  } else if (!UUID.test(ref) && !MULTI_REGION_KEY_ID.test(ref)) {
    throw new LocalKmsError('NotFoundException', `Invalid keyId '${keyId}'`);
  }
  const key = getKey(db, region, accountId, ref);
  if (!key) throw new LocalKmsError('NotFoundException', `Key '${keyArn(region, accountId, ref)}' does not exist`);
  return key;
}

/** How AWS's messages name each key state: `<key ARN> is pending deletion.` (AWS KMS Developer Guide, "Key states of AWS KMS keys"). */
const STATE_WORDS: Readonly<Record<string, string>> = {
  Enabled: 'enabled',
  Disabled: 'disabled',
  PendingDeletion: 'pending deletion',
  PendingReplicaDeletion: 'pending replica deletion',
  PendingImport: 'pending import',
  Unavailable: 'unavailable',
  Creating: 'creating',
  Updating: 'updating',
};

/**
 * The error for a key whose state does not allow the operation, worded as in the footnotes of
 * AWS's key state table: `DisabledException: <key ARN> is disabled.` for a Disabled key,
 * `KMSInvalidStateException: <key ARN> is pending deletion.` (pending import, ...) otherwise.
 */
export function keyStateError(key: KeyRecord): LocalKmsError {
  const words = STATE_WORDS[key.state] ?? key.state;
  return new LocalKmsError(key.state === 'Disabled' ? 'DisabledException' : 'KMSInvalidStateException', `${key.arn} is ${words}.`);
}

/** Throws unless the key may be used for cryptography (AWS key-state table). */
export function requireUsable(key: KeyRecord): void {
  if (key.state === 'Enabled') return;
  // Disabled: DisabledException. PendingDeletion, PendingReplicaDeletion, PendingImport, Creating,
  // Updating, Unavailable: KMSInvalidStateException.
  throw keyStateError(key);
}
