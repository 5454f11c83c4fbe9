import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/index.js';
import { resolveRootKey } from '../../src/local-kms/root-key.js';

// A store already sealed under a root key, opened without it: the local KMS used to create a new
// random root.key, fail with RootKeyMismatchException, and leave that key file behind, where it
// looked like the store's own (a restore of kms.sqlite without root.key, or a passphrase store
// opened without the passphrase). Now it refuses without creating anything.

const tmp = mkdtempSync(join(tmpdir(), 'sealbox-missing-root-key-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const saved = { key: process.env.SEALBOX_ROOT_KEY, pass: process.env.SEALBOX_PASSPHRASE };
beforeEach(() => {
  delete process.env.SEALBOX_ROOT_KEY;
  delete process.env.SEALBOX_PASSPHRASE;
});
afterEach(() => {
  for (const [name, value] of [['SEALBOX_ROOT_KEY', saved.key], ['SEALBOX_PASSPHRASE', saved.pass]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

let n = 0;
const freshDir = (): string => join(tmp, `store-${n++}`);

describe('a sealed store whose root key is not given', () => {
  it('root.key removed (kms.sqlite restored alone): RootKeyMismatchException naming the file, and no new root.key', async () => {
    const dir = freshDir();
    const kms = LocalKms.open({ dataDir: dir });
    await kms.createKey({});
    kms.close();
    unlinkSync(join(dir, 'root.key'));
    let err: unknown;
    try {
      LocalKms.open({ dataDir: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'RootKeyMismatchException' });
    expect((err as Error).message).toContain('root.key is missing');
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
  });

  it('a store made with a passphrase, opened without one: refused, no root.key created', async () => {
    const dir = freshDir();
    const kms = LocalKms.open({ dataDir: dir, passphrase: 'correct horse battery staple' });
    await kms.createKey({});
    kms.close();
    expect(() => LocalKms.open({ dataDir: dir })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
    // The passphrase still opens it.
    LocalKms.open({ dataDir: dir, passphrase: 'correct horse battery staple' }).close();
  });

  it('a store made with SEALBOX_ROOT_KEY, opened without it: refused, no root.key created; with it, opened', async () => {
    const dir = freshDir();
    process.env.SEALBOX_ROOT_KEY = 'ab'.repeat(32);
    const kms = LocalKms.open({ dataDir: dir });
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    kms.close();
    delete process.env.SEALBOX_ROOT_KEY;
    expect(() => LocalKms.open({ dataDir: dir })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
    process.env.SEALBOX_ROOT_KEY = 'ab'.repeat(32);
    const again = LocalKms.open({ dataDir: dir });
    expect((await again.describeKey({ KeyId: id })).KeyMetadata!.KeyId).toBe(id);
    again.close();
  });

  it('a store opened once and never used (its check value recorded, nothing sealed yet): refused, no root.key created', () => {
    const dir = freshDir();
    LocalKms.open({ dataDir: dir }).close();
    unlinkSync(join(dir, 'root.key'));
    expect(() => LocalKms.open({ dataDir: dir })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
  });

  it('a store holding keys whose check value was deleted: refused, no root.key created', async () => {
    const dir = freshDir();
    const kms = LocalKms.open({ dataDir: dir });
    await kms.createKey({});
    kms.close();
    const db = new Database(join(dir, 'kms.sqlite'));
    expect(db.prepare("DELETE FROM meta WHERE name = 'root_key_check'").run().changes).toBe(1);
    db.close();
    unlinkSync(join(dir, 'root.key'));
    expect(() => LocalKms.open({ dataDir: dir })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
  });

  it('a new store still gets its root.key on first open, and opens with it again', async () => {
    const dir = freshDir();
    const kms = LocalKms.open({ dataDir: dir });
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    kms.close();
    expect(existsSync(join(dir, 'root.key'))).toBe(true);
    const again = LocalKms.open({ dataDir: dir });
    expect((await again.describeKey({ KeyId: id })).KeyMetadata!.KeyId).toBe(id);
    again.close();
  });

  it('another process finishing its first open between the two looks (its root.key appears, then its check value): that key is read, not refused', () => {
    // A new store opened by two processes at once: this one finds no root.key, the other links
    // its root.key into place and records its check value, then this one finds the store sealed.
    // (test/local-kms/concurrency.test.ts races real processes; this is the same order, forced.)
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const theirs = 'cd'.repeat(32);
    const key = resolveRootKey(dir, {}, () => { throw new Error('no passphrase here'); }, () => {
      writeFileSync(join(dir, 'root.key'), `${theirs}\n`, { mode: 0o600 });
      return true;
    });
    expect(Buffer.from(key).toString('hex')).toBe(theirs);
  });
});
