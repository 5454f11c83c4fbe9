/**
 * `backend` names an AES-GCM implementation; any name but the three was taken as the portable
 * fallback, so a typo ('Node') made encryption about 10x slower and switched off
 * encryptFile's `concurrency`, without an error. It is a TypeError now, on every path.
 */
import { describe, expect, it } from 'vitest';
import { decrypt } from '../src/decrypt.js';
import { encrypt } from '../src/encrypt.js';
import { getAeadBackend } from '../src/crypto/backend.js';
import { pattern, testKeyring, thrown } from './helpers/keys.js';

const keyring = testKeyring('backend', 6);

describe('the backend option', () => {
  it.each(['Node', 'nodejs', 'openssl', '', 'NOBLE'])('%j is a TypeError for encrypt, decrypt and getAeadBackend', async (name) => {
    expect(() => getAeadBackend(name as never)).toThrow(TypeError);
    expect(await thrown(() => encrypt(pattern(10), { keyring, backend: name as never }))).toBeInstanceOf(TypeError);
    const { ciphertext } = await encrypt(pattern(10), { keyring });
    expect(await thrown(() => decrypt(ciphertext, { keyring, backend: name as never }))).toBeInstanceOf(TypeError);
  });

  it.each(['node', 'webcrypto', 'noble'] as const)('%s works', async (name) => {
    expect(getAeadBackend(name).name).toBe(name);
    const { ciphertext } = await encrypt(pattern(100), { keyring, backend: name });
    expect((await decrypt(ciphertext, { keyring, backend: name })).plaintext).toEqual(pattern(100));
  });
});
