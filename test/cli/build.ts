import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The built CLI (package.json "bin"), as `npm install` (prepare) leaves it. */
export const CLI = join(process.cwd(), 'dist', 'cli', 'bin.cjs');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ with the project's own build when it is missing or older than src/. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource(join(process.cwd(), 'src'))) return;
  execFileSync(process.execPath, [join(process.cwd(), 'node_modules', 'tsup', 'dist', 'cli-default.js')], { stdio: 'ignore' });
}
