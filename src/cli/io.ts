import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';

/** Inputs above this size get a progress bar when stderr is a terminal. */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/** True when a progress bar should be shown: stderr is a terminal and the input is large. */
export function wantsProgress(size: number | undefined): boolean {
  return Boolean(process.stderr.isTTY) && size !== undefined && size >= PROGRESS_MIN_BYTES;
}

/** A pass-through that advances a progress bar on stderr; undefined when none is wanted. */
export function progressFor(size: number | undefined): Transform | undefined {
  if (!wantsProgress(size)) return undefined;
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'sealbox [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(size!, 0);
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      bar.update(done);
      cb(null, chunk);
    },
    flush(cb) {
      bar.stop();
      cb();
    },
  });
}

/**
 * Runs input → stages → output. With an output path, writes a private temporary file beside it
 * and renames it only on success: a failed run leaves no output file.
 */
export async function runPipeline(input: Readable, stages: Transform[], output: string | undefined): Promise<void> {
  if (output === undefined || output === '-') {
    await pipeline([input, ...stages, process.stdout as Writable]);
    return;
  }
  const tmp = join(dirname(output), `.${basename(output)}.${randomBytes(6).toString('hex')}.sealbox-tmp`);
  try {
    await pipeline([input, ...stages, createWriteStream(tmp, { flags: 'wx', mode: 0o600 })]);
    await rename(tmp, output);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
