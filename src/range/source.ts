/**
 * A random-access reader: `read(offset, length)` returns exactly those bytes (fewer only at the
 * end: ERR_TRUNCATED; more is a TypeError). `size` is read once.
 */
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
