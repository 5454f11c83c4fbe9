import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it, vi } from 'vitest';
import { decrypt, decryptRange, decryptStream, encrypt, encryptStream, MultiKeyring, RawAesKeyring } from '../src/index.js';
import { createDecryptStream } from '../src/node/index.js';
import { fromHex } from '../src/crypto/bytes.js';
import { loadVectorKeys, loadVectors } from './helpers/vectors.js';
import { through } from './helpers/web-streams.js';

// SPEC rule 28 (at most 2^32 - 1 frames) cannot be shown by a vector file: here the bound is
// lowered to 3 frames and a 4-frame vector must fail with ERR_LIMIT_EXCEEDED in every decoder.
vi.mock('../src/limits.js', async (importOriginal) => ({ ...(await importOriginal<object>()), MAX_FRAMES: 3 }));

const vector = loadVectors().find((v) => v.name === 'ok-frames-context-two-edks')!;
const { namespace, keys } = loadVectorKeys();
const keyring = (): MultiKeyring =>
  new MultiKeyring({ generator: new RawAesKeyring({ namespace, name: 'alpha', wrappingKey: fromHex(keys.alpha!) }) });
const ciphertext = new Uint8Array(Buffer.from(vector.ciphertext, 'base64'));

describe('rule 28: the frame count (bound lowered to 3; the vector has 4 frames)', () => {
  it('one-shot, Web stream, Node stream and range decrypt all report ERR_LIMIT_EXCEEDED', async () => {
    const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'success', (e: { code?: string }) => e.code);
    expect(await code(decrypt(ciphertext, { keyring: keyring() }))).toBe('ERR_LIMIT_EXCEEDED');
    expect(await code(through(decryptStream({ keyring: keyring() }), ciphertext, 9))).toBe('ERR_LIMIT_EXCEEDED');
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    expect(await code(pipeline(Readable.from([ciphertext]), createDecryptStream({ keyring: keyring() }), sink))).toBe('ERR_LIMIT_EXCEEDED');
    expect(await code(decryptRange(ciphertext, { keyring: keyring(), start: 0 }))).toBe('ERR_LIMIT_EXCEEDED');
  });

  it('three frames are still fine', async () => {
    const three = loadVectors().find((v) => v.name === 'ok-exact-multiple')!; // two regular frames and the final frame
    const { plaintext } = await decrypt(new Uint8Array(Buffer.from(three.ciphertext, 'base64')), { keyring: keyring() });
    expect(plaintext.length).toBe(128);
  });
});

describe('rule 28 on the encrypt side (bound lowered to 3)', () => {
  it('a stream of unknown length never seals a fourth frame; a known length is refused up front', async () => {
    const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'success', (e: { code?: string }) => e.code);
    expect(await code(through(encryptStream({ keyring: keyring(), frameLength: 16 }), new Uint8Array(3 * 16), 16))).toBe('ERR_LIMIT_EXCEEDED');
    expect(await code(encrypt(new Uint8Array(3 * 16), { keyring: keyring(), frameLength: 16 }))).toBe('ERR_LIMIT_EXCEEDED');
    // Two regular frames and the final one: three.
    expect(await code(through(encryptStream({ keyring: keyring(), frameLength: 16 }), new Uint8Array(2 * 16 + 5), 16))).toBe('success');
  });
});
