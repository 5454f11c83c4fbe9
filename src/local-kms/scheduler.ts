import type { SqliteDatabase as Database } from './sqlite.js';
import type { OperationContext } from './operation.js';
import { appendAudit } from './audit.js';
import { addRotation } from './ops-lifecycle.js';
import { getKeyByStorageId } from './key-store.js';
import { LocalKmsError } from './errors.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * Automatic rotations one key may have due at once: more than a thousand years of the shortest
 * period (90 days). Only a forged or damaged row asks for more; done anyway, such a row (a due
 * date in the year -270000) made one call add a million key versions.
 */
const MAX_DUE_ROTATIONS = 4096;

/**
 * A row the scheduler cannot act on: written by something other than this store (someone with
 * write access to the database file, or damage). Every operation fails with it until the row is
 * repaired or removed, rather than looping on it or acting on values no operation could store.
 */
function damaged(keyId: unknown, what: string): LocalKmsError {
  const name = typeof keyId === 'string' ? JSON.stringify(keyId.slice(0, 80)) : 'without a key id';
  return new LocalKmsError('KMSInternalException', `The key store is damaged: the key row ${name} has ${what}; repair or remove the row`, 'server');
}

interface DueDeletion { key_id: string; mrk_id: string | null; deletion_date: number }

/** The three conditions below, each served by a partial index (core migration 2). */
const ANY_DUE = `SELECT
  EXISTS (SELECT 1 FROM keys WHERE state = 'PendingDeletion' AND deletion_date <= @t)
  OR EXISTS (SELECT 1 FROM keys WHERE rotation_enabled = 1 AND state = 'Enabled' AND next_rotation_at <= @t)
  OR EXISTS (SELECT 1 FROM keys WHERE origin = 'EXTERNAL' AND valid_to IS NOT NULL AND state IN ('Enabled', 'Disabled') AND valid_to <= @t)
  AS due`;

/**
 * Work that falls due with time, done at the start of every operation's transaction (so the
 * injected clock drives it and nothing runs in the background):
 * - keys whose deletion window has passed are deleted with their material, aliases and tags
 *   (a multi-Region primary's own window, once its last replica is deleted, counts from when
 *   that replica's deletion fell due);
 * - keys with automatic rotation due get a new version for every period that has passed, each
 *   recorded as of its due date, and the next rotation is one period after the last of them;
 * - imported material past its ValidTo is deleted and the key goes to PendingImport.
 * Each event gets its own audit row.
 *
 * One indexed query first asks whether anything is due at all (almost never), so the common
 * call costs a single index probe; `context` is only built when there is work. Returns whether
 * anything was due.
 */
export function runDueWork(db: Database, now: Date, auditKey: Uint8Array, accountId: string, context: () => OperationContext): boolean {
  const t = now.getTime();
  if ((db.prepare(ANY_DUE).get({ t }) as { due: number }).due === 0) return false;
  const ctx = context();
  const audit = (operation: string, keyId: string, detail: Record<string, unknown>): void =>
    appendAudit(db, auditKey, { time: t, operation, caller: ctx.caller.principal, keyId, request: JSON.stringify(detail), error: null });

  // One due deletion at a time, earliest first: deleting a primary's last replica can put the
  // primary in PendingDeletion with a date that has itself already passed.
  const nextDeletion = db.prepare("SELECT key_id, mrk_id, deletion_date FROM keys WHERE state = 'PendingDeletion' AND deletion_date <= ? ORDER BY deletion_date, key_id LIMIT 1");
  for (let due = nextDeletion.get(t) as DueDeletion | undefined; due !== undefined; due = nextDeletion.get(t) as DueDeletion | undefined) {
    const { key_id, mrk_id: mrkId, deletion_date: deletedAt } = due;
    // A row the DELETE does not remove (a NULL key id) would be found again forever.
    if (db.prepare('DELETE FROM keys WHERE key_id = ?').run(key_id).changes !== 1) throw damaged(key_id, 'a deletion date that has passed but cannot be deleted');
    // Grants name the row, and a multi-Region replica's row id comes back if the key is
    // replicated into its region again: a new replica must not inherit the old one's grants.
    db.prepare('DELETE FROM grants WHERE key_id = ?').run(key_id);
    audit('DeleteKey', key_id, { reason: 'deletion window passed', due: new Date(deletedAt).toISOString() });
    // A primary waiting for its replicas (PendingReplicaDeletion) starts its own waiting period
    // when the last of them is deleted (AWS KMS API Reference, ScheduleKeyDeletion): when that
    // deletion fell due, not when the store is next used.
    if (mrkId !== null && (db.prepare("SELECT count(*) AS n FROM keys WHERE mrk_id = ? AND mrk_role = 'REPLICA'").get(mrkId) as { n: number }).n === 0) {
      db.prepare("UPDATE keys SET state = 'PendingDeletion', deletion_date = ? + pending_window_days * ? WHERE mrk_id = ? AND state = 'PendingReplicaDeletion'").run(deletedAt, DAY, mrkId);
    }
  }
  // Every rotation that fell due is done, each dated when it fell due, and the next is counted
  // from that date: the schedule does not drift with the calls, and no period is skipped.
  for (const row of db.prepare("SELECT key_id, rotation_period_days, next_rotation_at FROM keys WHERE rotation_enabled = 1 AND next_rotation_at <= ? AND state = 'Enabled'").all(t) as { key_id: string; rotation_period_days: number; next_rotation_at: number }[]) {
    // Values EnableKeyRotation stores: a period of 0 (or less) never ended this loop.
    const period = row.rotation_period_days;
    if (!Number.isInteger(period) || period < 90 || period > 2560) throw damaged(row.key_id, 'a rotation period that is not 90-2560 days');
    if (!Number.isSafeInteger(row.next_rotation_at) || (t - row.next_rotation_at) / (period * DAY) >= MAX_DUE_ROTATIONS) throw damaged(row.key_id, `a next rotation date that is not a date, or more than ${MAX_DUE_ROTATIONS} rotation periods ago`);
    const key = getKeyByStorageId(db, accountId, row.key_id);
    if (key === undefined) throw damaged(row.key_id, 'automatic rotation due but no key id');
    let dueAt = row.next_rotation_at;
    for (; dueAt <= t; dueAt += period * DAY) {
      const version = addRotation(ctx, key, 'AUTOMATIC', new Date(dueAt));
      audit('RotateKey', row.key_id, { rotationType: 'AUTOMATIC', version, due: new Date(dueAt).toISOString() });
    }
    db.prepare('UPDATE keys SET next_rotation_at = ? WHERE key_id = ?').run(dueAt, row.key_id);
  }
  for (const { key_id } of db.prepare("SELECT key_id FROM keys WHERE origin = 'EXTERNAL' AND valid_to IS NOT NULL AND valid_to <= ? AND state IN ('Enabled', 'Disabled')").all(t) as { key_id: string }[]) {
    ctx.deleteMaterial(key_id);
    if (db.prepare("UPDATE keys SET state = 'PendingImport', valid_to = NULL WHERE key_id = ?").run(key_id).changes !== 1) throw damaged(key_id, 'imported material past its ValidTo but no key id');
    audit('ExpireImportedKeyMaterial', key_id, { reason: 'ValidTo passed' });
  }
  return true;
}
