/**
 * A data key from a custom materials manager is held to what a keyring's is (checkedKeyring):
 * exactly `suite.dataKeyLength` bytes. Before, encrypt took a key of any length from a manager
 * and wrote a message whose content key was derived from it, under EDKs that wrap another key:
 * with an empty (or short) data key, anyone who reads the message can derive its content key
 * from the header alone. Now ERR_KEYRING, nothing written, and the refused key zeroed.
 */
import { describe, expect, it } from 'vitest';
import { decrypt, decryptStream, encrypt, encryptStream } from '../../src/index.js';
import { DefaultMaterialsManager } from '../../src/materials/default.js';
import type { EncryptionMaterials, MaterialsManager } from '../../src/materials/materials.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/crypto/suites.js';
import type { SealboxError } from '../../src/errors.js';
import { pattern, testKeyring, thrown } from '../helpers/keys.js';

const keyring = testKeyring('custom-cmm-key', 5);

/** A manager whose materials carry a data key of `length` bytes (all `fill`), keeping what it handed out. */
function shortKey(length: number, fill = 0): MaterialsManager & { handed: Uint8Array[] } {
  const inner = new DefaultMaterialsManager(keyring);
  const handed: Uint8Array[] = [];
  return {
    handed,
    async getEncryptionMaterials(request) {
      const m: EncryptionMaterials = await inner.getEncryptionMaterials(request);
      m.dataKey.fill(0);
      const dataKey = new Uint8Array(length).fill(fill);
      handed.push(dataKey);
      return { ...m, dataKey };
    },
    async getDecryptionMaterials(request) {
      const dataKey = new Uint8Array(length).fill(fill);
      handed.push(dataKey);
      return { suite: request.suite, encryptionContext: request.encryptionContext, dataKey };
    },
  };
}

describe('a custom materials manager\'s data key', () => {
  it('an empty data key: ERR_KEYRING, no message (it was one that anyone could open with an empty key)', async () => {
    const cmm = shortKey(0);
    let written: Uint8Array | undefined;
    const err = await thrown(async () => {
      written = (await encrypt(pattern(10), { materialsManager: cmm })).ciphertext;
    });
    expect(written).toBeUndefined();
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect((err as SealboxError).message).toMatch(/0 bytes, expected 32/);
  });

  for (const length of [1, 16, 31, 33, 64]) {
    it(`${length} bytes: ERR_KEYRING at encrypt (one-shot, stream, signed), the key zeroed; decrypt refuses it too`, async () => {
      const cmm = shortKey(length, 0x77);
      const oneShot = await thrown(() => encrypt(pattern(10), { materialsManager: cmm }));
      expect((oneShot as SealboxError).code).toBe('ERR_KEYRING');
      const signed = await thrown(() => encrypt(pattern(10), { materialsManager: cmm, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 }));
      expect((signed as SealboxError).code).toBe('ERR_KEYRING');
      const stream = await thrown(async () => {
        const source = new Blob([pattern(100) as Uint8Array<ArrayBuffer>]).stream();
        await new Response(source.pipeThrough(encryptStream({ materialsManager: cmm }))).arrayBuffer();
      });
      expect((stream as SealboxError).code).toBe('ERR_KEYRING');
      // Decrypt: a key of another length is never used as one, whatever the manager says.
      const { ciphertext } = await encrypt(pattern(10), { keyring });
      const onDecrypt = await thrown(() => decrypt(ciphertext, { materialsManager: cmm }));
      expect((onDecrypt as SealboxError).code).toBe('ERR_KEYRING');
      const onStream = await thrown(async () => {
        const source = new Blob([ciphertext as Uint8Array<ArrayBuffer>]).stream();
        await new Response(source.pipeThrough(decryptStream({ materialsManager: cmm }))).arrayBuffer();
      });
      expect((onStream as SealboxError).code).toBe('ERR_KEYRING');
      expect(cmm.handed).toHaveLength(5);
      for (const key of cmm.handed) expect(key.every((b) => b === 0)).toBe(true);
    });
  }

  it('a manager answering with no data key at all: ERR_KEYRING on both sides', async () => {
    const inner = new DefaultMaterialsManager(keyring);
    const none: MaterialsManager = {
      getEncryptionMaterials: async (request) => ({ ...(await inner.getEncryptionMaterials(request)), dataKey: undefined as unknown as Uint8Array }),
      getDecryptionMaterials: async (request) => ({ suite: request.suite, encryptionContext: request.encryptionContext, dataKey: 'key' as unknown as Uint8Array }),
    };
    expect(((await thrown(() => encrypt(pattern(10), { materialsManager: none }))) as SealboxError).code).toBe('ERR_KEYRING');
    const { ciphertext } = await encrypt(pattern(10), { keyring });
    expect(((await thrown(() => decrypt(ciphertext, { materialsManager: none }))) as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('a refused answer (another suite) has its data key zeroed too', async () => {
    const inner = new DefaultMaterialsManager(keyring);
    let handed: Uint8Array | undefined;
    const other: MaterialsManager = {
      async getEncryptionMaterials(request) {
        const m = await inner.getEncryptionMaterials(request);
        handed = m.dataKey;
        return { ...m, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 };
      },
      getDecryptionMaterials: (request) => inner.getDecryptionMaterials(request),
    };
    const err = await thrown(() => encrypt(pattern(10), { materialsManager: other }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect(handed!.every((b) => b === 0)).toBe(true);
  });
});
