import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import Database from 'better-sqlite3';
import { LocalKms, defineOperation } from '../../src/local-kms/index.js';
import type { LocalKmsExtension } from '../../src/local-kms/index.js';
import { ROOT_KEY, errorName, freshKms } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-storage-'));
// Inside the repository so the child resolves packages from node_modules.
const writer = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `writer-${process.pid}.mjs`);

beforeAll(async () => {
  // The child runs plain JavaScript: bundle the fixture (dependencies stay external).
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'writer.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: writer, logLevel: 'silent' });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(writer, { force: true });
});

function runWriter(dir: string, count: number, onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<{ lines: string[]; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer], { env: { ...process.env, KMS_DIR: dir, KMS_COUNT: String(count) }, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line, child);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (code && code !== 0 ? reject(new Error(stderr)) : resolve({ lines, code, signal })));
  });
}

describe('storage', () => {
  it('creates the data directory, a 0600 root key file, and reopens with it', async () => {
    const dir = join(tmp, 'fresh');
    const kms = LocalKms.open({ dataDir: dir });
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const blob = (await kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1, 2, 3]) })).CiphertextBlob!;
    kms.close();
    expect(statSync(join(dir, 'root.key')).mode & 0o777).toBe(0o600);
    const again = LocalKms.open({ dataDir: dir });
    expect((await again.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
    again.close();
  });

  it('uses SEALBOX_HOME by default, SEALBOX_ROOT_KEY, and a passphrase; a wrong root key is refused', async () => {
    const dir = join(tmp, 'env');
    const saved = { home: process.env.SEALBOX_HOME, key: process.env.SEALBOX_ROOT_KEY };
    process.env.SEALBOX_HOME = dir;
    process.env.SEALBOX_ROOT_KEY = 'ab'.repeat(32);
    try {
      const kms = LocalKms.open();
      expect(kms.dataDir).toBe(dir);
      await kms.createKey({});
      kms.close();
      process.env.SEALBOX_ROOT_KEY = 'cd'.repeat(32);
      expect(() => LocalKms.open()).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
    } finally {
      process.env.SEALBOX_HOME = saved.home;
      process.env.SEALBOX_ROOT_KEY = saved.key;
      if (saved.home === undefined) delete process.env.SEALBOX_HOME;
      if (saved.key === undefined) delete process.env.SEALBOX_ROOT_KEY;
    }
    const pdir = join(tmp, 'pass');
    const p = LocalKms.open({ dataDir: pdir, passphrase: 'correct horse battery staple' });
    const id = (await p.createKey({})).KeyMetadata!.KeyId!;
    p.close();
    const p2 = LocalKms.open({ dataDir: pdir, passphrase: 'correct horse battery staple' });
    expect((await p2.describeKey({ KeyId: id })).KeyMetadata!.KeyId).toBe(id);
    p2.close();
    expect(() => LocalKms.open({ dataDir: pdir, passphrase: 'wrong' })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
  });

  it('never stores key material or data keys in the clear (searching the database bytes)', async () => {
    // An extension operation is the only way to see material: it is what a handler sees.
    const peek: LocalKmsExtension = {
      name: 'peek',
      operations: [defineOperation<{ KeyId: string }>('PeekMaterial', { KeyId: { type: 'string', required: true } }, (ctx, input) => ({ Material: ctx.material(ctx.resolveKey(input.KeyId, { allowAlias: false })) }))],
    };
    const { kms, dir, cleanup } = freshKms({ extensions: [peek] });
    const secrets: Uint8Array[] = [];
    for (const spec of ['SYMMETRIC_DEFAULT', 'HMAC_256', 'ECC_NIST_P256'] as const) {
      const id = (await kms.createKey({ KeySpec: spec, KeyUsage: spec === 'HMAC_256' ? 'GENERATE_VERIFY_MAC' : spec === 'ECC_NIST_P256' ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
      secrets.push(((await kms.execute('PeekMaterial', { KeyId: id })) as { Material: Uint8Array }).Material);
      if (spec === 'SYMMETRIC_DEFAULT') {
        await kms.rotateKeyOnDemand({ KeyId: id });
        secrets.push(((await kms.execute('PeekMaterial', { KeyId: id })) as { Material: Uint8Array }).Material);
        secrets.push((await kms.generateDataKey({ KeyId: id, KeySpec: 'AES_256' })).Plaintext!);
        secrets.push((await kms.generateRandom({ NumberOfBytes: 32 })).Plaintext!);
      }
    }
    const files = readdirSync(dir).filter((f) => f.startsWith('kms.sqlite')).map((f) => readFileSync(join(dir, f)));
    expect(files.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(32);
      const probe = Buffer.from(secret.subarray(0, 16));
      for (const file of files) expect(file.indexOf(probe)).toBe(-1);
    }
    cleanup();
  });
});

describe('audit log', () => {
  it('records every call, successful or not, without secrets, and verifies', async () => {
    const { kms, cleanup } = freshKms();
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const secret = new TextEncoder().encode('very secret plaintext');
    await kms.encrypt({ KeyId: id, Plaintext: secret, EncryptionContext: { purpose: 'audit' } });
    await errorName(kms.encrypt({ KeyId: 'alias/missing', Plaintext: secret }));
    const rows = kms.readAudit();
    expect(rows.map((r) => [r.operation, r.error])).toEqual([['CreateKey', null], ['Encrypt', null], ['Encrypt', 'NotFoundException']]);
    expect(rows[1]!.keyId).toBe(id);
    expect(rows[1]!.caller).toBe('arn:aws:iam::111122223333:root');
    expect(JSON.parse(rows[1]!.request)).toMatchObject({ Plaintext: { bytes: secret.length }, EncryptionContext: { purpose: 'audit' } });
    expect(kms.exportAudit()).not.toContain('very secret');
    expect(kms.exportAudit().trim().split('\n').length).toBe(3);
    expect(kms.verifyAudit()).toEqual({ ok: true, rows: 3 });
    cleanup();
  });

  it('detects an edited, a deleted and a reordered row, and names it', async () => {
    for (const tamper of ['edit', 'delete', 'deleteLast', 'swap'] as const) {
      const { kms, cleanup } = freshKms();
      for (let i = 0; i < 5; i++) await kms.generateRandom({ NumberOfBytes: 1 + i });
      const db = kms.database;
      if (tamper === 'edit') db.prepare("UPDATE audit SET request = '{}' WHERE seq = 3").run();
      if (tamper === 'delete') db.prepare('DELETE FROM audit WHERE seq = 2').run();
      if (tamper === 'deleteLast') db.prepare('DELETE FROM audit WHERE seq = 5').run();
      if (tamper === 'swap') {
        db.prepare('UPDATE audit SET seq = 100 WHERE seq = 2').run();
        db.prepare('UPDATE audit SET seq = 2 WHERE seq = 3').run();
        db.prepare('UPDATE audit SET seq = 3 WHERE seq = 100').run();
      }
      const result = kms.verifyAudit();
      expect(result.ok, tamper).toBe(false);
      expect(result.firstBadSeq, tamper).toBe({ edit: 3, delete: 2, deleteLast: 5, swap: 2 }[tamper]);
      cleanup();
    }
  });
});

describe('several processes', () => {
  it('opening an up-to-date store takes no write lock: it opens while another connection holds a write transaction', async () => {
    // Migrations and meta values already in place are only read, so a command's open does not
    // queue behind another process's write (or make a reader wait for it).
    const dir = join(tmp, 'no-write-lock');
    const first = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const { KeyMetadata } = await first.createKey({});
    first.close();
    const other = new Database(join(dir, 'kms.sqlite'), { timeout: 0 });
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const started = Date.now();
      const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(kms.onlyAuditRowsWritten).toBe(true);
      kms.close();
    } finally {
      other.prepare('COMMIT').run();
      other.close();
    }
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    expect((await kms.describeKey({ KeyId: KeyMetadata!.KeyId! })).KeyMetadata!.KeyId).toBe(KeyMetadata!.KeyId);
    kms.close();
  }, 60_000);

  it('opening a passphrase store takes no write lock either: its salt is only read', async () => {
    const dir = join(tmp, 'no-write-lock-passphrase');
    LocalKms.open({ dataDir: dir, passphrase: 'correct horse battery staple' }).close();
    const other = new Database(join(dir, 'kms.sqlite'), { timeout: 0 });
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const started = Date.now();
      const kms = LocalKms.open({ dataDir: dir, passphrase: 'correct horse battery staple' });
      // scrypt takes 1-2 s here; a wait for the write lock took the 15 s busy timeout and failed.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(kms.onlyAuditRowsWritten).toBe(true);
      kms.close();
    } finally {
      other.prepare('COMMIT').run();
      other.close();
    }
  }, 60_000);

  it('two processes writing at once lose nothing and the audit chain verifies', async () => {
    const dir = join(tmp, 'two');
    LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY }).close();
    const [a, b] = await Promise.all([runWriter(dir, 40), runWriter(dir, 40)]);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    for (const id of [...a.lines, ...b.lines]) expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyId).toBe(id);
    expect(a.lines.length + b.lines.length).toBe(80);
    const verification = kms.verifyAudit();
    expect(verification.ok).toBe(true);
    expect(verification.rows).toBeGreaterThanOrEqual(160);
    kms.close();
  }, 60_000);

  it('a child killed with SIGKILL mid-run loses no acknowledged operation', async () => {
    const dir = join(tmp, 'killed');
    LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY }).close();
    const { lines, signal } = await runWriter(dir, 100_000, (_line, child) => {
      if (!child.killed) setTimeout(() => child.kill('SIGKILL'), 150);
    });
    expect(signal).toBe('SIGKILL');
    expect(lines.length).toBeGreaterThan(0);
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    for (const id of lines) expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyId).toBe(id);
    expect(kms.verifyAudit().ok).toBe(true);
    kms.close();
  }, 60_000);
});
