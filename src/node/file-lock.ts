import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, open, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SealboxError } from '../errors.js';
import { removedOnSignal } from './atomic-write.js';

/**
 * One rewrap of a file at a time, across processes: `rewrapFile` and `recoverRewrap` hold a lock
 * file `.<name>.sealbox-lock` beside the file for as long as they read or write it. Without it a
 * second rewrap's recovery took the first one's live journal for a crashed one: it discarded a
 * journal still being written (the first then wrote its header with no durable journal) or
 * wrote its header and removed it (the first then failed on a file it had rewrapped), and two
 * rewraps that both read the old header each wrote their own (one's keys were lost).
 *
 * Node has no `flock`, so the lock is a file created whole or not at all: its text (who holds
 * it: process id, the process's start time and the boot id on Linux, host name) is written to
 * a private file that is then hard-linked to the lock's name, which fails if the name exists.
 * A lock whose holder has ended (a process killed, a machine restarted) is stale: the next
 * rewrap moves it aside and removes it (only if it is still the one it judged, by inode and
 * text). A lock of another host, or of a process that still runs, is ERR_STATE.
 * The lock is not synced: after a power cut it is stale anyway (another boot id).
 */

/** Path of the lock of the rewraps of `path`. */
export function lockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.sealbox-lock`);
}

/** A process's start time (field 22 of /proc/PID/stat), undefined where there is no /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Counted after the command name's closing parenthesis (the name may hold spaces and parentheses).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch {
    return '';
  }
}

interface Holder {
  readonly pid: number;
  readonly start: string;
  readonly boot: string;
  readonly host: string;
}

const HEADER = 'sealbox-lock 1';
let ownText: string | undefined;

function ownLockText(): string {
  ownText ??= [HEADER, String(process.pid), startTime(process.pid) ?? '', bootId(), hostname(), ''].join('\n');
  return ownText;
}

function parseHolder(text: string): Holder | undefined {
  const lines = text.split('\n');
  if (lines.length !== 6 || lines[0] !== HEADER || lines[5] !== '' || !/^[1-9][0-9]{0,9}$/.test(lines[1]!)) return undefined;
  return { pid: Number(lines[1]), start: lines[2]!, boot: lines[3]!, host: lines[4]! };
}

/** False when the holder has certainly ended; true when it runs or cannot be known (another host). */
function holderRuns(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  const boot = bootId();
  if (holder.boot !== '' && boot !== '' && holder.boot !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: a process of another user runs with that id.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The id was given to another process since (the holder was killed and the ids came round).
  const start = holder.start === '' ? undefined : startTime(holder.pid);
  return start === undefined || start === holder.start;
}

function inProgress(path: string, holder: Holder | undefined): SealboxError {
  const who = holder === undefined ? '' : ` (process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`})`;
  return new SealboxError('ERR_STATE', `Another rewrap of ${basename(path)} is in progress${who}; nothing was written`);
}

/** The lock file's text and identity, or undefined when it is gone. Never through a symbolic link. */
async function readLock(path: string): Promise<{ text: string; dev: number; ino: number } | undefined> {
  let handle: FileHandle;
  try {
    // Non-blocking: a FIFO planted under the lock's name would hold a blocking open for ever.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A symbolic link (ELOOP) is not a lock this code made: judged as unreadable text, below.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { text: '', dev: -1, ino: -1 };
    throw err;
  }
  try {
    const st = await handle.stat();
    // Not a lock this code made, nor one it can move aside and remove (a FIFO, a directory):
    // another user's doing in a shared directory, refused rather than read or waited on.
    if (!st.isFile()) throw new SealboxError('ERR_STATE', `The rewrap lock ${basename(path)} is not a regular file; nothing was written (remove it if no rewrap is running)`);
    // A lock is a few dozen bytes: more is not one (read no further than that).
    const bytes = Buffer.alloc(257);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
    return { text: bytesRead > 256 ? '' : bytes.toString('latin1', 0, bytesRead), dev: st.dev, ino: st.ino };
  } finally {
    await handle.close();
  }
}

/**
 * Takes the rewrap lock of `path` (see the top of this file) and returns the function that
 * releases it. A stale lock is removed first.
 *
 * @throws SealboxError ERR_STATE when another rewrap of `path` holds it (in this process or
 * another); Node file system errors (EACCES: the directory cannot be written).
 */
export async function lockForRewrap(path: string): Promise<() => Promise<void>> {
  const lock = lockPath(path);
  const text = ownLockText();
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${lock}.${randomBytes(6).toString('hex')}`;
    const handle = await open(tmp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(text, 'latin1');
      } finally {
        await handle.close();
      }
      // Whole or not at all: the name appears with its text, and only if it was free.
      await link(tmp, lock);
      removedOnSignal(lock, true);
      return async () => {
        await unlink(lock).catch(() => undefined);
        removedOnSignal(lock, false);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const held = await readLock(lock);
    if (held === undefined) continue;
    // Not something this code wrote whole: a lock cut short by a power cut (its text was never
    // synced). Such a lock cannot belong to a running rewrap.
    const holder = parseHolder(held.text);
    if (holder !== undefined && holderRuns(holder)) throw inProgress(path, holder);
    // Stale. Moved aside first, so that a lock another rewrap has taken meanwhile is not removed.
    const aside = `${lock}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(lock, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new SealboxError('ERR_STATE', `The rewrap lock ${basename(lock)} was left by a rewrap that has ended, and cannot be removed (${(err as NodeJS.ErrnoException).code ?? 'error'}); nothing was written`);
    }
    const moved = await readLock(aside);
    if (moved !== undefined && moved.dev === held.dev && moved.ino === held.ino && moved.text === held.text) {
      await unlink(aside).catch(() => undefined);
      continue;
    }
    // Another rewrap's fresh lock: put it back (unless yet another was taken) and give way.
    await link(aside, lock).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    throw inProgress(path, moved === undefined ? undefined : parseHolder(moved.text));
  }
  throw inProgress(path, undefined);
}
