import { describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import type { SealboxError } from '../../src/errors.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { CachingMaterialsManager } from '../../src/materials/caching.js';
import { RequiredContextMaterialsManager } from '../../src/materials/required-context.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

/** Counts keyring calls, to show that refusals happen before any keyring is asked. */
function counted(inner: Keyring): Keyring & { calls: number } {
  const k = {
    calls: 0,
    wrapKey: (r: Parameters<Keyring['wrapKey']>[0]) => { k.calls++; return inner.wrapKey(r); },
    unwrapKey: (r: Parameters<Keyring['unwrapKey']>[0]) => { k.calls++; return inner.unwrapKey(r); },
  };
  return k;
}

describe('RequiredContextMaterialsManager', () => {
  const data = pattern(200, 5);

  it('round trip when every required key is present (empty values count as present)', async () => {
    const cmm = new RequiredContextMaterialsManager({ keyring: testKeyring(), requiredKeys: ['tenant', 'record'] });
    const { ciphertext } = await encrypt(data, { materialsManager: cmm, encryptionContext: { tenant: 'acme', record: '', extra: 'x' } });
    const out = await decrypt(ciphertext, { materialsManager: cmm, expectedEncryptionContext: { tenant: 'acme' } });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
  });

  it('encrypt without a required key: ERR_ENCRYPTION_CONTEXT_INVALID before the keyring is called', async () => {
    const keyring = counted(testKeyring());
    const cmm = new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant'] });
    const contexts: (Record<string, string> | undefined)[] = [undefined, {}, { Tenant: 'acme' }, { other: 'x' }];
    for (const encryptionContext of contexts) {
      const err = await thrown(() => encrypt(data, { materialsManager: cmm, encryptionContext }));
      expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
    }
    expect(keyring.calls).toBe(0);
  });

  it('decrypt of a message without a required key: ERR_ENCRYPTION_CONTEXT_MISMATCH before the keyring is called', async () => {
    // Written by code that skipped the rule, with the same key.
    const { ciphertext } = await encrypt(data, { keyring: testKeyring(), encryptionContext: { other: 'x' } });
    const keyring = counted(testKeyring());
    const cmm = new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant'] });
    const err = await thrown(() => decrypt(ciphertext, { materialsManager: cmm }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect(keyring.calls).toBe(0);
    // The plain keyring still opens it: the rule is the manager's, not the format's.
    expect(bytesEqual((await decrypt(ciphertext, { keyring: testKeyring() })).plaintext, data)).toBe(true);
  });

  it('checks presence, not values: values are checked by expectedEncryptionContext', async () => {
    const cmm = new RequiredContextMaterialsManager({ keyring: testKeyring(), requiredKeys: ['tenant'] });
    const { ciphertext } = await encrypt(data, { materialsManager: cmm, encryptionContext: { tenant: 'acme' } });
    const err = await thrown(() => decrypt(ciphertext, { materialsManager: cmm, expectedEncryptionContext: { tenant: 'other' } }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
  });

  it('composes with the caching manager', async () => {
    const keyring = counted(testKeyring());
    const cache = new CachingMaterialsManager({ keyring, capacity: 4, maxAgeMs: 60_000 });
    const cmm = new RequiredContextMaterialsManager({ materialsManager: cache, requiredKeys: ['tenant'] });
    for (let i = 0; i < 3; i++) await encrypt(data, { materialsManager: cmm, encryptionContext: { tenant: 'acme' } });
    expect(keyring.calls).toBe(1);
    const err = await thrown(() => encrypt(data, { materialsManager: cmm, encryptionContext: {} }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
  });

  it('refuses bad options', () => {
    const keyring = testKeyring();
    expect(() => new RequiredContextMaterialsManager({ keyring, requiredKeys: [] })).toThrow(TypeError);
    expect(() => new RequiredContextMaterialsManager({ keyring, requiredKeys: [''] })).toThrow(TypeError);
    expect(() => new RequiredContextMaterialsManager({ keyring, requiredKeys: ['sealbox:x'] })).toThrow(RangeError);
    expect(() => new RequiredContextMaterialsManager({ requiredKeys: ['a'] })).toThrow(TypeError);
    // No message can carry such a key: requiring one would refuse every message.
    for (const k of ['ten\uD800ant', '\uDC00', 'a\uDC00\uD83D']) {
      expect(() => new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant', k] })).toThrow(RangeError);
    }
  });

  it('decrypt: a case, spacing or Unicode variant of a required key is another key (refused before the keyring)', async () => {
    const keyring = counted(testKeyring());
    const cmm = new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant', 'caf\u00e9'] });
    const variants = ['Tenant', 'TENANT', 'tenant ', ' tenant', 'ten\u200bant', '\uff54\uff45\uff4e\uff41\uff4e\uff54', 'tenant\u0000'];
    for (const variant of variants) {
      const { ciphertext } = await encrypt(data, { keyring: testKeyring(), encryptionContext: { [variant]: 'acme', 'caf\u00e9': 'x' } });
      const err = await thrown(() => decrypt(ciphertext, { materialsManager: cmm }));
      expect([variant, (err as SealboxError).code]).toEqual([variant, 'ERR_ENCRYPTION_CONTEXT_MISMATCH']);
    }
    // NFD é (e + combining acute) is not the required NFC key.
    const nfd = await encrypt(data, { keyring: testKeyring(), encryptionContext: { tenant: 'acme', 'cafe\u0301': 'x' } });
    expect(((await thrown(() => decrypt(nfd.ciphertext, { materialsManager: cmm }))) as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect(keyring.calls).toBe(0);
    const exact = await encrypt(data, { keyring: testKeyring(), encryptionContext: { tenant: 'acme', 'caf\u00e9': 'x' } });
    expect(bytesEqual((await decrypt(exact.ciphertext, { materialsManager: cmm })).plaintext, data)).toBe(true);
  });

  it('keys named like Object.prototype members are required like any other', async () => {
    const cmm = new RequiredContextMaterialsManager({ keyring: testKeyring(), requiredKeys: ['__proto__', 'constructor', 'hasOwnProperty'] });
    const err = await thrown(() => encrypt(data, { materialsManager: cmm, encryptionContext: new Map([['constructor', 'x'], ['hasOwnProperty', 'y']]) }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
    const context = new Map([['__proto__', 'p'], ['constructor', 'x'], ['hasOwnProperty', 'y']]);
    const { ciphertext } = await encrypt(data, { materialsManager: cmm, encryptionContext: context });
    const out = await decrypt(ciphertext, { materialsManager: cmm });
    expect(Object.getOwnPropertyDescriptor(out.encryptionContext, '__proto__')?.value).toBe('p');
    const missing = await encrypt(data, { keyring: testKeyring(), encryptionContext: new Map([['constructor', 'x'], ['hasOwnProperty', 'y']]) });
    expect(((await thrown(() => decrypt(missing.ciphertext, { materialsManager: cmm }))) as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
  });

  it('an underlying manager that drops a required key on encrypt is refused, and its data key zeroed', async () => {
    const inner = new CachingMaterialsManager({ keyring: testKeyring(), capacity: 4, maxAgeMs: 60_000 });
    const handed: Uint8Array[] = [];
    const dropping = {
      async getEncryptionMaterials(request: Parameters<CachingMaterialsManager['getEncryptionMaterials']>[0]) {
        const m = await inner.getEncryptionMaterials(request);
        handed.push(m.dataKey);
        const { tenant: _dropped, ...rest } = m.encryptionContext;
        return { ...m, encryptionContext: rest };
      },
      getDecryptionMaterials: (request: Parameters<CachingMaterialsManager['getDecryptionMaterials']>[0]) => inner.getDecryptionMaterials(request),
    };
    const cmm = new RequiredContextMaterialsManager({ materialsManager: dropping, requiredKeys: ['tenant'] });
    const err = await thrown(() => encrypt(data, { materialsManager: cmm, encryptionContext: { tenant: 'acme', other: 'x' } }));
    expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_INVALID');
    expect(handed).toHaveLength(1);
    expect(handed[0]!.every((b) => b === 0)).toBe(true);
  });
});
