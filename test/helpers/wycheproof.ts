import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

/** ../shared/vectors/wycheproof beside the repository (CI clones it next to shared/). */
export const WYCHEPROOF_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'vectors', 'wycheproof');

export interface WycheproofFile<G> {
  numberOfTests: number;
  testGroups: G[];
}

/** Reads one Wycheproof JSON file, unmodified. */
export function loadWycheproof<G>(name: string): WycheproofFile<G> {
  return JSON.parse(readFileSync(join(WYCHEPROOF_DIR, name), 'utf8')) as WycheproofFile<G>;
}
