/**
 * Access keys for the KMS HTTP endpoint: an access key id, a secret, and the principal ARN the
 * key acts as.
 *
 * SigV4 is an HMAC keyed with (a derivation of) the secret, so the server must hold the secret
 * itself: a hash would not let it check a signature. Secrets are therefore stored encrypted,
 * AES-256-GCM under a 32-byte sealing key that the local KMS derives from its root key (which
 * never enters the database), with the access key id as associated data so a sealed secret
 * cannot be moved to another key id. The secret is shown once, at creation, and is never
 * listed, logged or written to the audit log.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SqliteDatabase as Database } from './sqlite.js';
import { LocalKmsError, storeError } from './errors.js';
import type { LocalKmsExtension, Migration } from './operation.js';

/** The `access_keys` table, owned by the `credentials` module. */
export const credentialMigrations: readonly Migration[] = [
  {
    module: 'credentials',
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE access_keys (
          access_key_id TEXT PRIMARY KEY,
          principal TEXT NOT NULL,
          account_id TEXT NOT NULL,
          sealed_secret BLOB NOT NULL,
          description TEXT NOT NULL DEFAULT '',
          status TEXT NOT NULL DEFAULT 'Active',
          created_at INTEGER NOT NULL
        );
      `),
  },
];

/**
 * The access-key table as a local KMS extension (no operations: access keys are managed through
 * {@link CredentialStore}, never through the KMS API).
 *
 * @example
 * ```ts
 * const kms = LocalKms.open({ extensions: [credentialsExtension] });
 * const store = new CredentialStore(kms.database, kms.deriveKey(CREDENTIAL_SEALING_PURPOSE));
 * ```
 */
export const credentialsExtension: LocalKmsExtension = { name: 'credentials', migrations: credentialMigrations };

/** The purpose label of the root-key derivation that seals access-key secrets. */
export const CREDENTIAL_SEALING_PURPOSE = 'access key secrets';

/** An access key as listed (never with its secret). */
export interface AccessKeyInfo {
  readonly accessKeyId: string;
  readonly principal: string;
  readonly accountId: string;
  readonly description: string;
  readonly status: 'Active' | 'Inactive';
  readonly createdAt: Date;
}

/** A new access key, with the secret that is shown this once. */
export interface NewAccessKey extends AccessKeyInfo {
  readonly secretAccessKey: string;
}

/** An access key with its secret, as the SigV4 verifier needs it. */
export interface ActiveCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly principal: string;
  readonly accountId: string;
}

const PRINCIPAL_RE = /^arn:aws:iam::(\d{12}):(root|user\/[\w+=,.@/-]{1,512}|role\/[\w+=,.@/-]{1,512})$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

interface Row {
  access_key_id: string;
  principal: string;
  account_id: string;
  sealed_secret: Buffer;
  description: string;
  status: 'Active' | 'Inactive';
  created_at: number;
}

function info(row: Row): AccessKeyInfo {
  return {
    accessKeyId: row.access_key_id,
    principal: row.principal,
    accountId: row.account_id,
    description: row.description,
    status: row.status,
    createdAt: new Date(row.created_at),
  };
}

/** A 20-character id like AWS's, with the prefix `LKIA` (local) so it is never mistaken for an AWS key. */
function newAccessKeyId(): string {
  const bytes = randomBytes(16);
  let id = 'LKIA';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

/**
 * Creates, lists, deactivates and looks up access keys in the local KMS database.
 *
 * @example
 * ```ts
 * const store = new CredentialStore(db, sealingKey);
 * const key = store.create({ principal: 'arn:aws:iam::111122223333:user/alice' });
 * console.log(key.accessKeyId, key.secretAccessKey); // shown once
 * ```
 */
export class CredentialStore {
  private readonly db: Database;
  private readonly sealingKey: Buffer;
  private readonly cache = new Map<string, { sealed: Buffer; credential: ActiveCredential }>();

  /**
   * @param db An open local KMS database whose migrations include {@link credentialMigrations}.
   * @param sealingKey 32 bytes derived from the root key.
   * @throws RangeError when the sealing key is not 32 bytes.
   */
  constructor(
    db: Database,
    sealingKey: Uint8Array,
    private readonly audit?: (operation: string, request: Readonly<Record<string, unknown>>) => void,
  ) {
    if (!(sealingKey instanceof Uint8Array) || sealingKey.length !== 32) {
      throw new RangeError('"sealingKey" expected Uint8Array of length 32');
    }
    this.db = db;
    this.sealingKey = Buffer.from(sealingKey);
  }

  /** Runs a change and its audit row (no secret in it) in one transaction: neither without the other. */
  private audited<T>(change: () => T, operation: string, request: Readonly<Record<string, unknown>>): T {
    try {
      return this.db.transaction(() => {
        const result = change();
        this.audit?.(operation, request);
        return result;
      })();
    } catch (err) {
      // A store another process kept locked past the busy timeout (or a failing disk): typed as
      // the key operations type it, never a raw SqliteError.
      throw storeError(err);
    }
  }

  /**
   * Creates an access key for a principal.
   *
   * @throws LocalKmsError `ValidationException` when the principal is not an IAM root, user or
   *   role ARN, or the description is longer than 256 characters.
   */
  create(options: { principal: string; description?: string; now?: Date }): NewAccessKey {
    const match = PRINCIPAL_RE.exec(options.principal);
    if (match === null) throw new LocalKmsError('ValidationException', 'principal must be arn:aws:iam::<account>:root, :user/<name> or :role/<name>.');
    const description = options.description ?? '';
    if (description.length > 256) throw new LocalKmsError('ValidationException', 'description must be at most 256 characters.');
    const accessKeyId = newAccessKeyId();
    // 30 random bytes: 40 base64 characters, the length of an AWS secret access key.
    const secretAccessKey = randomBytes(30).toString('base64');
    const createdAt = options.now ?? new Date();
    this.audited(
      () =>
        this.db
          .prepare(
            'INSERT INTO access_keys (access_key_id, principal, account_id, sealed_secret, description, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(accessKeyId, options.principal, match[1]!, this.seal(accessKeyId, secretAccessKey), description, 'Active', createdAt.getTime()),
      'CreateAccessKey',
      { AccessKeyId: accessKeyId, Principal: options.principal, Description: description },
    );
    return { accessKeyId, secretAccessKey, principal: options.principal, accountId: match[1]!, description, status: 'Active', createdAt };
  }

  /** Every access key, oldest first, without secrets. */
  list(): AccessKeyInfo[] {
    return (this.db.prepare('SELECT * FROM access_keys ORDER BY created_at, access_key_id').all() as Row[]).map(info);
  }

  /**
   * Makes a key Active or Inactive; an Inactive key is refused like an unknown one.
   *
   * @throws LocalKmsError `NotFoundException` for an unknown access key id.
   */
  setStatus(accessKeyId: string, status: 'Active' | 'Inactive'): void {
    this.audited(() => {
      const n = this.db.prepare('UPDATE access_keys SET status = ? WHERE access_key_id = ?').run(status, accessKeyId).changes;
      if (n === 0) throw new LocalKmsError('NotFoundException', 'No such access key.');
    }, 'UpdateAccessKey', { AccessKeyId: accessKeyId, Status: status });
    this.cache.delete(accessKeyId);
  }

  /**
   * Deletes a key for good.
   *
   * @throws LocalKmsError `NotFoundException` for an unknown access key id.
   */
  delete(accessKeyId: string): void {
    this.audited(() => {
      const n = this.db.prepare('DELETE FROM access_keys WHERE access_key_id = ?').run(accessKeyId).changes;
      if (n === 0) throw new LocalKmsError('NotFoundException', 'No such access key.');
    }, 'DeleteAccessKey', { AccessKeyId: accessKeyId });
    this.cache.delete(accessKeyId);
  }

  /**
   * The active credential for an access key id, or `undefined` (unknown, inactive, or sealed
   * under another root key). Reads the row every time, so a change made by another process is
   * seen at once; the decryption is cached per sealed value.
   */
  lookup(accessKeyId: string): ActiveCredential | undefined {
    if (typeof accessKeyId !== 'string' || accessKeyId.length > 128) return undefined;
    const row = this.db.prepare('SELECT * FROM access_keys WHERE access_key_id = ?').get(accessKeyId) as Row | undefined;
    if (row === undefined || row.status !== 'Active') return undefined;
    const cached = this.cache.get(accessKeyId);
    if (cached !== undefined && cached.sealed.equals(row.sealed_secret)) return cached.credential;
    const secret = this.open(accessKeyId, row.sealed_secret);
    if (secret === undefined) return undefined;
    const credential = { accessKeyId, secretAccessKey: secret, principal: row.principal, accountId: row.account_id };
    if (this.cache.size >= 1024) this.cache.clear();
    this.cache.set(accessKeyId, { sealed: row.sealed_secret, credential });
    return credential;
  }

  /** nonce(12) || ciphertext || tag(16), AAD = "sealbox access key v1" || access key id. */
  private seal(accessKeyId: string, secret: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealingKey, nonce);
    cipher.setAAD(Buffer.from(`sealbox access key v1\0${accessKeyId}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  private open(accessKeyId: string, sealed: Buffer): string | undefined {
    if (sealed.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealingKey, sealed.subarray(0, 12));
      decipher.setAAD(Buffer.from(`sealbox access key v1\0${accessKeyId}`));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
