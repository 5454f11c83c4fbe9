import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/index.js';
import { ROOT_KEY } from './helpers.js';

// The attacker here can read and write kms.sqlite (and knows the algorithm) but does not hold
// the root key. Every test closes the KMS, forges with better-sqlite3 directly, reopens, verifies.

const tmp = mkdtempSync(join(tmpdir(), 'sealbox-audit-forgery-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

async function storeWithRows(rows: number, first = 1): Promise<string> {
  const dir = join(tmp, `s${n++}`);
  const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
  for (let i = 0; i < rows; i++) await kms.generateRandom({ NumberOfBytes: first + i });
  kms.close();
  return dir;
}

function verify(dir: string, options: { anchor?: string } = {}) {
  const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
  try {
    return kms.verifyAudit(options);
  } finally {
    kms.close();
  }
}

function forge(dir: string, edit: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'kms.sqlite'));
  try {
    db.transaction(() => edit(db))();
  } finally {
    db.close();
  }
}

interface Row { seq: number; time: number; operation: string; caller: string; key_id: string | null; request: string; error: string | null; prev_hash: string; hash: string }
const fieldsOf = (r: Row, prev: string): unknown[] => [r.seq, r.time, r.operation, r.caller, r.key_id, r.request, r.error, prev];

/** The old unkeyed chain (Sealbox 0.1): SHA-256 of the row, head `<seq>:<hash>`. */
const unkeyed = {
  row: (r: Row, prev: string) => createHash('sha256').update(JSON.stringify(fieldsOf(r, prev))).digest('hex'),
  head: (seq: number, hash: string) => `${seq}:${hash}`,
};

/** The keyed construction under a key the forger made up (they cannot derive the real one). */
function keyedWith(rootKey: Uint8Array) {
  const key = Buffer.from(hkdfSync('sha256', rootKey, new Uint8Array(0), 'sealbox local-kms audit chain', 32));
  return {
    row: (r: Row, prev: string) => createHmac('sha256', key).update(JSON.stringify(['sealbox audit row v2', ...fieldsOf(r, prev)])).digest('hex'),
    head: (seq: number, hash: string) => `${seq}:${createHmac('sha256', key).update(JSON.stringify(['sealbox audit head v2', seq, hash])).digest('hex')}`,
  };
}
const wrongKey = keyedWith(new Uint8Array(32).fill(1));

/** Renumbers rows 1..n in their current order, recomputes every link and hash from `from`, and writes a matching head. */
function recompute(db: Database.Database, chain: typeof unkeyed, from = 1): void {
  const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[];
  db.prepare('UPDATE audit SET seq = -seq').run();
  let prev = '0'.repeat(64);
  rows.forEach((r, i) => {
    const seq = i + 1;
    const row = { ...r, seq };
    const hash = seq >= from ? chain.row(row, prev) : r.hash;
    db.prepare('UPDATE audit SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(seq, seq >= from ? prev : r.prev_hash, hash, -r.seq);
    prev = hash;
  });
  db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(chain.head(rows.length, prev));
}

describe('audit chain against a forger with write access to kms.sqlite', () => {
  it('an untouched store verifies', async () => {
    expect(verify(await storeWithRows(5))).toEqual({ ok: true, rows: 5 });
  });

  it('edit a row and recompute the chain the old unkeyed way: fails at that row, "unkeyed"', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare("UPDATE audit SET caller = 'arn:aws:iam::111122223333:user/someone-else' WHERE seq = 3").run();
      recompute(db, unkeyed, 3);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'unkeyed' });
  });

  it('edit a row and recompute the whole chain unkeyed: fails at row 1', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare("UPDATE audit SET error = 'AccessDeniedException' WHERE seq = 4").run();
      recompute(db, unkeyed);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 1, problem: 'unkeyed' });
  });

  it('edit a row and recompute the keyed chain under a wrong key (rows and head): fails at that row', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare("UPDATE audit SET request = '{}' WHERE seq = 3").run();
      recompute(db, wrongKey, 3);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'modified' });
  });

  it('delete a row in the middle, renumber and recompute (wrong key): fails there', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq = 2').run();
      recompute(db, wrongKey, 2);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'modified' });
  });

  it('delete a row in the middle, renumber, keep the old MACs: fails there', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq = 2').run();
      for (const seq of [3, 4, 5]) db.prepare('UPDATE audit SET seq = ? WHERE seq = ?').run(seq - 1, seq);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('delete the tail and point the head at the new last row (copying its MAC): fails, "head"', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq > 3').run();
      const row3 = db.prepare('SELECT hash FROM audit WHERE seq = 3').get() as { hash: string };
      db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(`3:${row3.hash}`);
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'head' });
  });

  it('delete the tail and forge a head (wrong key, or unkeyed): fails, "head"', async () => {
    for (const chain of [wrongKey, unkeyed]) {
      const dir = await storeWithRows(5);
      forge(dir, (db) => {
        db.prepare('DELETE FROM audit WHERE seq > 2').run();
        const row2 = db.prepare('SELECT hash FROM audit WHERE seq = 2').get() as { hash: string };
        db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(chain.head(2, row2.hash));
      });
      expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'head' });
    }
  });

  it('delete the tail and leave the head: fails, "head"', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => db.prepare('DELETE FROM audit WHERE seq = 5').run());
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 5, problem: 'head' });
  });

  it('delete the head record: fails, "head" (a missing head is a failure once rows exist)', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => db.prepare("DELETE FROM meta WHERE name = 'audit_head'").run());
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 6, problem: 'head' });
  });

  it('delete the tail and the head record: fails, "head"', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq > 1').run();
      db.prepare("DELETE FROM meta WHERE name = 'audit_head'").run();
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'head' });
  });

  it('cut the tail, the head or every row, then let the store be used: still fails, "head" (the next rows do not make it whole)', async () => {
    const cuts: Record<string, (db: Database.Database) => void> = {
      'the tail': (db) => db.prepare('DELETE FROM audit WHERE seq > 3').run(),
      'the tail and the head': (db) => {
        db.prepare('DELETE FROM audit WHERE seq > 3').run();
        db.prepare("DELETE FROM meta WHERE name = 'audit_head'").run();
      },
      'the head': (db) => db.prepare("DELETE FROM meta WHERE name = 'audit_head'").run(),
      'every row': (db) => db.prepare('DELETE FROM audit').run(),
    };
    for (const [cut, edit] of Object.entries(cuts)) {
      const dir = await storeWithRows(5);
      forge(dir, edit);
      // The victim goes on using the store: each call appends a row and (before) a fresh head.
      const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
      await kms.generateRandom({ NumberOfBytes: 1 });
      await kms.generateRandom({ NumberOfBytes: 2 });
      kms.close();
      expect(verify(dir), cut).toMatchObject({ ok: false, problem: 'head' });
    }
  });

  it('a head left behind by a cut says which row it names', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => db.prepare('DELETE FROM audit WHERE seq > 3').run());
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    await kms.generateRandom({ NumberOfBytes: 1 });
    kms.close();
    expect(verify(dir)).toMatchObject({ ok: false, rows: 4, firstBadSeq: 5, problem: 'head', reason: expect.stringContaining('the head names row 5, not the last row 4') });
  });

  it('reorder two rows, keeping their MACs or recomputing under a wrong key: fails at the first', async () => {
    for (const chain of [undefined, wrongKey]) {
      const dir = await storeWithRows(5);
      forge(dir, (db) => {
        db.prepare('UPDATE audit SET seq = 100 WHERE seq = 2').run();
        db.prepare('UPDATE audit SET seq = 2 WHERE seq = 3').run();
        db.prepare('UPDATE audit SET seq = 3 WHERE seq = 100').run();
        if (chain) recompute(db, chain, 2);
      });
      expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 2 });
    }
  });

  it('insert a row (at the end with a forged head, or a copy of a real row): fails at it', async () => {
    const dir = await storeWithRows(5);
    forge(dir, (db) => {
      const last = db.prepare('SELECT * FROM audit WHERE seq = 5').get() as Row;
      const fake = { ...last, seq: 6, operation: 'Decrypt', prev_hash: last.hash };
      const hash = wrongKey.row(fake, last.hash);
      db.prepare('INSERT INTO audit (seq, time, operation, caller, key_id, request, error, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(6, fake.time, fake.operation, fake.caller, fake.key_id, fake.request, fake.error, last.hash, hash);
      db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(wrongKey.head(6, hash));
    });
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 6, problem: 'modified' });

    const dir2 = await storeWithRows(5);
    forge(dir2, (db) => {
      // A genuine row replayed as row 6 (its MAC is real, but it binds seq 2 and row 1's hash).
      const r2 = db.prepare('SELECT * FROM audit WHERE seq = 2').get() as Row;
      const r5 = db.prepare('SELECT hash FROM audit WHERE seq = 5').get() as { hash: string };
      db.prepare('INSERT INTO audit (seq, time, operation, caller, key_id, request, error, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(6, r2.time, r2.operation, r2.caller, r2.key_id, r2.request, r2.error, r5.hash, r2.hash);
    });
    expect(verify(dir2)).toMatchObject({ ok: false, firstBadSeq: 6, problem: 'modified' });
  });
});

describe('anchored heads', () => {
  it('auditHead() kept elsewhere detects the file replaced by an older copy of itself', async () => {
    const dir = join(tmp, 'anchor');
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    expect(kms.auditHead()).toBeUndefined();
    for (let i = 0; i < 3; i++) await kms.generateRandom({ NumberOfBytes: 8 });
    const early = kms.auditHead()!;
    expect(early).toMatch(/^3:[0-9a-f]{64}$/);
    kms.close();
    // The forger keeps a copy of the store as it is now (checkpointed: one file).
    const old = join(tmp, 'anchor-old.sqlite');
    copyFileSync(join(dir, 'kms.sqlite'), old);
    expect(existsSync(join(dir, 'kms.sqlite-wal'))).toBe(false);
    const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    for (let i = 0; i < 2; i++) await again.generateRandom({ NumberOfBytes: 8 });
    const late = again.auditHead()!;
    expect(again.verifyAudit({ anchor: early })).toEqual({ ok: true, rows: 5 });
    expect(again.verifyAudit({ anchor: late })).toEqual({ ok: true, rows: 5 });
    expect(() => again.verifyAudit({ anchor: 'not a head' })).toThrow(RangeError);
    again.close();
    copyFileSync(old, join(dir, 'kms.sqlite'));
    // The rollback is consistent in itself: only the anchor can tell.
    expect(verify(dir)).toEqual({ ok: true, rows: 3 });
    expect(verify(dir, { anchor: late })).toMatchObject({ ok: false, firstBadSeq: 4, problem: 'anchor' });
    expect(verify(dir, { anchor: early })).toEqual({ ok: true, rows: 3 });
  });

  it('an anchor from another log (or another root key) does not verify', async () => {
    const a = await storeWithRows(3);
    const b = await storeWithRows(3, 10);
    const kms = LocalKms.open({ dataDir: a, rootKey: ROOT_KEY });
    const head = kms.auditHead()!;
    kms.close();
    expect(verify(b, { anchor: head })).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'anchor' });
  });
});

describe('stores written before the chain was keyed', () => {
  /** What Sealbox 0.1 left on disk: every row hashed with the unkeyed chain, an unkeyed head. */
  async function legacyStore(rows: number): Promise<string> {
    const dir = await storeWithRows(rows);
    forge(dir, (db) => recompute(db, unkeyed));
    return dir;
  }

  it('verify names row 1 as unkeyed; upgradeAudit() keys the log once and it verifies', async () => {
    const dir = await legacyStore(4);
    expect(verify(dir)).toMatchObject({ ok: false, firstBadSeq: 1, problem: 'unkeyed' });
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    // Rows appended by this version link to the unkeyed ones until the upgrade.
    await kms.generateRandom({ NumberOfBytes: 4 });
    const requests = kms.readAudit().map((r) => r.request);
    expect(kms.upgradeAudit()).toEqual({ verification: { ok: true, rows: 5 }, upgraded: 4 });
    expect(kms.readAudit().map((r) => r.request)).toEqual(requests);
    expect(kms.upgradeAudit()).toEqual({ verification: { ok: true, rows: 5 }, upgraded: 0 });
    kms.close();
    expect(verify(dir)).toEqual({ ok: true, rows: 5 });
  });

  it('upgradeAudit() refuses an old log that does not verify, changing nothing', async () => {
    for (const tamper of ['edit', 'cut'] as const) {
      const dir = await legacyStore(4);
      forge(dir, (db) => db.prepare(tamper === 'edit' ? "UPDATE audit SET request = '{}' WHERE seq = 2" : 'DELETE FROM audit WHERE seq = 4').run());
      const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
      const before = kms.readAudit();
      const { verification, upgraded } = kms.upgradeAudit();
      expect(upgraded, tamper).toBe(0);
      expect(verification, tamper).toMatchObject({ ok: false, firstBadSeq: tamper === 'edit' ? 2 : 4, problem: tamper === 'edit' ? 'modified' : 'head' });
      expect(kms.readAudit(), tamper).toEqual(before);
      kms.close();
    }
  });
});
