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

/** Written by every build since 0.1's third-party notices (tsup.config.ts): a dist/ without it is older. */
const NOTICES = join(process.cwd(), 'dist', 'THIRD_PARTY_NOTICES.md');

/** Builds dist/ with the project's own build when it is missing or older than src/ or the build's own files. */
export function ensureBuilt(): void {
  const root = process.cwd();
  const newest = Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'scripts')), statSync(join(root, 'tsup.config.ts')).mtimeMs);
  if (existsSync(CLI) && existsSync(NOTICES) && statSync(CLI).mtimeMs >= newest) return;
  execFileSync(process.execPath, [join(process.cwd(), 'node_modules', 'tsup', 'dist', 'cli-default.js')], { stdio: 'ignore' });
}
