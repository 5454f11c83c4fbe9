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

  // Header tags are GCM over an empty message; node:crypto's open skips update() for it, so
  // the tag and the AAD must still be checked: flip a bit of each in the valid empty cases.
  it('an empty message opens only with its own tag and AAD', async () => {
    const empty = cases.filter((t) => t.msg === '' && t.result === 'valid');
    expect(empty.length).toBe(3);
    for (const t of empty) {
      const key = await backend.importKey(fromHex(t.key));
      const tag = fromHex(t.tag);
      const aad = fromHex(t.aad);
      const badTag = tag.slice();
      badTag[0]! ^= 1;
      const badAad = concat(aad, new Uint8Array([0]));
      for (const [a, sealed] of [[aad, badTag], [badAad, tag]] as const) {
        let error: unknown;
        try {
          await key.open(fromHex(t.iv), a, sealed);
        } catch (err) {
          error = err;
        }
        expect(isSealboxError(error, 'ERR_DECRYPTION_FAILED')).toBe(true);
      }
    }
  });

  it.each(cases.map((t) => [t.tcId, t] as const))('tcId %i', async (_id, t) => {
    const key = await backend.importKey(fromHex(t.key));
    const iv = fromHex(t.iv);
    const aad = fromHex(t.aad);
    const sealed = concat(fromHex(t.ct), fromHex(t.tag));
    if (t.result === 'valid') {
      expect(toHex(await key.seal(iv, aad, fromHex(t.msg)))).toBe(toHex(sealed));
      expect(toHex(await key.open(iv, aad, sealed))).toBe(t.msg);
      // The in-place forms too (node:crypto; with an empty message they skip update()).
      if (key.sealInto) {
        const out = new Uint8Array(3 + sealed.length).fill(0xee);
        key.sealInto(iv, aad, fromHex(t.msg), out, 3);
        expect(toHex(out.subarray(3))).toBe(toHex(sealed));
      }
      if (key.openInto) {
        const out = new Uint8Array(3 + t.msg.length / 2);
        key.openInto(iv, aad, sealed, out, 3);
        expect(toHex(out.subarray(3))).toBe(t.msg);
      }
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
