import { inspect } from 'node:util';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import type { AeadBackend, AeadKey } from '../../src/crypto/aead.js';
import { getAeadBackend } from '../../src/crypto/backend.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { SealboxError, isSealboxError } from '../../src/errors.js';
import type { EncryptedDataKey } from '../../src/format/edk.js';
import { encodeContext } from '../../src/format/context.js';
import { acceptDataKey, unwrapFailed } from '../../src/keyring/keyring.js';
import { xwingImpl } from '../../src/keyring/xwing-impl.js';
import type { XWingCore } from '../../src/keyring/xwing-impl.js';
import { nobleMlKem768, nobleX25519, xwingKem } from '../../src/keyring/xwing-kem.js';
import type { XWingKem } from '../../src/keyring/xwing-kem.js';
import { decodeXWingPrivateKey } from '../../src/keyring/xwing-text.js';
import { bytesEqual, thrown } from '../helpers/keys.js';

// The X-Wing keyring's wrap of the data key (docs/SPEC.md §9.5) as a reviewer checks a KEM-based
// wrap (HPKE, age's post-quantum recipients): what reaches the KEM and the AEAD, what is bound,
// what is zeroed, and how hostile EDKs and keys fail. xwing.test.ts covers the public API's
// round trips and key text; xwing-kem.test.ts the KEM against the draft's vectors.

const CONTEXT: Record<string, string> = { tenant: 'acme' };
const code = (err: unknown) => (isSealboxError(err) ? err.code : err instanceof Error ? err.name : String(err));
const baseCore: XWingCore = { SealboxError, getAeadBackend, encodeContext, acceptDataKey, unwrapFailed };

/** A KEM over `kem` that counts its decapsulations (and whether each one threw). */
function countingKem(kem: XWingKem) {
  const calls = { decapsulate: 0, threw: 0 };
  const counted: XWingKem = {
    ...kem,
    decapsulate(ct, sk) {
      calls.decapsulate++;
      try {
        return kem.decapsulate(ct, sk);
      } catch (err) {
        calls.threw++;
        throw err;
      }
    },
  };
  return { calls, kem: counted };
}

describe('X-Wing keyring: the wrap around the KEM', async () => {
  const impl = xwingImpl(baseCore);
  const alice = impl.generate();
  const bob = impl.generate();
  const aliceKeys = impl.loadKeys(undefined, alice.privateKey);
  const bobKeys = impl.loadKeys(undefined, bob.privateKey);
  const wrapped = await impl.wrap(aliceKeys, { suite: DEFAULT_SUITE, encryptionContext: CONTEXT });
  const edk = wrapped.encryptedDataKeys[0]!;
  const request = (edks: EncryptedDataKey[], encryptionContext: Record<string, string> = CONTEXT) => ({ suite: DEFAULT_SUITE, encryptionContext, encryptedDataKeys: edks });

  it('binds the recipient: an EDK relabelled with another key id does not open for that key (ERR_KEYRING, no crash)', async () => {
    const moved = { ...edk, providerInfo: bobKeys.keyId.slice() };
    expect(code(await thrown(() => impl.unwrap(bobKeys, request([moved]))))).toBe('ERR_KEYRING');
    // Even with the same shared secret, the wrapping key differs with the key id: the data key
    // sealed for Alice's kid does not open under a key derived for Bob's kid.
    const { hkdf } = await import('@noble/hashes/hkdf.js');
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const { gcm } = await import('@noble/ciphers/aes.js');
    const ss = ml_kem768_x25519.decapsulate(edk.ciphertext.subarray(0, 1120), decodeXWingPrivateKey(alice.privateKey));
    const keyFor = (kid: Uint8Array) => hkdf(sha256, ss, undefined, Buffer.concat([Buffer.from('sealbox xwing v1 wrapping key\0'), kid, edk.ciphertext.subarray(0, 1120)]), 32);
    const open = (kid: Uint8Array) => gcm(keyFor(kid), new Uint8Array(12), encodeContext(CONTEXT)).decrypt(edk.ciphertext.subarray(1120));
    expect(bytesEqual(open(aliceKeys.keyId), wrapped.dataKey)).toBe(true);
    expect(() => open(bobKeys.keyId)).toThrow();
  });

  it('binds the encryption context (the AAD): another context, an extra pair, none at all fail with ERR_KEYRING', async () => {
    for (const other of [{ tenant: 'acme2' }, { ...CONTEXT, extra: 'x' }, {}] as Record<string, string>[]) {
      expect(code(await thrown(() => impl.unwrap(aliceKeys, request([edk], other))))).toBe('ERR_KEYRING');
    }
    expect(bytesEqual((await impl.unwrap(aliceKeys, request([edk])))!, wrapped.dataKey)).toBe(true);
  });

  it('checks the EDK length before decapsulating: any other length (1 MiB included) is ERR_KEYRING without a KEM call', async () => {
    const { calls, kem } = countingKem(xwingKem());
    const counted = xwingImpl(baseCore, kem);
    const keys = counted.loadKeys(undefined, alice.privateKey);
    const lengths = [0, 1, 1119, 1120, 1121, 1167, 1169, 1120 + 16, 1 << 20];
    for (const n of lengths) {
      const ciphertext = new Uint8Array(n);
      ciphertext.set(edk.ciphertext.subarray(0, Math.min(n, edk.ciphertext.length)));
      expect(code(await thrown(() => counted.unwrap(keys, request([{ ...edk, ciphertext }])))), `length ${n}`).toBe('ERR_KEYRING');
    }
    expect(calls.decapsulate).toBe(0);
    // A key id of another length is not this key's: "not mine", nothing decapsulated.
    expect(await counted.unwrap(keys, request([{ ...edk, providerInfo: keys.keyId.subarray(0, 31) }]))).toBeNull();
    expect(await counted.unwrap(keys, request([{ ...edk, providerInfo: new Uint8Array([...keys.keyId, 0]) }]))).toBeNull();
    expect(calls.decapsulate).toBe(0);
    expect(bytesEqual((await counted.unwrap(keys, request([edk])))!, wrapped.dataKey)).toBe(true);
    expect(calls.decapsulate).toBe(1);
  });

  it('ML-KEM implicit rejection: a changed ct_M decapsulates without throwing, the AEAD fails, ERR_KEYRING', async () => {
    const { calls, kem } = countingKem(xwingKem());
    const counted = xwingImpl(baseCore, kem);
    const keys = counted.loadKeys(undefined, alice.privateKey);
    for (const i of [0, 1, 500, 1087]) {
      const ciphertext = edk.ciphertext.slice();
      ciphertext[i]! ^= 0x01;
      const err = await thrown(() => counted.unwrap(keys, request([{ ...edk, ciphertext }])));
      expect(code(err), `byte ${i}`).toBe('ERR_KEYRING');
      expect((err as Error).message).toBe('X-Wing key could not unwrap its encrypted data key');
    }
    // Every decapsulation ran to its end (implicit rejection), none threw: the AEAD refused.
    expect(calls).toEqual({ decapsulate: 4, threw: 0 });
    // And the good EDK after a tampered one still opens.
    const bad = edk.ciphertext.slice();
    bad[7]! ^= 0x80;
    expect(bytesEqual((await counted.unwrap(keys, request([{ ...edk, ciphertext: bad }, edk])))!, wrapped.dataKey)).toBe(true);
  });

  it('a KEM that throws on decapsulation (any error) is a failed unwrap, ERR_KEYRING, never the error itself', async () => {
    const kem: XWingKem = {
      ...xwingKem(),
      decapsulate: () => {
        throw new TypeError('broken');
      },
    };
    const broken = xwingImpl(baseCore, kem);
    const keys = broken.loadKeys(undefined, alice.privateKey);
    expect(code(await thrown(() => broken.unwrap(keys, request([edk]))))).toBe('ERR_KEYRING');
  });

  it('errors and their causes quote no key: neither the seed, its text nor the key id', async () => {
    const seedHex = Buffer.from(decodeXWingPrivateKey(alice.privateKey)).toString('hex');
    const kidHex = Buffer.from(aliceKeys.keyId).toString('hex');
    const failures = [
      await thrown(() => impl.unwrap(aliceKeys, request([{ ...edk, ciphertext: edk.ciphertext.subarray(1) }]))),
      await thrown(() => impl.unwrap(aliceKeys, request([edk], {}))),
      await thrown(() => impl.loadKeys(bob.publicKey, alice.privateKey)),
    ];
    for (const err of failures) {
      expect(code(err)).toBe('ERR_KEYRING');
      const printed = inspect(err, { depth: Infinity }).toLowerCase();
      for (const secret of [seedHex, kidHex]) for (let i = 0; i + 16 <= secret.length; i += 8) expect(printed).not.toContain(secret.slice(i, i + 16));
      expect(printed).not.toContain(alice.privateKey.slice(26, 46).toLowerCase());
    }
  });
});

describe('X-Wing keyring: secrets zeroed', () => {
  it("a keyring's copy of a seed is zeroed when the options are refused (a bad public key or a seed of the wrong length)", async () => {
    const impl = xwingImpl(baseCore);
    const seed = decodeXWingPrivateKey(impl.generate().privateKey);
    const cases: [unknown, Uint8Array, string][] = [
      [42, seed.slice(), 'TypeError'],
      ['age1notakey', seed.slice(), 'TypeError'],
      [new Uint8Array(1215), seed.slice(), 'RangeError'],
      [undefined, new Uint8Array([...seed, 1]), 'RangeError'],
    ];
    for (const [publicKey, copy, expected] of cases) {
      expect(code(await thrown(() => impl.keyring({ publicKey, privateKey: copy }, copy)))).toBe(expected);
      expect(copy.every((b) => b === 0), String(publicKey)).toBe(true);
    }
    // xwingPublicKey() works on its own copy: the caller's bytes are left as they are.
    const long = new Uint8Array([...seed, 7]);
    expect(code(await thrown(() => impl.publicKeyOf(long)))).toBe('RangeError');
    expect(long.some((b) => b !== 0)).toBe(true);
  });

  it('every one-use wrapping key is disposed of (its bytes wiped) after the wrap and the unwrap, on success and failure', async () => {
    for (const name of ['node', 'noble'] as const) {
      const backend = getAeadBackend(name);
      const imported: { disposed: boolean }[] = [];
      /** The raw wrapping keys handed to the backend: each must be zeroed once imported. */
      const raws: Uint8Array[] = [];
      /** The backend, each key it gives recording whether it was disposed of. */
      const recording: AeadBackend = {
        name: backend.name,
        importKey: async (raw) => (raws.push(raw), track(await backend.importKey(raw))),
        ...(backend.importTransientKey ? { importTransientKey: (raw: Uint8Array) => (raws.push(raw), track(backend.importTransientKey!(raw))) } : {}),
      };
      function track<K extends AeadKey>(key: K): K {
        const entry = { disposed: false };
        imported.push(entry);
        const dispose = (key as { dispose?: () => void }).dispose;
        return Object.assign(Object.create(key) as K, {
          seal: key.seal.bind(key),
          open: key.open.bind(key),
          dispose() {
            entry.disposed = true;
            dispose?.call(key);
          },
        });
      }
      const impl = xwingImpl({ ...baseCore, getAeadBackend: () => recording }, xwingKem(nobleX25519, nobleMlKem768));
      const keys = impl.loadKeys(undefined, impl.generate().privateKey);
      const wrapped = await impl.wrap(keys, { suite: DEFAULT_SUITE, encryptionContext: CONTEXT });
      const edk = wrapped.encryptedDataKeys[0]!;
      expect(bytesEqual((await impl.unwrap(keys, { suite: DEFAULT_SUITE, encryptionContext: CONTEXT, encryptedDataKeys: [edk] }))!, wrapped.dataKey)).toBe(true);
      expect(code(await thrown(() => impl.unwrap(keys, { suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys: [edk] })))).toBe('ERR_KEYRING');
      expect(imported.length, name).toBe(3);
      expect(imported.every((k) => k.disposed), name).toBe(true);
      expect(raws.length, name).toBe(3);
      expect(raws.every((raw) => raw.length === 32 && raw.every((b) => b === 0)), name).toBe(true);
    }
  });
});

describe('X-Wing keys given as Node Buffers (whose slice() is a view, not a copy)', () => {
  it("the caller's seed Buffer is left as it is: a second keyring or xwingPublicKey from it is the same key, never the all-zero seed's", async () => {
    const { XWingKeyring, generateXWingKeyPair, xwingPublicKey } = await import('../../src/keyring/xwing.js');
    const { encrypt } = await import('../../src/encrypt.js');
    const { decrypt } = await import('../../src/decrypt.js');
    const { publicKey, privateKey } = await generateXWingKeyPair();
    const seed = Buffer.from(decodeXWingPrivateKey(privateKey));
    const before = seed.toString('hex');
    const first = await new XWingKeyring({ privateKey: seed }).ready();
    expect(seed.toString('hex')).toBe(before);
    expect(await xwingPublicKey(seed)).toBe(publicKey);
    expect(seed.toString('hex')).toBe(before);
    // A second keyring from the same Buffer encrypts to the same key, not to the all-zero
    // seed's (whose private key anyone can compute): the first keyring and the text key open it.
    const second = new XWingKeyring({ privateKey: seed });
    const { ciphertext } = await encrypt(new Uint8Array([1, 2, 3]), { keyring: second });
    for (const keyring of [first, new XWingKeyring({ privateKey })]) expect([...(await decrypt(ciphertext, { keyring })).plaintext]).toEqual([1, 2, 3]);
    const zero = new XWingKeyring({ privateKey: new Uint8Array(32) });
    expect(code(await thrown(() => decrypt(ciphertext, { keyring: zero })))).toBe('ERR_NO_MATCHING_KEY');
  });

  it("a public key Buffer is copied: the caller reusing it after ready() changes nothing the keyring encrypts to", async () => {
    const { XWingKeyring, generateXWingKeyPair } = await import('../../src/keyring/xwing.js');
    const { decodeXWingPublicKey } = await import('../../src/keyring/xwing-text.js');
    const { encrypt } = await import('../../src/encrypt.js');
    const { decrypt } = await import('../../src/decrypt.js');
    const { publicKey, privateKey } = await generateXWingKeyPair();
    const buffer = Buffer.from(decodeXWingPublicKey(publicKey));
    const toMe = await new XWingKeyring({ publicKey: buffer }).ready();
    buffer.fill(0x42); // the caller's buffer, reused for something else
    const { ciphertext } = await encrypt(new Uint8Array([4, 5]), { keyring: toMe });
    expect([...(await decrypt(ciphertext, { keyring: new XWingKeyring({ privateKey }) })).plaintext]).toEqual([4, 5]);
  });

  it("the KEM's derandomized encapsulation leaves the caller's eseed Buffer as it is (noble's X25519)", () => {
    const kem = xwingKem(nobleX25519, nobleMlKem768);
    const pk = kem.privateKey(new Uint8Array(32).fill(1)).publicKey;
    const eseed = Buffer.alloc(64, 0x33);
    kem.encapsulate(pk, eseed);
    expect(eseed.every((b) => b === 0x33)).toBe(true);
  });
});
