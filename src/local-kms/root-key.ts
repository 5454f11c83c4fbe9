import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, scryptSync } from 'node:crypto';
import { LocalKmsError } from './errors.js';
import { copyBytes } from '../crypto/bytes.js';
import { writeFileAtomicallySync } from '../node/atomic-write.js';

/** Where the root key comes from, in order of precedence. */
export interface RootKeySource {
  /** 32 raw bytes given by the caller. */
  readonly rootKey?: Uint8Array;
  /** A passphrase, stretched with scrypt (salt kept in the database, never the key). */
  readonly passphrase?: string;
}

/** scrypt cost: N = 2^15, r = 8 (32 MiB, ~100 ms here): RFC 7914's interactive-login order of cost. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

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
 * from `getSalt`, else the key file in `dataDir`, created with mode 0600 on first use.
 * The root key never enters the database.
 */
export function resolveRootKey(dataDir: string, source: RootKeySource, getSalt: () => Uint8Array): Uint8Array {
  if (source.rootKey !== undefined) {
    if (!(source.rootKey instanceof Uint8Array) || source.rootKey.length !== 32) throw new RangeError('"rootKey" expected Uint8Array of length 32');
    return copyBytes(source.rootKey);
  }
  const env = process.env.SEALBOX_ROOT_KEY;
  if (env) return decodeKeyText(env, 'SEALBOX_ROOT_KEY');
  const passphrase = source.passphrase ?? (process.env.SEALBOX_PASSPHRASE || undefined);
  if (passphrase !== undefined) {
    if (passphrase.length === 0) throw new LocalKmsError('ValidationException', 'The passphrase must not be empty');
    return new Uint8Array(scryptSync(passphrase.normalize('NFC'), getSalt(), 32, SCRYPT));
  }
  const file = join(dataDir, ROOT_KEY_FILE);
  if (!existsSync(file)) {
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
  return decodeKeyText(readFileSync(file, 'utf8'), ROOT_KEY_FILE);
}
