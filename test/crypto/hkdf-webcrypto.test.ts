import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hkdf } from '../../src/crypto/hkdf.js';
import { hkdfSha512Noble } from '../../src/crypto/hkdf-noble.js';
import { hkdfSha512WebCrypto } from '../../src/crypto/hkdf-webcrypto.js';
import { deriveMessageKeys } from '../../src/crypto/derive.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { isSealboxError } from '../../src/errors.js';
import { loadWycheproof } from '../helpers/wycheproof.js';
import { thrown } from '../helpers/keys.js';

// The WebCrypto HKDF path (browsers and workers derive message keys with it) gives the bytes
// the node:crypto and noble paths give.
const webHkdf = hkdfSha512WebCrypto!;

interface Test { tcId: number; ikm: string; salt: string; info: string; size: number; okm: string; result: 'valid' | 'invalid' }
const cases = loadWycheproof<{ tests: Test[] }>('hkdf_sha512_test.json').testGroups.flatMap((g) => g.tests);

describe('Wycheproof HKDF-SHA-512 on WebCrypto', () => {
  it('exists wherever crypto.subtle does (Node included)', () => {
    expect(hkdfSha512WebCrypto).toBeDefined();
  });

  it.each(cases.map((t) => [t.tcId, t] as const))('tcId %i', async (_id, t) => {
    const run = (): Promise<Uint8Array[]> => webHkdf(fromHex(t.ikm), fromHex(t.salt), [{ info: fromHex(t.info), length: t.size }]);
    if (t.result === 'valid') expect(toHex((await run())[0]!)).toBe(t.okm);
    else expect(isSealboxError(await thrown(run), 'ERR_LIMIT_EXCEEDED')).toBe(true);
  });
});

it('message keys from WebCrypto equal those from node:crypto and noble, for any data key and message id', async () => {
  const content = utf8('sealbox v1 suite 1 content key');
  const commit = utf8('sealbox v1 suite 1 key commitment');
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (dataKey, messageId) => {
      const expected = await deriveMessageKeys(1, DEFAULT_SUITE, dataKey, messageId);
      const [contentKey, commitment] = await webHkdf(dataKey, messageId, [
        { info: content, length: 32 },
        { info: commit, length: 32 },
      ]);
      expect(toHex(contentKey!)).toBe(toHex(expected.contentKey));
      expect(toHex(commitment!)).toBe(toHex(expected.commitment));
      expect(toHex(contentKey!)).toBe(toHex(hkdf(hkdfSha512Noble, dataKey, messageId, content, 32)));
    }),
    { numRuns: 100 },
  );
});

it('takes views of a SharedArrayBuffer, and an empty output', async () => {
  const ikm = new Uint8Array(new SharedArrayBuffer(40), 8, 32).fill(7);
  const salt = new Uint8Array(new SharedArrayBuffer(32)).fill(9);
  const [a, empty] = await webHkdf(ikm, salt, [{ info: utf8('x'), length: 42 }, { info: utf8('y'), length: 0 }]);
  expect(toHex(a!)).toBe(toHex(hkdf(hkdfSha512Noble, ikm.slice(), salt.slice(), utf8('x'), 42)));
  expect(empty!.length).toBe(0);
  expect(await thrown(() => webHkdf(ikm, salt, [{ info: utf8('x'), length: -1 }]))).toBeInstanceOf(RangeError);
});
