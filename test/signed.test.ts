import { beforeAll, describe, expect, it } from 'vitest';
import {
  decrypt,
  DefaultMaterialsManager,
  encrypt,
  MultiKeyring,
  readHeader,
  SealboxError,
  SIGNING_KEY_CONTEXT_KEY,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384,
} from '../src/index.js';
import type { Keyring, MaterialsManager } from '../src/index.js';
import { rewrap } from '../src/rewrap/index.js';
import { concat } from '../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring, thrown } from './helpers/keys.js';
import { forgeFrame, parse, resignWithOwnKey } from './helpers/forge.js';
import { RawRsaKeyring } from '../src/keyring/raw-rsa.js';
import { XWingKeyring, generateXWingKeyPair } from '../src/keyring/xwing.js';
import { generateKeyPairSync } from 'node:crypto';
import { loadVectors } from './helpers/vectors.js';
import { readableOf } from './helpers/web-streams.js';

// Suite 2 (SPEC §11, issue 20) through one-shot encrypt and decrypt.
const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const keyring: Keyring = new MultiKeyring({ generator: testKeyring('a', 1), children: [testKeyring('b', 2)] });
const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'PLAINTEXT RETURNED';
  } catch (err) {
    return err instanceof SealboxError ? err.code : `non-SealboxError ${String(err)}`;
  }
}

const signed = (plaintext: Uint8Array, extra: Parameters<typeof encrypt>[1] | object = {}): Promise<Uint8Array> =>
  encrypt(plaintext, { keyring, frameLength: 64, suite: SIGNED, encryptionContext: { tenant: 'acme' }, ...extra }).then((r) => r.ciphertext);

describe('suite 2: signed messages, one-shot', () => {
  it.each([0, 1, 63, 64, 65, 150, 1000])('round trip of %i bytes: 96 signature bytes after the final frame', async (n) => {
    const plaintext = pattern(n, 3);
    const { ciphertext, header } = await encrypt(plaintext, { keyring, frameLength: 64, suite: SIGNED, encryptionContext: { tenant: 'acme' } });
    expect(header.suite).toBe(SIGNED);
    expect(header.suite.signed).toBe(true);
    expect(header.encryptionContext[SIGNING_KEY_CONTEXT_KEY]).toMatch(/^[A-Za-z0-9+/]{66}==$/);
    expect(ciphertext.length - parse(ciphertext).end).toBe(96);
    const out = await decrypt(ciphertext, { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(out.plaintext, plaintext)).toBe(true);
    expect(out.encryptionContext.tenant).toBe('acme');
    expect(out.header.suite.id).toBe(2);
  });

  it('uses a fresh key pair for every message, and the default suite stays unsigned', async () => {
    const keys = new Set<string>();
    for (let i = 0; i < 3; i++) keys.add((await readHeader(await signed(pattern(10)))).encryptionContext[SIGNING_KEY_CONTEXT_KEY]!);
    expect(keys.size).toBe(3);
    const { header } = await encrypt(pattern(10), { keyring });
    expect(header.suite).toBe(SUITE_AES256_GCM_HKDF_SHA512_COMMIT);
    expect(header.suite.signed).toBe(false);
    expect(header.encryptionContext[SIGNING_KEY_CONTEXT_KEY]).toBeUndefined();
  });

  it('readHeader shows the suite and whether it is signed', async () => {
    const header = await readHeader(await signed(pattern(5)));
    expect(header.suite.name).toBe('AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384');
    expect(header.suite.signed).toBe(true);
  });

  it('signaturePolicy refuses with ERR_SIGNATURE_POLICY before any keyring is asked', async () => {
    let asked = 0;
    const counting: Keyring = { wrapKey: (r) => keyring.wrapKey(r), unwrapKey: (r) => (asked++, keyring.unwrapKey(r)) };
    const s = await signed(pattern(10));
    const u = (await encrypt(pattern(10), { keyring })).ciphertext;
    expect(await code(decrypt(s, { keyring: counting, signaturePolicy: 'refuse-signed' }))).toBe('ERR_SIGNATURE_POLICY');
    expect(await code(decrypt(u, { keyring: counting, signaturePolicy: 'require-signed' }))).toBe('ERR_SIGNATURE_POLICY');
    expect(asked).toBe(0);
    expect(await code(decrypt(u, { keyring: counting, signaturePolicy: 'refuse-signed' }))).toBe('PLAINTEXT RETURNED');
    expect(await code(decrypt(s, { keyring: counting, signaturePolicy: 'accept-any' }))).toBe('PLAINTEXT RETURNED');
  });

  it('bad suite and policy options are programmer errors', async () => {
    expect(await thrown(() => encrypt(pattern(1), { keyring, suite: { ...SIGNED, id: 4 } }))).toBeInstanceOf(TypeError);
    expect(await thrown(() => encrypt(pattern(1), { keyring, suite: 'signed' as never }))).toBeInstanceOf(TypeError);
    const s = await signed(pattern(1));
    expect(await thrown(() => decrypt(s, { keyring, signaturePolicy: 'require' as never }))).toBeInstanceOf(TypeError);
    // Not a string: a one-element array read as its text once turned the policy around (a
    // signed message refused, an unsigned one, which a forger can write, accepted).
    const u = (await encrypt(pattern(1), { keyring })).ciphertext;
    for (const policy of [['require-signed'], ['accept-any'], { toString: () => 'require-signed' }, 42]) {
      for (const message of [s, u]) expect(await thrown(() => decrypt(message, { keyring, signaturePolicy: policy as never }))).toBeInstanceOf(TypeError);
    }
  });

  it('refuses materials that lost or changed the public key, or are for another suite (ERR_KEYRING)', async () => {
    const inner = new DefaultMaterialsManager(keyring);
    const dropKey: MaterialsManager = {
      getEncryptionMaterials: async (r) => {
        const m = await inner.getEncryptionMaterials(r);
        const { [SIGNING_KEY_CONTEXT_KEY]: _dropped, ...rest } = m.encryptionContext;
        return { ...m, encryptionContext: rest };
      },
      getDecryptionMaterials: (r) => inner.getDecryptionMaterials(r),
    };
    const otherSuite: MaterialsManager = {
      getEncryptionMaterials: (r) => inner.getEncryptionMaterials({ ...r, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT }),
      getDecryptionMaterials: (r) => inner.getDecryptionMaterials(r),
    };
    expect(await code(encrypt(pattern(5), { materialsManager: dropKey, suite: SIGNED }))).toBe('ERR_KEYRING');
    expect(await code(encrypt(pattern(5), { materialsManager: otherSuite, suite: SIGNED }))).toBe('ERR_KEYRING');
  });

  it('a manager that answers with a look-alike of the suite (same id, other fields) still gets a readable message of the suite asked for', async () => {
    const inner = new DefaultMaterialsManager(keyring);
    const changes = [{ derivationId: 1 }, { headerSaltLength: 8 }, { signed: false, signatureLength: 0 }, { derivationId: 2 }, { signed: true, signatureLength: 96 }];
    for (const suite of [SIGNED, SUITE_AES256_GCM_HKDF_SHA512_COMMIT]) {
      for (const change of changes) {
        const lookalike: MaterialsManager = {
          getEncryptionMaterials: async (r) => {
            const m = await inner.getEncryptionMaterials(r);
            return { ...m, suite: { ...m.suite, ...change } };
          },
          getDecryptionMaterials: (r) => inner.getDecryptionMaterials(r),
        };
        const plaintext = pattern(150, 7);
        const { ciphertext, header } = await encrypt(plaintext, { materialsManager: lookalike, suite, frameLength: 64 });
        const what = `${suite.name} ${JSON.stringify(change)}`;
        expect(await code(decrypt(ciphertext, { keyring, signaturePolicy: suite.signed ? 'require-signed' : 'refuse-signed' })), what).toBe('PLAINTEXT RETURNED');
        expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, plaintext), what).toBe(true);
        expect(header.suite, what).toBe(suite);
      }
    }
  });

  describe('every bit flip and every truncation is rejected with a code', () => {
    const samples: Uint8Array[] = [];
    beforeAll(async () => {
      samples.push(await signed(new Uint8Array(0)));
      samples.push(await signed(pattern(150, 5)));
    });
    it.each([0, 1])('sample %i', async (i) => {
      const s = samples[i]!;
      expect(await code(decrypt(s, { keyring }))).toBe('PLAINTEXT RETURNED');
      const codes = new Map<string, number>();
      for (let bit = 0; bit < s.length * 8; bit++) {
        const flipped = s.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const c = await code(decrypt(flipped, { keyring }));
        codes.set(c, (codes.get(c) ?? 0) + 1);
      }
      for (let n = 0; n < s.length; n++) {
        const c = await code(decrypt(s.subarray(0, n), { keyring }));
        codes.set(c, (codes.get(c) ?? 0) + 1);
      }
      for (const c of codes.keys()) expect(c).toMatch(/^ERR_/);
      // Flips in the signature itself: non-canonical (42) or not verifying (43).
      expect(codes.get('ERR_DECRYPTION_FAILED')).toBeGreaterThan(0);
    }, 60_000);
  });

  it('every cut inside the signature is ERR_TRUNCATED, a byte after it ERR_TRAILING_DATA', async () => {
    const s = await signed(pattern(100));
    for (let cut = 1; cut <= 96; cut++) expect(await code(decrypt(s.subarray(0, s.length - cut), { keyring }))).toBe('ERR_TRUNCATED');
    expect(await code(decrypt(concat(s, Uint8Array.of(0)), { keyring }))).toBe('ERR_TRAILING_DATA');
  });

  it('a signature moved onto another message is rejected (ERR_DECRYPTION_FAILED)', async () => {
    const a = await signed(pattern(100, 1));
    const b = await signed(pattern(100, 1));
    const moved = concat(a.subarray(0, a.length - 96), b.subarray(b.length - 96));
    expect(await code(decrypt(moved, { keyring }))).toBe('ERR_DECRYPTION_FAILED');
  });

  it('a high-s or zero signature is non-canonical (ERR_FORMAT_INVALID), though high s would verify', async () => {
    const s = await signed(pattern(20));
    const sig = s.subarray(s.length - 96);
    const sValue = BigInt('0x' + Buffer.from(sig.subarray(48)).toString('hex'));
    expect(sValue <= N >> 1n).toBe(true); // encoders write low s
    const high = s.slice();
    high.set(Buffer.from((N - sValue).toString(16).padStart(96, '0'), 'hex'), s.length - 48);
    expect(await code(decrypt(high, { keyring }))).toBe('ERR_FORMAT_INVALID');
    const zero = s.slice();
    zero.fill(0, s.length - 96, s.length - 48);
    expect(await code(decrypt(zero, { keyring }))).toBe('ERR_FORMAT_INVALID');
  });

  it('the insider test: a recipient who rewrites a frame with the data key is caught by suite 2, not by suite 1', async () => {
    const plaintext = pattern(150, 9);
    const forged = pattern(64, 10);
    const recipient = testKeyring('b', 2); // can unwrap, as every recipient can
    for (const [suite, expected] of [
      [SUITE_AES256_GCM_HKDF_SHA512_COMMIT, 'PLAINTEXT RETURNED'],
      [SIGNED, 'ERR_DECRYPTION_FAILED'],
    ] as const) {
      const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 64, suite });
      for (const index of [0, 2]) {
        const frame = index === 0 ? forged : pattern(22, 11);
        const message = await forgeFrame(ciphertext, recipient, index, frame);
        expect(await code(decrypt(message, { keyring: recipient })), `${suite.name} frame ${index}`).toBe(expected);
        if (expected === 'PLAINTEXT RETURNED') {
          // What suite 1 cannot prevent: the forgery decrypts, to the forger's bytes.
          const out = await decrypt(message, { keyring: recipient });
          expect(bytesEqual(out.plaintext.subarray(index * 64, index * 64 + frame.length), frame)).toBe(true);
        }
      }
    }
  });

  it('the insider who swaps in a signing key of their own and re-signs: the EDKs no longer open (ERR_KEYRING)', async () => {
    const recipient = testKeyring('b', 2);
    const { ciphertext } = await encrypt(pattern(100, 4), { keyring, frameLength: 64, suite: SIGNED });
    const { header } = parse(ciphertext);
    // Their own key pair in the context, the header re-encoded and re-tagged, everything re-signed.
    const forged = await resignWithOwnKey(ciphertext, recipient);
    // The header tag and the signature are now valid; the data key was wrapped under the old context.
    expect(await code(decrypt(forged, { keyring: recipient }))).toBe('ERR_KEYRING');
    // The forgery is otherwise sound: a keyring that did not bind the context would accept it.
    const unbound: Keyring = { wrapKey: (r) => recipient.wrapKey(r), unwrapKey: (r) => recipient.unwrapKey({ ...r, encryptionContext: header.encryptionContext }) };
    expect(await code(decrypt(forged, { keyring: unbound }))).toBe('PLAINTEXT RETURNED');
  });

  it('every bundled keyring that binds the context refuses a header re-signed under an insider\'s key (KmsRsaKeyring does not: test/keyring/kms-rsa.test.ts)', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const xwing = await generateXWingKeyPair();
    const pairs: [string, Keyring, Keyring][] = [
      ['raw AES', testKeyring('b', 2), testKeyring('b', 2)],
      [
        'raw RSA',
        new RawRsaKeyring({ namespace: 'ns', name: 'rsa', publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string }),
        new RawRsaKeyring({ namespace: 'ns', name: 'rsa', privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }),
      ],
      ['X-Wing', new XWingKeyring({ publicKey: xwing.publicKey }), new XWingKeyring({ privateKey: xwing.privateKey })],
    ];
    for (const [name, sender, reader] of pairs) {
      const { ciphertext } = await encrypt(pattern(100, 5), { keyring: sender, frameLength: 64, suite: SIGNED });
      const forged = await resignWithOwnKey(ciphertext, reader, (_, pt) => pt.map((b) => b ^ 1));
      expect(await code(decrypt(forged, { keyring: reader })), name).toBe('ERR_KEYRING');
    }
  });

  it('rewrap refuses a signed message with a code (its signature covers the header)', async () => {
    const s = await signed(pattern(10));
    expect(await code(rewrap(s, { keyring, to: testKeyring('c', 3) }))).toBe('ERR_UNSUPPORTED_VERSION');
  });
});

// SPEC §8.1 stage 7: readHeader checks a signed message's public key as decrypt does before
// asking a keyring (rules 39 and 40), with decrypt's code. The header tag is not checked by
// readHeader, so a key can be rewritten in place (same length) in a real message.
describe('readHeader applies rules 39 and 40', () => {
  const vectors = loadVectors();
  const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn;

  /** `message` with its 68-character public key text replaced by `text` (same length). */
  async function withKeyText(message: Uint8Array, text: string): Promise<Uint8Array> {
    const old = new TextEncoder().encode((await readHeader(message)).encryptionContext[SIGNING_KEY_CONTEXT_KEY]!);
    const replacement = new TextEncoder().encode(text);
    expect(replacement.length).toBe(old.length);
    const at = Buffer.from(message).indexOf(Buffer.from(old));
    expect(at).toBeGreaterThan(0);
    const out = message.slice();
    out.set(replacement, at);
    return out;
  }
  const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

  async function rejectedLikeDecrypt(message: Uint8Array, rule: number): Promise<void> {
    const decrypted = await thrown(() => decrypt(message, { keyring }));
    expect(decrypted, `decrypt, rule ${rule}`).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    for (const source of [message, readableOf(message, 7)]) {
      expect(await thrown(() => readHeader(source)), `readHeader, rule ${rule}`).toMatchObject({ code: (decrypted as SealboxError).code });
    }
  }

  it.each([39, 40])('rule %i: every frozen vector of the rule', async (rule) => {
    const ofRule = vectors.filter((v) => v.rule === rule);
    expect(ofRule.length).toBeGreaterThanOrEqual(rule === 39 ? 3 : 2);
    for (const v of ofRule) {
      const message = Uint8Array.from(Buffer.from(v.ciphertext, 'base64'));
      expect(await thrown(() => readHeader(message)), v.name).toMatchObject({ code: v.expect });
      expect(await thrown(() => readHeader(readableOf(message, 5))), v.name).toMatchObject({ code: v.expect });
    }
  });

  it('rule 39: another base64 alphabet, in a real message', async () => {
    const message = await signed(pattern(10));
    const text = (await readHeader(message)).encryptionContext[SIGNING_KEY_CONTEXT_KEY]!;
    // '-' is base64url's character for 62 ('+' in standard base64).
    const i = text.search(/[+/]/);
    const urlSafe = i >= 0 ? text.slice(0, i) + (text[i] === '+' ? '-' : '_') + text.slice(i + 1) : '-' + text.slice(1);
    await rejectedLikeDecrypt(await withKeyText(message, urlSafe), 39);
  });

  it('rule 40: x >= p, and an x with no point, in a real message', async () => {
    const message = await signed(pattern(10));
    const pBytes = Buffer.from(P.toString(16), 'hex');
    await rejectedLikeDecrypt(await withKeyText(message, b64(Uint8Array.from([0x02, ...pBytes]))), 40);
    // The first x from 1 with no point on P-384 (about half of all x have none).
    let x = 1n;
    const { p384 } = await import('@noble/curves/nist.js');
    for (;; x++) {
      const bytes = Uint8Array.from([0x02, ...Buffer.from(x.toString(16).padStart(96, '0'), 'hex')]);
      try {
        p384.Point.fromBytes(bytes);
      } catch {
        await rejectedLikeDecrypt(await withKeyText(message, b64(bytes)), 40);
        break;
      }
    }
  });

  it('a valid signed header still reads (the check passes canonical on-curve keys)', async () => {
    const message = await signed(pattern(10));
    expect((await readHeader(readableOf(message, 3))).suite.signed).toBe(true);
  });
});
