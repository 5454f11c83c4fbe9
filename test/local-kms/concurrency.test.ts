import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import Database from 'better-sqlite3';
import { LocalKms, LocalKmsError } from '../../src/local-kms/index.js';
import { ROOT_KEY, errorName } from './helpers.js';

// Several processes on one store, as CI jobs, `sealbox kms serve` and CLI commands use it.
const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-concurrency-'));
// Inside the repository so the child resolves packages from node_modules.
const appender = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `appender-${process.pid}.mjs`);

beforeAll(async () => {
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'appender.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: appender, logLevel: 'silent' });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(appender, { force: true });
});

/** Starts a child appending audit rows to `dir` until its stdin closes; resolves once it has written one. */
async function startAppender(dir: string): Promise<{ child: ChildProcessWithoutNullStreams; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [appender], { env: { ...process.env, KMS_DIR: dir }, cwd: process.cwd() });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`appender exited ${code}: ${stderr}`)))));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    exited.catch(reject);
  });
  return { child, stop: () => (child.stdin.end(), exited) };
}

describe('several processes on one store', () => {
  it('verifyAudit and auditHead while another process appends: never a false "head", and every head is an anchor that verifies', async () => {
    // A log long enough that walking it takes a while (each row one HMAC).
    const dir = join(tmp, 'verify');
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    await kms.executeBatch(Array.from({ length: 3000 }, () => ({ operation: 'GenerateRandom', input: { NumberOfBytes: 1 } })));
    const { stop } = await startAppender(dir);
    const seen = new Set<number>();
    const failures: unknown[] = [];
    try {
      const until = Date.now() + 2_500;
      while (Date.now() < until) {
        const v = kms.verifyAudit();
        seen.add(v.rows);
        if (!v.ok) failures.push(v);
        const head = kms.auditHead()!;
        const anchored = kms.verifyAudit({ anchor: head });
        if (!anchored.ok) failures.push(anchored);
        await sleep(1);
      }
    } finally {
      await stop();
    }
    expect(failures).toEqual([]);
    // The other process did append while the log was being verified.
    expect(seen.size).toBeGreaterThan(2);
    expect(kms.verifyAudit().ok).toBe(true);
    kms.close();
  }, 30_000);

  it('a write lock held past the busy timeout is DependencyTimeoutException (retryable), never a raw SQLite error; nothing is half-done', async () => {
    const dir = join(tmp, 'busy');
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const { KeyMetadata } = await kms.createKey({});
    const keyId = KeyMetadata!.KeyId!;
    const rows = kms.verifyAudit().rows;
    // The store's busy timeout is 15 s; this test's connection waits 100 ms.
    kms.database.pragma('busy_timeout = 100');
    const other = new Database(join(dir, 'kms.sqlite'));
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const err = await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1]) }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(LocalKmsError);
      expect(err).toMatchObject({ name: 'DependencyTimeoutException', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      expect((err as Error).cause).toMatchObject({ code: 'SQLITE_BUSY' });
      expect(await errorName(kms.executeBatch([{ operation: 'GenerateRandom', input: { NumberOfBytes: 1 } }]))).toBe('DependencyTimeoutException');
      expect(() => kms.auditAction('DeleteAccessKey', { AccessKeyId: 'LKIAX' })).toThrow(expect.objectContaining({ name: 'DependencyTimeoutException' }));
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    // Nothing was written while it waited, and the store works once the lock is released.
    expect(kms.verifyAudit()).toEqual({ ok: true, rows });
    expect((await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1]) })).KeyId).toContain(keyId);
    kms.close();
  });
});
