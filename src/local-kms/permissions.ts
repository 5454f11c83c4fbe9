import { chmodSync, closeSync, lstatSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
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
 * Whether `gid` is this user's private group (the user-private-group scheme of Debian, Ubuntu,
 * Fedora: each user's primary group has the user's name and no one else in it; with umask 002
 * their directories are group-writable and that gives nobody else anything). Read from
 * /etc/group and /etc/passwd: the group must be this process's effective group, be named as the
 * user, list no other member, and be no other user's primary group. A group that is not found
 * there (a directory service) is not taken as private. As Debian's sshd allows a group-writable
 * directory above `authorized_keys` when its group has no member but the user.
 */
function isPrivateGroup(gid: number): boolean {
  if (gid !== process.getegid?.()) return false;
  let user: string;
  let groups: string;
  let passwd: string;
  try {
    user = userInfo().username;
    groups = readFileSync('/etc/group', 'utf8');
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return false;
  }
  const entries = (text: string): string[][] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(':'));
  const group = entries(groups).filter((f) => f[2] === String(gid));
  if (group.length === 0) return false;
  for (const [name, , , members = ''] of group) {
    if (name !== user || members.split(',').some((m) => m !== '' && m !== user)) return false;
  }
  return !entries(passwd).some((f) => f[3] === String(gid) && f[0] !== user);
}

/**
 * Refuses a data directory that someone else could take away and replace: one whose parent
 * directories (up to `/`, after symbolic links) another user owns, or group or others can
 * write without the sticky bit (group write is allowed when the group is the user's private
 * group, see {@link isPrivateGroup}), or whose path goes through a symbolic link another user owns.
 * Whoever can do that can rename the store away and put one of their own in its place (with a
 * root key they know, between the checks of the directory and the opening of its files), or
 * point the link at one: the checks of the directory itself cannot see it. As sshd's
 * StrictModes checks every directory above `authorized_keys`; root's directories are trusted,
 * and a sticky directory such as `/tmp` lets no one else rename what is yours.
 *
 * @throws LocalKmsError `InsecurePermissionsException`.
 */
export function requireSafeParents(dir: string): void {
  const euid = process.geteuid?.();
  if (!POSIX || euid === undefined) return;
  const trusted = (uid: number): boolean => uid === euid || uid === 0;
  const refuse = (why: string): never => {
    throw new LocalKmsError('InsecurePermissionsException', `${why}: they could replace the key store in ${dir} with one of their own; use a data directory whose parents only you (or root) can change`);
  };
  // The path as given: each symbolic link on it is followed at every open. (Parts that do not
  // exist yet are made by this process, private: checked before they are made.)
  const given = resolve(dir);
  let existing: string | undefined;
  for (let p = given; p !== dirname(p); p = dirname(p)) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
    existing ??= p;
    if (st.isSymbolicLink() && !trusted(st.uid)) refuse(`The data directory's path goes through the symbolic link ${p}, owned by another user (uid ${st.uid})`);
  }
  // Where it leads: every directory above the data directory.
  const real = realpathSync(existing ?? '/');
  for (let p = existing === given ? dirname(real) : real; ; p = dirname(p)) {
    const st = statSync(p);
    if (!trusted(st.uid)) refuse(`The directory ${p} above the data directory is owned by another user (uid ${st.uid})`);
    const mode = st.mode & 0o7777;
    const writable = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !isPrivateGroup(st.gid));
    if (writable && (mode & 0o1000) === 0) refuse(`The directory ${p} above the data directory can be written by other users (mode ${mode.toString(8).padStart(4, '0')}, not sticky)`);
    if (p === dirname(p)) return;
  }
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
