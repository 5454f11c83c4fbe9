import { createHash } from 'node:crypto';
import type { SqliteDatabase as Database } from './sqlite.js';

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
  readonly prevHash: string;
  readonly hash: string;
}

/** What {@link verifyAudit} found. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Rows checked. */
  readonly rows: number;
  /** The first row (seq) that does not verify, when not ok. */
  readonly firstBadSeq?: number;
  readonly reason?: string;
}

const GENESIS = '0'.repeat(64);

function rowHash(r: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256')
    .update(JSON.stringify([r.seq, r.time, r.operation, r.caller, r.keyId, r.request, r.error, r.prevHash]))
    .digest('hex');
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

/** Appends one row, chained to the previous one. Call inside the operation's transaction. */
export function appendAudit(db: Database, entry: { time: number; operation: string; caller: string; keyId: string | null; request: string; error: string | null }): void {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS;
  const hash = rowHash({ seq, prevHash, ...entry });
  db.prepare('INSERT INTO audit (seq, time, operation, caller, key_id, request, error, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    seq, entry.time, entry.operation, entry.caller, entry.keyId, entry.request, entry.error, prevHash, hash,
  );
  // The head lets verification notice rows deleted from the end of the chain.
  db.prepare("INSERT INTO meta (name, value) VALUES ('audit_head', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(`${seq}:${hash}`);
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

/**
 * Recomputes the chain: every row's hash, its link to the previous row, consecutive sequence
 * numbers from 1, and the recorded head. Names the first row that fails.
 */
export function verifyAudit(db: Database): AuditVerification {
  let prevHash = GENESIS;
  let expected = 1;
  let rows = 0;
  for (const raw of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
    const r = toRecord(raw);
    rows++;
    if (r.seq !== expected) return { ok: false, rows, firstBadSeq: expected, reason: `row ${expected} is missing or out of order` };
    if (r.prevHash !== prevHash) return { ok: false, rows, firstBadSeq: r.seq, reason: `row ${r.seq} does not link to the row before it` };
    if (rowHash(r) !== r.hash) return { ok: false, rows, firstBadSeq: r.seq, reason: `row ${r.seq} was modified` };
    prevHash = r.hash;
    expected++;
  }
  const head = (db.prepare("SELECT value FROM meta WHERE name = 'audit_head'").get() as { value: string } | undefined)?.value;
  const last = expected - 1;
  if (head !== undefined && head !== `${last}:${prevHash}`) {
    return { ok: false, rows, firstBadSeq: last + 1, reason: `rows after ${last} were removed` };
  }
  return { ok: true, rows };
}

/** The log as JSON lines, oldest first. */
export function exportAudit(db: Database): string {
  return readAudit(db).map((r) => JSON.stringify(r)).join('\n') + (rows(db) ? '\n' : '');
}

function rows(db: Database): number {
  return (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
}
