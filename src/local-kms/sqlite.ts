// The part of better-sqlite3's API the local KMS uses, as Sealbox's own types. Public
// declarations (`Migration.up`, `OperationContext.db`, `LocalKms.database`, `CredentialStore`)
// name these instead of better-sqlite3's, so a user's `tsc` with `skipLibCheck: false` does
// not need `@types/better-sqlite3` (a devDependency). A better-sqlite3 `Database` satisfies
// `SqliteDatabase`; only src/local-kms/store.ts imports better-sqlite3 itself.

/** What `SqliteStatement.run` reports. */
export interface SqliteRunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A compiled SQL statement (better-sqlite3's `Statement`); rows come back as `unknown` for the caller to type. */
export interface SqliteStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

/** A function wrapped in a transaction (better-sqlite3's `Transaction`): plain calls are DEFERRED. */
export interface SqliteTransaction<A extends unknown[], R> {
  (...params: A): R;
  deferred(...params: A): R;
  immediate(...params: A): R;
  exclusive(...params: A): R;
}

/**
 * The local KMS's open SQLite database (a better-sqlite3 `Database`), for extensions'
 * migrations and hooks and for tools that read the audit table.
 *
 * @example
 * ```ts
 * const up = (db: SqliteDatabase): void => { db.exec('CREATE TABLE notes (id TEXT PRIMARY KEY)'); };
 * ```
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
  exec(source: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...params: A) => R): SqliteTransaction<A, R>;
  close(): this;
  readonly open: boolean;
  readonly inTransaction: boolean;
}
