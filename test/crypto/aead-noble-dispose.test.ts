// The noble backend (browsers without crypto.subtle) holds each content key as a copy in
// JavaScript memory, where no CryptoKey keeps it: one-shot encrypt and decrypt wipe it once the
// last frame is done, as they wipe node:crypto's transient keys (docs/browser.md, "Keys in a page").
import { describe, expect, it, vi } from 'vitest';
import { decrypt, decryptStream, encrypt, getAeadBackend, SealboxError } from '../../src/index.js';
import { disposeKey } from '../../src/crypto/aead.js';
import { pattern, testKeyring } from '../helpers/keys.js';
import { through } from '../helpers/web-streams.js';

/** Every key array noble's GCM was called with. */
const keys: Uint8Array[] = [];

vi.mock('@noble/ciphers/aes.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('@noble/ciphers/aes.js')>();
  const gcm = (key: Uint8Array, ...rest: [Uint8Array, Uint8Array?]) => {
    if (!keys.includes(key)) keys.push(key);
    return original.gcm(key, ...rest);
  };
  return { ...original, gcm: Object.assign(gcm, original.gcm) };
});

const keyring = testKeyring('n', 3);
const zero = (b: Uint8Array): boolean => b.every((x) => x === 0);

describe('noble backend: content keys', () => {
  it('one-shot encrypt and decrypt wipe the content key they used', async () => {
    keys.length = 0;
    const plaintext = pattern(3000, 1);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 1024, backend: 'noble' });
    expect(keys).toHaveLength(1);
    expect(zero(keys[0]!)).toBe(true);
    const { plaintext: opened } = await decrypt(ciphertext, { keyring, backend: 'noble' });
    expect(opened).toEqual(plaintext);
    expect(keys).toHaveLength(2);
    expect(zero(keys[1]!)).toBe(true);
    // A stream keeps its key for its frames; it still decrypts.
    expect(await through(decryptStream({ keyring, backend: 'noble' }), ciphertext, 500)).toEqual(plaintext);
  });

  it('a disposed key refuses further use with ERR_STATE', async () => {
    const key = await getAeadBackend('noble').importKey(pattern(32, 2));
    const nonce = new Uint8Array(12);
    const sealed = await key.seal(nonce, new Uint8Array(0), pattern(10, 3));
    disposeKey(key);
    for (const call of [() => key.seal(nonce, new Uint8Array(0), pattern(10, 3)), () => key.open(nonce, new Uint8Array(0), sealed)]) {
      let err: unknown;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect((err as SealboxError).code).toBe('ERR_STATE');
    }
  });
});
