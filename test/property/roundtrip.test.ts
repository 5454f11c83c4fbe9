import { expect, it } from 'vitest';
import fc from 'fast-check';
import { decrypt, encrypt } from '../../src/index.js';
import { bytesEqual, testKeyring } from '../helpers/keys.js';

const keyring = testKeyring();

it('decrypt(encrypt(x)) = x for any plaintext, frame length and context', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: 1, max: 1200 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith('sealbox:') && k.isWellFormed()), fc.string({ maxLength: 8 }).filter((v) => v.isWellFormed()), { maxKeys: 4 }),
      async (plaintext, frameLength, encryptionContext) => {
        const { ciphertext } = await encrypt(plaintext, { keyring, frameLength, encryptionContext });
        const result = await decrypt(ciphertext, { keyring, expectedEncryptionContext: encryptionContext });
        expect(bytesEqual(result.plaintext, plaintext)).toBe(true);
        expect(result.encryptionContext).toEqual(encryptionContext);
      },
    ),
    { numRuns: 150 },
  );
});
