import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it, vi } from 'vitest';

// better-sqlite3's addon missing (its install script did not run: --ignore-scripts, npm 11's or
// pnpm's approval of install scripts) or built for another Node: opening the local KMS says what
// to do, with what better-sqlite3 threw as the cause, instead of `bindings`' list of a dozen
// paths (src/local-kms/store.ts).

const failure: { error?: Error } = {};
vi.mock('better-sqlite3', async (importOriginal) => {
  const real = ((await importOriginal()) as { default: new (...args: unknown[]) => unknown }).default;
  return {
    default: function Database(...args: unknown[]) {
      if (failure.error) throw failure.error;
      return new real(...args);
    },
  };
});
const { openDatabase } = await import('../../src/local-kms/store.js');

const dir = mkdtempSync(join(tmpdir(), 'sealbox-sqlite-addon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  failure.error = undefined;
});

/** What `fn` throws (undefined if nothing). */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

it('an addon that was never built: the error says to rebuild it (and approve its install script)', () => {
  const original = new Error('Could not locate the bindings file. Tried:\n → /somewhere/build/better_sqlite3.node\n → /somewhere/build/Release/better_sqlite3.node');
  failure.error = original;
  const thrown = caught(() => openDatabase(join(dir, 'a')));
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as Error).message).toBe(
    "The local KMS needs better-sqlite3's native addon, which is not built: its install script did not run. Run `npm rebuild better-sqlite3` (npm 11: `npm install-scripts approve better-sqlite3` first; pnpm: `pnpm approve-builds`)",
  );
  expect((thrown as Error).cause).toBe(original);
});

it('an addon built for another Node: the error says so, with this Node version', () => {
  const original = Object.assign(new Error("The module '/x/better_sqlite3.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 127. This version of Node.js requires NODE_MODULE_VERSION 115."), { code: 'ERR_DLOPEN_FAILED' });
  failure.error = original;
  expect(() => openDatabase(join(dir, 'b'))).toThrow(`which was built for another Node.js version than this one (${process.version}): run \`npm rebuild better-sqlite3\``);
});

it('any other error is thrown as it was', () => {
  const original = Object.assign(new Error('SQLITE_CANTOPEN: unable to open database file'), { code: 'SQLITE_CANTOPEN' });
  failure.error = original;
  expect(caught(() => openDatabase(join(dir, 'c')))).toBe(original);
  failure.error = undefined;
  const db = openDatabase(join(dir, 'd'));
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  db.close();
});
