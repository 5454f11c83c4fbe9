import { describe, expect, it } from 'vitest';
import { getAeadBackend } from '../../src/crypto/backend.js';
import { fromHex, toHex, concat } from '../../src/crypto/bytes.js';
import { isSealboxError } from '../../src/errors.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

interface Test { tcId: number; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: 'valid' | 'invalid'; flags: string[] }
interface Group { keySize: number; ivSize: number; tagSize: number; tests: Test[] }

const file = loadWycheproof<Group>('aes_gcm_test.json');
// The SDK profile (vectors README): 128/256-bit keys, 96-bit IV, 128-bit tag.
const cases = file.testGroups
  .filter((g) => (g.keySize === 128 || g.keySize === 256) && g.ivSize === 96 && g.tagSize === 128)
  .flatMap((g) => g.tests);

describe.each(['node', 'webcrypto', 'noble'] as const)('Wycheproof AES-GCM on the %s backend', (name) => {
  const backend = getAeadBackend(name);

  it('runs the whole filtered profile (133 cases: 79 valid, 54 invalid)', () => {
    expect(cases.length).toBe(133);
    expect(cases.filter((t) => t.result === 'valid').length).toBe(79);
  });

  it.each(cases.map((t) => [t.tcId, t] as const))('tcId %i', async (_id, t) => {
    const key = await backend.importKey(fromHex(t.key));
    const iv = fromHex(t.iv);
    const aad = fromHex(t.aad);
    const sealed = concat(fromHex(t.ct), fromHex(t.tag));
    if (t.result === 'valid') {
      expect(toHex(await key.seal(iv, aad, fromHex(t.msg)))).toBe(toHex(sealed));
      expect(toHex(await key.open(iv, aad, sealed))).toBe(t.msg);
    } else {
      let error: unknown;
      try {
        await key.open(iv, aad, sealed);
      } catch (err) {
        error = err;
      }
      expect(isSealboxError(error, 'ERR_DECRYPTION_FAILED')).toBe(true);
    }
  });
});
