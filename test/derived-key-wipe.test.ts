// Every content key derived from a data key (SPEC §5) is zeroed once it is imported or refused,
// and so is HKDF's pseudorandom key: on success, on a commitment mismatch, and for each
// candidate key of the key search (SPEC §8.3) that is not the message's.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decrypt, decryptStream, encrypt, SealboxError } from '../src/index.js';
import type { DecryptionMaterials, DecryptionMaterialsRequest, Keyring, MaterialsManager } from '../src/index.js';
import type { MessageKeys } from '../src/crypto/derive.js';
import { hkdfSha512Node } from '../src/crypto/hkdf-node.js';
import { pattern, testKeyring } from './helpers/keys.js';
import { through } from './helpers/web-streams.js';

/** Every content key the decrypt and encrypt paths derived (cleared by each test). */
const contentKeys: Uint8Array[] = [];

vi.mock('../src/crypto/derive.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/crypto/derive.js')>();
  const record = (keys: MessageKeys): MessageKeys => (contentKeys.push(keys.contentKey), keys);
  return {
    ...original,
    deriveMessageKeys: (...args: Parameters<typeof original.deriveMessageKeys>) => {
      const r = original.deriveMessageKeys(...args);
      return r instanceof Promise ? r.then(record) : record(r);
    },
    deriveAndWipe: (...args: Parameters<typeof original.deriveAndWipe>) => {
      const r = original.deriveAndWipe(...args);
      return r instanceof Promise ? r.then(record) : record(r);
    },
  };
});

/** Every pseudorandom key HKDF extracted. */
function recordPrks(): Uint8Array[] {
  const prks: Uint8Array[] = [];
  const hkdf = hkdfSha512Node!;
  const extract = hkdf.extract.bind(hkdf);
  vi.spyOn(hkdf, 'extract').mockImplementation((ikm, salt) => {
    const prk = extract(ikm, salt);
    prks.push(prk);
    return prk;
  });
  return prks;
}

const zero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const keyring = testKeyring('d', 6);
const plaintext = pattern(300, 1);

afterEach(() => {
  vi.restoreAllMocks();
  contentKeys.length = 0;
});

describe('derived keys are zeroed', () => {
  it('encrypt, one-shot decrypt and stream decrypt, on success', async () => {
    const prks = recordPrks();
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 64 });
    await decrypt(ciphertext, { keyring });
    await through(decryptStream({ keyring }), ciphertext, 50);
    expect(contentKeys).toHaveLength(3);
    expect(contentKeys.every(zero)).toBe(true);
    expect(prks.length).toBeGreaterThanOrEqual(3);
    expect(prks.every(zero)).toBe(true);
  });

  it('a data key from a manager that did not check it, failing the commitment (ERR_COMMITMENT_MISMATCH)', async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring });
    contentKeys.length = 0;
    const wrong: MaterialsManager = {
      getEncryptionMaterials: () => Promise.reject(new Error('unused')),
      getDecryptionMaterials: async (request: DecryptionMaterialsRequest): Promise<DecryptionMaterials> => ({
        suite: request.suite,
        encryptionContext: request.encryptionContext,
        dataKey: new Uint8Array(32).fill(7),
      }),
    };
    const err = await decrypt(ciphertext, { materialsManager: wrong }).then(() => undefined, (e: unknown) => e);
    expect((err as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    expect(contentKeys).toHaveLength(1);
    expect(zero(contentKeys[0]!)).toBe(true);
  });

  it('each candidate of the key search that is not the message\'s key, and the one that is', async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring });
    // A keyring that first offers a wrong key to decrypt's check, then the right one.
    const searching: Keyring = {
      wrapKey: (r) => keyring.wrapKey(r),
      unwrapKey: async (r) => {
        expect(await r.isMessageKey!(new Uint8Array(32).fill(3))).toBe(false);
        return keyring.unwrapKey(r);
      },
    };
    expect((await decrypt(ciphertext, { keyring: searching })).plaintext).toEqual(plaintext);
    expect(contentKeys.length).toBeGreaterThanOrEqual(2);
    expect(contentKeys.every(zero)).toBe(true);
  });
  it('a manager that checks one key and returns another: the returned key is the one checked against the commitment', async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring });
    const manager = (answer: (right: Uint8Array) => Uint8Array): MaterialsManager => ({
      getEncryptionMaterials: () => Promise.reject(new Error('unused')),
      getDecryptionMaterials: async (request: DecryptionMaterialsRequest): Promise<DecryptionMaterials> => {
        const right = (await keyring.unwrapKey(request))!;
        expect(await request.isMessageKey!(right)).toBe(true);
        return { suite: request.suite, encryptionContext: request.encryptionContext, dataKey: answer(right) };
      },
    });
    // Not the content key of the key it checked: that of the key it returned, which fails.
    const err = await decrypt(ciphertext, { materialsManager: manager(() => new Uint8Array(32).fill(5)) }).then(() => undefined, (e: unknown) => e);
    expect((err as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    // A copy of the checked key is checked again, and opens the message.
    expect((await decrypt(ciphertext, { materialsManager: manager((right) => new Uint8Array(right)) })).plaintext).toEqual(plaintext);
    expect(contentKeys.every(zero)).toBe(true);
  });
});
