// One-shot encrypt, decrypt and rewrap hold the content key as a transient key (node backend's
// importTransientKey, no KeyObject) and wipe it before they return, on success and on failure.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decrypt, encrypt, RawAesKeyring } from '../src/index.js';
import { rewrap } from '../src/rewrap/index.js';
import { getAeadBackend } from '../src/crypto/backend.js';
import type { TransientAeadKey } from '../src/crypto/aead.js';
import { pattern } from './helpers/keys.js';

const keyringA = new RawAesKeyring({ namespace: 'test', name: 'a', wrappingKey: pattern(32, 1) });
const keyringB = new RawAesKeyring({ namespace: 'test', name: 'b', wrappingKey: pattern(32, 2) });
const plaintext = pattern(3000, 7);
const NONCE = new Uint8Array(12);

/** Records every transient key the default (node) backend hands out. */
function recordTransientKeys(): TransientAeadKey[] {
  const backend = getAeadBackend();
  const original = backend.importTransientKey!.bind(backend);
  const keys: TransientAeadKey[] = [];
  vi.spyOn(backend, 'importTransientKey').mockImplementation((raw: Uint8Array) => {
    const key = original(raw);
    keys.push(key);
    return key;
  });
  return keys;
}

const disposed = (key: TransientAeadKey): boolean => {
  try {
    key.seal(NONCE, new Uint8Array(0), new Uint8Array(1));
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_STATE';
  }
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('transient content keys of one-shot encrypt, decrypt and rewrap', () => {
  it('each call uses one and has wiped it when it returns', async () => {
    const keys = recordTransientKeys();
    const { ciphertext } = await encrypt(plaintext, { keyring: keyringA, frameLength: 1024 });
    expect(keys).toHaveLength(1);
    expect((await decrypt(ciphertext, { keyring: keyringA })).plaintext).toEqual(plaintext);
    expect(keys).toHaveLength(2);
    const rewrapped = (await rewrap(ciphertext, { keyring: keyringA, to: keyringB })).ciphertext;
    expect(keys).toHaveLength(3);
    expect((await decrypt(rewrapped, { keyring: keyringB })).plaintext).toEqual(plaintext);
    expect(keys).toHaveLength(4);
    expect(keys.every(disposed)).toBe(true);
  });

  it('and when they fail: a bad frame tag, a bad header tag', async () => {
    const keys = recordTransientKeys();
    const { ciphertext } = await encrypt(plaintext, { keyring: keyringA, frameLength: 1024 });
    const badFrame = new Uint8Array(ciphertext);
    badFrame[badFrame.length - 1]! ^= 1;
    await expect(decrypt(badFrame, { keyring: keyringA })).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    const end = 8 + new DataView(ciphertext.buffer, ciphertext.byteOffset).getUint32(4);
    const badHeaderTag = new Uint8Array(ciphertext);
    badHeaderTag[end]! ^= 1;
    await expect(decrypt(badHeaderTag, { keyring: keyringA })).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    await expect(rewrap(badHeaderTag, { keyring: keyringA, to: keyringB })).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    expect(keys).toHaveLength(4);
    expect(keys.every(disposed)).toBe(true);
  });

  it('rewrap with verifyFrames keeps an ordinary key for its frames', async () => {
    const keys = recordTransientKeys();
    const { ciphertext } = await encrypt(plaintext, { keyring: keyringA, frameLength: 1024 });
    const rewrapped = (await rewrap(ciphertext, { keyring: keyringA, to: keyringB, verifyFrames: true })).ciphertext;
    expect(keys).toHaveLength(1);
    expect((await decrypt(rewrapped, { keyring: keyringB })).plaintext).toEqual(plaintext);
  });
});
