// Before a timed run that writes a file: the previous run's output removed and everything
// written so far flushed to disk, outside the timing (every bench file uses it; bench/cli.mjs
// before each run into a new directory, bench/rewrap.mjs with no path). Without it a run pays for earlier ones: outputs written without fsync (the AWS
// SDK's streams, age, the plain copy pipeline) and the input files written just before the
// rounds are written back by the kernel during later runs, on the same 2 cores, and a run that
// renames or truncates over a 256 MiB file left in place pays for dropping its pages.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Removes `paths` (if present) and runs `sync`. */
export function settle(...paths) {
  for (const p of paths) rmSync(p, { force: true });
  spawnSync('sync');
}
