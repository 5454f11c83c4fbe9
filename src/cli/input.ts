import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { FileError, UsageError, fileError } from './exit.js';

/** An opened input: its stream, its size when known, and whether it is a regular file. */
export interface Input {
  readonly stream: Readable;
  /** Bytes, for a regular file (also stdin redirected from one); undefined for pipes and terminals. */
  readonly size: number | undefined;
  /** A regular file named on the command line: it can be read at positions and probed. */
  readonly regularFile: boolean;
}

/**
 * The size of stdin when it is a regular file (`sealbox encrypt < big.bin`), so that input
 * gets a progress bar too; undefined for pipes and terminals, whose length is unknown.
 */
function stdinFileSize(): number | undefined {
  try {
    const st = fstatSync(0);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens the input of a command: a file, or stdin for none / "-". The file is opened here, at
 * once, so that a missing, unreadable or directory input is one usage line (exit 1) before any
 * work and before the key store is touched; read errors later (EIO, a FIFO's writer going
 * away) reach the command's pipeline as errors, never as an unhandled 'error' event.
 * Terminals on stdin are the caller's decision (`terminal` says what to do).
 */
export function openInput(file: string | undefined, terminal: 'refuse' | 'allow'): Input {
  if (file === undefined || file === '-') {
    // Waiting silently on a terminal for input nobody means to type helps no one.
    if (process.stdin.isTTY && terminal === 'refuse') throw new UsageError('no input: give a file, or pipe data to stdin');
    return { stream: process.stdin, size: stdinFileSize(), regularFile: false };
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    closeSync(fd);
    throw new FileError(`cannot read ${file}: it is a directory`, 'EISDIR');
  }
  return { stream: createReadStream('', { fd, highWaterMark: 1024 * 1024 }), size: st.isFile() ? st.size : undefined, regularFile: st.isFile() };
}

/**
 * A read error met while streaming the input (EIO, EISDIR from a special file) names the input
 * as the user gave it; other errors pass unchanged.
 */
export function inputError(err: unknown, file: string | undefined): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === 'string' && e.syscall === 'read' && !e.path) return fileError(e, file === undefined || file === '-' ? 'stdin' : file, 'read');
  return err;
}
