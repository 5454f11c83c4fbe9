import type { Stats } from 'node:fs';
import { constants, existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { copyFile, lstat, open, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readU32 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { MAX_FRAMES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { RewrapOptions } from '../message/rewrap-session.js';
import { checkFrameTags, planRewrap, rewrapHeader } from '../message/rewrap-session.js';
import { writeFileAtomically } from './atomic-write.js';
import type { StepHook } from './header-journal.js';
import { readAt, recoverJournal, writeHeaderInPlace } from './header-journal.js';
import { lockForRewrap } from './file-lock.js';

/** Bytes per positional read and write when the body must move (the header changed length). */
const COPY_BLOCK = 1024 * 1024;

/** Options of {@link rewrapFile}: those of `rewrap`, and how to replace a file in place. */
export interface RewrapFileOptions extends RewrapOptions {
  /**
   * When `dst` is `src` and the new header has exactly the old header's length: `'header'`
   * (default) writes the header alone, in place, through a journal (crash-safe, O(header));
   * `'copy'` writes a whole new file and renames it over `src`. A header of another length
   * always takes the copy.
   */
  inPlace?: 'header' | 'copy';
}

/** What {@link rewrapFile} returns. */
export interface RewrapFileResult {
  /** The new header. */
  readonly header: MessageHeader;
  /** The old header (authenticated). */
  readonly previousHeader: MessageHeader;
  /** `'header'`: only the header was rewritten, in place; `'copy'`: a new file was written and renamed. */
  readonly method: 'header' | 'copy';
  /** Bytes written: the header's, or the whole new file's. */
  readonly bytesWritten: number;
}

/**
 * The body's structure from its length and the final frame's prefix alone (O(1) reads): the
 * body of a message with frame length F is n regular frames of F + 17 bytes and a final frame
 * of L + 21 bytes (L < F), so its length fixes n and L, and the final frame must sit where they
 * say, declaring L. A cut or extended file fails here. (The regular frames' type bytes are read
 * by `verifyFrames`, and by every decrypt.)
 */
async function checkBodyShape(input: FileHandle, bodyStart: number, size: number, frameLength: number): Promise<void> {
  try {
    await guessBodyShape(input, bodyStart, size, frameLength);
  } catch (err) {
    if (err instanceof SealboxError && err.code !== 'ERR_LIMIT_EXCEEDED') {
      // The guess is where the final frame must be if the file ends where the message does.
      // When it does not, say what reading the frames in order finds (what decrypt and rewrap
      // report for the same bytes: bytes after a complete message are ERR_TRAILING_DATA, not a
      // frame cut short). Only failures pay for this walk.
      await walkBodyShape(input, bodyStart, size, frameLength);
    }
    throw err;
  }
}

/** Bytes per read while {@link walkBodyShape} looks for the frames' type bytes. */
const WALK_BLOCK = 64 * 1024;

/**
 * The frames' structure read in order (each regular frame's type byte, then the final frame's
 * prefix): throws what a sequential reader would find first. Returns when the structure is sound
 * (the caller then throws the guess's error). Reads blocks of {@link WALK_BLOCK} bytes and looks
 * at every frame's type byte in them: O(size / 64 KiB) reads whatever the frame length. (Runs
 * before the header is authenticated: one read per frame let a file of 1-byte frames cost a
 * second per MiB before any key was asked.)
 */
async function walkBodyShape(input: FileHandle, bodyStart: number, size: number, frameLength: number): Promise<void> {
  const regularSize = frameLength + REGULAR_FRAME_OVERHEAD;
  let block: Buffer = Buffer.alloc(0);
  let blockStart = 0;
  for (let pos = bodyStart, frames = 0; ; pos += regularSize) {
    if (++frames > MAX_FRAMES) throw limitExceeded('frames', frames, MAX_FRAMES);
    if (pos + 1 > size) throw new SealboxError('ERR_TRUNCATED', 'The message ends before its final frame');
    if (pos >= blockStart + block.length) {
      block = await readAt(input, Math.min(WALK_BLOCK, size - pos), pos);
      blockStart = pos;
      if (block.length === 0) throw new SealboxError('ERR_TRUNCATED', 'The message ends before its final frame');
    }
    const type = block[pos - blockStart];
    if (type === FRAME_REGULAR) {
      if (pos + regularSize > size) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside a frame');
      continue;
    }
    if (type !== FRAME_FINAL) throw formatInvalid('unknown frame type');
    if (pos + FINAL_FRAME_PREFIX > size) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame');
    const declared = readU32(await readAt(input, FINAL_FRAME_PREFIX, pos), 1);
    if (declared >= frameLength) throw formatInvalid('final frame length must be below the frame length');
    const end = pos + FINAL_FRAME_OVERHEAD + declared;
    if (end > size) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame');
    if (end < size) throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
    return;
  }
}

/** {@link checkBodyShape}'s O(1) reads: the final frame where the file's length puts it. */
async function guessBodyShape(input: FileHandle, bodyStart: number, size: number, frameLength: number): Promise<void> {
  const bodyLength = size - bodyStart;
  if (bodyLength < FINAL_FRAME_OVERHEAD) throw new SealboxError('ERR_TRUNCATED', 'The message ends before its final frame');
  const regularSize = frameLength + REGULAR_FRAME_OVERHEAD;
  const n = Math.floor((bodyLength - FINAL_FRAME_OVERHEAD) / regularSize);
  const length = bodyLength - FINAL_FRAME_OVERHEAD - n * regularSize;
  if (n + 1 > MAX_FRAMES) throw limitExceeded('frames', n + 1, MAX_FRAMES);
  const prefix = await readAt(input, FINAL_FRAME_PREFIX, bodyStart + n * regularSize);
  const type = prefix[0];
  if (type === FRAME_REGULAR) throw new SealboxError('ERR_TRUNCATED', 'The message ends before its final frame');
  if (type !== FRAME_FINAL) throw formatInvalid('unknown frame type');
  const declared = readU32(prefix, 1);
  if (declared >= frameLength) throw formatInvalid('final frame length must be below the frame length');
  if (declared < length) throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
  if (declared > length) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside the final frame');
  if (n > 0 && (await readAt(input, 1, bodyStart))[0] !== FRAME_REGULAR) throw formatInvalid('unknown frame type');
}

/** Copies `input[from, end)` to `out` at `at`, in large positional blocks, reading the next block while one is written. */
async function copyBody(input: FileHandle, from: number, end: number, out: FileHandle, at: number, step?: StepHook): Promise<void> {
  const buffers = [Buffer.allocUnsafe(COPY_BLOCK), Buffer.allocUnsafe(COPY_BLOCK)];
  let which = 0;
  let pos = from;
  let writing: Promise<unknown> = Promise.resolve();
  let reading = input.read(buffers[0]!, 0, Math.min(COPY_BLOCK, end - pos), pos);
  while (pos < end) {
    const { bytesRead } = await reading;
    if (bytesRead === 0) throw new SealboxError('ERR_TRUNCATED', 'The file became shorter while it was copied');
    const block = buffers[which]!.subarray(0, bytesRead);
    const target = at + (pos - from);
    pos += bytesRead;
    await writing;
    await step?.('copy-block');
    which ^= 1;
    if (pos < end) reading = input.read(buffers[which]!, 0, Math.min(COPY_BLOCK, end - pos), pos);
    writing = (async () => {
      let done = 0;
      while (done < block.length) done += (await out.write(block, done, block.length - done, target + done)).bytesWritten;
    })();
  }
  await writing;
}

/**
 * In place by rename, the new file takes the old one's owner and group where this user may give
 * them (root: any; others: a group they are in), then its permission bits again (a change of
 * owner clears set-id bits). A group that cannot be kept loses its bits: the user's own group,
 * which the file never had, gets no access to it. Before this the file is 0600 or src's mode,
 * never wider.
 */
async function keepOwner(out: FileHandle, was: Stats): Promise<void> {
  const now = await out.stat();
  if (now.uid === was.uid && now.gid === was.gid) return;
  let mode = was.mode & 0o777;
  try {
    await out.chown(was.uid, was.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    try {
      await out.chown(-1, was.gid);
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code !== 'EPERM') throw err2;
      mode &= ~0o070;
    }
  }
  await out.chmod(mode);
}

/**
 * A path that opens the very file `handle` is open on, whatever has become of its name: Linux's
 * `/proc/self/fd/N` (a link to the open file itself). Elsewhere `name`, the file's name.
 */
function openFilePath(handle: FileHandle, name: string): string {
  const byFd = `/proc/self/fd/${handle.fd}`;
  return process.platform === 'linux' && existsSync(byFd) ? byFd : name;
}

/**
 * Whether `a` and `b` name the same existing file (same device and inode), and whether `a` is a
 * symbolic link (only then is it resolved: three more system calls a file).
 */
async function sameFile(a: string, b: string): Promise<{ same: boolean; link: boolean }> {
  const [l, y] = await Promise.all([lstat(a), stat(b).catch(() => undefined)]);
  const link = l.isSymbolicLink();
  const x = link ? await stat(a) : l;
  // A FIFO, directory or device takes no file renamed over it (run as root, /dev/null would
  // have become a regular file).
  if (y !== undefined && !y.isFile()) throw new TypeError(`"dst" ${basename(b)} is not a regular file`);
  return { same: y !== undefined && x.dev === y.dev && x.ino === y.ino, link };
}

/** {@link rewrapFile} with a step hook (tests stop the process at each step). */
export async function rewrapFileWith(path: string, to: string, options: RewrapFileOptions, step?: StepHook): Promise<RewrapFileResult> {
  const plan = planRewrap(options);
  const inPlace = options.inPlace ?? 'header';
  if (inPlace !== 'header' && inPlace !== 'copy') throw new TypeError('"inPlace" expected "header" or "copy"');
  const { same, link } = await sameFile(path, to);
  // Through a symbolic link, the file it points to: its journal and lock sit beside it, where a
  // rewrap by its own name finds them, and in place the link is kept (a rename over the link
  // replaced the link with the new message and left the file under the old keys).
  const src = link ? await realpath(path) : path;
  const dst = same ? src : to;
  // One rewrap of a file at a time (src/node/file-lock.ts), held until its journal is removed or
  // its copy renamed; dst's too when it is another file, so that no in-place rewrap of dst is
  // lost under the rename. Not src's when its directory cannot be written (a read-only archive
  // read into a new file): no rewrap can write a journal there either.
  const locks = [await lockForRewrap(src).catch((err: unknown) => {
    if (!same && ['EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '')) return async () => undefined;
    throw err;
  })];
  try {
    if (!same) locks.push(await lockForRewrap(dst));
    // An in-place rewrap of src that a crash interrupted is finished before src is read.
    await recoverJournal(src);
    return await rewrapLocked(src, dst, same, plan, inPlace, step);
  } finally {
    for (const release of locks.reverse()) await release();
  }
}

async function rewrapLocked(src: string, dst: string, same: boolean, plan: ReturnType<typeof planRewrap>, inPlace: 'header' | 'copy', step?: StepHook): Promise<RewrapFileResult> {
  // In place, whichever way it is written, the file must be one this user may write: a
  // read-only file is not replaced by rename merely because its directory can be written.
  // Non-blocking: a FIFO with no writer would hold the open for ever (it changes nothing for a
  // regular file). What was opened is checked, not what a stat of the path saw before.
  const input = await open(src, (same ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK);
  try {
    // What was opened: its kind, size, mode and owner (the copy checks again before its rename).
    const was = await input.stat();
    if (!was.isFile()) throw new TypeError(`"src" ${basename(src)} is not a regular file`);
    const { size } = was;
    const preamble = await readAt(input, PREAMBLE_BYTES, 0);
    const headerEnd = readPreamble(preamble, plan.decrypt.limits.maxHeaderBytes);
    if (headerEnd === undefined) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
    const bodyStart = headerEnd + TAG_BYTES;
    const old = await readAt(input, bodyStart, 0);
    if (old.length < bodyStart) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
    const result = await rewrapHeader(plan, old.subarray(0, headerEnd), old.subarray(headerEnd), (h) => checkBodyShape(input, bodyStart, size, h.frameLength));
    const { header, previous, headerBytes } = result;
    if (plan.verifyFrames) await verifyFileFrames(input, bodyStart, size, header.frameLength, result);
    const done = (method: 'header' | 'copy', bytesWritten: number): RewrapFileResult => ({ header, previousHeader: previous, method, bytesWritten });

    if (same && inPlace === 'header' && headerBytes.length === bodyStart) {
      const file = await open(src, 'r+');
      try {
        // Still the file whose header was authenticated, with that header: another program may
        // have renamed a file over src or written it meanwhile (other rewraps wait for the lock).
        const now = await file.stat();
        if (was.dev !== now.dev || was.ino !== now.ino || now.size !== size || !(await readAt(file, bodyStart, 0)).equals(old)) {
          throw new SealboxError('ERR_STATE', 'The source file changed while it was rewrapped');
        }
        await writeHeaderInPlace(src, file, old, headerBytes, step);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SealboxError('ERR_STATE', 'Another rewrap of this file is in progress');
        throw err;
      } finally {
        await file.close();
      }
      return done('header', headerBytes.length);
    }

    const { mode } = was;
    const written = await writeFileAtomically(dst, async (out, tmp) => {
      if (headerBytes.length === bodyStart) {
        // Same length: the platform's copy (copy_file_range, or a clone where the file system
        // has them), then the header overwritten in the copy, which nobody else sees yet.
        // Onto the temporary file writeFileAtomically created ('wx'): same inode, truncated first.
        // By the open file where the system names it (Linux: /proc/self/fd), not by its name: in
        // a directory others can write, the name could have been swapped for a symbolic link to
        // another file of this user's, which the copy (it opens by path) would have overwritten.
        const into = openFilePath(out, tmp);
        await copyFile(src, into);
        // The copy came from the path: it must still be the message whose header was authenticated.
        const check = await open(into, 'r');
        try {
          const copied = await readAt(check, bodyStart, 0);
          if ((await check.stat()).size !== size || !copied.equals(old)) throw new SealboxError('ERR_STATE', 'The source file changed while it was rewrapped');
        } finally {
          await check.close();
        }
        await step?.('copy-block');
      } else {
        await copyBody(input, bodyStart, size, out, headerBytes.length, step);
        await out.chmod(mode & 0o777);
      }
      // The body copied is the message authenticated, whole: the file did not grow meanwhile
      // (what another program appended would be lost by the rename) nor, in place, was another
      // file renamed over it (which the rename would replace).
      const [after, at] = await Promise.all([input.stat(), same ? stat(src) : undefined]);
      if (after.size !== size || (at !== undefined && (at.dev !== after.dev || at.ino !== after.ino))) {
        throw new SealboxError('ERR_STATE', 'The source file changed while it was rewrapped');
      }
      if (same) await keepOwner(out, was);
      let n = 0;
      while (n < headerBytes.length) n += (await out.write(headerBytes, n, headerBytes.length - n, n)).bytesWritten;
      return headerBytes.length + size - bodyStart;
    });
    return done('copy', written);
  } finally {
    await input.close();
  }
}

/** `verifyFrames` for a file: whole frames per read, each opened into scratch memory and zeroed. */
async function verifyFileFrames(input: FileHandle, bodyStart: number, size: number, frameLength: number, result: Awaited<ReturnType<typeof rewrapHeader>>): Promise<void> {
  const frameBytes = frameLength + REGULAR_FRAME_OVERHEAD;
  const perRead = Math.max(1, Math.floor(COPY_BLOCK / frameBytes)) * frameBytes;
  const session = result.openFrames();
  let index = 0;
  for (let pos = bodyStart; pos < size; ) {
    // The last read takes the rest: the final frame (and any regular frames before it).
    const length = size - pos <= perRead + frameBytes ? size - pos : perRead;
    const bytes = await readAt(input, length, pos);
    index = await checkFrameTags(session, bytes, frameLength, index);
    pos += length;
  }
}

/**
 * Moves the message in file `src` to new keys without re-encrypting it, into `dst` (`dst` may
 * be `src`). Reads only the header (and the final frame's prefix), authenticates it completely
 * (data key unwrapped, commitment and header tag checked), then:
 *
 * - `dst` is `src` and the new header has the old header's length (same keyring kinds and key
 *   names, see docs/rewrap.md): only the header is rewritten, in place, crash-safely through a
 *   journal beside the file; a crash at any moment leaves the old message or the new one,
 *   never a mix (see {@link recoverRewrap}). O(header) whatever the file size.
 * - otherwise a new file is written beside `dst` and renamed over it on success: the new
 *   header, then the body copied unchanged (with the platform's file copy when the header keeps
 *   its length, else positional reads and writes of 1 MiB); the file keeps `src`'s permissions.
 *
 * Any failure before that point writes nothing and leaves `src` and `dst` untouched. A journal
 * left by an interrupted in-place rewrap of `src` is finished first. One rewrap of a file at a
 * time: a lock file beside it (src/node/file-lock.ts) is held throughout; while another rewrap
 * holds it, this one fails at once with ERR_STATE. `src` (and `dst` when it names the same file)
 * may be a symbolic link: the file it points to is rewrapped, and in place the link is kept.
 *
 * @example
 * ```ts
 * import { rewrapFile } from 'sealbox/node';
 * // Rotate a stored file to the new key, in place.
 * await rewrapFile('backup.sbx', 'backup.sbx', { keyring: oldKey, to: newKey });
 * ```
 * @throws SealboxError as `rewrap` (ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION,
 * ERR_LIMIT_EXCEEDED, ERR_TRUNCATED, ERR_TRAILING_DATA, ERR_ENCRYPTION_CONTEXT_MISMATCH,
 * ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED), ERR_STATE
 * (another rewrap of the file is in progress, a journal that does not belong to the file, the
 * file changed while it was copied); Node file system errors. TypeError/RangeError for bad options,
 * and TypeError for a `src` or an existing `dst` that is not a regular file (a FIFO, directory or device).
 */
export function rewrapFile(src: string, dst: string, options: RewrapFileOptions): Promise<RewrapFileResult> {
  return rewrapFileWith(src, dst, options);
}
