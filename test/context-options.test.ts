// Every option that takes an encryption context reads a Map the way encrypt does (issue 13,
// finding 7: a Map given as expectedEncryptionContext used to check nothing).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { decrypt, decryptRange, decryptStream, encrypt, SealboxError } from '../src/index.js';
import type { DecryptOptions } from '../src/index.js';
import { CachingMaterialsManager } from '../src/materials/caching.js';
import { DefaultMaterialsManager } from '../src/materials/default.js';
import { RequiredContextMaterialsManager } from '../src/materials/required-context.js';
import { createDecryptStream, decryptFile } from '../src/node/index.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT as suite } from '../src/crypto/suites.js';
import type { EncryptionContext } from '../src/keyring/keyring.js';
import { encodeContext } from '../src/format/context.js';
import { bytesEqual, pattern, testKeyring, thrown } from './helpers/keys.js';
import { through } from './helpers/web-streams.js';

const keyring = testKeyring();
const dir = await mkdtemp(join(tmpdir(), 'sealbox-context-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const plaintext = pattern(300, 4);
const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 100, encryptionContext: new Map([['tenant', 'acme'], ['purpose', 'backup']]) });
const file = join(dir, 'm.sbx');
await writeFile(file, ciphertext);

type Entry = (options: DecryptOptions) => Promise<Uint8Array>;

/** Every decrypt entry point, as "options -> plaintext". */
const entryPoints: Record<string, Entry> = {
  decrypt: async (o) => (await decrypt(ciphertext, o)).plaintext,
  decryptRange: async (o) => (await decryptRange(ciphertext, { ...o, start: 0 })).plaintext,
  decryptStream: (o) => through(decryptStream(o), ciphertext, 37),
  'createDecryptStream (Node)': async (o) => {
    const parts: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => void (parts.push(c), cb()) });
    await pipeline(Readable.from([ciphertext.subarray(0, 50), ciphertext.subarray(50)]), createDecryptStream(o), sink);
    return Buffer.concat(parts);
  },
  decryptFile: async (o) => {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    await decryptFile(file, out, o);
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(out));
  },
};

/** Key sources: a keyring, and each materials manager. */
const sources: Record<string, () => DecryptOptions> = {
  keyring: () => ({ keyring }),
  'required-context manager': () => ({ materialsManager: new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant'] }) }),
  'caching manager': () => ({ materialsManager: new CachingMaterialsManager({ keyring, capacity: 4, maxAgeMs: 60_000 }) }),
};

describe('expectedEncryptionContext given as a Map', () => {
  for (const [entry, run] of Object.entries(entryPoints)) {
    for (const [source, options] of Object.entries(sources)) {
      it(`${entry} with a ${source}: a mismatching Map is ERR_ENCRYPTION_CONTEXT_MISMATCH, a matching one decrypts`, async () => {
        for (const expected of [new Map([['tenant', 'other']]), new Map([['region', 'eu']]), new Map([['tenant', 'acme'], ['x', '1']])]) {
          const err = await thrown(() => run({ ...options(), expectedEncryptionContext: expected }));
          expect(err).toBeInstanceOf(SealboxError);
          expect((err as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
        }
        const out = await run({ ...options(), expectedEncryptionContext: new Map([['tenant', 'acme']]) });
        expect(bytesEqual(out, plaintext)).toBe(true);
      });
    }
  }

  it('a Map of non-strings, an array, a class instance or a primitive is a TypeError, before any keyring is asked', async () => {
    let asked = 0;
    const watched = { wrapKey: keyring.wrapKey.bind(keyring), unwrapKey: (r: Parameters<typeof keyring.unwrapKey>[0]) => (asked++, keyring.unwrapKey(r)) };
    const bad: unknown[] = [new Map([['tenant', 1]]), new Map([[1, 'acme']]), [['tenant', 'acme']], new (class Ctx { tenant = 'acme'; })(), new Date(0), 'tenant=acme', 1, null];
    for (const [entry, run] of Object.entries(entryPoints)) {
      for (const expected of bad) {
        const err = await thrown(() => run({ keyring: watched, expectedEncryptionContext: expected as EncryptionContext }));
        expect(err, `${entry} ${String(expected)}`).toBeInstanceOf(TypeError);
      }
    }
    expect(asked).toBe(0);
  });

  it('a frozen Map that a keyring once encoded is still read pair by pair', async () => {
    const expected = Object.freeze(new Map([['tenant', 'other']]));
    encodeContext(expected as unknown as EncryptionContext); // caches its encoding, as a keyring's AAD would
    expect(((await thrown(() => decrypt(ciphertext, { keyring, expectedEncryptionContext: expected }))) as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
  });

  it('a null-prototype object and a plain object of another realm are plain objects', async () => {
    const nullProto = Object.assign(Object.create(null) as Record<string, string>, { tenant: 'other' });
    expect(((await thrown(() => decrypt(ciphertext, { keyring, expectedEncryptionContext: nullProto }))) as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    const { runInNewContext } = await import('node:vm');
    const foreign = runInNewContext('({ tenant: "other" })') as Record<string, string>;
    expect(((await thrown(() => decrypt(ciphertext, { keyring, expectedEncryptionContext: foreign }))) as SealboxError).code).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
  });
});

describe('materials managers asked directly with a Map context', () => {
  const map = new Map([['tenant', 'acme']]);
  const managers = {
    default: () => new DefaultMaterialsManager(keyring),
    'required-context': () => new RequiredContextMaterialsManager({ keyring, requiredKeys: ['tenant'] }),
    caching: () => new CachingMaterialsManager({ keyring, capacity: 4, maxAgeMs: 60_000 }),
  };
  for (const [name, make] of Object.entries(managers)) {
    it(`${name}: reads the Map's pairs (the same materials as for the plain object) and refuses non-contexts`, async () => {
      const cmm = make();
      const materials = await cmm.getEncryptionMaterials({ suite, encryptionContext: map as unknown as EncryptionContext });
      expect({ ...materials.encryptionContext }).toEqual({ tenant: 'acme' });
      const back = await cmm.getDecryptionMaterials({ suite, encryptionContext: { tenant: 'acme' }, encryptedDataKeys: materials.encryptedDataKeys });
      expect(back.dataKey.length).toBe(32);
      await expect(cmm.getEncryptionMaterials({ suite, encryptionContext: [['tenant', 'acme']] as unknown as EncryptionContext })).rejects.toBeInstanceOf(TypeError);
      await expect(cmm.getDecryptionMaterials({ suite, encryptionContext: new Map([['tenant', 2]]) as unknown as EncryptionContext, encryptedDataKeys: materials.encryptedDataKeys })).rejects.toBeInstanceOf(TypeError);
    });
  }
});

describe('encryptionContext on encrypt', () => {
  it('a Map and the equal plain object make the same header context; non-string values are a TypeError', async () => {
    const a = await encrypt(plaintext, { keyring, encryptionContext: new Map([['b', '2'], ['a', '1']]) });
    expect({ ...a.header.encryptionContext }).toEqual({ a: '1', b: '2' });
    expect(await thrown(() => encrypt(plaintext, { keyring, encryptionContext: { a: 1 } as unknown as EncryptionContext }))).toBeInstanceOf(TypeError);
    expect(await thrown(() => encrypt(plaintext, { keyring, encryptionContext: new (class { a = '1'; })() as unknown as EncryptionContext }))).toBeInstanceOf(TypeError);
  });
});

describe('header contexts are shared between messages (per-message cost)', () => {
  it('messages with the same small context decode to one frozen context object, with the same encoding', async () => {
    const context = { tenant: 'acme', purpose: 'backup' };
    const a = await encrypt(plaintext, { keyring, encryptionContext: context });
    const b = await encrypt(plaintext, { keyring, encryptionContext: new Map(Object.entries(context)) });
    const [da, db] = [await decrypt(a.ciphertext, { keyring }), await decrypt(b.ciphertext, { keyring })];
    expect(da.encryptionContext).toBe(db.encryptionContext);
    expect(a.header.encryptionContext).toBe(da.encryptionContext);
    expect(Object.isFrozen(da.encryptionContext)).toBe(true);
    expect({ ...da.encryptionContext }).toEqual(context);
    expect((await decrypt(a.ciphertext, { keyring: testKeyring() })).encryptionContext).toBe(da.encryptionContext);
    // No context: one object for every message.
    const [e1, e2] = [await encrypt(plaintext, { keyring }), await encrypt(plaintext, { keyring, encryptionContext: {} })];
    expect(e1.header.encryptionContext).toBe(e2.header.encryptionContext);
    expect(Object.keys(e1.header.encryptionContext)).toEqual([]);
  });

  it('many distinct contexts, large ones and tricky keys each keep their own pairs', async () => {
    const contexts: EncryptionContext[] = [
      ...Array.from({ length: 100 }, (_, i) => ({ n: String(i % 70), k: `v${i}` })),
      { ['__proto__']: 'x', constructor: 'y' },
      { a: 'b\u0000c' },
      { 'a\u0000b': 'c' },
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, 'v'])),
      { big: 'x'.repeat(5000) },
    ];
    for (const context of contexts) {
      const { ciphertext: c, header } = await encrypt(plaintext, { keyring, encryptionContext: context });
      const { encryptionContext } = await decrypt(c, { keyring, expectedEncryptionContext: context });
      expect(Object.entries(encryptionContext).sort()).toEqual(Object.entries(context).sort());
      expect(Object.entries(header.encryptionContext).sort()).toEqual(Object.entries(context).sort());
      expect(bytesEqual(encodeContext(encryptionContext), encodeContext(header.encryptionContext))).toBe(true);
    }
  });
  it('at the bounds: 1024 pairs and 64 KiB encrypt and decrypt, one pair or one byte more is ERR_LIMIT_EXCEEDED', async () => {
    const pairs = (n: number): EncryptionContext => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    const full = pairs(1024);
    const { ciphertext: c } = await encrypt(plaintext, { keyring, encryptionContext: full });
    expect((await decrypt(c, { keyring, expectedEncryptionContext: full })).encryptionContext).toEqual(full);
    // One pair more: refused by encrypt (a header no decoder accepts is never written) and as an expectation.
    const over = pairs(1025);
    expect(await thrown(() => encrypt(plaintext, { keyring, encryptionContext: over }))).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect(await thrown(() => decrypt(c, { keyring, expectedEncryptionContext: over }))).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    // Bytes: keys and values of 64 KiB in all, then one byte more.
    const bytes = (n: number): EncryptionContext => ({ a: 'x'.repeat(n - 1) });
    const { ciphertext: b } = await encrypt(plaintext, { keyring, encryptionContext: bytes(64 * 1024) });
    expect((await decrypt(b, { keyring })).encryptionContext).toEqual(bytes(64 * 1024));
    expect(await thrown(() => encrypt(plaintext, { keyring, encryptionContext: bytes(64 * 1024 + 1) }))).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
  });
});
