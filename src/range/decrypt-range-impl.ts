import { MAX_FRAMES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptRangeOptions, DecryptRangeResult, RangeCore } from './decrypt-range.js';
import type { FileHandleLike, RangeReader, RangeSource } from './source.js';

// The range reader, loaded on first use by decryptRange (src/range/decrypt-range.ts). It imports
// nothing from the core at run time but limits (constants the bundler inlines): see rangeCore.

/** About this many bytes per read of consecutive frames. */
const BATCH_BYTES = 1024 * 1024;

/** {@link decryptRange}, with the core functions it needs passed in (see {@link rangeCore}). */
export async function decryptRangeWith(core: RangeCore, source: RangeSource, options: DecryptRangeOptions): Promise<DecryptRangeResult> {
  const { SealboxError, formatInvalid, limitExceeded, readPreamble, readU32, acceptHeader, beginDecryption, planDecryption, copyBytes } = core;
  const { FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } = core;
  const readExactly = (reader: RangeReader, offset: number, length: number): Promise<Uint8Array> => readExactlyWith(core, reader, offset, length);
  const plan = planDecryption(options);
  // A caller who requires signed messages wants them verified, which a range read cannot do:
  // refused before anything is read rather than giving a signed message's range unverified.
  if (options.skipSignatureVerification === true && options.signaturePolicy === 'require-signed') {
    throw new TypeError('"skipSignatureVerification" cannot be true with signaturePolicy "require-signed": a range read does not verify the signature');
  }
  const { start, end: endOption } = options;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`"start" expected a non-negative integer, got ${start}`);
  if (endOption !== undefined && (!Number.isSafeInteger(endOption) || endOption < 0)) throw new RangeError(`"end" expected a non-negative integer, got ${endOption}`);
  const reader = await toRangeReader(core, source);
  const size = reader.size;

  // Header: preamble (limits checked before the body is read), body, tag.
  const pre = await readExactly(reader, 0, Math.min(size, PREAMBLE_BYTES));
  const headerEnd = readPreamble(pre, plan.limits.maxHeaderBytes);
  if (headerEnd === undefined || size < headerEnd + TAG_BYTES) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
  // Our own copy: the header acted on is the one authenticated, even if the source's array
  // changes while a keyring is asked (a reader reusing one buffer, a concurrent writer).
  const headerAll = copyBytes(await readExactly(reader, 0, headerEnd + TAG_BYTES));
  const headerBytes = headerAll.subarray(0, headerEnd);
  const header = acceptHeader(plan, headerBytes);
  // SPEC §8.4: a range decoder cannot check a signature without reading everything; it refuses
  // signed messages unless told to do without (stage 6, with the caller's other expectations).
  if (header.suite.signed && options.skipSignatureVerification !== true) {
    throw new SealboxError('ERR_SIGNATURE_POLICY', 'signed');
  }
  const bodyStart = headerEnd + TAG_BYTES;
  // Keys, commitment and header tag before anything about the frames (SPEC §8.1).
  const session = await beginDecryption(plan, header, headerBytes, headerAll.subarray(headerEnd));

  // Layout from the size: x = n (F + 17) + L with 0 <= L < F.
  const F = header.frameLength;
  const R = F + REGULAR_FRAME_OVERHEAD;
  const signatureLength = header.suite.signatureLength;
  const x = size - signatureLength - bodyStart - FINAL_FRAME_OVERHEAD;
  const n = Math.floor(x / R);
  const L = x - n * R;
  const shaped = x >= 0 && L < F;
  if (shaped && n + 1 > MAX_FRAMES) throw limitExceeded('frames', n + 1, MAX_FRAMES);

  // The final frame first, whatever the range: it proves the message is whole.
  const finalBytes = shaped ? await readExactly(reader, bodyStart + n * R, L + FINAL_FRAME_OVERHEAD) : undefined;
  if (finalBytes === undefined || finalBytes[0] !== FRAME_FINAL || readU32(finalBytes, 1) !== L) {
    // No final frame where the size puts it: the message was cut or extended, or a frame is
    // malformed. Named as a reader that goes front to back names it (SPEC §8.1 stage 9): bytes
    // after a complete message are ERR_TRAILING_DATA, not a frame cut short. Only failures pay
    // for this walk over the frames' type bytes.
    throw await structureFault(core, reader, session, bodyStart, size, F, signatureLength, source instanceof Uint8Array ? Infinity : WALK_MAX_READS);
  }
  const plaintextLength = n * F + L;
  const end = endOption ?? plaintextLength;
  if (start > end || end > plaintextLength) {
    throw new SealboxError('ERR_RANGE', `Range [${start}, ${end}) is outside the plaintext of ${plaintextLength} bytes`);
  }
  const opened = session.openFrame(n, true, finalBytes.subarray(FINAL_FRAME_PREFIX));
  const finalPlaintext = opened instanceof Promise ? await opened : opened;

  const out = new Uint8Array(end - start);
  if (start === end) return { plaintext: out, plaintextLength, encryptionContext: header.encryptionContext, header };
  const first = Math.floor(start / F);
  const last = Math.floor((end - 1) / F);
  // Copies the part of frame `index` (plaintext `pt`) that lies in [start, end).
  const place = (index: number, pt: Uint8Array): void => {
    const frameStart = index * F;
    const from = Math.max(start, frameStart);
    const to = Math.min(end, frameStart + pt.length);
    out.set(pt.subarray(from - frameStart, to - frameStart), from - start);
  };
  try {
    const batch = Math.max(1, Math.floor(BATCH_BYTES / R));
    for (let i = first; i <= Math.min(last, n - 1); i += batch) {
      const count = Math.min(batch, Math.min(last, n - 1) - i + 1);
      const bytes = await readExactly(reader, bodyStart + i * R, count * R);
      for (let j = 0; j < count; j++) {
        const frame = bytes.subarray(j * R, (j + 1) * R);
        if (frame[0] !== FRAME_REGULAR) throw formatInvalid('expected a regular frame');
        const r = session.openFrame(i + j, false, frame.subarray(1));
        place(i + j, r instanceof Promise ? await r : r);
      }
    }
    if (last === n) place(n, finalPlaintext);
  } catch (err) {
    out.fill(0);
    throw err;
  }
  return { plaintext: out, plaintextLength, encryptionContext: header.encryptionContext, header };
}

/** Bytes per read while {@link structureFault} looks for the frames' type bytes. */
const WALK_BLOCK = 64 * 1024;

/**
 * Most reads {@link structureFault} makes of a file or a caller's reader (each may be a system
 * call or a network request, such as an HTTP range request): a damaged or extended object of
 * many frames costs at most this many to name its fault; past them the fault is reported as
 * ERR_TRUNCATED, as before the walk. 1,024 reads cover 64 MiB of 64 KiB frames. A message in
 * memory is walked whole.
 */
const WALK_MAX_READS = 1024;

/**
 * The first structural fault of a body whose size puts no final frame where it should, as a
 * reader going front to back finds it (SPEC §8.1 stage 9): input ending before a frame or inside
 * it (rule 16), the frame count (28), a type byte (18), the final frame's length (18), a missing
 * signature (41), bytes after the final frame or its signature (17). A final frame that is whole
 * is authenticated first: its tag failing (rule 14) comes before what follows it. Reads each
 * frame's type byte, in blocks of {@link WALK_BLOCK} bytes when frames are smaller, at most
 * `maxReads` of them (then ERR_TRUNCATED, the fault as the size alone shows it). Never returns
 * for a sound body (the caller came here because it is not); a reader that changed its mind is
 * reported as truncated.
 */
async function structureFault(
  core: RangeCore,
  reader: RangeReader,
  session: Awaited<ReturnType<RangeCore['beginDecryption']>>,
  bodyStart: number,
  size: number,
  frameLength: number,
  signatureLength: number,
  maxReads: number,
): Promise<Error> {
  const { SealboxError, formatInvalid, limitExceeded, readU32, FINAL_FRAME_OVERHEAD, FINAL_FRAME_PREFIX, FRAME_FINAL, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } = core;
  const R = frameLength + REGULAR_FRAME_OVERHEAD;
  const truncated = (where: string): Error => new SealboxError('ERR_TRUNCATED', `The message ends ${where}`);
  let block: Uint8Array = new Uint8Array(0);
  let blockStart = 0;
  let reads = 0;
  for (let pos = bodyStart, index = 0; ; pos += R, index++) {
    if (pos >= size) return truncated('before its final frame');
    if (index + 1 > MAX_FRAMES) return limitExceeded('frames', index + 1, MAX_FRAMES);
    if (pos >= blockStart + block.length) {
      if (++reads > maxReads) return new SealboxError('ERR_TRUNCATED', `The message has no valid final frame where its size puts it (its first ${maxReads} reads found no other fault)`);
      block = await readExactlyWith(core, reader, pos, R >= WALK_BLOCK ? 1 : Math.min(WALK_BLOCK, size - pos));
      blockStart = pos;
    }
    const type = block[pos - blockStart];
    if (type === FRAME_REGULAR) {
      if (pos + R > size) return truncated('inside a frame');
      continue;
    }
    if (type !== FRAME_FINAL) return formatInvalid('unknown frame type');
    if (pos + FINAL_FRAME_PREFIX > size) return truncated('inside the final frame');
    const declared = readU32(await readExactlyWith(core, reader, pos, FINAL_FRAME_PREFIX), 1);
    if (declared >= frameLength) return formatInvalid('final frame length must be below the frame length');
    const end = pos + FINAL_FRAME_OVERHEAD + declared;
    if (end > size) return truncated('inside the final frame');
    const sealed = await readExactlyWith(core, reader, pos + FINAL_FRAME_PREFIX, declared + TAG_BYTES);
    const opened = session.openFrame(index, true, sealed);
    (opened instanceof Promise ? await opened : opened).fill(0);
    if (end + signatureLength > size) return truncated('inside its signature');
    if (end + signatureLength < size) return new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
    return truncated('where its size says it does not');
  }
}

function isFileHandle(source: object): source is FileHandleLike {
  return typeof (source as FileHandleLike).stat === 'function' && typeof (source as FileHandleLike).read === 'function';
}

/** Normalizes a source to a reader whose `read` always returns exactly the bytes asked for. */
async function toRangeReader(core: RangeCore, source: RangeSource): Promise<RangeReader> {
  if (source instanceof Uint8Array) {
    // Not copied whole (each read is, from a SharedArrayBuffer); a plain view of fixed length.
    const bytes = core.ownView('source', source, false);
    return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
  }
  if (typeof source !== 'object' || source === null) throw new TypeError('"source" expected a Uint8Array, a FileHandle or { size, read(offset, length) }');
  if (isFileHandle(source)) {
    const size = Number((await source.stat()).size);
    return {
      size,
      async read(offset, length) {
        const out = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await source.read(out, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === length ? out : out.subarray(0, got);
      },
    };
  }
  const reader = source as RangeReader;
  // Read once: a getter could answer something else after the check.
  const size = reader.size;
  if (!Number.isSafeInteger(size) || size < 0 || typeof reader.read !== 'function') {
    throw new TypeError('"source" expected { size: non-negative integer, read(offset, length) }');
  }
  return { size, read: (offset, length) => reader.read(offset, length) };
}

/**
 * Reads exactly `length` bytes at `offset`, or fails with ERR_TRUNCATED (fewer: the source shrank
 * or lied about its size) or TypeError (more: `read` broke its contract).
 */
async function readExactlyWith(core: RangeCore, reader: RangeReader, offset: number, length: number): Promise<Uint8Array> {
  const r = reader.read(offset, length);
  const read = r instanceof Promise ? await r : r;
  if (!(read instanceof Uint8Array)) throw new TypeError('"read" expected to return a Uint8Array');
  // A SharedArrayBuffer's bytes (a Uint8Array source, or what a reader returns) are copied:
  // another thread could change a frame between its tag check and its decryption.
  const bytes = core.ownView('read', read, true);
  if (bytes.length > length) throw new TypeError(`"read" returned ${bytes.length} bytes at offset ${offset} where ${length} were asked`);
  if (bytes.length < length) throw new core.SealboxError('ERR_TRUNCATED', 'The source returned fewer bytes than its size promised');
  return bytes;
}
