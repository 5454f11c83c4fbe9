import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

/** Directory of the frozen message vectors. */
export const VECTORS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

/** One frozen vector file (see test/vectors/README.md). */
export interface MessageVector {
  name: string;
  description: string;
  rule: number | null;
  expect: string;
  keyring: string[];
  decryptOptions?: { expectedEncryptionContext?: Record<string, string>; maxEncryptedDataKeys?: number; maxFrameLength?: number; maxHeaderBytes?: number };
  ciphertext: string;
  plaintext?: string;
  encryptionContext?: Record<string, string>;
}

/** Every vector file except keys.json, by name. */
export function loadVectors(): MessageVector[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'keys.json')
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...(JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as Omit<MessageVector, 'name'>) }));
}

/** The raw AES keys the vectors use. */
export function loadVectorKeys(): { namespace: string; keys: Record<string, string> } {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'keys.json'), 'utf8')) as { namespace: string; keys: Record<string, string> };
}
