import { randomBytes } from 'node:crypto';
import { closeSync, fsync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';

/**
 * Every write that must appear whole or not at all goes through here: `encryptFile`,
 * `decryptFile`, the CLI's `-o FILE`, the local KMS's root key file. The steps, in order:
 * write a private temporary file in the destination's directory (created exclusively, mode
 * 0600), fsync it, close it, rename (or link) it over the destination, fsync the directory.
 * Without the first fsync a power cut after the rename can leave an empty or partial
 * destination (the rename reaches the disk before the data); without the second the rename
 * itself may be lost. On any failure before the rename the temporary file is removed and the
 * destination is untouched.
 */

/** The file-system calls made, in one place so tests can record their order and inject failures. */
export interface AtomicWriteFs {
  open(path: string, flags: string, mode: number): Promise<FileHandle>;
  syncFile(file: FileHandle): Promise<void>;
  close(file: FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  syncDir(dir: string): Promise<void>;
  /** fsync of an open file descriptor on libuv's thread pool (the calling thread goes on). */
  fsync(fd: number): Promise<void>;
  openSync(path: string, flags: string, mode: number): number;
  writeSync(fd: number, data: Uint8Array): void;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  linkSync(from: string, to: string): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  syncDirSync(dir: string): void;
}

/**
 * Errors that mean "this file system cannot fsync a directory" rather than "the data may be
 * lost": some network and FUSE file systems answer EINVAL or ENOTSUP. Windows cannot open a
 * directory as a file at all (and its rename is durable through NTFS's journal), so it skips.
 */
function dirSyncUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'ENOTSUP' || code === 'EOPNOTSUPP';
}

export const nodeAtomicWriteFs: AtomicWriteFs = {
  open: (path, flags, mode) => open(path, flags, mode),
  syncFile: (file) => file.sync(),
  close: (file) => file.close(),
  // Called through, not taken at load: the CLI's bundle loads node:fs/promises on first use
  // only (tsup.config.ts), and a pipe's command never uses it.
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    if (process.platform === 'win32') return;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } catch (err) {
      if (!dirSyncUnsupported(err)) throw err;
    } finally {
      await handle.close();
    }
  },
  fsync: (fd) => new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve()))),
  openSync,
  writeSync: (fd, data) => {
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
  },
  fsyncSync,
  closeSync,
  linkSync,
  renameSync,
  unlinkSync,
  syncDirSync(dir) {
    if (process.platform === 'win32') return;
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } catch (err) {
      if (!dirSyncUnsupported(err)) throw err;
    } finally {
      closeSync(fd);
    }
  },
};

/**
 * The temporary file for `dst`: `.<name>.<12 hex>.sealbox-tmp` beside it (same file system,
 * so the rename is atomic). The CLI's signal handler (src/cli/interrupt.ts) matches this name.
 */
export function temporaryPathFor(dst: string): string {
  return join(dirname(dst), `.${basename(dst)}.${randomBytes(6).toString('hex')}.sealbox-tmp`);
}

/**
 * The temporary files this process has created (or is creating) and not yet renamed or removed,
 * by path: what a signal handler may remove (src/cli/interrupt.ts), and nothing else, not even
 * another process's temporary file for the same destination.
 */
const liveTemporaryFiles = new Set<string>();

let exitHook = false;

/**
 * Adds `path` to {@link liveTemporaryFiles}. The first time, a process 'exit' listener is added
 * that removes whatever is still there: a program calling `process.exit()` (or ending) while a
 * write is under way skips that write's own clean-up, and a `decryptFile`'s temporary file
 * holds plaintext not yet verified. Synchronous, as an 'exit' listener must be. (A process
 * killed by a signal runs no listener: the CLI handles its signals, src/cli/interrupt.ts.)
 */
function track(path: string): void {
  liveTemporaryFiles.add(path);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const tmp of liveTemporaryFiles) {
      try {
        unlinkSync(tmp);
      } catch {
        // Already renamed or removed.
      }
    }
    liveTemporaryFiles.clear();
  });
}

/**
 * Other files of this process that a signal handler removes with its temporary files: the
 * rewrap locks it holds (src/node/file-lock.ts), which would otherwise stay until the next
 * rewrap of the file found their process ended. `held`: false once the file is removed.
 */
export function removedOnSignal(path: string, held: boolean): void {
  if (held) track(path);
  else liveTemporaryFiles.delete(path);
}

/**
 * Removes every temporary file this process created and has not renamed or removed yet, once
 * none is still being opened ({@link temporaryFilesSettled}). For a signal handler that is
 * about to end the process: each write's own clean-up would never run. Best effort; the
 * writes themselves are not stopped (the process is expected to exit).
 */
export async function removeTemporaryFiles(): Promise<void> {
  await temporaryFilesSettled();
  for (const tmp of liveTemporaryFiles) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed or removed: nothing left to clean.
    }
    liveTemporaryFiles.delete(tmp);
  }
}

/** Temporary files of {@link writeFileAtomically} being created right now (an open on libuv's thread pool). */
let opening = 0;
const openingSettled: (() => void)[] = [];

/**
 * Resolves once no temporary file of {@link writeFileAtomically} is being created: its open runs
 * on libuv's thread pool, so a file can appear after a signal handler has looked for the
 * temporary files to remove. The CLI's handler (src/cli/interrupt.ts) waits for this first.
 */
export function temporaryFilesSettled(): Promise<void> {
  return opening === 0 ? Promise.resolve() : new Promise((settled) => openingSettled.push(settled));
}

/**
 * Writes `dst` through a private temporary file that `body` fills (it gets the open file and its
 * path: rewrapFile copies into it by path), then fsyncs it, renames it over `dst` and fsyncs
 * the directory. If `body` or any step before the rename fails, the
 * temporary file is removed and `dst` is left as it was. If only the final directory fsync
 * fails, `dst` is in place but may not survive a power cut: the error is thrown.
 *
 * @example
 * ```ts
 * await writeFileAtomically('out.bin', async (fh) => { await fh.write(bytes); });
 * ```
 * @throws Node file system errors (EEXIST is never thrown for `dst`: it is replaced).
 */
export async function writeFileAtomically<T>(dst: string, body: (out: FileHandle, tmp: string) => Promise<T>, fs: AtomicWriteFs = nodeAtomicWriteFs): Promise<T> {
  const tmp = temporaryPathFor(dst);
  // 'wx': never follow or clobber an existing path; 0o600: plaintext is private until renamed.
  opening++;
  track(tmp);
  let out: FileHandle;
  try {
    out = await fs.open(tmp, 'wx', 0o600);
  } catch (err) {
    liveTemporaryFiles.delete(tmp);
    throw err;
  } finally {
    if (--opening === 0) for (const settled of openingSettled.splice(0)) settled();
  }
  let open = true;
  let renamed = false;
  try {
    const result = await body(out, tmp);
    await fs.syncFile(out);
    open = false;
    await fs.close(out);
    await fs.rename(tmp, dst);
    renamed = true;
    liveTemporaryFiles.delete(tmp);
    await fs.syncDir(dirname(dst));
    return result;
  } finally {
    if (!renamed) {
      if (open) await fs.close(out).catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
      liveTemporaryFiles.delete(tmp);
    }
  }
}

/**
 * Writes `data`, already in memory, to `dst` the same way: a private temporary file, fsynced,
 * renamed over `dst`. The cheap calls (open, write, close, rename) are synchronous and only the
 * fsync runs on libuv's thread pool, so that many small files written at once (the CLI's
 * `--output-dir`) overlap their fsyncs instead of paying a thread-pool round trip per call.
 *
 * With `syncDir: false` the directory is NOT synced: the file is still all or nothing (its data
 * is on disk before its name points at it), but the rename itself may be lost in a power cut
 * until the caller fsyncs the directory, which it must do (`nodeAtomicWriteFs.syncDir`) once
 * after the last rename of a batch and before it reports success.
 *
 * @example
 * ```ts
 * await writeBytesAtomically('a.sbx', ciphertext, { syncDir: false });
 * await writeBytesAtomically('b.sbx', other, { syncDir: false });
 * await nodeAtomicWriteFs.syncDir('.');
 * ```
 * @throws Node file system errors; on any failure before the rename, `dst` is untouched and no
 * temporary file is left.
 */
export async function writeBytesAtomically(dst: string, data: Uint8Array, options: { syncDir?: boolean } = {}, fs: AtomicWriteFs = nodeAtomicWriteFs): Promise<void> {
  await drive(writeBytesSteps(dst, data, { syncDir: options.syncDir !== false }, fs, true));
}

/**
 * Writes small `data` to `dst` the same way, synchronously. With `exclusive`, `dst` is linked
 * into place instead of renamed, so an existing `dst` is never replaced: returns false when
 * it already existed (another process won the race; its file is complete, never half-written).
 * `mode` (default 0o600, owner only; the umask applies) is for files meant to be shared, such
 * as a public key (0o644).
 *
 * @example
 * ```ts
 * writeFileAtomicallySync(join(dir, 'root.key'), keyText, { exclusive: true });
 * ```
 * @throws Node file system errors.
 */
export function writeFileAtomicallySync(dst: string, data: Uint8Array, options: { exclusive?: boolean; mode?: number } = {}, fs: AtomicWriteFs = nodeAtomicWriteFs): boolean {
  // Nothing the steps yield is a promise without `wait`: drive answers at once.
  return drive(writeBytesSteps(dst, data, { ...options, syncDir: true }, fs, false)) as boolean;
}

/**
 * The calls of {@link writeBytesAtomically} and {@link writeFileAtomicallySync}, in their
 * order: open the temporary file, write, fsync, close, rename (or link, with `exclusive`:
 * returns false when `dst` existed), fsync the directory (unless `syncDir` is false). With
 * `wait` the two fsyncs run on libuv's thread pool and are yielded (see `drive`), without it
 * they are synchronous. On any failure before `dst` is in place the temporary file is closed
 * and removed.
 */
function* writeBytesSteps(dst: string, data: Uint8Array, options: { exclusive?: boolean; mode?: number; syncDir: boolean }, fs: AtomicWriteFs, wait: boolean): Steps<boolean> {
  const tmp = temporaryPathFor(dst);
  const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o600);
  track(tmp);
  let open = true;
  let placed = false;
  try {
    fs.writeSync(fd, data);
    yield wait ? fs.fsync(fd) : fs.fsyncSync(fd);
    open = false;
    fs.closeSync(fd);
    if (options.exclusive) {
      try {
        fs.linkSync(tmp, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      placed = true;
      fs.unlinkSync(tmp);
    } else {
      fs.renameSync(tmp, dst);
      placed = true;
    }
    if (options.syncDir) yield wait ? fs.syncDir(dirname(dst)) : fs.syncDirSync(dirname(dst));
    return true;
  } finally {
    if (!placed) {
      if (open) {
        try {
          fs.closeSync(fd);
        } catch {
          // Closing is best effort here: the error that matters is being thrown.
        }
      }
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Never created or already gone.
      }
    }
    // Renamed, linked and unlinked, or removed: no longer a temporary file of this process.
    liveTemporaryFiles.delete(tmp);
  }
}
