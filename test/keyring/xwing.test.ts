import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { isSealboxError } from '../../src/errors.js';
import type { EncryptedDataKey } from '../../src/format/edk.js';
import { MultiKeyring } from '../../src/keyring/multi.js';
import { XWING_PROVIDER_ID, XWingKeyring, generateXWingKeyPair, xwingPublicKey } from '../../src/keyring/xwing.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

const CONTEXT = { tenant: 'acme', purpose: 'backup' };
const code = (err: unknown) => (isSealboxError(err) ? err.code : err instanceof Error ? err.name : String(err));

describe('XWingKeyring', async () => {
  const alice = await generateXWingKeyPair();
  const bob = await generateXWingKeyPair();
  const toAlice = new XWingKeyring({ publicKey: alice.publicKey });
  const aliceKeyring = new XWingKeyring({ privateKey: alice.privateKey });
  const bobKeyring = new XWingKeyring({ privateKey: bob.privateKey });
  const data = pattern(1024, 3);
  const { ciphertext } = await encrypt(data, { keyring: toAlice, encryptionContext: CONTEXT });
  const wrapped = await toAlice.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: CONTEXT });
  const edk = wrapped.encryptedDataKeys[0]!;
  const unwrap = (keyring: XWingKeyring, edks: EncryptedDataKey[], encryptionContext = CONTEXT) =>
    keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext, encryptedDataKeys: edks });

  it('encrypts with the public key alone; the private key decrypts', async () => {
    const { plaintext } = await decrypt(ciphertext, { keyring: aliceKeyring });
    expect(bytesEqual(plaintext, data)).toBe(true);
  });

  it('writes the EDK layout of docs/SPEC.md §9', async () => {
    expect(XWING_PROVIDER_ID).toBe('sealbox-xwing');
    expect((await import('../../src/keyring/xwing-impl.js')).PROVIDER_ID).toBe(XWING_PROVIDER_ID);
    expect(edk.providerId).toBe('sealbox-xwing');
    const publicBytes = (await import('../../src/keyring/xwing-text.js')).decodeXWingPublicKey(alice.publicKey);
    expect(Buffer.from(edk.providerInfo).toString('hex')).toBe(createHash('sha256').update(publicBytes).digest('hex'));
    expect(edk.ciphertext.length).toBe(1120 + 32 + 16);
    // The encapsulation is a real X-Wing ciphertext: noble's X-Wing decapsulates it, and the
    // wrapping key derived from it (HKDF-SHA-256, the spec's label and context) opens the rest.
    const { decodeXWingPrivateKey } = await import('../../src/keyring/xwing-text.js');
    const ss = ml_kem768_x25519.decapsulate(edk.ciphertext.subarray(0, 1120), decodeXWingPrivateKey(alice.privateKey));
    const { hkdf } = await import('@noble/hashes/hkdf.js');
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const info = Buffer.concat([Buffer.from('sealbox xwing v1 wrapping key\0'), edk.providerInfo, edk.ciphertext.subarray(0, 1120)]);
    const key = hkdf(sha256, ss, undefined, info, 32);
    const { gcm } = await import('@noble/ciphers/aes.js');
    const { encodeContext } = await import('../../src/format/context.js');
    const opened = gcm(key, new Uint8Array(12), encodeContext(CONTEXT)).decrypt(edk.ciphertext.subarray(1120));
    expect(bytesEqual(opened, wrapped.dataKey)).toBe(true);
  });

  it('another recipient\'s EDK is "not mine"; decrypt says ERR_NO_MATCHING_KEY', async () => {
    expect(await unwrap(bobKeyring, [edk])).toBeNull();
    expect(code(await thrown(() => decrypt(ciphertext, { keyring: bobKeyring })))).toBe('ERR_NO_MATCHING_KEY');
    // A public-key-only keyring cannot decrypt: "not mine".
    expect(await unwrap(toAlice, [edk])).toBeNull();
  });

  it('opens only under the same encryption context', async () => {
    expect(code(await thrown(() => unwrap(aliceKeyring, [edk], { ...CONTEXT, purpose: 'other' })))).toBe('ERR_KEYRING');
  });

  it('any altered ciphertext byte fails with ERR_KEYRING; an altered id or key id is "not mine"', async () => {
    const positions = new Set<number>([0, 1087, 1088, 1119, 1120, 1151, 1152, 1167]);
    for (let i = 0; i < 1120; i += 37) positions.add(i);
    for (let i = 1120; i < 1168; i++) positions.add(i);
    for (const i of positions) {
      const bad = edk.ciphertext.slice();
      bad[i]! ^= 0x01;
      expect(code(await thrown(() => unwrap(aliceKeyring, [{ ...edk, ciphertext: bad }]))), `byte ${i}`).toBe('ERR_KEYRING');
    }
    for (let i = 0; i < 32; i++) {
      const info = edk.providerInfo.slice();
      info[i]! ^= 0x80;
      expect(await unwrap(aliceKeyring, [{ ...edk, providerInfo: info }])).toBeNull();
    }
    expect(await unwrap(aliceKeyring, [{ ...edk, providerId: 'sealbox-xwinh' }])).toBeNull();
    for (const ct of [edk.ciphertext.subarray(0, 1167), new Uint8Array([...edk.ciphertext, 0]), edk.ciphertext.subarray(0, 1120)]) {
      expect(code(await thrown(() => unwrap(aliceKeyring, [{ ...edk, ciphertext: ct }])))).toBe('ERR_KEYRING');
    }
    // A low-order X25519 half of the encapsulation (ct_X = 0) is refused, as the policy says.
    const lowOrder = edk.ciphertext.slice();
    lowOrder.fill(0, 1088, 1120);
    expect(code(await thrown(() => unwrap(aliceKeyring, [{ ...edk, ciphertext: lowOrder }])))).toBe('ERR_KEYRING');
  });

  it('property: any single changed ciphertext byte fails with ERR_KEYRING', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1167 }), fc.integer({ min: 1, max: 255 }), async (i, mask) => {
        const bad = edk.ciphertext.slice();
        bad[i]! ^= mask;
        return code(await thrown(() => unwrap(aliceKeyring, [{ ...edk, ciphertext: bad }]))) === 'ERR_KEYRING';
      }),
      { numRuns: 40 },
    );
  });

  it('tries every EDK that names it, and mixes with other keyrings in a multi-keyring', async () => {
    const bad = { ...edk, ciphertext: edk.ciphertext.slice().fill(1, 1120) };
    expect(bytesEqual((await unwrap(aliceKeyring, [bad, edk]))!, wrapped.dataKey)).toBe(true);
    const aes = testKeyring();
    const multi = new MultiKeyring({ generator: aes, children: [toAlice, new XWingKeyring({ publicKey: bob.publicKey })] });
    const out = await encrypt(data, { keyring: multi, encryptionContext: CONTEXT });
    for (const k of [aes, aliceKeyring, bobKeyring]) expect(bytesEqual((await decrypt(out.ciphertext, { keyring: k })).plaintext, data)).toBe(true);
    // X-Wing as the generator too.
    const out2 = await encrypt(data, { keyring: new MultiKeyring({ generator: toAlice, children: [aes] }) });
    expect(bytesEqual((await decrypt(out2.ciphertext, { keyring: aes })).plaintext, data)).toBe(true);
  });

  it('a private key encrypts to its own public half', async () => {
    const out = await encrypt(data, { keyring: aliceKeyring });
    expect(bytesEqual((await decrypt(out.ciphertext, { keyring: aliceKeyring })).plaintext, data)).toBe(true);
  });
});

describe('X-Wing key text', () => {
  it('has a prefix that says what it is; the private key is marked secret', async () => {
    const { publicKey, privateKey } = await generateXWingKeyPair();
    expect(publicKey).toMatch(/^sealbox-xwing1[02-9ac-hj-np-z]+$/);
    expect(publicKey.length).toBe('sealbox-xwing1'.length + Math.ceil((1216 * 8) / 5) + 6);
    expect(privateKey).toMatch(/^SEALBOX-XWING-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    expect(await xwingPublicKey(privateKey)).toBe(publicKey);
    // A key file: comments and blank lines around the key line.
    expect(await xwingPublicKey(`# created: today\n# public key: ${publicKey}\n\n${privateKey}\n`)).toBe(publicKey);
    expect(await xwingPublicKey(privateKey.toLowerCase())).toBe(publicKey);
  });

  it('refuses a mistyped, truncated or mixed-case key with ERR_KEYRING', async () => {
    const { publicKey, privateKey } = await generateXWingKeyPair();
    const typo = (text: string, i: number) => text.slice(0, i) + (text[i] === 'q' ? 'p' : text[i] === 'Q' ? 'P' : text[i] === text[i]!.toUpperCase() ? 'Q' : 'q') + text.slice(i + 1);
    for (const i of [14, 100, 1000, publicKey.length - 1]) {
      const keyring = new XWingKeyring({ publicKey: typo(publicKey, i) });
      expect(code(await thrown(() => keyring.ready()))).toBe('ERR_KEYRING');
      expect(code(await thrown(() => keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} })))).toBe('ERR_KEYRING');
    }
    for (const bad of [typo(privateKey, 30), privateKey.slice(0, -1), privateKey.slice(0, 40) + privateKey.slice(40).toLowerCase()]) {
      expect(code(await thrown(() => xwingPublicKey(bad)))).toBe('ERR_KEYRING');
      expect(code(await thrown(() => new XWingKeyring({ privateKey: bad }).ready()))).toBe('ERR_KEYRING');
    }
    expect(code(await thrown(() => new XWingKeyring({ publicKey: publicKey.slice(0, -1) }).ready()))).toBe('ERR_KEYRING');
    // Two keys in one text.
    expect(code(await thrown(() => xwingPublicKey(`${privateKey}\n${privateKey}`)))).toBe('ERR_KEYRING');
  });

  it('checks the key line\'s length before decoding it (a key has one length)', async () => {
    const { publicKey, privateKey } = await generateXWingKeyPair();
    const message = async (p: Promise<unknown>) => {
      const err = await thrown(() => p);
      expect(code(err)).toBe('ERR_KEYRING');
      return (err as Error).message;
    };
    // Megabytes of text are refused by their length, not decoded first.
    const huge = 'sealbox-xwing1' + 'q'.repeat(4_000_000);
    expect(await message(new XWingKeyring({ publicKey: huge }).ready())).toBe('X-Wing public key text must be 1966 characters, got 4000014');
    expect(await message(xwingPublicKey('SEALBOX-XWING-SECRET-KEY-1' + 'Q'.repeat(1_000_000)))).toBe('X-Wing private key text must be 84 characters, got 1000026');
    expect(await message(new XWingKeyring({ publicKey: publicKey + 'q' }).ready())).toMatch(/must be 1966 characters, got 1967$/);
    expect(await message(xwingPublicKey(privateKey.slice(0, -1)))).toMatch(/must be 84 characters, got 83$/);
    // The right length and a wrong checksum: the checksum says so.
    expect(await message(xwingPublicKey(privateKey.slice(0, -1) + (privateKey.endsWith('Q') ? 'P' : 'Q')))).toMatch(/not valid Bech32m/);
  });

  it('never carries private key text in an error or its causes (mistyped, truncated, wrong length)', async () => {
    const { privateKey } = await generateXWingKeyPair();
    const data = privateKey.slice('SEALBOX-XWING-SECRET-KEY-1'.length);
    const typo = privateKey.slice(0, 40) + (privateKey[40] === 'Q' ? 'P' : 'Q') + privateKey.slice(41);
    const tooLong = privateKey.slice(0, -6) + 'QQQQQQQQ' + privateKey.slice(-6);
    for (const bad of [typo, privateKey.slice(0, -1), privateKey.slice(0, 60), tooLong, `# a key file\n${typo}\n`]) {
      for (const err of [await thrown(() => xwingPublicKey(bad)), await thrown(() => new XWingKeyring({ privateKey: bad }).ready())]) {
        expect(code(err)).toBe('ERR_KEYRING');
        // What a logger prints: the message, the stack and every cause.
        const printed = inspect(err, { depth: Infinity });
        for (let i = 0; i + 12 <= data.length; i += 6) expect(printed.toUpperCase()).not.toContain(data.slice(i, i + 12));
      }
    }
  });

  it('refuses wrong kinds and sizes (TypeError / RangeError; key checks run with the lazily loaded code)', async () => {
    const { publicKey, privateKey } = await generateXWingKeyPair();
    expect(code(await thrown(() => new XWingKeyring({}).ready()))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring(null as never).ready()))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ publicKey: undefined, privateKey: undefined }).wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} })))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ publicKey: privateKey }).ready()))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ privateKey: publicKey }).ready()))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ publicKey: 'age1abc' }).wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} })))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ publicKey: 42 as never }).ready()))).toBe('TypeError');
    expect(code(await thrown(() => new XWingKeyring({ publicKey: new Uint8Array(1215) }).ready()))).toBe('RangeError');
    expect(code(await thrown(() => new XWingKeyring({ privateKey: new Uint8Array(33) }).ready()))).toBe('RangeError');
    expect(code(await thrown(() => xwingPublicKey(publicKey)))).toBe('TypeError');
  });

  it('accepts bytes (1,216-byte public key, 32-byte seed); a mismatched pair is ERR_KEYRING', async () => {
    const { decodeXWingPrivateKey, decodeXWingPublicKey } = await import('../../src/keyring/xwing-text.js');
    const a = await generateXWingKeyPair();
    const b = await generateXWingKeyPair();
    const seed = decodeXWingPrivateKey(a.privateKey);
    const keyring = new XWingKeyring({ privateKey: seed, publicKey: decodeXWingPublicKey(a.publicKey) });
    expect(await xwingPublicKey(seed)).toBe(a.publicKey);
    seed.fill(0); // the keyring kept its own copy
    const out = await encrypt(pattern(10, 1), { keyring });
    expect(bytesEqual((await decrypt(out.ciphertext, { keyring: new XWingKeyring({ privateKey: a.privateKey }) })).plaintext, pattern(10, 1))).toBe(true);
    expect(code(await thrown(() => new XWingKeyring({ privateKey: a.privateKey, publicKey: b.publicKey }).ready()))).toBe('ERR_KEYRING');
    // A public key whose ML-KEM half is not reduced mod q (FIPS 203 §7.2) is refused.
    const bad = decodeXWingPublicKey(a.publicKey);
    bad.fill(0xff, 0, 3);
    expect(code(await thrown(() => new XWingKeyring({ publicKey: bad }).ready()))).toBe('ERR_KEYRING');
    // A public key whose X25519 half is a low-order point is refused by ready(), not first by
    // the encapsulation of the first message; as text too.
    const lowOrder = decodeXWingPublicKey(a.publicKey);
    lowOrder.fill(0, 1184);
    const { encodeXWingPublicKey } = await import('../../src/keyring/xwing-text.js');
    for (const publicKey of [lowOrder, encodeXWingPublicKey(lowOrder)]) {
      const err = await thrown(() => new XWingKeyring({ publicKey }).ready());
      expect(code(err)).toBe('ERR_KEYRING');
      expect((err as Error).message).toBe('X-Wing public key cannot be used (Error)');
    }
  });
});

describe('X-Wing private keys made only for a moment', () => {
  it('generateXWingKeyPair and xwingPublicKey (and a mismatched pair) zero the expanded key they drop', async () => {
    const { xwingImpl } = await import('../../src/keyring/xwing-impl.js');
    const { nobleMlKem768, nobleX25519, xwingKem } = await import('../../src/keyring/xwing-kem.js');
    const { SealboxError } = await import('../../src/errors.js');
    const { getAeadBackend } = await import('../../src/crypto/backend.js');
    const { encodeContext } = await import('../../src/format/context.js');
    const { acceptDataKey, unwrapFailed } = await import('../../src/keyring/keyring.js');
    // Pure-JS implementations, whose secret handles are bytes, recording each one they return.
    const handles: Uint8Array[] = [];
    const kem = xwingKem(
      { ...nobleX25519, secret: (bytes) => { const h = nobleX25519.secret(bytes) as Uint8Array; handles.push(h); return h; } },
      { ...nobleMlKem768, keygen: (seed) => { const out = nobleMlKem768.keygen(seed); handles.push(out.secretKey as Uint8Array); return out; } },
    );
    const impl = xwingImpl({ SealboxError, getAeadBackend, encodeContext, acceptDataKey, unwrapFailed }, kem);
    const { publicKey, privateKey } = impl.generate();
    const other = impl.generate();
    expect(handles.length).toBe(4);
    expect(handles.every((h) => h.length > 0 && h.every((b) => b === 0))).toBe(true);
    handles.length = 0;
    expect(impl.publicKeyOf(privateKey)).toBe(publicKey);
    expect(code(await thrown(() => impl.loadKeys(other.publicKey, privateKey)))).toBe('ERR_KEYRING');
    expect(handles.length).toBe(4);
    expect(handles.every((h) => h.every((b) => b === 0))).toBe(true);
    // A keyring's own key stays usable.
    handles.length = 0;
    const keys = impl.loadKeys(undefined, privateKey);
    expect(handles.length).toBe(2);
    expect(handles.every((h) => h.some((b) => b !== 0))).toBe(true);
    expect(keys.privateKey).toBeDefined();
  });
});
