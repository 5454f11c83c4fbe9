// What commands need to know about the local KMS without opening it: its names and the error
// for a missing store. Kept apart from local.ts, which loads the local KMS (SQLite and all),
// so that commands with raw, RSA or pq: keys never load it (docs/performance.md, CLI start-up).

/** The alias the CLI encrypts under when no --key is given. */
export const DEFAULT_ALIAS = 'alias/sealbox-default';

/** The local KMS's account id (the one AWS uses in its examples, never a real account). */
export const LOCAL_ACCOUNT = '111122223333';

/** Global options every command accepts. */
export interface GlobalOptions {
  home?: string;
  json?: boolean;
}

/** No key store where the CLI looked: read-only commands say so instead of creating one. */
export class NoKeyStoreError extends Error {
  override readonly name = 'NoKeyStoreError';
}

/**
 * Set when a command left the local KMS open on purpose because it wrote only audit rows
 * (`LocalKms.onlyAuditRowsWritten`): main.ts then ends the process once its output is flushed,
 * before better-sqlite3 would close the database at exit, so SQLite keeps its write-ahead log
 * for the next process instead of checkpointing it (four fsyncs and the log's re-creation, most
 * of what separates a local KMS command's start-up from a key file's; docs/performance.md).
 */
export const localKmsLeftOpen = { value: false };
