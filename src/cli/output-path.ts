import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError, fileError } from './exit.js';

/**
 * Refuses an output path that cannot be written, before any work and before the key store is
 * opened or created, naming the path as the user gave it: a directory, a missing or
 * non-directory parent, a parent without write permission. (The output itself is written
 * later, through a temporary file beside it; this check only makes the common mistakes fail
 * first, and says so in the user's terms instead of the temporary file's name.)
 * "-" and undefined mean stdout.
 */
export function checkOutputPath(path: string | undefined): void {
  if (path === undefined || path === '-') return;
  if (path === '') throw new FileError('cannot write "": the output path is empty', 'ENOENT');
  try {
    if (statSync(path).isDirectory()) throw new FileError(`cannot write ${path}: it is a directory (give a file name)`, 'EISDIR');
  } catch (err) {
    if (err instanceof FileError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, path, 'write');
  }
  const dir = dirname(path);
  let parent;
  try {
    parent = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileError(`cannot write ${path}: the directory ${dir} does not exist`, 'ENOENT');
    throw fileError(err, path, 'write');
  }
  if (!parent.isDirectory()) throw new FileError(`cannot write ${path}: ${dir} is not a directory`, 'ENOTDIR');
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new FileError(`cannot write ${path}: no permission to create files in ${dir}`, (err as NodeJS.ErrnoException).code ?? 'EACCES');
  }
}
