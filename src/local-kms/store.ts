import Database from 'better-sqlite3';
import type { SqliteDatabase as Db } from './sqlite.js';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePrivateFile, requirePrivate, requireSafeParents } from './permissions.js';
import type { Migration } from './operation.js';
import { LOCAL_KMS_BUSY_TIMEOUT_MS } from '../limits.js';

/** The database file inside the data directory. */
export const DATABASE_FILE = 'kms.sqlite';

/**
 * The size of the database's write-ahead log in bytes (0 when there is none). Every close
 * checkpoints the log and deletes it, so for a store used by short-lived processes this is
 * the log's length; a store another process holds open may have a longer file than log.
 */
export function walBytes(dataDir: string): number {
  return statSync(join(dataDir, `${DATABASE_FILE}-wal`), { throwIfNoEntry: false })?.size ?? 0;
}

/** Core schema, version by version. Later versions are appended, never edited. */
export const coreMigrations: readonly Migration[] = [
  {
    module: 'core',
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE keys (
          key_id TEXT PRIMARY KEY,
          key_spec TEXT NOT NULL,
          key_usage TEXT NOT NULL,
          origin TEXT NOT NULL,
          state TEXT NOT NULL,
          description TEXT NOT NULL,
          policy TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          deletion_date INTEGER,
          pending_window_days INTEGER,
          rotation_enabled INTEGER NOT NULL DEFAULT 0,
          rotation_period_days INTEGER,
          next_rotation_at INTEGER,
          current_version INTEGER NOT NULL,
          valid_to INTEGER
        );
        CREATE TABLE key_versions (
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          version INTEGER NOT NULL,
          sealed_material BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (key_id, version)
        );
        CREATE TABLE rotations (
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          version INTEGER NOT NULL,
          rotated_at INTEGER NOT NULL,
          rotation_type TEXT NOT NULL,
          PRIMARY KEY (key_id, version)
        );
        CREATE TABLE aliases (
          alias_name TEXT PRIMARY KEY,
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX aliases_by_key ON aliases(key_id);
        CREATE TABLE tags (
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          tag_key TEXT NOT NULL,
          tag_value TEXT NOT NULL,
          PRIMARY KEY (key_id, tag_key)
        );
        CREATE TABLE audit (
          seq INTEGER PRIMARY KEY,
          time INTEGER NOT NULL,
          operation TEXT NOT NULL,
          caller TEXT NOT NULL,
          key_id TEXT,
          request TEXT NOT NULL,
          error TEXT,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL
        );
      `),
  },
  {
    // Partial indexes for the scheduler's "anything due?" probe, run at the start of every call.
    module: 'core',
    version: 2,
    up: (db) =>
      db.exec(`
        CREATE INDEX keys_deletion_due ON keys(deletion_date) WHERE state = 'PendingDeletion';
        CREATE INDEX keys_rotation_due ON keys(next_rotation_at) WHERE rotation_enabled = 1 AND state = 'Enabled';
        CREATE INDEX keys_import_expiry ON keys(valid_to) WHERE origin = 'EXTERNAL' AND valid_to IS NOT NULL AND state IN ('Enabled', 'Disabled');
      `),
  },
  {
    // Regions and multi-Region keys. One store serves every region: each key belongs to one
    // (`region`), aliases are per region, and the related keys of a multi-Region key (same
    // key id, one per region) are rows `mrk-.../<region>` sharing `mrk_id`. Rows written before
    // this migration get region '' here and the region of the first LocalKms to open the store
    // after it (adoptLegacyRegion), which is where they were visible before.
    module: 'core',
    version: 3,
    up: (db) =>
      db.exec(`
        ALTER TABLE keys ADD COLUMN region TEXT NOT NULL DEFAULT '';
        ALTER TABLE keys ADD COLUMN mrk_id TEXT;
        ALTER TABLE keys ADD COLUMN mrk_role TEXT;
        CREATE INDEX keys_by_region ON keys(region, key_id);
        CREATE INDEX keys_by_mrk ON keys(mrk_id) WHERE mrk_id IS NOT NULL;
        CREATE TABLE aliases_by_region (
          region TEXT NOT NULL,
          alias_name TEXT NOT NULL,
          key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (region, alias_name)
        );
        INSERT INTO aliases_by_region (region, alias_name, key_id, created_at, updated_at)
          SELECT '', alias_name, key_id, created_at, updated_at FROM aliases;
        DROP TABLE aliases;
        ALTER TABLE aliases_by_region RENAME TO aliases;
        CREATE INDEX aliases_by_key ON aliases(key_id);
      `),
  },
];

/**
 * Gives keys and aliases stored before regions existed (region '') the region `region`, once
 * per store (meta `legacy_region` records which): the region they were seen in until then.
 */
export function adoptLegacyRegion(db: Db, region: string): void {
  if (getMeta(db, 'legacy_region') !== undefined) return;
  db.transaction(() => {
    if (getMeta(db, 'legacy_region') !== undefined) return;
    db.prepare("UPDATE keys SET region = ? WHERE region = ''").run(region);
    db.prepare("UPDATE aliases SET region = ? WHERE region = ''").run(region);
    initMeta(db, 'legacy_region', region);
  }).immediate();
}

/**
 * better-sqlite3's native addon, by path. Without it better-sqlite3 finds the addon through the
 * `bindings` package, which searches a dozen candidate paths from the caller's stack on every
 * start, and which cannot work where better-sqlite3's JavaScript is bundled (the CLI's
 * dist/cli/main.cjs, tsup.config.ts). The package is the one Node would load from here: the
 * nearest `node_modules/better-sqlite3` above this file, found with a stat a directory
 * (`require.resolve` also reads its package.json and the real path of every directory on the
 * way: 0.5-1 ms of each CLI start here); only when there is none above, as Node would go on to
 * NODE_PATH and the global folders, `require.resolve` looks. Undefined when the package has no
 * addon where npm builds or unpacks it: better-sqlite3 then searches as usual.
 */
function nativeBinding(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    // As Node's module paths: no node_modules/node_modules.
    const pkg = basename(dir) === 'node_modules' ? undefined : join(dir, 'node_modules', 'better-sqlite3');
    if (pkg !== undefined && existsSync(pkg)) return builtAddon(pkg);
    if (dirname(dir) === dir) break;
  }
  try {
    return builtAddon(join(dirname(createRequire(import.meta.url).resolve('better-sqlite3')), '..'));
  } catch {
    // Not resolvable from here: let better-sqlite3 search.
    return undefined;
  }
}

/**
 * What to do when better-sqlite3's addon cannot be loaded, in place of what `bindings` or
 * `dlopen` said (a dozen candidate paths, or an ABI number): the addon was never built (its
 * install script did not run: `--ignore-scripts`, npm 11's or pnpm's approval of install
 * scripts) or was built for another Node. The original error is the `cause`. Undefined for any
 * other error.
 */
function addonError(err: unknown): Error | undefined {
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('Could not locate the bindings file')) {
    return new Error(
      "The local KMS needs better-sqlite3's native addon, which is not built: its install script did not run. Run `npm rebuild better-sqlite3` (npm 11: `npm install-scripts approve better-sqlite3` first; pnpm: `pnpm approve-builds`)",
      { cause: err },
    );
  }
  if ((err as NodeJS.ErrnoException).code === 'ERR_DLOPEN_FAILED' && message.includes('NODE_MODULE_VERSION')) {
    return new Error(`The local KMS needs better-sqlite3's native addon, which was built for another Node.js version than this one (${process.version}): run \`npm rebuild better-sqlite3\``, { cause: err });
  }
  return undefined;
}

/** The addon npm built (or unpacked) in better-sqlite3's package directory `pkg`, if any. */
function builtAddon(pkg: string): string | undefined {
  for (const build of ['Release', 'Debug']) {
    const addon = join(pkg, 'build', build, 'better_sqlite3.node');
    if (existsSync(addon)) return addon;
  }
  return undefined;
}

/**
 * Opens (creating if needed) the SQLite database of a data directory (which must be private,
 * with parents no other user can change:
 * `InsecurePermissionsException` otherwise; files 0600): WAL so readers never
 * block the writer and a killed process loses no committed transaction, a busy timeout so
 * several processes queue instead of failing, foreign keys on.
 */
export function openDatabase(dataDir: string): Db {
  requireSafeParents(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  requirePrivate(dataDir, 'directory');
  const file = join(dataDir, DATABASE_FILE);
  // SQLite would create the file with the umask (usually 0644). Created 0600 first, it makes
  // its -wal and -shm files with the database file's mode (os_unix.c: findCreateFileMode,
  // unixOpenSharedMemory), whenever it creates them later. Existing ones are tightened.
  makePrivateFile(file, { create: true });
  for (const suffix of ['-wal', '-shm', '-journal']) makePrivateFile(file + suffix, { create: false });
  const addon = nativeBinding();
  let db: Database.Database;
  try {
    // `timeout` is SQLite's busy timeout (sqlite3_busy_timeout, as PRAGMA busy_timeout sets it).
    db = new Database(file, { timeout: LOCAL_KMS_BUSY_TIMEOUT_MS, ...(addon === undefined ? {} : { nativeBinding: addon }) });
  } catch (err) {
    throw addonError(err) ?? err;
  }
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a killed process (it is in the WAL
  // file); only an OS crash can lose the last commits. FULL would fsync every audit row.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  cacheStatements(db);
  return db;
}

/**
 * Makes `db.prepare` return one compiled statement per SQL text. better-sqlite3 compiles on
 * every call, and operations prepare their few fixed statements each time: caching them
 * measured Encrypt at 84-116 us instead of 238-267 us a call. Bounded, in case SQL is ever
 * built from values. (A statement is busy while an `iterate()` over it is open; the one
 * iterating query, the audit read, is not prepared again inside its loop.)
 */
function cacheStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size >= 512) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  }) as Database.Database['prepare'];
}

/** Runs every migration not yet applied, each module's in version order, in one immediate transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (module, version))');
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE module = ? AND version = ?');
  // All applied (every open but the first after an upgrade): no write transaction, so opens
  // by several processes do not queue for the write lock. Checked again inside the transaction.
  if (migrations.every((m) => applied.get(m.module, m.version))) return;
  const record = db.prepare('INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)');
  const sorted = [...migrations].sort((a, b) => (a.module === b.module ? a.version - b.version : 0));
  db.transaction(() => {
    for (const m of sorted) {
      if (applied.get(m.module, m.version)) continue;
      m.up(db);
      record.run(m.module, m.version, Date.now());
    }
  }).immediate();
}

/** Reads a meta value. */
export function getMeta(db: Db, name: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined;
  return row?.value;
}

/** Sets a meta value only if it is not set yet; returns the value in force. */
export function initMeta(db: Db, name: string, value: string): string {
  // Read first: a value already set (every open but the first) needs no write lock.
  const set = getMeta(db, name);
  if (set !== undefined) return set;
  db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run(name, value);
  return getMeta(db, name)!;
}
