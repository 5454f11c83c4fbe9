import type { SqliteDatabase as Database } from './sqlite.js';
import type { KeySpec, KeyState, KeyUsageType, OriginType } from '@aws-sdk/client-kms';
import type { KeyRecord } from './key-record.js';
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
}

const date = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

/** Reads a key by id; undefined when there is none. */
export function getKey(db: Database, region: string, accountId: string, keyId: string): KeyRecord | undefined {
  const row = db.prepare('SELECT * FROM keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
  if (!row) return undefined;
  return {
    keyId: row.key_id,
    arn: keyArn(region, accountId, row.key_id),
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
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;

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
    const row = db.prepare('SELECT key_id FROM aliases WHERE alias_name = ?').get(ref) as { key_id: string } | undefined;
    if (!row) throw new LocalKmsError('NotFoundException', `Alias '${ref}' is not found`);
    ref = row.key_id;
  } else if (!UUID.test(ref)) {
    throw new LocalKmsError('NotFoundException', `Invalid keyId '${keyId}'`);
  }
  const key = getKey(db, region, accountId, ref);
  if (!key) throw new LocalKmsError('NotFoundException', `Key '${keyArn(region, accountId, ref)}' does not exist`);
  return key;
}

/** Throws unless the key may be used for cryptography (AWS key-state table). */
export function requireUsable(key: KeyRecord): void {
  if (key.state === 'Enabled') return;
  if (key.state === 'Disabled') throw new LocalKmsError('DisabledException', `${key.arn} is disabled.`);
  throw new LocalKmsError('KMSInvalidStateException', `${key.arn} is ${key.state}.`);
}
