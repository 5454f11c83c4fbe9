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
