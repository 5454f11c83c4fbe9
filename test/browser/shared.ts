// Test logic shared by Node (run against src/) and the page (run against the browser bundle):
// it takes the Sealbox API as a parameter and imports nothing at run time, so both runtimes
// execute the same code and their results can be compared as plain JSON.
import type * as Sealbox from '../../src/index.js';
import { counterRandom, pattern } from '../helpers/pattern.js';
import type { AsymmetricVectorKeys } from '../helpers/vectors.js';

export { counterRandom, pattern } from '../helpers/pattern.js';

/** The part of the public API the shared cases use. */
export type Api = Pick<typeof Sealbox, 'encrypt' | 'decrypt' | 'RawAesKeyring' | 'RawRsaKeyring' | 'XWingKeyring' | 'MultiKeyring' | 'SealboxError'>;


/** Base64 without Buffer (the page has none). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Inverse of {@link toBase64}. */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** JSON of a context with its keys sorted, so comparisons ignore the (canonical) order. */
export function sortedJson(context: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** What one decrypt attempt gave: `plaintext:<b64>:<context json>`, an error code, or a foreign error. */
export async function outcome(api: Api, run: () => Promise<{ plaintext: Uint8Array; encryptionContext: Record<string, string> }>): Promise<string> {
  try {
    const r = await run();
    return `plaintext:${toBase64(r.plaintext)}:${sortedJson(r.encryptionContext)}`;
  } catch (err) {
    return err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`;
  }
}

/** One frozen vector file (test/vectors/README.md), as JSON. */
export interface VectorFile {
  name: string;
  expect: string;
  keyring: string[];
  decryptOptions?: Record<string, unknown>;
  ciphertext: string;
}

/** Decrypts every frozen vector; returns name -> outcome. */
export async function vectorOutcomes(api: Api, vectors: VectorFile[], keys: { namespace: string; keys: Record<string, string>; asymmetric: AsymmetricVectorKeys }): Promise<Record<string, string>> {
  const { rsa, xwing, namespace } = keys.asymmetric;
  // Raw AES keys by name (keys.json), or the RSA / X-Wing key of asymmetric-keys.json.
  const raw = (name: string): Sealbox.Keyring =>
    name === rsa.name
      ? new api.RawRsaKeyring({ namespace, name, hash: rsa.hash, privateKey: rsa.privateKey })
      : name === xwing.name
        ? new api.XWingKeyring({ privateKey: hexToBytes(xwing.privateKey) })
        : new api.RawAesKeyring({ namespace: keys.namespace, name, wrappingKey: hexToBytes(keys.keys[name]!) });
  const results: Record<string, string> = {};
  for (const v of vectors) {
    const [first, ...rest] = v.keyring;
    const keyring = rest.length === 0 ? raw(first!) : new api.MultiKeyring({ generator: raw(first!), children: rest.map(raw) });
    results[v.name] = await outcome(api, () => api.decrypt(fromBase64(v.ciphertext), { keyring, ...v.decryptOptions }));
  }
  return results;
}

/** Frame lengths and sizes of the round-trip grid (0, 1, F-1, F, F+1, 2F, 2F+1). */
export function sizeGrid(): Array<{ frameLength: number; size: number }> {
  const grid: Array<{ frameLength: number; size: number }> = [];
  for (const F of [1, 17, 1024, 65536]) {
    for (const size of new Set([0, 1, F - 1, F, F + 1, 2 * F, 2 * F + 1])) grid.push({ frameLength: F, size });
  }
  return grid;
}

/** Every single-bit flip, every truncation and one appended byte: counts of each outcome kind. */
export async function tamperSummary(api: Api, keyring: Sealbox.Keyring, ciphertext: Uint8Array): Promise<{ flips: Record<string, number>; truncations: Record<string, number>; appended: string; untouched: string }> {
  const kind = (o: string): string => (o.startsWith('plaintext:') ? 'PLAINTEXT' : o);
  const count = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  const flips: Record<string, number> = {};
  for (let bit = 0; bit < ciphertext.length * 8; bit++) {
    const bytes = ciphertext.slice();
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    count(flips, kind(await outcome(api, () => api.decrypt(bytes, { keyring }))));
  }
  const truncations: Record<string, number> = {};
  for (let len = 0; len < ciphertext.length; len++) count(truncations, kind(await outcome(api, () => api.decrypt(ciphertext.subarray(0, len), { keyring }))));
  const longer = new Uint8Array(ciphertext.length + 1);
  longer.set(ciphertext);
  return {
    flips,
    truncations,
    appended: kind(await outcome(api, () => api.decrypt(longer, { keyring }))),
    untouched: kind(await outcome(api, () => api.decrypt(ciphertext, { keyring }))),
  };
}

/** The fixed inputs of the identical-ciphertext check: same plaintext, keys, randomness and message id. */
export async function fixedMessage(
  encryptWithMessageId: typeof import('../../src/encrypt.js').encryptWithMessageId,
  RawAesKeyring: Api['RawAesKeyring'],
  backend: Sealbox.AeadBackendName | undefined,
): Promise<string> {
  const keyring = new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9), random: counterRandom() });
  const options = { keyring, frameLength: 1000, encryptionContext: { a: 'b', tenant: 'acme' }, ...(backend ? { backend } : {}) };
  const { ciphertext } = await encryptWithMessageId(pattern(5000, 42), options, pattern(32, 77));
  return toBase64(ciphertext);
}

/** The keyring both runtimes use for cross-runtime messages. */
export function crossKeyring(api: Api): Sealbox.Keyring {
  return new api.RawAesKeyring({ namespace: 'cross', name: 'k', wrappingKey: pattern(32, 11) });
}

/** Plaintext and context of cross-runtime messages. */
export const CROSS = { size: 200_003, frameLength: 4096, encryptionContext: { made: 'elsewhere', 'ü': 'ö' } } as const;
