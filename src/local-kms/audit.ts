import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SqliteDatabase as Database } from './sqlite.js';

/**
 * The audit chain. Each row's `hash` is HMAC-SHA-256, under a key derived from the root key
 * (HKDF label "sealbox local-kms audit chain"), over the row's fields and the previous row's
 * `hash`; the meta row `audit_head` holds the last sequence number and a MAC of it with the
 * last row's `hash` (a different label, so no row MAC can serve as a head). Someone who can
 * write the database file but does not hold the root key cannot edit, insert, delete or
 * reorder rows, recompute the chain, or cut the tail back to a length whose head they never
 * saw, without `verifyAudit` failing. What it cannot detect: the root-key holder rewriting the
 * log; the file replaced by an older copy of itself, or cut back to an earlier head someone
 * kept (SQLite's WAL and free pages may keep old heads), unless a head was kept elsewhere and
 * is given as `anchor` (docs/local-kms.md).
 */

/** One audit log row as stored and exported. */
export interface AuditRecord {
  readonly seq: number;
  /** Milliseconds since the epoch (the injected clock). */
  readonly time: number;
  readonly operation: string;
  /** The caller's principal ARN. */
  readonly caller: string;
  readonly keyId: string | null;
  /** The request with blobs reduced to their length and secrets removed, as JSON text. */
  readonly request: string;
  /** The error name, or null on success. */
  readonly error: string | null;
  /** The previous row's `hash` (64 zeros for the first row). */
  readonly prevHash: string;
  /** HMAC-SHA-256 of this row and `prevHash` under the audit key (hex). */
  readonly hash: string;
}

/**
 * Why a chain does not verify:
 * - `missing-row`: a sequence number is missing or out of order (deleted, inserted, reordered);
 * - `unlinked`: a row's `prevHash` is not the previous row's hash;
 * - `modified`: a row's MAC does not match its contents (edited, or recomputed without the key);
 * - `unkeyed`: a row carries the old unkeyed SHA-256 hash (a store written before the chain was
 *   keyed and not yet upgraded with `upgradeAudit()`, or a log rewritten by someone without the key);
 * - `head`: the head is missing or does not match the last row (rows cut from the end);
 * - `anchor`: the log does not contain the head given as `anchor` (cut back or replaced).
 */
export type AuditProblem = 'missing-row' | 'unlinked' | 'modified' | 'unkeyed' | 'head' | 'anchor';

/** What {@link verifyAudit} found. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Rows checked. */
  readonly rows: number;
  /** The first row (seq) that does not verify, when not ok. */
  readonly firstBadSeq?: number;
  /** What is wrong, when not ok. */
  readonly problem?: AuditProblem;
  readonly reason?: string;
}

const GENESIS = '0'.repeat(64);
/** The HKDF purpose of the audit MAC key (see `Sealer.subkey`). */
export const AUDIT_KEY_PURPOSE = 'audit chain';

type RowFields = Omit<AuditRecord, 'hash'>;

function fields(r: RowFields): unknown[] {
  return [r.seq, r.time, r.operation, r.caller, r.keyId, r.request, r.error, r.prevHash];
}

/** The keyed row MAC. The label keeps it apart from head MACs and from the unkeyed hash. */
function rowMac(key: Uint8Array, r: RowFields): string {
  return createHmac('sha256', key).update(JSON.stringify(['sealbox audit row v2', ...fields(r)])).digest('hex');
}

/** The head MAC: binds the last sequence number to the last row's MAC. */
function headMac(key: Uint8Array, seq: number, hash: string): string {
  return createHmac('sha256', key).update(JSON.stringify(['sealbox audit head v2', seq, hash])).digest('hex');
}

/** MACs compared in constant time (as text: both sides are hex, or the stored side is garbage). */
function timingSafeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The unkeyed SHA-256 row hash of stores written before the chain was keyed (verified only to upgrade). */
function legacyRowHash(r: RowFields): string {
  return createHash('sha256').update(JSON.stringify(fields(r))).digest('hex');
}

/**
 * Reduces a request to what may be logged: byte strings become `{ "bytes": n }`, members named
 * in `sensitive` become `"[redacted]"`. Plaintext, key material and secrets never reach the log.
 */
export function sanitizeRequest(input: unknown, sensitive: readonly string[] = []): string {
  // Grant tokens name a grant and carry the secret that proves it was issued here: never logged.
  sensitive = [...sensitive, 'GrantTokens', 'GrantToken'];
  const clean = (value: unknown, depth: number): unknown => {
    if (value instanceof Uint8Array) return { bytes: value.length };
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return depth > 4 ? '[...]' : value.map((v) => clean(v, depth + 1));
    if (value !== null && typeof value === 'object') {
      if (depth > 4) return '[...]';
      // Null prototype: a context key named `__proto__` is logged like any other key.
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of Object.entries(value)) out[k] = sensitive.includes(k) ? '[redacted]' : clean(v, depth + 1);
      return out;
    }
    return value;
  };
  return JSON.stringify(clean(input ?? {}, 0));
}

/** What one audit row records (the chain fields are added by {@link appendAudit}). */
export interface AuditEntry { time: number; operation: string; caller: string; keyId: string | null; request: string; error: string | null }

function setHead(db: Database, key: Uint8Array, seq: number, hash: string): void {
  db.prepare("INSERT INTO meta (name, value) VALUES ('audit_head', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(`${seq}:${headMac(key, seq, hash)}`);
}

/**
 * Appends one row, MAC-chained to the previous one, and moves the head, but only from a head
 * that names the row before it: once rows were cut from the end, or the head deleted or
 * altered, the head stays as it is, so {@link verifyAudit} keeps failing (`head`) instead of the
 * next operation's row making the cut log whole again. Call inside the operation's transaction.
 */
export function appendAudit(db: Database, key: Uint8Array, entry: AuditEntry): void {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS;
  const hash = rowMac(key, { seq, prevHash, ...entry });
  const headWasLast = headNamesLastRow(db, key, last);
  db.prepare('INSERT INTO audit (seq, time, operation, caller, key_id, request, error, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    seq, entry.time, entry.operation, entry.caller, entry.keyId, entry.request, entry.error, prevHash, hash,
  );
  if (headWasLast) setHead(db, key, seq, hash);
}

/**
 * Whether the stored head names the last row `last` (no head for an empty log): its keyed MAC,
 * or the unkeyed head `<seq>:<hash>` of a store written before the chain was keyed, accepted
 * only while that last row carries the unkeyed hash itself.
 */
function headNamesLastRow(db: Database, key: Uint8Array, last: { seq: number; hash: string } | undefined): boolean {
  const head = readHead(db);
  if (last === undefined) return head === undefined;
  const parsed = parseHead(head);
  if (parsed === undefined) return false;
  if (parsed.seq === last.seq && timingSafeEqualHex(headMac(key, last.seq, last.hash), parsed.mac)) return true;
  if (head !== `${last.seq}:${last.hash}`) return false;
  const row = db.prepare('SELECT * FROM audit WHERE seq = ?').get(last.seq) as AuditRow;
  return legacyRowHash(toRecord(row)) === row.hash;
}

interface AuditRow { seq: number; time: number; operation: string; caller: string; key_id: string | null; request: string; error: string | null; prev_hash: string; hash: string }

function toRecord(r: AuditRow): AuditRecord {
  return { seq: r.seq, time: r.time, operation: r.operation, caller: r.caller, keyId: r.key_id, request: r.request, error: r.error, prevHash: r.prev_hash, hash: r.hash };
}

/** Reads rows in order (optionally only the last `limit`). */
export function readAudit(db: Database, options: { limit?: number } = {}): AuditRecord[] {
  const rows = options.limit
    ? (db.prepare('SELECT * FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(options.limit) as AuditRow[])
    : (db.prepare('SELECT * FROM audit ORDER BY seq').all() as AuditRow[]);
  return rows.map(toRecord);
}

function readHead(db: Database): string | undefined {
  return (db.prepare("SELECT value FROM meta WHERE name = 'audit_head'").get() as { value: string } | undefined)?.value;
}

/** A head as `<seq>:<64 hex>`, or undefined when it is not one. */
function parseHead(text: string | undefined): { seq: number; mac: string } | undefined {
  const m = text === undefined ? null : /^(\d{1,15}):([0-9a-f]{64})$/.exec(text);
  return m ? { seq: Number(m[1]), mac: m[2]! } : undefined;
}

/**
 * Walks the chain in order. `legacy` allows a prefix of rows with the old unkeyed hash (only
 * `upgradeAudit` asks for that); returns the verification, the number of such rows, and the
 * last row's hash.
 */
function walk(db: Database, key: Uint8Array, options: { legacy?: boolean; anchor?: { seq: number; mac: string } } = {}): { result: AuditVerification; legacyRows: number } {
  let prevHash = GENESIS;
  let expected = 1;
  let rows = 0;
  let legacyRows = 0;
  let anchored = false;
  const fail = (seq: number, problem: AuditProblem, reason: string): { result: AuditVerification; legacyRows: number } => ({ result: { ok: false, rows, firstBadSeq: seq, problem, reason }, legacyRows });
  for (const raw of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
    const r = toRecord(raw);
    rows++;
    if (r.seq !== expected) return fail(expected, 'missing-row', `row ${expected} is missing or out of order`);
    if (r.prevHash !== prevHash) return fail(r.seq, 'unlinked', `row ${r.seq} does not link to the row before it`);
    if (!timingSafeEqualHex(rowMac(key, r), r.hash)) {
      const legacy = legacyRowHash(r) === r.hash;
      if (legacy && options.legacy && legacyRows === r.seq - 1) {
        legacyRows++;
      } else if (legacy) {
        return fail(r.seq, 'unkeyed', `row ${r.seq} carries the old unkeyed hash: a log written before the chain was keyed (run \`sealbox audit upgrade\` once) or rewritten by someone without the root key`);
      } else {
        return fail(r.seq, 'modified', `row ${r.seq} was modified`);
      }
    }
    if (options.anchor && r.seq === options.anchor.seq) {
      if (!timingSafeEqualHex(headMac(key, r.seq, r.hash), options.anchor.mac)) return fail(r.seq, 'anchor', `row ${r.seq} is not the row the anchored head names: the log was replaced`);
      anchored = true;
    }
    prevHash = r.hash;
    expected++;
  }
  const last = expected - 1;
  if (options.anchor && !anchored) return fail(last + 1, 'anchor', `the log ends at row ${last}, before the anchored head (row ${options.anchor.seq}): rows were removed or an older copy restored`);
  const head = readHead(db);
  const parsed = parseHead(head);
  if (last === 0) return head === undefined ? { result: { ok: true, rows }, legacyRows } : fail(1, 'head', `the log is empty but has a head${parsed ? ` naming row ${parsed.seq}` : ''}: its rows were removed`);
  if (head === undefined) return fail(last + 1, 'head', `the head record is missing: rows after ${last} may have been removed`);
  const headOk = legacyRows === last
    ? head === `${last}:${prevHash}` // a log with no keyed row yet still has its unkeyed head
    : parsed !== undefined && parsed.seq === last && timingSafeEqualHex(headMac(key, last, prevHash), parsed.mac);
  if (!headOk) {
    // A head left behind by appendAudit names the row that was last when the log was cut.
    const names = parsed !== undefined && parsed.seq !== last ? `the head names row ${parsed.seq}, not the last row ${last}: rows were removed from the end (any rows after them were written since)` : `the head does not match row ${last}: rows after ${last} were removed`;
    return fail(last + 1, 'head', `${names} or the head was altered`);
  }
  return { result: { ok: true, rows }, legacyRows };
}

/**
 * Checks the chain: every row's MAC, its link to the previous row, consecutive sequence
 * numbers from 1, and the head (required once rows exist). With `anchor` (a head printed
 * earlier by {@link auditHead}), also checks that the log still contains that head.
 * Names the first row that fails and what is wrong.
 */
export function verifyAudit(db: Database, key: Uint8Array, options: { anchor?: string } = {}): AuditVerification {
  let anchor: { seq: number; mac: string } | undefined;
  if (options.anchor !== undefined) {
    anchor = parseHead(options.anchor);
    if (anchor === undefined || anchor.seq === 0) throw new RangeError('"anchor" expected a head as printed by `sealbox audit head` (<seq>:<64 hex digits>)');
  }
  // One read transaction: the rows and the head from the same snapshot. Read with a statement
  // each, a row appended by another process between the walk and the head made a whole log
  // look cut ('head'), and `sealbox audit verify` report tampering on a store in use.
  return snapshot(db, () => walk(db, key, { anchor }).result);
}

/** Runs `read` in one read transaction (BEGIN DEFERRED): every statement sees the same state of the store. */
function snapshot<T>(db: Database, read: () => T): T {
  return db.transaction(read)();
}

/**
 * The current head, `<seq>:<MAC>`, to keep somewhere the database's writers cannot reach
 * (a ticket, another machine): given later as `anchor`, it detects the log being cut back or
 * replaced by an older copy. Undefined while the log is empty.
 */
export function auditHead(db: Database): string | undefined {
  return snapshot(db, () => {
    const last = db.prepare('SELECT seq FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number } | undefined;
    return last ? readHead(db) : undefined;
  });
}

/**
 * Keys the rows of a store written before the chain was keyed: checks the old unkeyed chain
 * (and any keyed rows appended since), then rewrites every row's hash as a MAC and writes a
 * keyed head, in one transaction. Refuses (returns the failed verification, changing nothing)
 * when the old chain does not verify. It vouches for the old rows as they are now: run it
 * once, right after upgrading, on a store nobody else could write. Returns how many rows were
 * unkeyed (0: nothing to do).
 */
export function upgradeAudit(db: Database, key: Uint8Array): { verification: AuditVerification; upgraded: number } {
  return db.transaction(() => {
    const { result, legacyRows } = walk(db, key, { legacy: true });
    if (!result.ok || legacyRows === 0) return { verification: result, upgraded: 0 };
    const rewrite = db.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?');
    let prevHash = GENESIS;
    let last = 0;
    for (const r of readAudit(db)) {
      const hash = rowMac(key, { ...r, prevHash });
      rewrite.run(prevHash, hash, r.seq);
      prevHash = hash;
      last = r.seq;
    }
    setHead(db, key, last, prevHash);
    return { verification: walk(db, key).result, upgraded: legacyRows };
  }).immediate();
}

/** The log as JSON lines, oldest first. */
export function exportAudit(db: Database): string {
  const records = readAudit(db);
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}
