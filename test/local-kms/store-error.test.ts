import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalKmsError, storeError } from '../../src/local-kms/errors.js';
import { LocalKms } from '../../src/local-kms/index.js';

/** An error shaped as better-sqlite3 throws them: name SqliteError, an SQLite result code. */
function sqliteError(code: string): Error {
  const err = new Error(`sqlite says ${code}`);
  err.name = 'SqliteError';
  (err as Error & { code: string }).code = code;
  return err;
}

// storeError types a store failure as a LocalKmsError (errors.ts): a busy store, in any of
// SQLite's extended busy codes, is the retryable DependencyTimeoutException; other SQLite
// errors KMSInternalException; the SQLite error stays as cause, and nothing else is touched.
describe('storeError', () => {
  it('SQLITE_BUSY and its extended codes are DependencyTimeoutException', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_TIMEOUT']) {
      const cause = sqliteError(code);
      const mapped = storeError(cause) as LocalKmsError;
      expect(mapped, code).toBeInstanceOf(LocalKmsError);
      expect(mapped.name, code).toBe('DependencyTimeoutException');
      expect(mapped.cause, code).toBe(cause);
    }
  });

  it('other SQLite errors are KMSInternalException naming the code', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_LOCKED']) {
      const mapped = storeError(sqliteError(code)) as LocalKmsError;
      expect(mapped.name, code).toBe('KMSInternalException');
      expect(mapped.message, code).toContain(code);
    }
  });

  it('anything that is not an SQLite error is returned as it is', () => {
    const kms = new LocalKmsError('NotFoundException', 'no such key');
    const plain = new Error('other');
    expect(storeError(kms)).toBe(kms);
    expect(storeError(plain)).toBe(plain);
    expect(storeError('text')).toBe('text');
  });

  describe('LocalKms.open on a damaged store', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sealbox-store-error-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));
    const openError = (dir: string): unknown => {
      try {
        LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(3) }).close();
        return undefined;
      } catch (err) {
        return err;
      }
    };

    it('a file that is not a database is KMSInternalException, the SQLite error as cause', () => {
      const dir = join(tmp, 'notadb');
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, 'kms.sqlite'), Buffer.alloc(4096, 7), { mode: 0o600 });
      const err = openError(dir);
      expect(err).toBeInstanceOf(LocalKmsError);
      expect(err).toMatchObject({ name: 'KMSInternalException', cause: { code: 'SQLITE_NOTADB' } });
    });

    it('a database whose tables the migrations cannot create is KMSInternalException, not a raw SqliteError', () => {
      const dir = join(tmp, 'foreign');
      mkdirSync(dir, { mode: 0o700 });
      const db = new Database(join(dir, 'kms.sqlite'));
      db.exec('CREATE TABLE keys (x)');
      db.close();
      const err = openError(dir);
      expect(err).toBeInstanceOf(LocalKmsError);
      expect(err).toMatchObject({ name: 'KMSInternalException', cause: { name: 'SqliteError' } });
    });
  });
});
