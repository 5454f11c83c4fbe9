import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialStore, credentialMigrations } from '../../src/local-kms/credentials.js';
import { LocalKmsError } from '../../src/local-kms/errors.js';
import { thrownName } from '../helpers/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openDb() {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-cred-'));
  dirs.push(dir);
  const file = join(dir, 'kms.db');
  const db = new Database(file);
  for (const m of credentialMigrations) m.up(db);
  return { db, file };
}


describe('CredentialStore', () => {
  it('creates keys that look up to their secret and principal, and lists them without secrets', () => {
    const { db } = openDb();
    const store = new CredentialStore(db, randomBytes(32));
    const alice = store.create({ principal: 'arn:aws:iam::111122223333:user/alice', description: 'ci' });
    expect(alice.accessKeyId).toMatch(/^LKIA[A-Z2-7]{16}$/);
    expect(alice.secretAccessKey).toHaveLength(40);
    expect(store.lookup(alice.accessKeyId)).toEqual({
      accessKeyId: alice.accessKeyId,
      secretAccessKey: alice.secretAccessKey,
      principal: alice.principal,
      accountId: '111122223333',
    });
    const listed = store.list();
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(alice.secretAccessKey);
    expect(store.lookup('LKIAUNKNOWN')).toBeUndefined();
  });

  it('never stores a secret in the clear', () => {
    const { db, file } = openDb();
    const store = new CredentialStore(db, randomBytes(32));
    const secrets = Array.from({ length: 5 }, () => store.create({ principal: 'arn:aws:iam::111122223333:root' }).secretAccessKey);
    db.close();
    const bytes = readFileSync(file);
    for (const s of secrets) {
      expect(bytes.includes(Buffer.from(s))).toBe(false);
      expect(bytes.includes(Buffer.from(s, 'base64'))).toBe(false);
    }
  });

  it('does not open secrets under another sealing key, or moved to another key id', () => {
    const { db } = openDb();
    const a = new CredentialStore(db, randomBytes(32)).create({ principal: 'arn:aws:iam::111122223333:root' });
    expect(new CredentialStore(db, randomBytes(32)).lookup(a.accessKeyId)).toBeUndefined();
    const key = randomBytes(32);
    const store = new CredentialStore(db, key);
    const x = store.create({ principal: 'arn:aws:iam::111122223333:root' });
    const y = store.create({ principal: 'arn:aws:iam::111122223333:user/y' });
    db.prepare('UPDATE access_keys SET sealed_secret = (SELECT sealed_secret FROM access_keys WHERE access_key_id = ?) WHERE access_key_id = ?').run(x.accessKeyId, y.accessKeyId);
    expect(new CredentialStore(db, key).lookup(y.accessKeyId)).toBeUndefined();
  });

  it('refuses inactive and deleted keys', () => {
    const { db } = openDb();
    const store = new CredentialStore(db, randomBytes(32));
    const k = store.create({ principal: 'arn:aws:iam::111122223333:user/bob' });
    store.setStatus(k.accessKeyId, 'Inactive');
    expect(store.lookup(k.accessKeyId)).toBeUndefined();
    store.setStatus(k.accessKeyId, 'Active');
    expect(store.lookup(k.accessKeyId)?.principal).toBe(k.principal);
    store.delete(k.accessKeyId);
    expect(store.lookup(k.accessKeyId)).toBeUndefined();
    expect(thrownName(() => store.delete(k.accessKeyId))).toBe('NotFoundException');
  });

  it('refuses malformed principals and sealing keys', () => {
    const { db } = openDb();
    const store = new CredentialStore(db, randomBytes(32));
    for (const principal of ['alice', 'arn:aws:iam::1234:user/a', 'arn:aws:iam::111122223333:group/g', 'arn:aws:iam::111122223333:user/*x y']) {
      expect(thrownName(() => store.create({ principal }))).toBe('ValidationException');
    }
    expect(thrownName(() => new CredentialStore(db, randomBytes(16)))).toBe('RangeError');
  });
});

describe('credentialStoreFor: every change to the access keys is an audit row, without the secret', () => {
  it('CreateAccessKey, UpdateAccessKey and DeleteAccessKey rows; none for a change that fails; the chain still verifies', async () => {
    const { freshKms } = await import('./helpers.js');
    const { credentialStoreFor } = await import('../../src/kms-server/server.js');
    const { kms, cleanup } = freshKms();
    try {
      const store = credentialStoreFor(kms);
      const key = store.create({ principal: 'arn:aws:iam::111122223333:user/ci', description: 'pipeline' });
      store.setStatus(key.accessKeyId, 'Inactive');
      store.delete(key.accessKeyId);
      expect(thrownName(() => store.delete(key.accessKeyId))).toBe('NotFoundException');
      const rows = kms.readAudit().filter((r) => r.operation.endsWith('AccessKey'));
      // Before, none of these was recorded (identity policy changes were).
      expect(rows.map((r) => r.operation)).toEqual(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey']);
      expect(rows.every((r) => r.error === null)).toBe(true);
      const text = JSON.stringify(kms.readAudit());
      expect(text).toContain(key.accessKeyId);
      expect(text).not.toContain(key.secretAccessKey);
      expect(kms.verifyAudit().ok).toBe(true);
    } finally {
      cleanup();
    }
  });
});

describe('CredentialStore with the store locked by another process', () => {
  it('a change that waits out the busy timeout is DependencyTimeoutException (the SQLite error its cause), and nothing is written', () => {
    const { db: setup, file } = openDb();
    setup.close();
    // A short busy timeout: the store's own is 15 s (LOCAL_KMS_BUSY_TIMEOUT_MS).
    const db = new Database(file, { timeout: 50 });
    db.pragma('journal_mode = WAL');
    const store = new CredentialStore(db, randomBytes(32));
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      let err: unknown;
      try {
        store.create({ principal: 'arn:aws:iam::111122223333:root' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LocalKmsError);
      expect((err as LocalKmsError).name).toBe('DependencyTimeoutException');
      expect((err as LocalKmsError).$fault).toBe('server');
      expect(((err as Error).cause as Error).name).toBe('SqliteError');
      expect(thrownName(() => store.setStatus('LKIAAAAAAAAAAAAAAAAA', 'Inactive'))).toBe('DependencyTimeoutException');
      expect(thrownName(() => store.delete('LKIAAAAAAAAAAAAAAAAA'))).toBe('DependencyTimeoutException');
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(store.list()).toEqual([]);
    db.close();
  });
});
