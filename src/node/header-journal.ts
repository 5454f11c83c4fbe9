import { createHash, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, realpath, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readU32, writeU32, writeU64 } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import { decodeHeader, readPreamble } from '../format/header.js';
import { MAX_ENCRYPTED_DATA_KEYS, MAX_FRAME_LENGTH, MAX_HEADER_BYTES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import { nodeAtomicWriteFs } from './atomic-write.js';
import { lockForRewrap } from './file-lock.js';

/**
 * Crash-safe replacement of a message's header in place, for a new header of exactly the old
 * header's length (rewrapFile with dst = src). A write of a few KiB is not atomic across a
 * crash or power loss (it may land partly, at any granularity), so the new header goes first
 * to a journal beside the file, and the file is written only once the journal is durable:
 *
 * 1. write the journal `.<name>.sealbox-rewrap` (old header, new header, file size and tail,
 *    SHA-256 over all of it), fsync it, fsync the directory;
 * 2. write the new header at offset 0 of the file, fsync the file;
 * 3. remove the journal (its directory is not synced: should the journal come back after a
 *    crash, recovery finds the new header in place and writes the same bytes again).
 *
 * Why a crash at any moment leaves the old message or the new one, never a mix:
 * - during step 1 the file has not been touched: it is the old message. A journal that was
 *   not completely written fails its checksum and is discarded by recovery (the file was not
 *   touched, since step 2 starts only after the journal and its directory entry are synced);
 * - from the end of step 1 on, a complete journal exists on disk; the file's header region
 *   holds, byte for byte, the old header, the new one, or a mix of the two (only the EDKs and
 *   the tag differ: same length, same message id, context, frame length, commitment).
 *   Recovery rewrites the new header whole, syncs and removes the journal: the new message.
 *   Recovery is itself steps 2 and 3, so a crash during recovery leaves the same situation;
 * - after step 2, the file holds the new message; step 3 only tidies up.
 *
 * Recovery runs at the start of every rewrapFile of the file (and the CLI's rewrap), or by
 * calling {@link recoverRewrap}. Before it runs, a reader that ignores the journal may find a
 * header that fails authentication (ERR_DECRYPTION_FAILED), never one that authenticates as
 * something else: the tag covers the whole header. Both hold the file's rewrap lock
 * (src/node/file-lock.ts) from before recovery until the journal is removed, so recovery never
 * acts on the journal of a rewrap that is still running.
 */

const MAGIC = Buffer.from('SBXRWJ1\n');
const FIXED = MAGIC.length + 4 + 8 + 16;
const DIGEST_BYTES = 32;
/** The longest journal {@link encodeJournal} writes: two headers of the largest size, each with its preamble and tag. */
const MAX_JOURNAL_BYTES = FIXED + 2 * (PREAMBLE_BYTES + MAX_HEADER_BYTES + TAG_BYTES) + DIGEST_BYTES;
/** Bytes of the file's end recorded in the journal: the final frame's tag. */
export const TAIL_BYTES = 16;

/** The steps of {@link writeHeaderInPlace}, in order; tests stop the process after each. */
export type JournalStep = 'journal-written' | 'journal-synced' | 'header-written' | 'header-synced' | 'journal-removed';

/** Called after each step; a test hook (kills the process there). */
export type StepHook = (step: JournalStep | 'copy-block') => void | Promise<void>;

/** Path of the journal of an in-place rewrap of `path`. */
export function journalPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.sealbox-rewrap`);
}

function encodeJournal(oldHeader: Uint8Array, newHeader: Uint8Array, size: number, tail: Uint8Array): Buffer {
  const out = Buffer.alloc(FIXED + 2 * oldHeader.length + DIGEST_BYTES);
  MAGIC.copy(out, 0);
  writeU32(out, MAGIC.length, oldHeader.length);
  writeU64(out, MAGIC.length + 4, size);
  out.set(tail, MAGIC.length + 12);
  out.set(oldHeader, FIXED);
  out.set(newHeader, FIXED + oldHeader.length);
  createHash('sha256').update(out.subarray(0, out.length - DIGEST_BYTES)).digest().copy(out, out.length - DIGEST_BYTES);
  return out;
}

interface Journal {
  readonly oldHeader: Uint8Array;
  readonly newHeader: Uint8Array;
  readonly size: number;
  readonly tail: Uint8Array;
}

/** The journal's contents, or undefined when it is incomplete or damaged (it never became durable). */
function decodeJournal(bytes: Buffer): Journal | undefined {
  if (bytes.length < FIXED + DIGEST_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = readU32(bytes, MAGIC.length);
  if (bytes.length !== FIXED + 2 * length + DIGEST_BYTES) return undefined;
  const digest = createHash('sha256').update(bytes.subarray(0, bytes.length - DIGEST_BYTES)).digest();
  if (!timingSafeEqual(digest, bytes.subarray(bytes.length - DIGEST_BYTES))) return undefined;
  const size = bytes.readUInt32BE(MAGIC.length + 4) * 2 ** 32 + bytes.readUInt32BE(MAGIC.length + 8);
  return {
    size,
    tail: bytes.subarray(MAGIC.length + 12, FIXED),
    oldHeader: bytes.subarray(FIXED, FIXED + length),
    newHeader: bytes.subarray(FIXED + length, FIXED + 2 * length),
  };
}

/**
 * Whether a decoded journal can be one that {@link writeHeaderInPlace} wrote: both halves are a
 * whole message header with its tag (preamble, body, 16-byte tag, nothing more), the new one a
 * rewrap of the old (same message id, frame length and commitment). Recovery writes only such a
 * header, never other bytes, whatever a journal holds.
 */
function isHeaderPair(entry: Journal): boolean {
  const limits = { maxHeaderBytes: MAX_HEADER_BYTES, maxEncryptedDataKeys: MAX_ENCRYPTED_DATA_KEYS, maxFrameLength: MAX_FRAME_LENGTH };
  try {
    const [before, after] = [entry.oldHeader, entry.newHeader].map((bytes) => {
      const end = readPreamble(bytes);
      if (end === undefined || end + TAG_BYTES !== bytes.length) throw new RangeError('not a header with its tag');
      return decodeHeader(bytes.subarray(0, end), limits);
    });
    return (
      Buffer.from(before!.messageId).equals(after!.messageId) && before!.frameLength === after!.frameLength && Buffer.from(before!.commitment).equals(after!.commitment)
    );
  } catch {
    return false;
  }
}

/** Reads up to `length` bytes at `position` (fewer only at the end of the file). */
export async function readAt(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}

/**
 * Replaces the first `oldHeader.length` bytes of `path` (open as `file`, read-write) with
 * `newHeader` of the same length, through the journal (see the top of this file).
 */
export async function writeHeaderInPlace(path: string, file: FileHandle, oldHeader: Uint8Array, newHeader: Uint8Array, step?: StepHook): Promise<void> {
  if (oldHeader.length !== newHeader.length) throw new RangeError('the new header must have the old header\'s length');
  const { size } = await file.stat();
  const tail = await readAt(file, TAIL_BYTES, size - TAIL_BYTES);
  const journal = journalPath(path);
  const dir = dirname(path);
  // 'wx': a journal that exists belongs to another rewrap of this file (or to one that crashed,
  // which rewrapFile recovers before it gets here).
  const handle = await open(journal, 'wx', 0o600);
  try {
    await writeAt(handle, encodeJournal(oldHeader, newHeader, size, tail), 0);
    await step?.('journal-written');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(journal).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await nodeAtomicWriteFs.syncDir(dir);
  await step?.('journal-synced');
  // From here on the rewrap is committed: a crash is finished by recovery, never undone.
  await writeAt(file, newHeader, 0);
  await step?.('header-written');
  await file.sync();
  await step?.('header-synced');
  // Not synced: a journal that comes back after a crash finds the new header in place, and
  // recovery writes the same bytes again.
  await unlink(journal);
  await step?.('journal-removed');
}

function untrustedJournal(journal: string, path: string): SealboxError {
  return new SealboxError(
    'ERR_STATE',
    `The rewrap journal ${basename(journal)} is not a file owned by the owner of ${basename(path)} or by this user, that only its owner can write and that has no other name (hard link); both were left as they are (remove it if you did not put it there)`,
  );
}

function notOurs(journal: string, path: string): SealboxError {
  return new SealboxError('ERR_STATE', `The rewrap journal ${basename(journal)} does not belong to ${basename(path)} as it is now; both were left as they are`);
}

/**
 * Finishes an in-place rewrap of `path` that a crash interrupted, if there was one: when its
 * journal is complete, the new header is written whole and synced and the journal removed (the
 * new message); when the journal is incomplete, the file was never touched and the journal is
 * removed (the old message). `rewrapFile` does this itself before it reads a file; call it
 * before other programs read a file whose rewrap may have been interrupted.
 *
 * @example
 * ```ts
 * import { recoverRewrap } from 'sealbox/node';
 * const outcome = await recoverRewrap('archive/2026-01.sbx'); // 'none', 'completed' or 'discarded'
 * ```
 * @returns `'none'` (no journal), `'completed'` (the new message is in place) or `'discarded'`
 * (an incomplete journal was removed; the old message is in place)
 * @throws SealboxError ERR_STATE when another rewrap of the file is in progress (its journal
 * is not a crashed one's: see src/node/file-lock.ts), when the journal does not belong to the file as it is now
 * (another file was put in its place), does not hold a header of the file's message and its
 * rewrap, is longer than any journal (it is not read), or could have been written by someone who cannot write the file (another owner,
 * writable by group or others, a symbolic link, a hard link): both are left as they are. Node file system
 * errors.
 */
export async function recoverRewrap(path: string): Promise<'none' | 'completed' | 'discarded'> {
  // Through a symbolic link, the file it points to: rewrapFile keeps the journal beside it.
  const real = await realpath(path).catch(() => path);
  // A journal exists while a rewrap writes it: only one that no rewrap holds the lock for is
  // a crashed one's.
  const release = await lockForRewrap(real);
  try {
    return await recoverJournal(real);
  } finally {
    await release();
  }
}

/** {@link recoverRewrap} for a caller that holds the file's rewrap lock (rewrapFile). */
export async function recoverJournal(path: string): Promise<'none' | 'completed' | 'discarded'> {
  const journal = journalPath(path);
  let handle: FileHandle;
  try {
    // Not through a symbolic link: the journal is a file of its own beside `path`.
    handle = await open(journal, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw untrustedJournal(journal, path);
    throw err;
  }
  let bytes: Buffer | undefined;
  try {
    // Only a journal that could have been written by someone who can already write `path` is
    // acted on: its owner is the file's owner or this process's user, and no one else can
    // write it. Anyone else who can create files in the directory (a shared one such as /tmp)
    // could otherwise plant a journal that passes every check below and have this process
    // write its bytes into a file they cannot write.
    const [st, fileSt] = await Promise.all([handle.stat(), stat(path)]);
    // And it has no other name: a hard link is another file of that owner's under the journal's
    // name, whose content someone else may have chosen (a decrypted message they sent), made by
    // anyone who can write the directory where the system lets them link files they do not own
    // (fs.protected_hardlinks off, macOS). A journal rewrapFile writes has one link.
    const trusted = st.isFile() && st.nlink === 1 && (st.mode & 0o022) === 0 && (st.uid === fileSt.uid || st.uid === process.geteuid?.());
    if (!trusted) throw untrustedJournal(journal, path);
    // No longer than a journal can be, read no further than that (it may grow meanwhile): a
    // larger file under the journal's name was not written by a rewrap, and is not read whole.
    if (st.size <= MAX_JOURNAL_BYTES) bytes = await readAt(handle, st.size + 1, 0);
    if (bytes === undefined || bytes.length > MAX_JOURNAL_BYTES) throw notOurs(journal, path);
  } finally {
    await handle.close();
  }
  const entry = decodeJournal(bytes);
  if (!entry) {
    await unlink(journal);
    await nodeAtomicWriteFs.syncDir(dirname(path));
    return 'discarded';
  }
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const region = await readAt(file, entry.oldHeader.length, 0);
    const tail = await readAt(file, TAIL_BYTES, size - TAIL_BYTES);
    // Every byte of the header region is the old header's or the new header's: the torn file
    // this journal was written for, and no other.
    let ours = size === entry.size && tail.equals(entry.tail) && region.length === entry.oldHeader.length && isHeaderPair(entry);
    for (let i = 0; ours && i < region.length; i++) ours = region[i] === entry.oldHeader[i] || region[i] === entry.newHeader[i];
    if (!ours) throw notOurs(journal, path);
    await writeAt(file, entry.newHeader, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await unlink(journal);
  await nodeAtomicWriteFs.syncDir(dirname(path));
  return 'completed';
}
