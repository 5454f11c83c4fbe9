import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * test/vectors/wycheproof: unmodified Wycheproof files kept in the repository (origin, commit
 * and blob ids in its README.md). Only this folder is read: nothing outside the repository.
 */
export const WYCHEPROOF_DIR = fileURLToPath(new URL('../vectors/wycheproof/', import.meta.url));

export interface WycheproofFile<G> {
  numberOfTests: number;
  testGroups: G[];
}

/**
 * Reads one Wycheproof JSON file, unmodified. A missing file throws (the test that asked for
 * it fails): a test never passes by finding no vectors.
 */
export function loadWycheproof<G>(name: string): WycheproofFile<G> {
  const path = join(WYCHEPROOF_DIR, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Wycheproof vector file ${name} is missing from test/vectors/wycheproof/ (copy it unmodified and list it in that folder's README.md)`, { cause: err });
  }
  const file = JSON.parse(text) as WycheproofFile<G>;
  if (!Array.isArray(file.testGroups) || file.testGroups.length === 0) throw new Error(`Wycheproof vector file ${name} has no test groups`);
  return file;
}
