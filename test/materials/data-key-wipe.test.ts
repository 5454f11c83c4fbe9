// The data key a materials manager hands to a message is zeroed once the message's keys are
// derived, on every path (issue 13, finding 8); a cache keeps its own copy intact.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decrypt, decryptRange, decryptStream, encrypt, encryptStream, SealboxError } from '../../src/index.js';
import { rewrap } from '../../src/rewrap/index.js';
import type { DecryptionMaterials, DecryptionMaterialsRequest, EncryptionMaterials, EncryptionMaterialsRequest, MaterialsManager } from '../../src/index.js';
import { CachingMaterialsManager } from '../../src/materials/caching.js';
import { DefaultMaterialsManager } from '../../src/materials/default.js';
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from '../../src/node/index.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { getAeadBackend } from '../../src/crypto/backend.js';
import type { AeadKey } from '../../src/crypto/aead.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { loadVectorKeys, loadVectors } from '../helpers/vectors.js';
import { through } from '../helpers/web-streams.js';

const dir = await mkdtemp(join(tmpdir(), 'sealbox-wipe-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A manager in front of another that keeps every materials object it hands out. */
class Capturing implements MaterialsManager {
  readonly encrypted: EncryptionMaterials[] = [];
  readonly decrypted: DecryptionMaterials[] = [];
  constructor(readonly inner: MaterialsManager) {}
  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const m = await this.inner.getEncryptionMaterials(request);
    this.encrypted.push(m);
    return m;
  }
  async getDecryptionMaterials(request: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    const m = await this.inner.getDecryptionMaterials(request);
    this.decrypted.push(m);
    return m;
  }
}

/** A keyring that keeps every data key it returns. */
function capturingKeyring(inner: Keyring): Keyring & { keys: Uint8Array[] } {
  const keys: Uint8Array[] = [];
  return {
    keys,
    wrapKey: async (r) => {
      const out = await inner.wrapKey(r);
      keys.push(out.dataKey);
      return out;
    },
    unwrapKey: async (r) => {
      const key = await inner.unwrapKey(r);
      if (key) keys.push(key);
      return key;
    },
  };
}

const zero = (key: Uint8Array): boolean => key.length === 32 && key.every((b) => b === 0);
const plaintext = pattern(1000, 9);
const F = 256;

async function nodeThrough(transform: NodeJS.ReadWriteStream, bytes: Uint8Array): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => void (parts.push(c), cb()) });
  await pipeline(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), transform, sink);
  return new Uint8Array(Buffer.concat(parts));
}

let fileCount = 0;
const encryptors: Record<string, (mm: MaterialsManager) => Promise<Uint8Array>> = {
  encrypt: async (materialsManager) => (await encrypt(plaintext, { materialsManager, frameLength: F })).ciphertext,
  encryptStream: (materialsManager) => through(encryptStream({ materialsManager, frameLength: F }), plaintext, 100),
  'createEncryptStream (Node)': (materialsManager) => nodeThrough(createEncryptStream({ materialsManager, frameLength: F }), plaintext),
  encryptFile: async (materialsManager) => {
    const src = join(dir, `p${fileCount++}`);
    await writeFile(src, plaintext);
    await encryptFile(src, `${src}.sbx`, { materialsManager, frameLength: F });
    return new Uint8Array(await readFile(`${src}.sbx`));
  },
};
const decryptors: Record<string, (mm: MaterialsManager, ciphertext: Uint8Array) => Promise<Uint8Array>> = {
  decrypt: async (materialsManager, c) => (await decrypt(c, { materialsManager })).plaintext,
  decryptStream: (materialsManager, c) => through(decryptStream({ materialsManager }), c, 100),
  'createDecryptStream (Node)': (materialsManager, c) => nodeThrough(createDecryptStream({ materialsManager }), c),
  decryptFile: async (materialsManager, c) => {
    const src = join(dir, `c${fileCount++}`);
    await writeFile(src, c);
    await decryptFile(src, `${src}.out`, { materialsManager });
    return new Uint8Array(await readFile(`${src}.out`));
  },
  decryptRange: async (materialsManager, c) => (await decryptRange(c, { materialsManager, start: 0 })).plaintext,
  // Rewrap unwraps with the manager and wraps the same key again: the plaintext is what the result decrypts to.
  rewrap: async (materialsManager, c) => (await decrypt((await rewrap(c, { materialsManager, to: testKeyring('key-9', 9) })).ciphertext, { keyring: testKeyring('key-9', 9) })).plaintext,
};

describe('the data key is zeroed once the message keys are derived', () => {
  for (const [name, run] of Object.entries(encryptors)) {
    it(`${name}: the materials' data key (the keyring's) is all zero afterwards`, async () => {
      const keyring = capturingKeyring(testKeyring());
      const cmm = new Capturing(new DefaultMaterialsManager(keyring));
      const ciphertext = await run(cmm);
      expect(cmm.encrypted.length).toBe(1);
      expect(zero(cmm.encrypted[0]!.dataKey)).toBe(true);
      expect(keyring.keys.length).toBe(1);
      expect(zero(keyring.keys[0]!)).toBe(true);
      expect(bytesEqual((await decrypt(ciphertext, { keyring: testKeyring() })).plaintext, plaintext)).toBe(true);
    });
  }

  for (const [name, run] of Object.entries(decryptors)) {
    it(`${name}: the materials' data key (the keyring's) is all zero afterwards`, async () => {
      const { ciphertext } = await encrypt(plaintext, { keyring: testKeyring(), frameLength: F });
      const keyring = capturingKeyring(testKeyring());
      const cmm = new Capturing(new DefaultMaterialsManager(keyring));
      expect(bytesEqual(await run(cmm, ciphertext), plaintext)).toBe(true);
      expect(cmm.decrypted.length).toBe(1);
      expect(zero(cmm.decrypted[0]!.dataKey)).toBe(true);
      expect(zero(keyring.keys[0]!)).toBe(true);
    });
  }

  it('also when decryption fails: a wrong key commitment', async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring: testKeyring(), frameLength: F });
    // A manager that answers with the wrong data key.
    const wrong = new Capturing({
      getEncryptionMaterials: () => Promise.reject(new Error('unused')),
      getDecryptionMaterials: async (r) => ({ suite: r.suite, encryptionContext: r.encryptionContext, dataKey: pattern(32, 77) }),
    });
    expect(((await thrown(() => decrypt(ciphertext, { materialsManager: wrong }))) as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    expect(zero(wrong.decrypted[0]!.dataKey)).toBe(true);
  });
});

describe('with the caching manager', () => {
  for (const [name, run] of Object.entries(encryptors)) {
    it(`${name}: each handed-out copy is zeroed, the cache's own key stays intact and serves the next message`, async () => {
      const backing = new Capturing(new DefaultMaterialsManager(testKeyring()));
      const cache = new CachingMaterialsManager({ materialsManager: backing, capacity: 4, maxAgeMs: 60_000 });
      const front = new Capturing(cache);
      const first = await run(front);
      const second = await run(front);
      expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });
      expect(backing.encrypted.length).toBe(1);
      const own = backing.encrypted[0]!.dataKey;
      expect(zero(own)).toBe(false);
      expect(front.encrypted.length).toBe(2);
      for (const m of front.encrypted) {
        expect(m.dataKey).not.toBe(own);
        expect(zero(m.dataKey)).toBe(true);
      }
      for (const c of [first, second]) expect(bytesEqual((await decrypt(c, { keyring: testKeyring() })).plaintext, plaintext)).toBe(true);
    });
  }

  for (const [name, run] of Object.entries(decryptors)) {
    it(`${name}: each handed-out copy is zeroed, the cached key decrypts the next message`, async () => {
      const { ciphertext } = await encrypt(plaintext, { keyring: testKeyring(), frameLength: F });
      const backing = new Capturing(new DefaultMaterialsManager(testKeyring()));
      const cache = new CachingMaterialsManager({ materialsManager: backing, capacity: 4, maxAgeMs: 60_000 });
      const front = new Capturing(cache);
      for (let i = 0; i < 3; i++) expect(bytesEqual(await run(front, ciphertext), plaintext)).toBe(true);
      expect(cache.stats).toMatchObject({ hits: 2, misses: 1 });
      expect(zero(backing.decrypted[0]!.dataKey)).toBe(false);
      expect(front.decrypted.length).toBe(3);
      for (const m of front.decrypted) expect(zero(m.dataKey)).toBe(true);
    });
  }
});

describe('a data key a keyring unwraps that fails the commitment (SPEC §8.3)', () => {
  it('is zeroed by the raw AES keyring before it tries its next EDK', async () => {
    const vector = loadVectors().find((v) => v.name === 'keys-mismatch-then-good')!;
    const { namespace, keys } = loadVectorKeys();
    // Every key the alpha keyring's wrapping key opens (the data keys it unwraps), as opened.
    const unwrapped: Uint8Array[] = [];
    const backend = getAeadBackend();
    const importKey = backend.importKey.bind(backend);
    const spy = vi.spyOn(backend, 'importKey').mockImplementationOnce((raw: Uint8Array) => {
      const key = importKey(raw) as AeadKey;
      return {
        seal: key.seal.bind(key),
        open(nonce, aad, sealed) {
          const r = key.open(nonce, aad, sealed) as Uint8Array;
          unwrapped.push(r);
          return r;
        },
      };
    });
    const alpha = new RawAesKeyring({ namespace, name: 'alpha', wrappingKey: fromHex(keys.alpha!) });
    spy.mockRestore();
    // Alpha's only EDK wraps a key of the right length that is not the message's.
    const err = await thrown(() => decrypt(new Uint8Array(Buffer.from(vector.ciphertext, 'base64')), { keyring: alpha }));
    expect((err as SealboxError).code).toBe('ERR_COMMITMENT_MISMATCH');
    expect(unwrapped).toHaveLength(1);
    expect(unwrapped[0]!.length).toBe(32);
    expect(zero(unwrapped[0]!)).toBe(true);
  });
});
