import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, MultiKeyring, RawAesKeyring, readHeader, SealboxError } from '../src/index.js';
import { DEFAULT_SUITE } from '../src/crypto/suites.js';
import { bytesEqual, pattern, testKeyring, thrown } from './helpers/keys.js';

const keyring = testKeyring();

describe('round trips', () => {
  const frameLengths = [1, 17, 1024, 65536];
  for (const F of frameLengths) {
    const sizes = [...new Set([0, 1, F - 1, F, F + 1, 2 * F, 2 * F + 1].filter((n) => n >= 0))];
    it.each(sizes)(`frame length ${F}, %i bytes`, async (n) => {
      const plaintext = pattern(n, n + 3);
      const { ciphertext, header } = await encrypt(plaintext, { keyring, frameLength: F });
      expect(header.frameLength).toBe(F);
      const result = await decrypt(ciphertext, { keyring });
      expect(bytesEqual(result.plaintext, plaintext)).toBe(true);
    });
  }

  it('handles a few MiB with the default frame length', async () => {
    const plaintext = pattern(3 * 1024 * 1024 + 123);
    const { ciphertext, header } = await encrypt(plaintext, { keyring });
    expect(header.frameLength).toBe(65536);
    expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, plaintext)).toBe(true);
  });

  it('accepts subarrays with a non-zero offset, in and out', async () => {
    const backing = pattern(5000);
    const plaintext = backing.subarray(77, 4077);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 512 });
    const shifted = new Uint8Array(ciphertext.length + 13);
    shifted.set(ciphertext, 13);
    const result = await decrypt(shifted.subarray(13), { keyring });
    expect(bytesEqual(result.plaintext, plaintext)).toBe(true);
  });

  it('every backend decrypts what every other encrypted', async () => {
    const plaintext = pattern(3000);
    for (const a of ['node', 'webcrypto', 'noble'] as const) {
      const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 1000, backend: a });
      for (const b of ['node', 'webcrypto', 'noble'] as const) {
        expect(bytesEqual((await decrypt(ciphertext, { keyring, backend: b })).plaintext, plaintext)).toBe(true);
      }
    }
  });

  it('two encryptions of the same plaintext differ (fresh data key and message id)', async () => {
    const a = await encrypt(pattern(10), { keyring });
    const b = await encrypt(pattern(10), { keyring });
    expect(a.ciphertext).not.toEqual(b.ciphertext);
  });
});

describe('encryption context', () => {
  it('is returned, sorted canonically, and can be required', async () => {
    const encryptionContext = { tenant: 'acme', a: 'x', purpose: 'backup', 'ü': 'ö' };
    const { ciphertext, header } = await encrypt(pattern(5), { keyring, encryptionContext });
    expect(Object.keys(header.encryptionContext)).toEqual(['a', 'ü', 'tenant', 'purpose']);
    const result = await decrypt(ciphertext, { keyring, expectedEncryptionContext: { tenant: 'acme' } });
    expect(result.encryptionContext).toEqual(encryptionContext);
  });

  it('a missing or different expected pair is ERR_ENCRYPTION_CONTEXT_MISMATCH', async () => {
    const { ciphertext } = await encrypt(pattern(5), { keyring, encryptionContext: { tenant: 'acme' } });
    for (const expected of <Record<string, string>[]>[{ tenant: 'other' }, { region: 'eu' }, { tenant: 'acme', extra: '1' }]) {
      const err = await thrown(() => decrypt(ciphertext, { keyring, expectedEncryptionContext: expected }));
      expect(err).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    }
  });

  it('refuses the reserved prefix, lone surrogates, empty keys and oversize contexts', async () => {
    const bad: Record<string, string>[] = [{ 'sealbox:x': '1' }, { k: '\ud800' }, { '': 'v' }];
    for (const encryptionContext of bad) {
      const err = await thrown(() => encrypt(pattern(1), { keyring, encryptionContext }));
      expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
    }
    const huge = { k: 'v'.repeat(64 * 1024) };
    expect(((await thrown(() => encrypt(pattern(1), { keyring, encryptionContext: huge }))) as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
  });

  it('keys such as __proto__ are plain data', async () => {
    const encryptionContext = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    const { ciphertext } = await encrypt(pattern(1), { keyring, encryptionContext });
    const result = await decrypt(ciphertext, { keyring });
    expect(Object.getOwnPropertyNames(result.encryptionContext).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(result.encryptionContext)).toBe(Object.prototype);
  });
});

describe('keyrings', () => {
  it('a different raw key is ERR_NO_MATCHING_KEY; the same name with other bytes is ERR_KEYRING', async () => {
    const { ciphertext } = await encrypt(pattern(5), { keyring });
    expect(((await thrown(() => decrypt(ciphertext, { keyring: testKeyring('key-2') }))) as SealboxError).code).toBe('ERR_NO_MATCHING_KEY');
    expect(((await thrown(() => decrypt(ciphertext, { keyring: testKeyring('key-1', 99) }))) as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('a multi-keyring wraps for all; each child alone decrypts', async () => {
    const a = testKeyring('a', 1);
    const b = testKeyring('b', 2);
    const c = testKeyring('c', 3);
    const multi = new MultiKeyring({ generator: a, children: [b, c] });
    const { ciphertext, header } = await encrypt(pattern(100), { keyring: multi });
    expect(header.encryptedDataKeys.length).toBe(3);
    for (const k of [a, b, c, multi]) expect(bytesEqual((await decrypt(ciphertext, { keyring: k })).plaintext, pattern(100))).toBe(true);
    const onlyChildren = new MultiKeyring({ children: [testKeyring('z', 9), c] });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: onlyChildren })).plaintext, pattern(100))).toBe(true);
  });

  it('a keyring that returns a wrong key (and ignores isMessageKey) is passed over: SPEC §8.3, rule 30', async () => {
    const { ciphertext } = await encrypt(pattern(7), { keyring });
    const liar = { wrapKey: () => Promise.reject(new Error('no')), unwrapKey: async () => new Uint8Array(32).fill(9) };
    for (const multi of [new MultiKeyring({ children: [liar, keyring] }), new MultiKeyring({ children: [keyring, liar] })]) {
      expect(bytesEqual((await decrypt(ciphertext, { keyring: multi })).plaintext, pattern(7))).toBe(true);
    }
    expect(((await thrown(() => decrypt(ciphertext, { keyring: liar }))) as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    // A keyring's own error passes through when it is the only failure; several become ERR_KEYRING.
    const refuses = { wrapKey: () => Promise.reject(new Error('no')), unwrapKey: () => Promise.reject(new SealboxError('ERR_DECRYPTION_FAILED', 'altered')) };
    expect(((await thrown(() => decrypt(ciphertext, { keyring: refuses }))) as SealboxError).code).toBe('ERR_DECRYPTION_FAILED');
    const two = (await thrown(() => decrypt(ciphertext, { keyring: new MultiKeyring({ children: [refuses, testKeyring('key-1', 77)] }) }))) as SealboxError;
    expect([two.code, two.errors.length]).toEqual(['ERR_KEYRING', 2]);
  });

  it('a multi-keyring reports every failure when none unwraps (ERR_KEYRING: SPEC §8.3, an EDK was for one of its keys)', async () => {
    const { ciphertext } = await encrypt(pattern(5), { keyring });
    const broken = testKeyring('key-1', 50);
    const failing = { wrapKey: () => Promise.reject(new Error('down')), unwrapKey: () => Promise.reject(new Error('down')) };
    const multi = new MultiKeyring({ children: [broken, failing, testKeyring('other')] });
    const err = (await thrown(() => decrypt(ciphertext, { keyring: multi }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
    expect(err.errors.map((e) => (e as SealboxError).code)).toEqual(['ERR_KEYRING', 'ERR_KEYRING']);
    expect((err.errors[1] as SealboxError).cause).toBeInstanceOf(Error);
    // Nested: the outer multi-keyring lists the inner one's failures, not one more layer.
    const nested = new MultiKeyring({ children: [multi, testKeyring('key-1', 51)] });
    const outer = (await thrown(() => decrypt(ciphertext, { keyring: nested }))) as SealboxError;
    expect(outer.code).toBe('ERR_KEYRING');
    expect(outer.errors.map((e) => (e as SealboxError).code)).toEqual(['ERR_KEYRING', 'ERR_KEYRING', 'ERR_KEYRING']);
    // The multi-keyring used directly (no commitment to check) reports the same way.
    const { encryptedDataKeys } = await readHeader(ciphertext);
    const direct = (await thrown(() => nested.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys }))) as SealboxError;
    expect(direct.code).toBe('ERR_KEYRING');
    expect(direct.errors).toHaveLength(3);
  });

  it('a multi-keyring without a generator cannot encrypt', async () => {
    const multi = new MultiKeyring({ children: [keyring] });
    expect(((await thrown(() => encrypt(pattern(1), { keyring: multi }))) as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('keyrings that break the contract are caught', async () => {
    const shortKey = { wrapKey: async () => ({ dataKey: new Uint8Array(16), encryptedDataKeys: [] }), unwrapKey: async () => null };
    expect(((await thrown(() => encrypt(pattern(1), { keyring: shortKey }))) as SealboxError).code).toBe('ERR_KEYRING');
    const noEdk = { wrapKey: async () => ({ dataKey: new Uint8Array(32), encryptedDataKeys: [] }), unwrapKey: async () => null };
    expect(((await thrown(() => encrypt(pattern(1), { keyring: noEdk }))) as SealboxError).code).toBe('ERR_KEYRING');
    const { ciphertext } = await encrypt(pattern(1), { keyring });
    const badUnwrap = { wrapKey: keyring.wrapKey.bind(keyring), unwrapKey: async () => new Uint8Array(31) };
    expect(((await thrown(() => decrypt(ciphertext, { keyring: badUnwrap }))) as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('a keyring returning the wrong data key fails the commitment check', async () => {
    const { ciphertext } = await encrypt(pattern(1), { keyring });
    const liar = { wrapKey: keyring.wrapKey.bind(keyring), unwrapKey: async () => new Uint8Array(32).fill(1) };
    expect(((await thrown(() => decrypt(ciphertext, { keyring: liar }))) as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
  });

  it('RawAesKeyring validates its options', () => {
    expect(() => new RawAesKeyring({ namespace: 'n', name: 'k', wrappingKey: new Uint8Array(16) })).toThrow(RangeError);
    expect(() => new RawAesKeyring({ namespace: 'aws-kms', name: 'k', wrappingKey: new Uint8Array(32) })).toThrow(RangeError);
    expect(() => new RawAesKeyring({ namespace: '', name: 'k', wrappingKey: new Uint8Array(32) })).toThrow(TypeError);
    // Names the format could not store, or that would never match on decrypt, fail at once.
    const key = new Uint8Array(32);
    expect(() => new RawAesKeyring({ namespace: 'aws-kms-rsa', name: 'k', wrappingKey: key })).toThrow(/reserved/);
    expect(() => new RawAesKeyring({ namespace: 'n', name: 'x'.repeat(4096 - 12), wrappingKey: key })).not.toThrow();
    expect(() => new RawAesKeyring({ namespace: 'n', name: 'x'.repeat(4096 - 11), wrappingKey: key })).toThrow(/at most 4084 UTF-8 bytes/);
    expect(() => new RawAesKeyring({ namespace: 'é'.repeat(513), name: 'k', wrappingKey: key })).toThrow(/at most 1024 UTF-8 bytes/);
    expect(() => new RawAesKeyring({ namespace: 'n', name: 'a\uD800b', wrappingKey: key })).toThrow(/well-formed/);
  });
});

describe('arguments and limits', () => {
  it('wrong argument types are TypeError / RangeError', async () => {
    await expect(encrypt('text' as unknown as Uint8Array, { keyring })).rejects.toThrow(TypeError);
    await expect(encrypt(pattern(1), {} as never)).rejects.toThrow(TypeError);
    await expect(encrypt(pattern(1), { keyring, frameLength: 0 })).rejects.toThrow(RangeError);
    await expect(encrypt(pattern(1), { keyring, frameLength: 2 ** 24 + 1 })).rejects.toThrow(RangeError);
    await expect(decrypt(pattern(1), { keyring, maxEncryptedDataKeys: 0 })).rejects.toThrow(RangeError);
  });

  it('maxEncryptedDataKeys and maxFrameLength bound decrypt', async () => {
    const multi = new MultiKeyring({ generator: testKeyring('a'), children: [testKeyring('b'), testKeyring('c')] });
    const { ciphertext } = await encrypt(pattern(10), { keyring: multi, frameLength: 8192 });
    expect(((await thrown(() => decrypt(ciphertext, { keyring: multi, maxEncryptedDataKeys: 2 }))) as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(((await thrown(() => decrypt(ciphertext, { keyring: multi, maxFrameLength: 4096 }))) as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(bytesEqual((await decrypt(ciphertext, { keyring: multi, maxEncryptedDataKeys: 3, maxFrameLength: 8192 })).plaintext, pattern(10))).toBe(true);
  });
});

// Frame nonces are derived from the frame index (SPEC §6): sealing an index twice, or after the
// final frame, would reuse a nonce under the content key. The encrypt session refuses both.
describe('the encrypt session seals each frame index once, in order', () => {
  it('refuses an index out of order (RangeError) and any frame after the final one (ERR_STATE), on every sealing method', async () => {
    const { startEncryption } = await import('../src/message/encrypt-session.js');
    const { getAeadBackend } = await import('../src/crypto/backend.js');
    const methods = ['sealFrame', 'sealFrameEncoded', 'sealFrameParts', 'sealFrameInto'] as const;
    for (const method of methods) {
      const session = await startEncryption(
        { suite: DEFAULT_SUITE, dataKey: pattern(32, 1), encryptedDataKeys: [{ providerId: 'p', providerInfo: new Uint8Array(0), ciphertext: new Uint8Array(1) }], encryptionContext: {} },
        16,
        getAeadBackend(),
      );
      const seal = (index: number, final: boolean): unknown => session[method](index, final, new Uint8Array(final ? 3 : 16), new Uint8Array(64), 0);
      expect(await thrown(() => seal(1, false)), method).toBeInstanceOf(RangeError);
      await seal(0, false);
      expect(await thrown(() => seal(0, false)), method).toBeInstanceOf(RangeError);
      await seal(1, true);
      for (const [index, final] of [[2, false], [2, true], [1, true]] as const) {
        expect(await thrown(() => seal(index, final)), `${method} ${index}`).toMatchObject({ code: 'ERR_STATE' });
      }
    }
  });
});
