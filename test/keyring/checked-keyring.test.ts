import { describe, expect, it } from 'vitest';
import { DefaultMaterialsManager, MultiKeyring, RawAesKeyring, acceptDataKey, decrypt, encrypt } from '../../src/index.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT } from '../../src/crypto/suites.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from '../../src/keyring/keyring.js';
import type { EncryptionMaterialsRequest, MaterialsManager } from '../../src/materials/materials.js';
import { SealboxError } from '../../src/errors.js';
import { bytesEqual, pattern, thrown } from '../helpers/keys.js';

/** A raw AES keyring whose EDKs carry `providerId` instead of its namespace (and that finds them again). */
function renaming(providerId: string): Keyring {
  const inner = new RawAesKeyring({ namespace: 'hsm', name: 'k1', wrappingKey: pattern(32, 7) });
  return {
    async wrapKey(request: WrapRequest): Promise<WrapResult> {
      const r = await inner.wrapKey(request);
      return { dataKey: r.dataKey, encryptedDataKeys: r.encryptedDataKeys.map((e) => ({ ...e, providerId })) };
    },
    async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
      const mine = request.encryptedDataKeys.filter((e) => e.providerId === providerId);
      return mine.length ? inner.unwrapKey({ ...request, encryptedDataKeys: mine.map((e) => ({ ...e, providerId: 'hsm' })) }) : null;
    },
  };
}

describe('checkedKeyring: EDK text must survive UTF-8', () => {
  // A lone surrogate (a name cut in the middle of an emoji) would be written as U+FFFD: the
  // stored provider id differs from the keyring's, and nothing could decrypt the message.
  for (const id of ['hsm\uD800', '\uDC00hsm', 'hsm\uDC00\uD83D']) {
    it(`a keyring returning provider id ${JSON.stringify(id)} fails encrypt with ERR_KEYRING (contract broken)`, async () => {
      const err = await thrown(() => encrypt(pattern(10), { keyring: renaming(id) }));
      expect(err).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect((err as SealboxError).message).toMatch(/broke its contract.*provider id/);
    });
  }

  it('the same, as a multi-keyring child', async () => {
    const generator = new RawAesKeyring({ namespace: 'acme', name: 'k1', wrappingKey: pattern(32, 1) });
    const err = await thrown(() => encrypt(pattern(10), { keyring: new MultiKeyring({ generator, children: [renaming('hsm\uD800')] }) }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('a well-formed provider id outside the BMP round-trips', async () => {
    const keyring = renaming('hsm-\u{1F511}');
    const { ciphertext, header } = await encrypt(pattern(10), { keyring });
    expect(header.encryptedDataKeys[0]!.providerId).toBe('hsm-\u{1F511}');
    expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, pattern(10))).toBe(true);
  });
});

describe('encryption context text must survive UTF-8', () => {
  const keyring = new RawAesKeyring({ namespace: 'acme', name: 'k1', wrappingKey: pattern(32, 1) });
  const contexts: unknown[] = [{ 'k\uD800': 'v' }, { k: 'v\uDC00' }, new Map([['k', '\uD83D']])];

  it('a context key or value with a lone surrogate is refused before any keyring call (ERR_ENCRYPTION_CONTEXT_INVALID)', async () => {
    let calls = 0;
    const counting: Keyring = {
      wrapKey: (r) => { calls++; return keyring.wrapKey(r); },
      unwrapKey: (r) => keyring.unwrapKey(r),
    };
    for (const encryptionContext of contexts) {
      const err = await thrown(() => encrypt(pattern(10), { keyring: counting, encryptionContext: encryptionContext as Record<string, string> }));
      expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
      expect((err as SealboxError).message).toContain('well-formed Unicode');
    }
    expect(calls).toBe(0);
    const { ciphertext } = await encrypt(pattern(10), { keyring });
    for (const expectedEncryptionContext of contexts) {
      const err = await thrown(() => decrypt(ciphertext, { keyring, expectedEncryptionContext: expectedEncryptionContext as Record<string, string> }));
      expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
    }
  });

  it('a materials manager returning such a context is refused too, not written as U+FFFD', async () => {
    const inner = new DefaultMaterialsManager(keyring);
    const cmm: MaterialsManager = {
      getEncryptionMaterials: async (request: EncryptionMaterialsRequest) => ({ ...(await inner.getEncryptionMaterials(request)), encryptionContext: { k: 'v\uD800' } }),
      getDecryptionMaterials: (request) => inner.getDecryptionMaterials(request),
    };
    const err = await thrown(() => encrypt(pattern(10), { materialsManager: cmm }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
  });
});

describe('checkedKeyring: a refused answer leaves no generated data key behind', () => {
  // A keyring that generated the data key for this call and then broke the contract: the key is
  // nobody's once the answer is refused, so it is zeroed (before, it stayed in memory as given).
  it.each([
    ['no EDK', (r: WrapResult): WrapResult => ({ ...r, encryptedDataKeys: [] })],
    ['a malformed provider id', (r: WrapResult): WrapResult => ({ ...r, encryptedDataKeys: r.encryptedDataKeys.map((e) => ({ ...e, providerId: 'x\uD800' })) })],
    ['a key of the wrong length', (r: WrapResult): WrapResult => ({ ...r, dataKey: new Uint8Array([...r.dataKey, 1]) })],
  ])('%s: ERR_KEYRING, and the key the keyring generated is zeroed', async (_what, spoil) => {
    const inner = new RawAesKeyring({ namespace: 'acme', name: 'k1', wrappingKey: pattern(32, 2) });
    let generated: Uint8Array | undefined;
    const keyring: Keyring = {
      async wrapKey(request: WrapRequest): Promise<WrapResult> {
        const r = spoil(await inner.wrapKey(request));
        generated = r.dataKey;
        return r;
      },
      unwrapKey: (request) => inner.unwrapKey(request),
    };
    const err = await thrown(() => encrypt(pattern(10), { keyring }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect(generated).toBeDefined();
    expect(generated!.every((b) => b === 0)).toBe(true);
  });
});

describe('checkedKeyring: a keyring given a data key must wrap that key', () => {
  it('a multi-keyring child that answers with another data key fails encrypt with ERR_KEYRING', async () => {
    const generator = new RawAesKeyring({ namespace: 'acme', name: 'gen', wrappingKey: pattern(32, 3) });
    const inner = new RawAesKeyring({ namespace: 'acme', name: 'child', wrappingKey: pattern(32, 4) });
    // It wraps a key of its own: its recipient would unwrap a key that is not the message's.
    const child: Keyring = {
      wrapKey: (request) => inner.wrapKey({ ...request, dataKey: pattern(32, 5) }),
      unwrapKey: (request) => inner.unwrapKey(request),
    };
    const err = await thrown(() => encrypt(pattern(10), { keyring: new MultiKeyring({ generator, children: [child] }) }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
  });
});

describe('checkedKeyring: an unwrapped key of the wrong length', () => {
  // A broken keyring (one that returns the key of another suite, or a whole key blob): the
  // answer is refused, and nobody downstream would ever zero the bytes it handed back.
  for (const length of [16, 31, 33, 64]) {
    it(`${length} bytes: decrypt fails with ERR_KEYRING and the refused bytes are zeroed`, async () => {
      const inner = new RawAesKeyring({ namespace: 'acme', name: 'k1', wrappingKey: pattern(32, 3) });
      const { ciphertext } = await encrypt(pattern(10), { keyring: inner });
      let handed: Uint8Array | undefined;
      const keyring: Keyring = {
        wrapKey: (request) => inner.wrapKey(request),
        async unwrapKey(request) {
          const key = await inner.unwrapKey(request);
          handed = new Uint8Array(length);
          handed.set(key!.subarray(0, Math.min(length, 32)));
          if (length > 32) handed.fill(0xa5, 32);
          return handed;
        },
      };
      const err = await thrown(() => decrypt(ciphertext, { keyring }));
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect((err as SealboxError).message).toMatch(/broke its contract.*wrong length/);
      expect(handed!.every((b) => b === 0)).toBe(true);
    });
  }
});

describe('acceptDataKey (for custom keyrings trying their EDKs)', () => {
  const request = (isMessageKey?: (k: Uint8Array) => Promise<boolean>): UnwrapRequest => ({
    suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
    encryptionContext: {},
    encryptedDataKeys: [],
    ...(isMessageKey ? { isMessageKey } : {}),
  });

  it('keeps a key that is the message\'s, zeroes one that is not, and one whose check throws', async () => {
    const good = pattern(32, 6);
    expect(await acceptDataKey(request(async () => true), good)).toBe(true);
    expect(good.some((b) => b !== 0)).toBe(true);
    const bad = pattern(32, 7);
    expect(await acceptDataKey(request(async () => false), bad)).toBe(false);
    expect(bad.every((b) => b === 0)).toBe(true);
    const thrownOn = pattern(32, 8);
    await expect(acceptDataKey(request(() => Promise.reject(new Error('check failed'))), thrownOn)).rejects.toThrow('check failed');
    expect(thrownOn.every((b) => b === 0)).toBe(true);
    // Without a check (a request not made by decrypt), every key is accepted as it is.
    const unchecked = pattern(32, 9);
    expect(await acceptDataKey(request(), unchecked)).toBe(true);
    expect(unchecked.some((b) => b !== 0)).toBe(true);
  });
});
