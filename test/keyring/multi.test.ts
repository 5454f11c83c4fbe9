import { describe, expect, it } from 'vitest';
import { MultiKeyring, RawAesKeyring, encrypt } from '../../src/index.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import type { Keyring, WrapRequest, WrapResult } from '../../src/keyring/keyring.js';
import { SealboxError } from '../../src/errors.js';
import { pattern, thrown } from '../helpers/keys.js';

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** A raw AES keyring that keeps every data key it returned (to see zeroing). */
function keeping(seed: number): Keyring & { returned: Uint8Array[] } {
  const inner = new RawAesKeyring({ namespace: 'acme', name: `k${seed}`, wrappingKey: pattern(32, seed) });
  const returned: Uint8Array[] = [];
  return {
    returned,
    async wrapKey(request: WrapRequest): Promise<WrapResult> {
      const r = await inner.wrapKey(request);
      returned.push(r.dataKey);
      return r;
    },
    unwrapKey: (request) => inner.unwrapKey(request),
  };
}

const failing: Keyring = {
  wrapKey: async () => { throw new Error('escrow KMS down'); },
  unwrapKey: async () => null,
};

describe('MultiKeyring: a child failure on encrypt', () => {
  it('zeroes the data key the generator made (nobody receives it), as a single KMS keyring does', async () => {
    for (const children of [[failing], [keeping(2), failing]]) {
      const generator = keeping(1);
      const err = await thrown(() => encrypt(pattern(10), { keyring: new MultiKeyring({ generator, children }) }));
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect(generator.returned).toHaveLength(1);
      expect(generator.returned[0]!.length).toBe(32);
      expect(isZero(generator.returned[0]!)).toBe(true);
    }
  });

  it('leaves a data key it was given alone: that key is its caller\'s', async () => {
    const dataKey = pattern(32, 9);
    const multi = new MultiKeyring({ children: [keeping(2), failing] });
    await expect(multi.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, dataKey })).rejects.toThrow();
    expect(dataKey).toEqual(pattern(32, 9));
  });

  it('on success the generated key is handed out intact', async () => {
    const generator = keeping(1);
    const multi = new MultiKeyring({ generator, children: [keeping(2)] });
    const r = await multi.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} });
    expect(r.encryptedDataKeys).toHaveLength(2);
    expect(isZero(r.dataKey)).toBe(false);
  });
});
