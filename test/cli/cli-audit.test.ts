import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('sealbox audit head / verify --anchor / upgrade', () => {
  it('a head kept elsewhere catches the tail cut back; a forged head does not pass', () => {
    const home = tmp('audit-anchor');
    sealbox(home, ['random', '8']);
    sealbox(home, ['random', '8']);
    const head = sealbox(home, ['audit', 'head']);
    expect(head.code).toBe(0);
    const anchor = head.stdout.toString().trim();
    expect(anchor).toMatch(/^2:[0-9a-f]{64}$/);
    sealbox(home, ['random', '8']);
    expect(sealbox(home, ['audit', 'verify', '--anchor', anchor]).code).toBe(0);
    const db = new Database(join(home, 'kms.sqlite'));
    db.prepare('DELETE FROM audit WHERE seq >= 2').run();
    const row1 = db.prepare('SELECT hash FROM audit WHERE seq = 1').get() as { hash: string };
    db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(`1:${row1.hash}`);
    db.close();
    const cut = sealbox(home, ['audit', 'verify']);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('ERR_AUDIT_TAMPERED');
    const json = sealbox(home, ['--json', 'audit', 'verify', '--anchor', anchor]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout.toString())).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('--anchor that is not a head is a usage error before the key store is created', () => {
    const home = join(tmp('audit-bad-anchor'), 'home');
    const r = sealbox(home, ['audit', 'verify', '--anchor', 'nonsense']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_USAGE');
    expect(existsSync(home)).toBe(false);
  });

  it('a store with the old unkeyed chain fails verify until `audit upgrade`', () => {
    const home = tmp('audit-upgrade');
    sealbox(home, ['random', '8']);
    sealbox(home, ['random', '16']);
    // Rewrite the log as Sealbox 0.1 wrote it: unkeyed SHA-256 chain and head.
    const db = new Database(join(home, 'kms.sqlite'));
    let prev = '0'.repeat(64);
    let last = 0;
    for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').all() as { seq: number; time: number; operation: string; caller: string; key_id: string | null; request: string; error: string | null }[]) {
      const hash = createHash('sha256').update(JSON.stringify([r.seq, r.time, r.operation, r.caller, r.key_id, r.request, r.error, prev])).digest('hex');
      db.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
      last = r.seq;
    }
    db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(`${last}:${prev}`);
    db.close();
    const before = sealbox(home, ['audit', 'verify']);
    expect(before.code).toBe(2);
    expect(before.stderr).toContain('audit upgrade');
    const up = sealbox(home, ['audit', 'upgrade']);
    expect(up.code).toBe(0);
    expect(up.stdout.toString()).toContain('2 old rows upgraded');
    expect(sealbox(home, ['audit', 'verify']).code).toBe(0);
    expect(sealbox(home, ['audit', 'upgrade']).stdout.toString()).toContain('already keyed');
  });
});
