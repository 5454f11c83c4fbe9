import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { LocalKmsError } from './errors.js';

/**
 * File modes of the data directory. The database holds the scrypt salt and the root-key check
 * value: a copy lets anyone guess a passphrase offline. The directory must be private to its
 * owner (mode 0700, as ssh demands of ~/.ssh), and the files in it are created 0600 whatever
 * the umask. POSIX only: Windows has no mode bits (its ACLs inherit from the user's profile).
 */
const POSIX = process.platform !== 'win32';

/**
 * Refuses a path owned by another user than the one this process runs as. Mode 0700 says
 * nothing about who the owner is: a store in a directory someone else owns (root running the
 * CLI with another user's HOME or SEALBOX_HOME) is one whose owner can read its root key, swap
 * in a root key of their own or rewrite its files. As ssh refuses another user's ~/.ssh.
 *
 * @throws LocalKmsError `InsecurePermissionsException`.
 */
function requireOwn(path: string, uid: number, what: string): void {
  const euid = process.geteuid?.();
  if (euid === undefined || uid === euid) return;
  throw new LocalKmsError(
    'InsecurePermissionsException',
    `The ${what} ${path} is owned by another user (uid ${uid}, not ${euid}), who could read or replace the key store; use a data directory of your own, or chown it to yourself if it is yours`,
  );
}

/**
 * Refuses a data directory or key file owned by another user, or that group or others can
 * access, naming the path and the command that fixes it. A mode is only ever tightened by the
 * user, never silently by us: a loose directory may already have leaked its contents, which
 * they should know.
 *
 * @throws LocalKmsError `InsecurePermissionsException`.
 */
export function requirePrivate(path: string, kind: 'directory' | 'file'): void {
  if (!POSIX) return;
  const st = statSync(path);
  requireOwn(path, st.uid, kind === 'directory' ? 'data directory' : 'key file');
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const fix = kind === 'directory' ? 'chmod 700' : 'chmod 600';
  throw new LocalKmsError(
    'InsecurePermissionsException',
    `The ${kind === 'directory' ? 'data directory' : 'key file'} ${path} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); run: ${fix} ${JSON.stringify(path)}`,
  );
}

/**
 * Creates `path` empty with mode 0600 if it does not exist, and takes group and other
 * permissions away from it if it does (stores made before this check had 0644 files).
 * Without `create`, a file that does not exist stays absent. A file owned by another user is
 * refused (`InsecurePermissionsException`), never chmod'ed.
 */
export function makePrivateFile(path: string, options: { create: boolean }): void {
  if (!POSIX) return;
  if (options.create) closeSync(openSync(path, 'a', 0o600));
  // No exception for a missing file (an Error with its stack for each of the three absent
  // -wal/-shm/-journal files of every open).
  const st = statSync(path, { throwIfNoEntry: options.create });
  if (st === undefined) return;
  requireOwn(path, st.uid, 'database file');
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
}
