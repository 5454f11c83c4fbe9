import { closeSync, createReadStream, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
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

/** True when the command would read stdin and stdin is a terminal. */
export function readsTerminal(file: string | undefined): boolean {
  return (file === undefined || file === '-') && Boolean(process.stdin.isTTY);
}

/**
 * An armored message pasted at a terminal (`sealbox decrypt`, `sealbox inspect`), as `age -d`
 * reads one: says on stderr what it waits for (never silently), reads lines up to the END
 * line and stops there, without waiting for Ctrl-D. The first line that is not blank must be
 * the BEGIN line: binary messages cannot come from a terminal (a usage error saying how to give
 * one). Input that ends (Ctrl-D) before the END line goes on to the armor decoder, which
 * reports it as truncated.
 */
export async function terminalArmor(): Promise<Input> {
  const { createInterface } = await import('node:readline');
  const { ARMOR_BEGIN, ARMOR_END } = await import('./armor.js');
  process.stderr.write(`sealbox: paste an armored message (${ARMOR_BEGIN} ... ${ARMOR_END}); Ctrl-D ends, Ctrl-C cancels\n`);
  const lines = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  const text: string[] = [];
  try {
    for await (const line of lines) {
      const trimmed = line.trim();
      if (text.length === 0 && trimmed === '') continue;
      if (text.length === 0 && trimmed !== ARMOR_BEGIN) {
        throw new UsageError(`a terminal can only give an armored message (starting ${ARMOR_BEGIN}): give a binary message as a file or through a pipe`);
      }
      text.push(trimmed);
      if (trimmed === ARMOR_END) break;
    }
  } finally {
    lines.close();
    // Stop reading the terminal, so that the command ends once the message is done.
    process.stdin.pause();
    process.stdin.unref?.();
  }
  if (text.length === 0) throw new UsageError('no input: paste an armored message, give a file, or pipe data to stdin');
  return { stream: Readable.from([Buffer.from(`${text.join('\n')}\n`)]), size: undefined, regularFile: false };
}

/** Key files (raw, RSA PEM or DER, X-Wing key text, KMS public keys) are at most this long. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * Refuses a key file (open as `fd`) that any user can change: one writable by others, or in a
 * directory others can write without the sticky bit (where they can replace it). Whoever can
 * put their own key there gets what is encrypted to it, or has forged messages opened with it.
 * As ssh refuses a private key file others can access and an `ssh_config` others can write, and
 * as gpg warns about a file or its directory writable by others. Group write is allowed (a
 * team's key file), and so are symbolic links (ssh and age follow them); pipes and devices
 * (`file:/dev/fd/3`) are not checked. Windows has no mode bits: not checked.
 *
 * @throws FileError EPERM.
 */
function requireKeyFileKept(fd: number, path: string, name: string): void {
  if (process.platform === 'win32') return;
  const st = fstatSync(fd);
  if (!st.isFile()) return;
  if ((st.mode & 0o002) !== 0) {
    throw new FileError(`cannot use ${name}: any user can change it (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}), and could have put their own key there; run: chmod o-w ${JSON.stringify(path)}`, 'EPERM');
  }
  let dir: string;
  let mode: number;
  try {
    dir = dirname(realpathSync(path));
    mode = statSync(dir).mode;
  } catch {
    return; // Gone meanwhile: what was opened is what is read.
  }
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw new FileError(`cannot use ${name}: any user can replace it, in ${dir} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}, not sticky), and could have put their own key there; move it to a directory of your own`, 'EPERM');
  }
}

/**
 * Reads a file a command needs whole and small, such as a key file (`path` '-' is stdin), at
 * most `max` bytes: a longer one is not what was meant (`--key file:/dev/zero`, a data file
 * named by mistake), and it is refused after `max` + 1 bytes rather than read to its end, which
 * for a device never comes. The bytes read are zeroed in the scratch they were read into: the
 * result is the only copy.
 *
 * With `key`, a regular file that any user can change is refused (see {@link requireKeyFileKept}).
 *
 * @throws FileError (naming the path, after `what` unless it is ''): the system's reasons, EFBIG when the
 * file is longer than `max`, EPERM for a key file any user can change.
 */
export function readSmallFile(path: string, what: string, max: number = MAX_KEY_FILE_BYTES, key = false): Buffer {
  const name = path === '-' ? 'standard input' : what === '' ? path : `${what} ${path}`;
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (err) {
    throw fileError(err, name, 'read');
  }
  if (key && path !== '-') {
    try {
      requireKeyFileKept(fd, path, name);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  const scratch = Buffer.allocUnsafeSlow(max + 1);
  let length = 0;
  try {
    for (;;) {
      const n = readSync(fd, scratch, length, scratch.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > max) throw new FileError(`cannot read ${name}: it is longer than ${max} bytes`, 'EFBIG');
    }
    return Buffer.from(scratch.subarray(0, length));
  } catch (err) {
    throw err instanceof FileError ? err : fileError(err, name, 'read');
  } finally {
    scratch.fill(0, 0, length);
    if (path !== '-') closeSync(fd);
  }
}
