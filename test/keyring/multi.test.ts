import { describe, expect, it } from 'vitest';
import { MultiKeyring, RawAesKeyring, decrypt, encrypt } from '../../src/index.js';
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

describe('MultiKeyring: decrypt asks its keyrings in order and returns only the message\'s key', () => {
  /** A custom keyring (no commitment check of its own) whose EDK opens to `wrong` bytes: a liar, or an insider's EDK. */
  function lying(name: string, asked: string[], handed: Uint8Array[]): Keyring {
    return {
      async wrapKey(request) {
        return { dataKey: request.dataKey!, encryptedDataKeys: [{ providerId: 'liar', providerInfo: new TextEncoder().encode(name), ciphertext: new Uint8Array([1]) }] };
      },
      async unwrapKey(request) {
        asked.push(name);
        if (!request.encryptedDataKeys.some((e) => e.providerId === 'liar')) return null;
        const wrong = pattern(32, 90 + handed.length);
        handed.push(wrong);
        return wrong;
      },
    };
  }

  function logging(name: string, inner: Keyring, asked: string[]): Keyring {
    return { wrapKey: (r) => inner.wrapKey(r), unwrapKey: (r) => { asked.push(name); return inner.unwrapKey(r); } };
  }

  it('a keyring returning a key that fails the commitment is passed over (the key zeroed); the next one gives the message\'s key', async () => {
    const real = new RawAesKeyring({ namespace: 'acme', name: 'real', wrappingKey: pattern(32, 7) });
    const asked: string[] = [];
    const handed: Uint8Array[] = [];
    const data = pattern(100, 3);
    // The liar's EDK comes first in the header.
    const { ciphertext } = await encrypt(data, { keyring: new MultiKeyring({ generator: real, children: [lying('liar', [], [])] }) });
    const reader = new MultiKeyring({ generator: lying('liar', asked, handed), children: [logging('other', keeping(8), asked), logging('real', real, asked), logging('after', real, asked)] });
    const { plaintext } = await decrypt(ciphertext, { keyring: reader });
    expect(Buffer.from(plaintext).equals(Buffer.from(data))).toBe(true);
    expect(asked).toEqual(['liar', 'other', 'real']);
    expect(handed).toHaveLength(1);
    expect(isZero(handed[0]!)).toBe(true);
  });

  it('when every keyring lies: ERR_COMMITMENT_MISMATCH, each wrong key zeroed, nothing decrypted', async () => {
    const real = new RawAesKeyring({ namespace: 'acme', name: 'real', wrappingKey: pattern(32, 7) });
    const { ciphertext } = await encrypt(pattern(100, 3), { keyring: new MultiKeyring({ generator: real, children: [lying('liar', [], [])] }) });
    const asked: string[] = [];
    const handed: Uint8Array[] = [];
    const reader = new MultiKeyring({ generator: lying('one', asked, handed), children: [lying('two', asked, handed)] });
    const err = await thrown(() => decrypt(ciphertext, { keyring: reader }));
    expect((err as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    expect(asked).toEqual(['one', 'two']);
    expect(handed).toHaveLength(2);
    expect(handed.every(isZero)).toBe(true);
  });

  it('a keyring that throws is passed over; a later one decrypts', async () => {
    const real = new RawAesKeyring({ namespace: 'acme', name: 'real', wrappingKey: pattern(32, 7) });
    const { ciphertext } = await encrypt(pattern(10), { keyring: real });
    const broken: Keyring = { wrapKey: async () => { throw new Error('x'); }, unwrapKey: async () => { throw new Error('HSM offline'); } };
    const { plaintext } = await decrypt(ciphertext, { keyring: new MultiKeyring({ generator: broken, children: [real] }) });
    expect(Buffer.from(plaintext).equals(Buffer.from(pattern(10)))).toBe(true);
  });
});
