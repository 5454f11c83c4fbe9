import { closeSync, createWriteStream, fstatSync, open as openFd } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomically } from '../node/atomic-write.js';
import { fileError } from './exit.js';
import type { OutputTarget } from './output-path.js';
import { requireOwnStream } from './output-path.js';

/** Inputs above this size get a progress bar when stderr is a terminal. */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/** True when a progress bar should be shown: stderr is a terminal and the input is large. */
export function wantsProgress(size: number | undefined): boolean {
  return Boolean(process.stderr.isTTY) && size !== undefined && size >= PROGRESS_MIN_BYTES;
}

/**
 * A pass-through that advances a progress bar on stderr; undefined when none is wanted. The
 * progress bar's library is loaded only then (CLI start-up).
 */
export async function progressFor(size: number | undefined): Promise<Transform | undefined> {
  if (!wantsProgress(size)) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'sealbox [{bar}] {percentage}% | {done} of {size} | {rate} | {eta_formatted} left',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (done: number): { done: string; size: string; rate: string } => {
    const seconds = (Date.now() - started) / 1000;
    return { done: humanBytes(done), size: humanBytes(size!), rate: seconds > 0 ? `${humanBytes(done / seconds)}/s` : '-' };
  };
  // The bar's line must end (and the cursor come back) however the command ends: Ctrl-C, an
  // error, or process.exit from another handler. Without a SIGINT handler of its own, Node
  // would die of the signal without running any of that.
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    bar.stop();
    process.off('exit', stop);
    process.off('SIGINT', interrupted);
  };
  const interrupted = (): void => {
    stop();
    process.exit(130);
  };
  process.on('exit', stop);
  if (process.listenerCount('SIGINT') === 0) process.once('SIGINT', interrupted);
  bar.start(size!, 0, payload(0));
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      bar.update(done, payload(done));
      cb(null, chunk);
    },
    flush(cb) {
      bar.update(done, payload(done));
      stop();
      cb();
    },
    destroy(err, cb) {
      stop();
      cb(err);
    },
  });
}

/**
 * A progress line across files on stderr, rewritten in place: "sealbox encrypt: 1200/10000
 * files, 3 failed" (at most every 100 ms, and at the end). Only on a terminal and for two
 * files or more; `active` says whether it is shown (error lines then clear it first).
 */
export function filesProgress(command: string, total: number): { active: boolean; update: (done: number, failed: number) => void; end: () => void } {
  if (!process.stderr.isTTY || total < 2) return { active: false, update: () => undefined, end: () => undefined };
  let last = 0;
  return {
    active: true,
    update(done, failed) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      process.stderr.write(`\rsealbox ${command}: ${done}/${total} files${failed ? `, ${failed} failed` : ''}\x1b[K`);
    },
    end: () => process.stderr.write('\n'),
  };
}

/** 1536 → "1.5 KiB": sizes and rates as people read them. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/**
 * A Writable over a FileHandle that leaves closing to its owner (the atomic writer fsyncs and
 * closes it). Not `FileHandle.createWriteStream({ autoClose: false })`: with such a stream
 * attached, `FileHandle.close()` never settles on Node 20.
 */
function handleWriter(out: FileHandle): Writable {
  return new Writable({
    write: (chunk: Buffer, _encoding, callback) => void out.write(chunk).then(() => callback(), callback),
    writev: (chunks, callback) => void out.writev(chunks.map((c) => c.chunk as Buffer)).then(() => callback(), callback),
  });
}

/**
 * Runs input → stages → output (src/cli/output-path.ts, {@link OutputTarget}). To a file, writes a private temporary file beside it,
 * fsyncs it and renames it only on success (src/node/atomic-write.ts): a failed run leaves no
 * output file, and a power cut after the run leaves the whole file.
 */
export async function runPipeline(input: Readable, stages: Transform[], output: OutputTarget): Promise<void> {
  if (output.kind === 'stream') {
    // A FIFO or device: opened and written as it is (it cannot be renamed over). Its own errors
    // name it (ENOSPC on /dev/full, EPIPE when the reader went away).
    // Opened here and checked as opened (not as a stat of the path saw it a moment before): a
    // named pipe of another user is refused (output-path.ts, requireOwnStream).
    let fd: number;
    try {
      fd = await new Promise<number>((resolve, reject) => openFd(output.path, 'w', (err, n) => (err ? reject(err) : resolve(n))));
    } catch (err) {
      throw fileError(err, output.path, 'write');
    }
    try {
      requireOwnStream(fstatSync(fd), output.path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const out = createWriteStream(output.path, { fd });
    let failed: unknown;
    out.once('error', (err) => (failed = err));
    try {
      await pipeline([input, ...stages, out]);
    } catch (err) {
      throw err === failed ? fileError(err, output.path, 'write') : err;
    }
    return;
  }
  if (output.kind === 'stdout') {
    // end: false: ending process.stdout shuts the descriptor down for writing, and when stdout
    // is a socket (a parent in Node spawns us with stdio 'pipe') that shutdown is shared: the
    // parent's shell could no longer write to it (its next command died of SIGPIPE).
    await pipeline([input, ...stages, process.stdout as Writable], { end: false });
    return;
  }
  await writeFileAtomically(output.path, (out) => pipeline([input, ...stages, handleWriter(out)]));
}
