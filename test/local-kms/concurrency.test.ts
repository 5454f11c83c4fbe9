import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import Database from 'better-sqlite3';
import { LocalKms, LocalKmsError } from '../../src/local-kms/index.js';
import { ROOT_KEY, TestClock, errorName } from './helpers.js';
import { startServedKms } from '../kms-server/served-kms.js';
import { GenerateRandomCommand } from '@aws-sdk/client-kms';

// Several processes on one store, as CI jobs, `sealbox kms serve` and CLI commands use it.
const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-concurrency-'));
// Inside the repository so the child resolves packages from node_modules.
const child = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `concurrent-${process.pid}.mjs`);

beforeAll(async () => {
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'concurrent.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'silent' });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(child, { force: true });
});

/** Runs the child in `mode` on `dir` to its end; resolves with its stdout lines. */
function runChild(dir: string, mode: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [child], { env: { ...process.env, KMS_DIR: dir, KMS_MODE: mode, ...env }, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(stdout.split('\n').filter(Boolean)) : reject(new Error(`child (${mode}) exited ${code}: ${stderr}`))));
  });
}

/** Starts a child appending audit rows to `dir` until its stdin closes; resolves once it has written one. */
async function startAppender(dir: string): Promise<{ stop: () => Promise<void> }> {
  const c = spawn(process.execPath, [child], { env: { ...process.env, KMS_DIR: dir, KMS_MODE: 'append' }, cwd: process.cwd() });
  let stderr = '';
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`appender exited ${code}: ${stderr}`)))));
  await new Promise<void>((resolve, reject) => {
    c.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    exited.catch(reject);
  });
  return { stop: () => (c.stdin.end(), exited) };
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
  it('over the KMS endpoint, a store kept locked by another process is 503 DependencyTimeoutException, which the AWS SDK retries', async () => {
    const served = await startServedKms();
    try {
      const client = served.client(served.rootCredential);
      served.kms.database.pragma('busy_timeout = 100');
      const other = new Database(join(served.kms.dataDir, 'kms.sqlite'));
      other.prepare('BEGIN IMMEDIATE').run();
      let err: unknown;
      try {
        err = await client.send(new GenerateRandomCommand({ NumberOfBytes: 8 })).then(() => undefined, (e: unknown) => e);
      } finally {
        other.prepare('ROLLBACK').run();
        other.close();
      }
      expect(err).toMatchObject({ name: 'DependencyTimeoutException', $fault: 'server', $metadata: { httpStatusCode: 503 } });
      expect((await client.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))).Plaintext).toHaveLength(8);
    } finally {
      await served.close();
    }
  });

  it('first runs racing on a new directory: one root key, every process succeeds, every file private from the start', async () => {
    const dir = join(tmp, 'first-run', 'store');
    const lines = (await Promise.all(Array.from({ length: 5 }, () => runChild(dir, 'first-run')))).flat();
    expect(lines).toHaveLength(5);
    // Nothing but the store's own files: no temporary root key left behind.
    expect(readdirSync(dir).filter((f) => !/^kms\.sqlite(-wal|-shm)?$/.test(f))).toEqual(['root.key']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    // Every process sealed under the one root key now in root.key.
    const kms = LocalKms.open({ dataDir: dir });
    for (const line of lines) {
      const [keyId, pid, hex] = line.split(' ') as [string, string, string];
      const { Plaintext, KeyId } = await kms.decrypt({ CiphertextBlob: Buffer.from(hex, 'hex') });
      expect(KeyId).toContain(keyId);
      expect(new TextDecoder().decode(Plaintext)).toBe(pid);
    }
    // Each child's CreateKey and Encrypt, and the decrypts here.
    expect(kms.verifyAudit()).toMatchObject({ ok: true, rows: 15 });
    kms.close();
  }, 60_000);

  it('rotations on demand from two processes at once: every one a version of its own, one current version', async () => {
    const dir = join(tmp, 'rotate');
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    await Promise.all([runChild(dir, 'rotate', { KMS_KEY: keyId, KMS_COUNT: '10' }), runChild(dir, 'rotate', { KMS_KEY: keyId, KMS_COUNT: '10' })]);
    const rotations = (await kms.listKeyRotations({ KeyId: keyId })).Rotations!;
    expect(rotations.map((r) => r.RotationType)).toEqual(Array(20).fill('ON_DEMAND'));
    expect(kms.peekKey(keyId)!.currentVersion).toBe(21);
    expect((kms.database.prepare('SELECT version FROM key_versions WHERE key_id = ? ORDER BY version').all(keyId) as { version: number }[]).map((r) => r.version))
      .toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([7]) });
    expect((await kms.decrypt({ CiphertextBlob })).Plaintext).toEqual(new Uint8Array([7]));
    expect(kms.verifyAudit().ok).toBe(true);
    kms.close();
  }, 60_000);

  it('a key disabled, scheduled for deletion or deleted through one connection is refused at once through another that used it', async () => {
    const dir = join(tmp, 'state');
    const clock = new TestClock();
    const later = new TestClock();
    // Two connections, each with its own material cache, as two processes have.
    const serving = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
    const admin = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: later.now });
    const keyId = (await serving.createKey({})).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await serving.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1]) });
    const decrypt = (): Promise<string> => errorName(serving.decrypt({ CiphertextBlob }));
    expect(await decrypt()).toBe('no error');
    await admin.disableKey({ KeyId: keyId });
    expect(await decrypt()).toBe('DisabledException');
    await admin.enableKey({ KeyId: keyId });
    expect(await decrypt()).toBe('no error');
    await admin.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
    expect(await decrypt()).toBe('KMSInvalidStateException');
    // The other connection's clock passes the window: its next call deletes the key and its
    // material; this one's clock has not, and its cache still holds the material.
    later.advanceDays(8);
    await admin.generateRandom({ NumberOfBytes: 1 });
    expect(admin.peekKey(keyId)).toBeUndefined();
    // As for any blob no key here made (ops-crypto.ts), never the plaintext from the cache.
    expect(await decrypt()).toBe('InvalidCiphertextException');
    expect(await errorName(serving.describeKey({ KeyId: keyId }))).toBe('NotFoundException');
    expect(serving.verifyAudit().ok).toBe(true);
    serving.close();
    admin.close();
  });
});
