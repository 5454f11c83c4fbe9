import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, scryptSync } from 'node:crypto';
import { LocalKmsError } from './errors.js';
import { copyBytes } from '../crypto/bytes.js';
import { writeFileAtomicallySync } from '../node/atomic-write.js';
import { requirePrivate } from './permissions.js';
import type { SqliteDatabase } from './sqlite.js';
import { getMeta } from './store.js';

/** Where the root key comes from, in order of precedence. */
export interface RootKeySource {
  /** 32 raw bytes given by the caller. */
  readonly rootKey?: Uint8Array;
  /** A passphrase, stretched with scrypt (salt kept in the database, never the key). */
  readonly passphrase?: string;
}

/** scrypt parameters, stored with the salt so that later versions can raise them. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * For new stores: N = 2^17, r = 8, p = 1 (128 MiB), four times the old cost per offline guess.
 * Measured here (2 shared cores, load average 15-19): scrypt alone 1.11-1.35 s, a whole
 * `LocalKms.open` with a passphrase 1.29-1.48 s; N = 2^15 took 0.21-0.40 s in the same runs
 * (about 0.1 s unloaded), so about 0.4-0.6 s on an idle core. Paid once per open (each CLI
 * command). N = 2^18 took 2.4-3.1 s: too slow for a CLI that unlocks on every command.
 */
export const SCRYPT_DEFAULTS: ScryptParams = { N: 1 << 17, r: 8, p: 1 };
/** What stores made before the parameters were stored used (no `passphrase_kdf` meta row). */
export const SCRYPT_LEGACY: ScryptParams = { N: 1 << 15, r: 8, p: 1 };

/** The most memory stored parameters may ask for (128 * N * r bytes): room for N = 2^19 at r = 8. */
const SCRYPT_MAX_MEMORY = 512 * 1024 * 1024;

/** Stored parameters are checked before use: a forged row must not make open() allocate gigabytes or spin for hours. */
function checkParams(value: unknown): ScryptParams {
  const v = value as Partial<ScryptParams> | null;
  const ok = v !== null && typeof v === 'object'
    && Number.isInteger(v.N) && v.N! >= 1 << 14 && v.N! <= 1 << 20 && (v.N! & (v.N! - 1)) === 0
    && Number.isInteger(v.r) && v.r! >= 1 && v.r! <= 16
    && Number.isInteger(v.p) && v.p! >= 1 && v.p! <= 4
    && 128 * v.N! * v.r! <= SCRYPT_MAX_MEMORY;
  if (!ok) throw new LocalKmsError('KMSInternalException', 'The stored passphrase parameters are not valid', 'server');
  return { N: v.N!, r: v.r!, p: v.p! };
}

/**
 * The passphrase salt and scrypt parameters of a store, created on first use (both in one
 * immediate transaction, so concurrent first opens agree). A store with a salt and no stored
 * parameters predates them and uses {@link SCRYPT_LEGACY}.
 */
export function passphraseKdf(db: SqliteDatabase): { salt: Uint8Array; params: ScryptParams } {
  // Read first: a store with its salt (every open but the first) needs no write lock, so an
  // open does not queue behind another process's write. The first open writes both values in
  // one transaction, so a salt read here comes with the parameters stored beside it.
  const existing = getMeta(db, 'passphrase_salt');
  if (existing !== undefined) return kdfOf(existing, getMeta(db, 'passphrase_kdf'));
  return db.transaction(() => {
    let salt = getMeta(db, 'passphrase_salt');
    let stored = getMeta(db, 'passphrase_kdf');
    if (salt === undefined) {
      salt = randomBytes(16).toString('hex');
      stored = JSON.stringify({ alg: 'scrypt', ...SCRYPT_DEFAULTS });
      db.prepare("INSERT INTO meta (name, value) VALUES ('passphrase_kdf', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(stored);
      db.prepare("INSERT INTO meta (name, value) VALUES ('passphrase_salt', ?)").run(salt);
    }
    return kdfOf(salt, stored);
  }).immediate();
}

/** The salt and checked parameters from their meta values (no parameters: {@link SCRYPT_LEGACY}). */
function kdfOf(salt: string, stored: string | undefined): { salt: Uint8Array; params: ScryptParams } {
  let params = SCRYPT_LEGACY;
  if (stored !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stored);
    } catch {
      parsed = null;
    }
    params = checkParams(parsed);
  }
  return { salt: Buffer.from(salt, 'hex'), params };
}

/** The root key file name inside the data directory (mode 0600). */
export const ROOT_KEY_FILE = 'root.key';

function decodeKeyText(text: string, from: string): Uint8Array {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (bytes.length !== 32) throw new LocalKmsError('ValidationException', `${from} must hold 32 bytes (64 hex digits or base64)`);
  return new Uint8Array(bytes);
}

/**
 * Resolves the root key: `options.rootKey`, else `SEALBOX_ROOT_KEY` (hex or base64), else a
 * passphrase (`options.passphrase` or `SEALBOX_PASSPHRASE`) stretched with scrypt and the salt
 * and parameters from `getKdf`, else the key file in `dataDir`, created with mode 0600 on
 * first use and refused when group or others can read it. The root key never enters the database.
 * The key file is created only for a store not yet sealed (`sealedAlready` false): a sealed store
 * whose key file is missing is refused rather than given a new key that cannot open it.
 *
 * @throws LocalKmsError `InsecurePermissionsException` for a key file others can access,
 * `RootKeyMismatchException` for a sealed store without its key file.
 */
export function resolveRootKey(
  dataDir: string,
  source: RootKeySource,
  getKdf: () => { salt: Uint8Array; params: ScryptParams },
  sealedAlready: () => boolean = () => false,
): Uint8Array {
  if (source.rootKey !== undefined) {
    if (!(source.rootKey instanceof Uint8Array) || source.rootKey.length !== 32) throw new RangeError('"rootKey" expected Uint8Array of length 32');
    return copyBytes(source.rootKey);
  }
  const env = process.env.SEALBOX_ROOT_KEY;
  if (env) return decodeKeyText(env, 'SEALBOX_ROOT_KEY');
  const passphrase = source.passphrase ?? (process.env.SEALBOX_PASSPHRASE || undefined);
  if (passphrase !== undefined) {
    if (passphrase.length === 0) throw new LocalKmsError('ValidationException', 'The passphrase must not be empty');
    const { salt, params } = getKdf();
    return new Uint8Array(scryptSync(passphrase.normalize('NFC'), salt, 32, { ...params, maxmem: 128 * params.N * params.r + 16 * 1024 * 1024 }));
  }
  const file = join(dataDir, ROOT_KEY_FILE);
  if (!existsSync(file)) {
    // A store that already recorded its root key's check value was sealed under some root key:
    // a key file made now could not open it, and would stay behind to be mistaken for the lost
    // one (a restore of kms.sqlite without root.key, or a store made with a passphrase or
    // SEALBOX_ROOT_KEY and opened without them).
    // The check value is recorded only once the key file is in place: a store found sealed
    // whose file has appeared since the look above is another process's first open that just
    // finished (its file is read below), not a missing file.
    if (sealedAlready() && !existsSync(file)) {
      throw new LocalKmsError(
        'RootKeyMismatchException',
        `The key store in ${dataDir} is sealed under a root key, and ${ROOT_KEY_FILE} is missing: restore that file, or give the root key (SEALBOX_ROOT_KEY) or the passphrase (SEALBOX_PASSPHRASE) the store was made with; no new ${ROOT_KEY_FILE} was created`,
      );
    }
    // Written whole to a private temporary file, fsynced, then linked into place: link is
    // atomic and fails if the name exists, so a process starting at the same moment either
    // wins or reads the complete key of the one that did (never a half-written file), and a
    // power cut never leaves an empty key file behind a store sealed under the lost key.
    const text = Buffer.from(Buffer.from(randomBytes(32)).toString('hex') + '\n');
    try {
      writeFileAtomicallySync(file, text, { exclusive: true });
    } finally {
      text.fill(0);
    }
  }
  requirePrivate(file, 'file');
  return decodeKeyText(readFileSync(file, 'utf8'), ROOT_KEY_FILE);
}
