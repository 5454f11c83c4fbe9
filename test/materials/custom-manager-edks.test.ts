/**
 * EDKs from a custom materials manager are held to what a keyring's are (checkedKeyring): a
 * manager's EDK with a provider id that is not well-formed Unicode, or beyond the format's
 * limits, made encrypt succeed with a message no one could decrypt. Now ERR_KEYRING, nothing
 * written.
 */
import { describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import { DefaultMaterialsManager } from '../../src/materials/default.js';
import type { EncryptionMaterials, MaterialsManager } from '../../src/materials/materials.js';
import { pattern, testKeyring, thrown } from '../helpers/keys.js';

const keyring = testKeyring('custom-cmm', 4);

/** A manager that answers with the default manager's materials, its EDKs changed by `alter`. */
function altering(alter: (m: EncryptionMaterials) => EncryptionMaterials['encryptedDataKeys']): MaterialsManager {
  const inner = new DefaultMaterialsManager(keyring);
  return {
    getEncryptionMaterials: async (request) => {
      const m = await inner.getEncryptionMaterials(request);
      return { ...m, encryptedDataKeys: alter(m) };
    },
    getDecryptionMaterials: (request) => inner.getDecryptionMaterials(request),
  };
}

describe('a custom materials manager\'s EDKs', () => {
  it('as given when sound: the message decrypts', async () => {
    const { ciphertext } = await encrypt(pattern(10), { materialsManager: altering((m) => m.encryptedDataKeys) });
    expect((await decrypt(ciphertext, { keyring })).plaintext).toEqual(pattern(10));
  });

  it.each([
    ['a provider id with a lone surrogate', (m: EncryptionMaterials) => m.encryptedDataKeys.map((e) => ({ ...e, providerId: `${e.providerId}\ud800` }))],
    ['no EDK', () => []],
    ['an empty ciphertext', (m: EncryptionMaterials) => m.encryptedDataKeys.map((e) => ({ ...e, ciphertext: new Uint8Array(0) }))],
    ['a ciphertext beyond the EDK limit', (m: EncryptionMaterials) => m.encryptedDataKeys.map((e) => ({ ...e, ciphertext: new Uint8Array(70_000) }))],
  ] as const)('%s is ERR_KEYRING at encrypt', async (_what, alter) => {
    const err = await thrown(() => encrypt(pattern(10), { materialsManager: altering(alter as never) }));
    expect((err as { code?: string }).code).toBe('ERR_KEYRING');
  });
});
