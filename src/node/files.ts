import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { writeFileAtomically } from './atomic-write.js';
import type { FramePool, Slot } from './frame-pool.js';
import { newSlot, openFramePool } from './frame-pool.js';
import type { AeadBackend, MaybePromise } from '../crypto/aead.js';
import { SealboxError, formatInvalid } from '../errors.js';
import type { MessageSigner } from '../crypto/signature.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { FINAL_FRAME_OVERHEAD, REGULAR_FRAME_OVERHEAD } from '../format/frame.js';
import { PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptOptions, EncryptOptions, EncryptPlan } from '../message/prologue.js';
import { acceptHeader, beginDecryption, beginEncryption, planDecryption, planEncryption } from '../message/prologue.js';
import { DecryptFramer } from '../stream/decrypt-framer.js';
import { EncryptFramer } from '../stream/encrypt-framer.js';
import type { EncryptSession } from '../message/encrypt-session.js';
import { decodeSigningKey } from '../message/signing.js';
import { getSignatureBackend } from '../crypto/signature-backend.js';
import { SIGNING_KEY_CONTEXT_KEY } from '../format/signature.js';
import type { HashSession } from './hash-thread.js';
import { openHashSession } from './hash-thread.js';

/** About this many bytes per read: few system calls, and still only a few frames in memory. */
const READ_BYTES = 1024 * 1024;
/**
 * Most frames per read: each frame read is held as a few small arrays (and a cipher) until the
 * read is written, so with tiny frames a 1 MiB read was a million of them (1.4 GiB of memory
 * for frames of 1 byte, measured). Frames under 1 KiB therefore read fewer bytes at a time.
 */
const MAX_FRAMES_PER_READ = 1024;

/** Whole frames per read: about {@link READ_BYTES}, at most {@link MAX_FRAMES_PER_READ}. */
export function framesPerRead(frameBytes: number): number {
  return Math.max(1, Math.min(MAX_FRAMES_PER_READ, Math.floor(READ_BYTES / frameBytes)));
}

/** Largest `concurrency` accepted. */
const MAX_CONCURRENCY = 64;

/**
 * Options of {@link encryptFile}: {@link EncryptOptions} and the thread count.
 *
 * @example
 * ```ts
 * await encryptFile('big.iso', 'big.iso.sbx', { keyring, concurrency: 2 });
 * ```
 */
export interface EncryptFileOptions extends EncryptOptions {
  /**
   * How many threads seal frames, the calling thread included. `1`: the calling thread alone
   * (read, seal and write still overlap). `N` >= 2: `N - 1` worker threads besides it, for any
   * file size; each ~1 MiB batch of frames (a slot) goes to a worker that has room, and the
   * calling thread does a slot itself when none has (while they start, or when they are behind).
   * Default: 1. On the 2-core machine of docs/performance.md the workers made 256 MiB files
   * slower (0.70x both ways, idle): the single-threaded path already keeps two cores busy. Try
   * more on machines with more cores, and measure.
   * The output is byte-for-byte the same either way. Workers use node:crypto: with
   * `backend: 'webcrypto'` or `'noble'` the calling thread does the work whatever this says.
   */
  concurrency?: number;
}

/**
 * Options of {@link decryptFile}: {@link DecryptOptions} and the thread count.
 *
 * @example
 * ```ts
 * await decryptFile('big.iso.sbx', 'big.iso', { keyring, concurrency: 1 });
 * ```
 */
export interface DecryptFileOptions extends DecryptOptions {
  /** How many threads open frames; as {@link EncryptFileOptions.concurrency}. */
  concurrency?: number;
}

/** Checks `concurrency` (TypeError, RangeError); undefined when not given. */
function checkConcurrency(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`"concurrency" expected a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) throw new RangeError(`"concurrency" expected an integer from 1 to ${MAX_CONCURRENCY}, got ${value}`);
  return value;
}

/**
 * Threads for the crypto of a file, the calling thread included: 1 means no worker. Only when
 * asked: measured on an idle 2-core machine, the workers made 256 MiB files 0.70x as fast both
 * ways (signed: 1.07x / 0.97x), because the single-threaded path already keeps both cores busy
 * (the calling thread seals while libuv's threads read, write and sync) and workers cost CPU of
 * their own (starting, handing slots over, collecting their garbage: about a third more in all).
 */
function threadCount(requested: number | undefined, backend: AeadBackend): number {
  if (backend.name !== 'node') return 1;
  return requested ?? 1;
}

/** Output bytes between two early `datasync` calls (see {@link earlyWriteback}). */
const WRITEBACK_BYTES = 16 * 1024 * 1024;

/**
 * Has the kernel write a large output to disk while the rest of it is still being produced: a
 * `datasync` (at most one at a time) after every 16 MiB written. The fsync that
 * writeFileAtomically makes before the rename then waits for the last few MiB only, not for
 * the whole file after the last write (about 150 ms for 256 MiB on a test VM, all of it after
 * the crypto had finished). `settle` waits for the one in flight and throws its error: a
 * failed sync means the data may not be on disk, so the file must not be renamed into place.
 */
function earlyWriteback(out: FileHandle): { wrote(bytes: number): void; settle(): Promise<void> } {
  let since = 0;
  let running: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  return {
    wrote(bytes) {
      since += bytes;
      if (since < WRITEBACK_BYTES || running) return;
      since = 0;
      running = out
        .datasync()
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => {
          running = undefined;
        });
    },
    async settle() {
      await running;
      if (failure) throw failure.error;
    },
  };
}

/** Adjacent views of one buffer as one view (a slot's frames are contiguous): fewer, larger writes. */
function coalesce(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const part of parts) {
    if (part.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.buffer === part.buffer && last.byteOffset + last.length === part.byteOffset) {
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + part.length);
    } else {
      out.push(part);
    }
  }
  return out;
}

/**
 * {@link pump} with the crypto on worker threads: reads `chunk` bytes into a free slot, lets
 * `process` record the slot's frames (the framer runs here, the pool's key records), sends the
 * slot to a worker (or, when none can take it now, seals or opens it here at once), and goes
 * on reading into the next free slot. Completed slots are written
 * in order, each only after its job resolved (for decryption: every tag in it verified);
 * `hash` sees each slot's output first (a signed suite's signer). Memory: the slots.
 *
 * Errors: a fault `process` throws (a structural one: truncation, a bad frame type, trailing
 * bytes) comes after the frames recorded before it, so their jobs and every earlier slot's are
 * awaited first and a tag failure among them wins, as on the single-threaded path. Before
 * returning or throwing, every job sent has settled.
 */
async function poolPump(
  input: FileHandle,
  out: FileHandle,
  pool: FramePool,
  slots: Slot[],
  chunk: number,
  process: (chunk: Uint8Array, emit: (bytes: Uint8Array) => void) => MaybePromise<void>,
  hash?: (bytes: Uint8Array) => void,
): Promise<number> {
  const free = [...slots];
  let wake: (() => void) | undefined;
  let failed = false;
  let completed = false;
  let written = 0;
  let chain: Promise<void> = Promise.resolve();
  const jobs: Promise<void>[] = [];
  const sync = earlyWriteback(out);
  /** A free slot, once one is (undefined after a failure). */
  const take = async (): Promise<Slot | undefined> => {
    while (free.length === 0 && !failed) await new Promise<void>((resolve) => (wake = resolve));
    return failed ? undefined : free.pop();
  };
  const readInto = (slot: Slot): Promise<{ slot: Slot; bytesRead: number }> => handled(input.read(slot.input, 0, chunk, null).then(({ bytesRead }) => ({ slot, bytesRead })));
  let reading: Promise<{ slot: Slot; bytesRead: number }> | undefined;
  try {
    const first = await take();
    if (first) reading = readInto(first);
    while (reading) {
      const { slot, bytesRead } = await reading;
      reading = undefined;
      if (bytesRead === 0) break;
      // The next read is under way while this slot is processed (as in pump): one at a time,
      // each started after the last one ended, so the file is read in order.
      const next = await take();
      if (next) reading = readInto(next);
      const parts: Uint8Array[] = [];
      // Every slot is recorded; one that no worker can take now (they are starting, or behind)
      // is done here at once, into the same output slot: the calling thread is one of the threads.
      const remote = pool.canTake();
      pool.openSlot(slot);
      let fault: { error: unknown } | undefined;
      try {
        const r = process(slot.input.subarray(0, bytesRead), (bytes) => parts.push(bytes));
        if (r instanceof Promise) await r;
      } catch (error) {
        fault = { error };
      }
      const job = pool.closeSlot();
      let done: Promise<void> = Promise.resolve();
      if (job && remote) {
        done = pool.dispatch(job);
      } else if (job) {
        try {
          pool.runHere(job);
        } catch (error) {
          done = Promise.reject(error);
        }
      }
      jobs.push(done);
      done.catch(() => undefined);
      if (fault) {
        await chain;
        await done;
        throw fault.error;
      }
      chain = chain
        .then(async () => {
          await done;
          if (hash) for (const part of parts) hash(part);
          const list = coalesce(parts);
          if (list.length === 0) return;
          const n = (await out.writev(list)).bytesWritten;
          written += n;
          sync.wrote(n);
        })
        .finally(() => {
          free.push(slot);
          wake?.();
        });
      chain.catch(() => {
        failed = true;
        wake?.();
      });
    }
    await chain;
    await sync.settle();
    completed = true;
    return written;
  } finally {
    pool.closeSlot();
    // No read may still be writing into a slot once this returns.
    await reading?.catch(() => undefined);
    await Promise.allSettled(jobs);
    await chain.catch(() => undefined);
    await sync.settle().catch(() => undefined);
    // What the workers wrote (plaintext of frames after a failure, for decryption) goes no
    // further, whatever ended the run: a failed write, a tag, a structural fault, a read.
    if (!completed) for (const slot of slots) slot.output.fill(0);
  }
}

/** `promise`, with a handler that does nothing: its rejection is thrown where it is awaited, later. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Slots for `threads` workers: two each, so that one waits while the other is worked on. */
function poolSlots(threads: number, inputBytes: number, outputBytes: number): Slot[] {
  return Array.from({ length: 2 * threads }, () => newSlot(inputBytes, outputBytes));
}

/** What {@link encryptFile} and {@link decryptFile} return. */
export interface FileResult {
  /** The message header (authenticated, for decryptFile). */
  readonly header: MessageHeader;
  /** Bytes written to the output file. */
  readonly bytesWritten: number;
}

/**
 * Read buffers that stay in use after their chunk was processed (a signed decryption's hash
 * thread reads the message from them): `buffers` (at least two) are read into in turn, and
 * after each chunk `held()` gives a promise of the moment its buffer may be read into again.
 */
interface HeldBuffers {
  readonly buffers: Buffer[];
  held(): Promise<void>;
}

/**
 * Reads `input` sequentially in chunks of `chunkBytes()` while the previous chunk is
 * processed and the output of the one before is written: read, crypto and write overlap,
 * with at most two read buffers (or `reuse`'s) and one chunk of output in flight: when
 * `process` is called for a chunk, the output of every chunk but the previous one is written.
 */
async function pump(
  input: FileHandle,
  out: FileHandle,
  chunkBytes: () => number,
  process: (chunk: Uint8Array, emit: (bytes: Uint8Array) => void) => MaybePromise<void>,
  reuse?: HeldBuffers,
): Promise<number> {
  let written = 0;
  let pendingWrite: Promise<unknown> = Promise.resolve();
  const sync = earlyWriteback(out);
  const write = (parts: Uint8Array[]): void => {
    if (parts.length === 0) return;
    const prev = pendingWrite;
    // Awaited before the next chunk's write (its error thrown then), after the next read and,
    // for a signed file, the hash thread: handled at once, like the reads below.
    pendingWrite = handled(
      prev.then(() => out.writev(parts)).then((r) => {
        written += r.bytesWritten;
        sync.wrote(r.bytesWritten);
      }),
    );
  };
  const buffers = reuse?.buffers ?? [Buffer.allocUnsafe(chunkBytes()), Buffer.allocUnsafe(chunkBytes())];
  const holds: (Promise<void> | undefined)[] = [];
  let which = 0;
  // Each read is awaited later (its error thrown then), after the write or the hash thread
  // awaited meanwhile: handled at once, or a failed read would be an unhandled rejection, which
  // ends the process (the temporary file left behind). So is each write (above).
  let reading = handled(input.read(buffers[0] as Buffer, 0, chunkBytes(), null));
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      const current = which;
      which = (which + 1) % buffers.length;
      await holds[which];
      const size = chunkBytes();
      if ((buffers[which] as Buffer).length < size) buffers[which] = Buffer.allocUnsafe(size);
      reading = handled(input.read(buffers[which] as Buffer, 0, size, null));
      const parts: Uint8Array[] = [];
      const r = process(buffer.subarray(0, bytesRead), (bytes) => parts.push(bytes));
      if (r instanceof Promise) await r;
      if (reuse) {
        const hold = reuse.held();
        hold.catch(() => undefined);
        holds[current] = hold;
      }
      // One write in flight: wait for the previous before queueing this chunk's output.
      await pendingWrite;
      write(parts);
    }
  } finally {
    // Let an outstanding read finish before the handle is closed; a write still in flight after
    // a failure settles too (its own error goes no further: the first one is thrown).
    await reading.catch(() => undefined);
    await pendingWrite.catch(() => undefined);
    await sync.settle().catch(() => undefined);
  }
  await pendingWrite;
  await sync.settle();
  return written;
}

/**
 * Encrypts the file `src` into `dst`. `dst` appears only when the whole message is written
 * (through a temporary file in its directory, then a rename); on failure no output exists.
 * With `concurrency` >= 2 frames are sealed on worker threads too (see
 * {@link EncryptFileOptions}; default 1); the bytes are the same either way. A signed suite's
 * file of 16 MiB or more (with `concurrency` 1) is hashed on a thread of its own while this
 * thread seals (docs/streaming.md, "Signed files: the hash thread"). Memory stays about 3 MiB
 * on one thread (8 MiB and the hash thread's ~10 MiB for a large signed file), plus about
 * 4 MiB and a worker's heap per worker thread, whatever the file size.
 *
 * @example
 * ```ts
 * import { encryptFile } from 'sealbox/node';
 * const { header } = await encryptFile('report.pdf', 'report.pdf.sbx', { keyring, encryptionContext: { file: 'report.pdf' } });
 * // This thread and one worker thread; `concurrency: 1` keeps the work on this thread.
 * await encryptFile('video.mp4', 'video.mp4.sbx', { keyring, concurrency: 2 });
 * ```
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_INVALID, ERR_LIMIT_EXCEEDED, ERR_KEYRING,
 * ERR_WORKER (a frame worker thread (`concurrency` >= 2) or a signed file's hash thread stopped
 * or failed; a thread that cannot be created is no error: this thread does its work); Node
 * file system errors (ENOENT, EACCES, ...). TypeError/RangeError for
 * bad options (`concurrency`: TypeError unless a number, RangeError unless an integer from 1 to 64).
 */
export async function encryptFile(src: string, dst: string, options: EncryptFileOptions): Promise<FileResult> {
  return encryptFileWithMessageId(src, dst, options);
}

/** {@link encryptFile} with a given message id: for tests only (a message id must never repeat under one data key). */
export async function encryptFileWithMessageId(src: string, dst: string, options: EncryptFileOptions, messageId?: Uint8Array): Promise<FileResult> {
  const plan = planEncryption(options);
  const requested = checkConcurrency(options.concurrency);
  const input = await open(src, 'r');
  try {
    const { size } = await input.stat();
    // Whole frames per read, so the framer seals straight from the read buffer.
    const chunk = framesPerRead(plan.frameLength) * plan.frameLength;
    const threads = threadCount(requested, plan.backend);
    if (threads > 1) return await encryptPooled(input, dst, plan, size, chunk, threads, messageId);
    // First: a new thread starts (tens of milliseconds) while the keyring is asked for a data key.
    const hash = plan.suite.signed && useHashThread(size, plan.backend) ? openHashSession(true) : undefined;
    if (hash) return await encryptHashThread(input, dst, plan, size, chunk, hash, messageId);
    const session = await beginEncryption(plan, size, messageId);
    const framer = new EncryptFramer(session, { parts: true });
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      const n = await pump(input, out, () => chunk, (bytes, emit) => framer.push(bytes, emit));
      return n + (await writeFinal(framer, out));
    });
    return { header: session.header, bytesWritten };
  } finally {
    await input.close();
  }
}

/** Seals the final frame (and a signed suite's signature after it) and writes them; returns the bytes written. */
async function writeFinal(framer: EncryptFramer, out: FileHandle): Promise<number> {
  const parts: Uint8Array[] = [];
  const r = framer.finish((bytes) => parts.push(bytes));
  if (r instanceof Promise) await r;
  return (await out.writev(parts)).bytesWritten;
}

/** From this many input bytes a signed file's SHA-384 runs on a hash thread (src/node/hash-thread.ts). */
let hashThreadBytes = 16 * 1024 * 1024;

/** Test hook: the smallest file whose signature is hashed on a hash thread (default 16 MiB). */
export function setHashThreadMinBytes(bytes: number): void {
  hashThreadBytes = bytes;
}

/**
 * Whether a signed file of `size` bytes hashes on a hash thread: with node:crypto (the thread
 * is node:crypto's), from {@link hashThreadBytes}. Below, starting the thread (tens of
 * milliseconds) would cost more than the hash it moves.
 */
function useHashThread(size: number, backend: AeadBackend): boolean {
  return backend.name === 'node' && size >= hashThreadBytes;
}

/**
 * Buffers (of about 1 MiB) used in turn for what a signed file's hash thread reads: the sealed
 * frames (encryptFile) or the message as read (decryptFile). How far the thread may fall
 * behind before the calling thread waits: on a busy machine it is descheduled for a few
 * milliseconds at a time, and each buffer is about 1.5 ms of work.
 */
const HASH_RING = 6;
/** decryptFile's buffers for opened frames: a chunk's frames are written before the chunk after next is opened (pump). */
const OPEN_RING = 3;

/**
 * Output buffers for sealed or opened frames, used in turn, one per chunk: `next()` waits for
 * the next buffer's `hold` (what it held last time hashed and written) and makes it current;
 * `take(n)` hands out the next `n` bytes of the current one. Frames written into them leave no
 * fresh buffer per frame for the collector (node:crypto's output goes through a short-lived
 * latin1 string, see aead-node.ts): less memory than the frame Buffers of pump's path, which
 * leaves room for the hash thread's.
 */
function outputRing(count: number, bytes: number, shared: boolean): {
  next(): Promise<void>;
  take(n: number): { bytes: Uint8Array; at: number };
  hold(done: Promise<void>): void;
  wipe(): void;
} {
  const buffers = Array.from({ length: count }, () => (shared ? Buffer.from(new SharedArrayBuffer(bytes)) : Buffer.allocUnsafeSlow(bytes).fill(0)));
  const holds: (Promise<void> | undefined)[] = [];
  let index = -1;
  let used = 0;
  return {
    async next() {
      index = (index + 1) % count;
      await holds[index];
      used = 0;
    },
    take(n) {
      const at = used;
      used += n;
      return { bytes: buffers[index] as Buffer, at };
    },
    hold(done) {
      done.catch(() => undefined);
      holds[index] = done;
    },
    wipe() {
      for (const b of buffers) b.fill(0);
    },
  };
}

/**
 * encryptFile of a signed suite with its SHA-384 on a hash thread: frames are sealed into
 * shared output buffers (one per chunk, in turn), whose views the signer posts to the thread
 * uncopied; a buffer is sealed into again once the thread has hashed it and it is written
 * (pump writes a chunk's output before the chunk after next is processed). Same framer, same
 * session, same bytes as the calling-thread path.
 */
async function encryptHashThread(input: FileHandle, dst: string, plan: EncryptPlan, size: number, chunk: number, hash: HashSession, messageId?: Uint8Array): Promise<FileResult> {
  try {
    const signer = await (await getSignatureBackend()).createSigner(hash);
    const session = await beginEncryption(plan, size, messageId, signer);
    const F = plan.frameLength;
    // A chunk's frames, or the final frame (up to F - 1 bytes, with its longer prefix).
    const ring = outputRing(HASH_RING, Math.max((chunk / F) * (F + REGULAR_FRAME_OVERHEAD), F + FINAL_FRAME_OVERHEAD), true);
    const sealing: EncryptSession = {
      ...session,
      sealFrameParts(index, final, plaintext) {
        const { bytes, at } = ring.take(plaintext.length + (final ? FINAL_FRAME_OVERHEAD : REGULAR_FRAME_OVERHEAD));
        const n = session.sealFrameInto(index, final, plaintext, bytes, at);
        return n instanceof Promise ? n.then((m) => [bytes.subarray(at, at + m)]) : [bytes.subarray(at, at + n)];
      },
    };
    const framer = new EncryptFramer(sealing, { parts: true });
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      const n = await pump(input, out, () => chunk, async (bytes, emit) => {
        await ring.next();
        const r = framer.push(bytes, emit);
        if (r instanceof Promise) await r;
        ring.hold(hash.hashed());
      });
      await ring.next();
      return n + (await writeFinal(framer, out));
    });
    return { header: session.header, bytesWritten };
  } finally {
    hash.release();
  }
}

/**
 * encryptFile on worker threads: the same session and framer, with the pool's key. A signed
 * suite's signer is given every slot's bytes by poolPump, in message order, once the slot is
 * done (the framer's own calls to it are dropped meanwhile: a slot on a worker is not sealed yet
 * when the framer emits it). `threads` counts the calling thread: `threads - 1` workers.
 */
async function encryptPooled(input: FileHandle, dst: string, plan: EncryptPlan, size: number, chunk: number, threads: number, messageId?: Uint8Array): Promise<FileResult> {
  const pool = openFramePool(plan.backend, false);
  try {
    // Workers start first: they boot (tens of milliseconds) while the keyring is asked for a data key.
    pool.start(threads - 1);
    const session = await beginEncryption({ ...plan, backend: pool.backend }, size, messageId);
    const { signer } = session;
    let pumping = false;
    const slotSigner: MessageSigner | undefined = signer && {
      publicKey: signer.publicKey,
      update(bytes) {
        if (!pumping) signer.update(bytes);
      },
      sign: () => signer.sign(),
    };
    const framer = new EncryptFramer(signer ? { ...session, signer: slotSigner } : session, { parts: true });
    const slots = poolSlots(threads, chunk, (chunk / plan.frameLength) * (plan.frameLength + REGULAR_FRAME_OVERHEAD));
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      pumping = true;
      const n = await poolPump(input, out, pool, slots, chunk, (bytes, emit) => framer.push(bytes, emit), signer && ((bytes) => signer.update(bytes)));
      pumping = false;
      return n + (await writeFinal(framer, out));
    });
    return { header: session.header, bytesWritten };
  } finally {
    pool.release();
  }
}

/**
 * Decrypts the file `src` into `dst`. Plaintext goes to a temporary file in `dst`'s directory
 * that is renamed to `dst` only after the final frame has verified; on any failure
 * (tampering, truncation, trailing data, wrong key, a worker thread that stops, a write error)
 * the temporary file is deleted and no output file exists. With `concurrency` >= 2 frames are
 * opened on worker threads too (see {@link DecryptFileOptions}; default 1), still verified in
 * order and written only once verified. A signed message of 16 MiB or more (with `concurrency`
 * 1) is hashed on a thread of its own while this thread opens the frames; the file still
 * appears only after the signature has verified.
 *
 * @example
 * ```ts
 * import { decryptFile } from 'sealbox/node';
 * await decryptFile('report.pdf.sbx', 'report.pdf', { keyring, expectedEncryptionContext: { file: 'report.pdf' } });
 * await decryptFile('video.mp4.sbx', 'video.mp4', { keyring, concurrency: 1 }); // no worker threads
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED (a tag, or a signed message's signature: then no file appears either),
 * ERR_TRUNCATED, ERR_TRAILING_DATA, ERR_SIGNATURE_POLICY, ERR_WORKER (a frame worker thread or
 * a signed file's hash thread stopped or failed; one that cannot be created is no error); Node file system errors. TypeError/RangeError for bad options (as {@link encryptFile}).
 */
export async function decryptFile(src: string, dst: string, options: DecryptFileOptions): Promise<FileResult> {
  const plan = planDecryption(options);
  const requested = checkConcurrency(options.concurrency);
  const input = await open(src, 'r');
  let pool: FramePool | undefined;
  /** A signed message's hash thread (large files), and the buffers its frames are opened into. */
  let hash: HashSession | undefined;
  let opened: ReturnType<typeof outputRing> | undefined;
  /** The pool's slots: the frames the threads opened are in their outputs. */
  let slots: Slot[] | undefined;
  let ok = false;
  try {
    // The pool's key is made when the header is opened, before its frame length is known: ask
    // for it when threads may be used at all (it runs everything on this thread until started).
    const threads = threadCount(requested, plan.backend);
    if (threads > 1) pool = openFramePool(plan.backend, true);
    const { size } = await input.stat();
    const framerPlan = pool ? { ...plan, backend: pool.backend } : plan;
    let header: MessageHeader | undefined;
    const framer = new DecryptFramer({
      maxHeaderBytes: plan.limits.maxHeaderBytes,
      // The slots and hash ring below are this call's own shared memory.
      ownSharedChunks: true,
      // The output is a temporary file, renamed only once the whole message has verified.
      outputDiscardedOnFailure: true,
      acceptHeader: (bytes) => acceptHeader(framerPlan, bytes),
      begin: async (h, bytes, tag) => {
        if (pool || !h.suite.signed || !useHashThread(size, plan.backend)) return beginDecryption(framerPlan, h, bytes, tag);
        // First: a new thread starts (tens of milliseconds) while the keyring unwraps the data key.
        hash = openHashSession(false);
        // No thread to be had: this thread hashes, as for a small file.
        if (!hash) return beginDecryption(framerPlan, h, bytes, tag);
        const session = await beginDecryption(plan, h, bytes, tag);
        // The session's own verifier (fed the header on this thread) is set aside for one that
        // hashes on the thread; the key was checked (rules 39, 40) before the keyring was asked.
        const verifier = await (await getSignatureBackend()).createVerifier(decodeSigningKey(h.encryptionContext[SIGNING_KEY_CONTEXT_KEY]!) ?? new Uint8Array(0), hash);
        if (!verifier) throw formatInvalid('bad signing key');
        verifier.update(bytes);
        verifier.update(tag);
        const ring = outputRing(OPEN_RING, decryptChunk(h.frameLength) + h.frameLength, false);
        opened = ring;
        return {
          ...session,
          verifier,
          openFrame(index, final, sealed) {
            const n = sealed.length - TAG_BYTES;
            const { bytes: out, at } = ring.take(n);
            const r = session.openFrameInto(index, final, sealed, out, at);
            const view = out.subarray(at, at + n);
            return r instanceof Promise ? r.then(() => view) : view;
          },
        };
      },
      onHeader: (h) => {
        header = h;
      },
    });
    // Read exactly the header first, then whole frames per read: frames then never straddle
    // reads and are opened in place, without copying.
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    const { bytesRead } = await input.read(preamble, 0, PREAMBLE_BYTES, null);
    const headerEnd = readPreamble(preamble.subarray(0, bytesRead), plan.limits.maxHeaderBytes);
    if (headerEnd === undefined) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
    const rest = Buffer.alloc(headerEnd - PREAMBLE_BYTES + TAG_BYTES);
    const got = await input.read(rest, 0, rest.length, null);
    const first = framer.push(preamble, () => undefined);
    if (first instanceof Promise) await first;
    const second = framer.push(rest.subarray(0, got.bytesRead), () => undefined);
    if (second instanceof Promise) await second;
    if (header === undefined) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
    const frameBytes = header.frameLength + REGULAR_FRAME_OVERHEAD;
    const chunk = decryptChunk(header.frameLength);
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      let n: number;
      if (pool) {
        pool.start(threads - 1);
        slots = poolSlots(threads, chunk, (chunk / frameBytes) * header!.frameLength);
        n = await poolPump(input, out, pool, slots, chunk, (bytes, emit) => framer.push(bytes, emit));
      } else if (hash && opened) {
        // The message is read into shared buffers that the hash thread reads too: each is read
        // into again once the thread has hashed it. Frames are opened into `opened`, in turn.
        const thread = hash;
        const ring = opened;
        const reuse = { buffers: Array.from({ length: HASH_RING }, () => Buffer.from(new SharedArrayBuffer(chunk))), held: () => thread.hashed() };
        n = await pump(
          input,
          out,
          () => chunk,
          async (bytes, emit) => {
            await ring.next();
            const r = framer.push(bytes, emit);
            if (r instanceof Promise) await r;
          },
          reuse,
        );
      } else {
        n = await pump(input, out, () => chunk, (bytes, emit) => framer.push(bytes, emit));
      }
      framer.finish();
      return n;
    });
    ok = true;
    return { header, bytesWritten };
  } finally {
    pool?.release();
    hash?.release();
    // Plaintext of frames that verified, in a file that failed: it goes no further (a fault
    // found after the last read, a cut or bytes after the final frame, comes after poolPump).
    if (!ok) {
      opened?.wipe();
      for (const slot of slots ?? []) slot.output.fill(0);
    }
    await input.close();
  }
}

/** Bytes per read when decrypting: whole frames, about {@link READ_BYTES}. */
function decryptChunk(frameLength: number): number {
  const frameBytes = frameLength + REGULAR_FRAME_OVERHEAD;
  return framesPerRead(frameBytes) * frameBytes;
}
