import { describe, expect, it } from 'vitest';
import { decrypt, MultiKeyring, RawAesKeyring, SealboxError } from '../src/index.js';
import type { Keyring } from '../src/index.js';
import { fromHex } from '../src/crypto/bytes.js';
import { loadVectorKeys, loadVectors } from './helpers/vectors.js';
import { bytesEqual } from './helpers/keys.js';

// Frozen vectors: messages written by a released version must decrypt forever, and every
// MUST-reject rule of docs/SPEC.md §8 has at least one vector naming the code it expects.
const vectors = loadVectors();
const { namespace, keys } = loadVectorKeys();
const raw = (name: string): Keyring => new RawAesKeyring({ namespace, name, wrappingKey: fromHex(keys[name]!) });
const keyringFor = (names: string[]): Keyring =>
  names.length === 1 ? raw(names[0]!) : new MultiKeyring({ generator: raw(names[0]!), children: names.slice(1).map(raw) });

describe('frozen message vectors', () => {
  it('cover every MUST-reject rule 1-18 of SPEC §8', () => {
    const rules = new Set(vectors.map((v) => v.rule).filter((r) => r !== null));
    for (let r = 1; r <= 18; r++) expect(rules.has(r), `rule ${r}`).toBe(true);
    expect(vectors.filter((v) => v.expect === 'success').length).toBeGreaterThanOrEqual(5);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const ciphertext = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
    const run = decrypt(ciphertext, { keyring: keyringFor(v.keyring), ...v.decryptOptions });
    if (v.expect === 'success') {
      const result = await run;
      expect(bytesEqual(result.plaintext, Buffer.from(v.plaintext!, 'base64'))).toBe(true);
      expect(result.encryptionContext).toEqual(v.encryptionContext);
    } else {
      const err = await run.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe(v.expect);
    }
  });
});
