import type { Stats } from 'node:fs';
import { accessSync, constants, fstatSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError, fileError } from './exit.js';

/**
 * Where `-o PATH` writes (docs/cli.md, "Output files"):
 * - `file`: through a temporary file renamed over `path` (all or nothing). When the path given is
 *   a symbolic link to a regular file, `path` is the link's target: the file is replaced and the
 *   link kept (renaming over the link would have replaced the link itself, as with /dev/stdout
 *   redirected to a file);
 * - `stream`: straight into an existing FIFO, character or block device or socket (/dev/null, a
 *   terminal, /dev/stdout on a pipe, a shell's `>(command)`), which cannot be renamed over:
 *   written as standard output is, so a failure can leave part of the output there;
 * - `stdout`: "-", no -o, or a path to what is open as standard output (/dev/stdout).
 */
export type OutputTarget = { readonly kind: 'stdout' } | { readonly kind: 'file' | 'stream'; readonly path: string };

function sameAsStdout(st: { dev: number; ino: number }): boolean {
  try {
    const out = fstatSync(1);
    return out.dev === st.dev && out.ino === st.ino;
  } catch {
    return false;
  }
}

/**
 * Refuses to follow a symbolic link that another user (not root) put in a sticky directory
 * everyone can write (`/tmp`) and that is not the directory owner's: Linux's
 * `fs.protected_symlinks` rule, applied here on every system (macOS has no such guard, and
 * containers often turn it off). Such a link at the output's name is another user's way to have
 * the output (a decrypt's plaintext) replace a file of yours they chose, such as `~/.bashrc`;
 * at a file `sealbox rewrap` rewrites in place, to have a file of yours they chose rewrapped to
 * the keys you give (`--add` a recipient of theirs).
 *
 * @throws FileError EPERM.
 */
export function refuseForeignLink(link: Stats, path: string): void {
  const euid = process.geteuid?.();
  if (euid === undefined || link.uid === euid || link.uid === 0) return;
  let dir: Stats;
  try {
    dir = statSync(dirname(path));
  } catch {
    return;
  }
  if ((dir.mode & 0o1002) !== 0o1002 || dir.uid === link.uid) return;
  throw new FileError(`cannot write ${path}: it is a symbolic link of another user (uid ${link.uid}) in ${dirname(path)}, where everyone can create files; following it would write where they chose. Remove it or give another path`, 'EPERM');
}

/** Where `-o path` writes (see {@link OutputTarget}); the path must exist for `stream`. */
export function outputTarget(path: string | undefined): OutputTarget {
  if (path === undefined || path === '-') return { kind: 'stdout' };
  let st;
  try {
    st = statSync(path);
  } catch {
    return { kind: 'file', path };
  }
  // /dev/stdout, /dev/fd/1, /proc/self/fd/1: what is open as standard output already, whatever it
  // is (a socket cannot be opened by path; a file opened by `>>` must be appended to, not replaced).
  if (!st.isDirectory() && sameAsStdout(st)) return { kind: 'stdout' };
  if (!st.isFile() && !st.isDirectory()) return { kind: 'stream', path };
  const link = st.isFile() ? lstatSync(path) : undefined;
  if (link?.isSymbolicLink()) {
    refuseForeignLink(link, path);
    try {
      return { kind: 'file', path: realpathSync(path) };
    } catch {
      return { kind: 'file', path };
    }
  }
  return { kind: 'file', path };
}

/** Names of descriptors already open in this process. */
const HANDED = /^\/(?:dev\/(?:fd\/|stdout$|stderr$)|proc\/(?:self|thread-self|\d+)\/fd\/)/;

/**
 * Refuses to write into a FIFO or socket that another user (not root) made: in a shared
 * directory (`/tmp`, a project directory others can write) a named pipe planted under the
 * output's name is that user's way to read what was meant for a file, the plaintext of a
 * decrypt. (Linux's `fs.protected_fifos` refuses it in sticky directories when it is on; macOS,
 * containers and other directories have no such guard.) Devices are not checked: only root
 * makes them. Nor is a descriptor this process was handed (`/dev/fd/N`, `/dev/stderr`,
 * `/proc/self/fd/N`: a shell's `>(command)` or `3>FIFO`, as root too): whoever started the
 * command chose it, nobody planted it. `st`: a stat of what is about to be written (after
 * symbolic links).
 *
 * @throws FileError EPERM.
 */
export function requireOwnStream(st: Stats, path: string): void {
  const euid = process.geteuid?.();
  if (euid === undefined || st.uid === euid || st.uid === 0 || !(st.isFIFO() || st.isSocket()) || HANDED.test(path)) return;
  throw new FileError(`cannot write ${path}: it is a ${st.isFIFO() ? 'named pipe' : 'socket'} of another user (uid ${st.uid}), who would read what is written into it; remove it or give another path`, 'EPERM');
}

/**
 * Refuses an output path that cannot be written, before any work and before the key store is
 * opened or created, naming the path as the user gave it: a directory, a missing or
 * non-directory parent, a parent without write permission. (The output itself is written
 * later, through a temporary file beside it; this check only makes the common mistakes fail
 * first, and says so in the user's terms instead of the temporary file's name.) An existing
 * FIFO, device or socket ({@link outputTarget} `stream`) needs only to be writable itself.
 * "-" and undefined mean stdout. `target`: {@link outputTarget} of `path` when the caller has it.
 */
export function checkOutputPath(path: string | undefined, target: OutputTarget = outputTarget(path)): void {
  if (path === undefined || path === '-') return;
  if (path === '') throw new FileError('cannot write "": the output path is empty', 'ENOENT');
  if (target.kind === 'stdout') return;
  if (target.kind === 'stream') {
    try {
      accessSync(path, constants.W_OK);
      requireOwnStream(statSync(path), path);
    } catch (err) {
      throw err instanceof FileError ? err : fileError(err, path, 'write');
    }
    return;
  }
  try {
    if (statSync(path).isDirectory()) throw new FileError(`cannot write ${path}: it is a directory (give a file name)`, 'EISDIR');
  } catch (err) {
    if (err instanceof FileError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, path, 'write');
  }
  // A link's target gets the temporary file beside it; messages still name the path given.
  checkResolved(path, target.kind === 'file' ? target.path : path);
}

/** The directory checks of {@link checkOutputPath} for `resolved`, the file `path` names. */
function checkResolved(path: string, resolved: string): void {
  const dir = dirname(resolved);
  let parent;
  try {
    parent = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileError(`cannot write ${path}: the directory ${dir} does not exist`, 'ENOENT');
    throw fileError(err, path, 'write');
  }
  if (!parent.isDirectory()) throw new FileError(`cannot write ${path}: ${dir} is not a directory`, 'ENOTDIR');
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new FileError(`cannot write ${path}: no permission to create files in ${dir}`, (err as NodeJS.ErrnoException).code ?? 'EACCES');
  }
}
