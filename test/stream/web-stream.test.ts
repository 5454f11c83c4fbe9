import { describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { decryptStream } from '../../src/stream/decrypt-stream.js';
import { createEncryptionStream, encryptStream } from '../../src/stream/encrypt-stream.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { FixedMaterialsManager, MESSAGE_ID, through } from './helpers.js';

const MIB = 1024 * 1024;

describe('Web Streams: size grid x write-chunk sizes, byte-identical to one-shot', () => {
  for (const F of [64, 1000]) {
    const large = 37 * F + 11;
    const sizes = [0, 1, F - 1, F, F + 1, 2 * F + 1, large];
    const writes = [1, 7, F - 1, F, F + 1, MIB];
    for (const n of sizes) {
      it(`F=${F}, ${n} bytes`, async () => {
        const materialsManager = new FixedMaterialsManager();
        const plaintext = pattern(n, n + 1);
        const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: F }, MESSAGE_ID);
        for (const w of writes) {
          const enc = createEncryptionStream({ materialsManager, frameLength: F }, MESSAGE_ID);
          const streamed = await through(enc, plaintext, w);
          expect(bytesEqual(streamed, ciphertext), `encrypt, writes of ${w}`).toBe(true);
          expect((await enc.header).frameLength).toBe(F);
          const dec = decryptStream({ materialsManager });
          const opened = await through(dec, ciphertext, w);
          expect(bytesEqual(opened, plaintext), `decrypt, writes of ${w}`).toBe(true);
          expect((await dec.header).messageId).toEqual(MESSAGE_ID);
        }
      });
    }
  }

  it('a stream with a fresh message id round-trips through one-shot decrypt', async () => {
    const keyring = testKeyring();
    const plaintext = pattern(5000);
    const ct = await through(encryptStream({ keyring, frameLength: 512, encryptionContext: { a: 'b' } }), plaintext, 333);
    const { plaintext: back, encryptionContext } = await decrypt(ct, { keyring });
    expect(bytesEqual(back, plaintext)).toBe(true);
    expect(encryptionContext).toEqual({ a: 'b' });
  });

  it('the webcrypto backend (asynchronous) gives the same bytes', async () => {
    const materialsManager = new FixedMaterialsManager();
    const plaintext = pattern(3 * 100 + 7);
    const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: 100 }, MESSAGE_ID);
    for (const w of [1, 99, 100, 101, 1000]) {
      const streamed = await through(createEncryptionStream({ materialsManager, frameLength: 100, backend: 'webcrypto' }, MESSAGE_ID), plaintext, w);
      expect(bytesEqual(streamed, ciphertext)).toBe(true);
      const opened = await through(decryptStream({ materialsManager, backend: 'webcrypto' }), ciphertext, w);
      expect(bytesEqual(opened, plaintext)).toBe(true);
    }
  });
});
