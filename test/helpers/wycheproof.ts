import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

/**
 * shared/vectors/wycheproof beside the repository (CI clones the repo next to shared/); found
 * by walking up from this file, so git worktrees deeper in the tree find it too.
 */
export const WYCHEPROOF_DIR = findVectors(dirname(fileURLToPath(import.meta.url)));

function findVectors(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'vectors', 'wycheproof');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('shared/vectors/wycheproof not found beside the repository');
  }
}

export interface WycheproofFile<G> {
  numberOfTests: number;
  testGroups: G[];
}

/** Reads one Wycheproof JSON file, unmodified. */
export function loadWycheproof<G>(name: string): WycheproofFile<G> {
  return JSON.parse(readFileSync(join(WYCHEPROOF_DIR, name), 'utf8')) as WycheproofFile<G>;
}
