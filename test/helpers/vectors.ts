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
  /** What decryptRange reports where it differs from `expect` (it refuses signed messages). */
  rangeExpect?: string;
  keyring: string[];
  decryptOptions?: { expectedEncryptionContext?: Record<string, string>; maxEncryptedDataKeys?: number; maxFrameLength?: number; maxHeaderBytes?: number; signaturePolicy?: 'accept-any' | 'require-signed' | 'refuse-signed' };
  ciphertext: string;
  plaintext?: string;
  encryptionContext?: Record<string, string>;
}

/** Every vector file except the key files (keys.json, asymmetric-keys.json), by name. */
export function loadVectors(): MessageVector[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'keys.json' && f !== 'asymmetric-keys.json')
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...(JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as Omit<MessageVector, 'name'>) }));
}

/** The RSA key pair (PKCS#8 PEM) and X-Wing seed (hex) of the §9.2 / §9.5 vectors. */
export interface AsymmetricVectorKeys {
  namespace: string;
  rsa: { name: string; hash: 'SHA-256'; privateKey: string };
  xwing: { name: string; privateKey: string };
}

/** The keys the vectors use: raw AES keys (keys.json) and, as `asymmetric`, the RSA and X-Wing keys. */
export function loadVectorKeys(): { namespace: string; keys: Record<string, string>; asymmetric: AsymmetricVectorKeys } {
  const aes = JSON.parse(readFileSync(join(VECTORS_DIR, 'keys.json'), 'utf8')) as { namespace: string; keys: Record<string, string> };
  const asymmetric = JSON.parse(readFileSync(join(VECTORS_DIR, 'asymmetric-keys.json'), 'utf8')) as AsymmetricVectorKeys;
  return { ...aes, asymmetric };
}
