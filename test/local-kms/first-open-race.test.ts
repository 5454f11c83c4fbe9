import { afterAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDatabase } from '../../src/local-kms/sqlite.js';
import { ROOT_KEY } from './helpers.js';

// The moment between two reads of a first open, where another process can open the same new
// store and use it: the hook below runs that other process's work there, deterministically.
let between: (() => void) | undefined;
vi.mock('../../src/local-kms/store.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/local-kms/store.js')>();
  return {
    ...real,
    getMeta: (db: SqliteDatabase, name: string): string | undefined => {
      const value = real.getMeta(db, name);
      if (name === 'root_key_check' && between !== undefined) {
        const run = between;
        between = undefined;
        run();
      }
      return value;
    },
  };
});

const { LocalKms } = await import('../../src/local-kms/index.js');
const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-first-open-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('two first opens of one new store', () => {
  it('a process that finds no root key check value, while another records it and writes a key and audit rows, opens (it is not told the value was removed)', async () => {
    const dir = join(tmp, 'store');
    let other: ReturnType<typeof LocalKms.open> | undefined;
    between = () => {
      // The other process: opens (recording the check value), and its first operation commits.
      other = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
      void other.createKey({});
    };
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    expect(other).toBeDefined();
    expect((await kms.listKeys({})).Keys).toHaveLength(1);
    expect(kms.verifyAudit().ok).toBe(true);
    kms.close();
    other!.close();
    // A store whose check value really was removed is still refused.
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(join(dir, 'kms.sqlite'));
    raw.prepare("DELETE FROM meta WHERE name = 'root_key_check'").run();
    raw.close();
    expect(() => LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY })).toThrow(expect.objectContaining({ name: 'RootKeyMismatchException' }));
  });
});
