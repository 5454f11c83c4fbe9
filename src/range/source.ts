import { SealboxError } from '../errors.js';

/** A random-access reader: `read(offset, length)` returns exactly those bytes (fewer only at the end). */
export interface RangeReader {
  /** Total size of the message in bytes. */
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array> | Uint8Array;
}

/**
 * The part of a Node `fs.promises.FileHandle` that range decrypt uses, typed structurally so
 * the core needs no `node:*` import.
 */
export interface FileHandleLike {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number | bigint }>;
}

/** Where {@link decryptRange} reads from: bytes in memory, an open file, or a callback with the total size. */
export type RangeSource = Uint8Array | FileHandleLike | RangeReader;

function isFileHandle(source: object): source is FileHandleLike {
  return typeof (source as FileHandleLike).stat === 'function' && typeof (source as FileHandleLike).read === 'function';
}

/** Normalizes a source to a reader whose `read` always returns exactly the bytes asked for. */
export async function toRangeReader(source: RangeSource): Promise<RangeReader> {
  if (source instanceof Uint8Array) {
    return { size: source.length, read: (offset, length) => source.subarray(offset, offset + length) };
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
  if (!Number.isSafeInteger(reader.size) || reader.size < 0 || typeof reader.read !== 'function') {
    throw new TypeError('"source" expected { size: non-negative integer, read(offset, length) }');
  }
  return reader;
}

/** Reads exactly `length` bytes at `offset`, or fails with ERR_TRUNCATED (the source shrank or lied about its size). */
export async function readExactly(reader: RangeReader, offset: number, length: number): Promise<Uint8Array> {
  const r = reader.read(offset, length);
  const bytes = r instanceof Promise ? await r : r;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"read" expected to return a Uint8Array');
  if (bytes.length !== length) throw new SealboxError('ERR_TRUNCATED', 'The source returned fewer bytes than its size promised');
  return bytes;
}
