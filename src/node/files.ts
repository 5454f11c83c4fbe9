import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { writeFileAtomically } from './atomic-write.js';
import type { MaybePromise } from '../crypto/aead.js';
import { SealboxError } from '../errors.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { REGULAR_FRAME_OVERHEAD } from '../format/frame.js';
import { PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptOptions, EncryptOptions } from '../message/prologue.js';
import { beginEncryption, planDecryption, planEncryption } from '../message/prologue.js';
import { createDecryptFramer } from '../stream/decrypt-stream.js';
import { EncryptFramer } from '../stream/encrypt-framer.js';

/** About this many bytes per read: few system calls, and still only a few frames in memory. */
const READ_BYTES = 1024 * 1024;

/** What {@link encryptFile} and {@link decryptFile} return. */
export interface FileResult {
  /** The message header (authenticated, for decryptFile). */
  readonly header: MessageHeader;
  /** Bytes written to the output file. */
  readonly bytesWritten: number;
}

/**
 * Reads `input` sequentially in chunks of `chunkBytes()` while the previous chunk is
 * processed and the output of the one before is written: read, crypto and write overlap,
 * with at most two read buffers and one chunk of output in flight.
 */
async function pump(
  input: FileHandle,
  out: FileHandle,
  chunkBytes: () => number,
  process: (chunk: Uint8Array, emit: (bytes: Uint8Array) => void) => MaybePromise<void>,
): Promise<number> {
  let written = 0;
  let pendingWrite: Promise<unknown> = Promise.resolve();
  const write = (parts: Uint8Array[]): void => {
    if (parts.length === 0) return;
    const prev = pendingWrite;
    pendingWrite = prev.then(() => out.writev(parts)).then((r) => {
      written += r.bytesWritten;
    });
  };
  const buffers = [Buffer.allocUnsafe(chunkBytes()), Buffer.allocUnsafe(chunkBytes())];
  let which = 0;
  let reading = input.read(buffers[0] as Buffer, 0, chunkBytes(), null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      which ^= 1;
      const size = chunkBytes();
      if ((buffers[which] as Buffer).length < size) buffers[which] = Buffer.allocUnsafe(size);
      reading = input.read(buffers[which] as Buffer, 0, size, null);
      const parts: Uint8Array[] = [];
      const r = process(buffer.subarray(0, bytesRead), (bytes) => parts.push(bytes));
      if (r instanceof Promise) await r;
      // One write in flight: wait for the previous before queueing this chunk's output.
      await pendingWrite;
      write(parts);
    }
  } finally {
    // Let an outstanding read finish before the handle is closed.
    await reading.catch(() => undefined);
  }
  await pendingWrite;
  return written;
}

/**
 * Encrypts the file `src` into `dst`. `dst` appears only when the whole message is written
 * (through a temporary file in its directory, then a rename); on failure no output exists.
 * Memory stays about 3 MiB whatever the file size.
 *
 * @example
 * ```ts
 * import { encryptFile } from 'sealbox/node';
 * const { header } = await encryptFile('report.pdf', 'report.pdf.sbx', { keyring, encryptionContext: { file: 'report.pdf' } });
 * ```
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_INVALID, ERR_LIMIT_EXCEEDED, ERR_KEYRING; Node file
 * system errors (ENOENT, EACCES, ...). TypeError/RangeError for bad options.
 */
export async function encryptFile(src: string, dst: string, options: EncryptOptions): Promise<FileResult> {
  const plan = planEncryption(options);
  const input = await open(src, 'r');
  try {
    const { size } = await input.stat();
    const session = await beginEncryption(plan, size);
    const framer = new EncryptFramer(session, { parts: true });
    // Whole frames per read, so the framer seals straight from the read buffer.
    const chunk = Math.max(1, Math.floor(READ_BYTES / plan.frameLength)) * plan.frameLength;
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      let n = await pump(input, out, () => chunk, (bytes, emit) => framer.push(bytes, emit));
      const parts: Uint8Array[] = [];
      const r = framer.finish((bytes) => parts.push(bytes));
      if (r instanceof Promise) await r;
      n += (await out.writev(parts)).bytesWritten;
      return n;
    });
    return { header: session.header, bytesWritten };
  } finally {
    await input.close();
  }
}

/**
 * Decrypts the file `src` into `dst`. Plaintext goes to a temporary file in `dst`'s directory
 * that is renamed to `dst` only after the final frame has verified; on any failure
 * (tampering, truncation, trailing data, wrong key) the temporary file is deleted and no
 * output file exists.
 *
 * @example
 * ```ts
 * import { decryptFile } from 'sealbox/node';
 * await decryptFile('report.pdf.sbx', 'report.pdf', { keyring, expectedEncryptionContext: { file: 'report.pdf' } });
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED (a tag, or a signed message's signature: then no file appears either),
 * ERR_TRUNCATED, ERR_TRAILING_DATA, ERR_SIGNATURE_POLICY; Node file system errors.
 */
export async function decryptFile(src: string, dst: string, options: DecryptOptions): Promise<FileResult> {
  const plan = planDecryption(options);
  let header: MessageHeader | undefined;
  const framer = createDecryptFramer(plan, (h) => {
    header = h;
  });
  const input = await open(src, 'r');
  try {
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
    const chunk = Math.max(1, Math.floor(READ_BYTES / frameBytes)) * frameBytes;
    const bytesWritten = await writeFileAtomically(dst, async (out) => {
      const n = await pump(input, out, () => chunk, (bytes, emit) => framer.push(bytes, emit));
      framer.finish();
      return n;
    });
    return { header, bytesWritten };
  } finally {
    await input.close();
  }
}
