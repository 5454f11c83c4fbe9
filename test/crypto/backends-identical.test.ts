import { expect, it } from 'vitest';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { getAeadBackend } from '../../src/crypto/backend.js';
import { counterRandom, pattern } from '../helpers/keys.js';


it('node:crypto, WebCrypto and noble write identical messages for the same inputs and randomness', async () => {
  const plaintext = pattern(5000, 42);
  const messages = await Promise.all(
    (['node', 'webcrypto', 'noble'] as const).map(async (backend) => {
      const keyring = new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9), random: counterRandom() });
      const { ciphertext } = await encryptWithMessageId(plaintext, { keyring, frameLength: 1000, backend, encryptionContext: { a: 'b' } }, pattern(32, 77));
      return Buffer.from(ciphertext).toString('hex');
    }),
  );
  expect(messages[1]).toBe(messages[0]);
  expect(messages[2]).toBe(messages[0]);
});

it('the default backend in Node is node:crypto', () => {
  expect(getAeadBackend().name).toBe('node');
});
