/**
 * SPEC §3.2: an encoder MUST NOT write the same header salt in two headers of one message.
 * Rewrap draws a new salt for each header; here the random source is made to hand back the
 * salt of the header being replaced (a 2^-64 event), which must be drawn again.
 */
import { describe, expect, it, vi } from 'vitest';

const replay: Uint8Array[] = [];
vi.mock('../src/crypto/random.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/crypto/random.js')>();
  return { randomBytes: (n: number) => (n === 8 && replay.length > 0 ? replay.shift()! : real.randomBytes(n)) };
});

const { encrypt } = await import('../src/encrypt.js');
const { decrypt } = await import('../src/decrypt.js');
const { rewrap } = await import('../src/rewrap/index.js');
const { testKeyring, pattern, bytesEqual } = await import('./helpers/keys.js');

describe('rewrap never writes the salt of the header it replaces', () => {
  it('a salt drawn equal to the previous one is drawn again', async () => {
    const keyring = testKeyring('salt', 3);
    const { ciphertext } = await encrypt(pattern(500), { keyring });
    const first = await rewrap(ciphertext, { keyring, to: keyring });
    const salt = first.header.headerSalt!;
    expect(salt.length).toBe(8);
    replay.push(Uint8Array.from(salt), Uint8Array.from(salt));
    const second = await rewrap(first.ciphertext, { keyring, to: keyring });
    expect(replay).toEqual([]);
    expect(bytesEqual(second.header.headerSalt!, salt)).toBe(false);
    expect(bytesEqual((await decrypt(second.ciphertext, { keyring })).plaintext, pattern(500))).toBe(true);
  });
});
