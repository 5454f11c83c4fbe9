import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { shake256 } from '@noble/hashes/sha3.js';
import type { LocalKms } from '../../src/local-kms/index.js';
import { mlDsa, mlDsaSign, mlDsaSpki, mlDsaSpkiOf, mlDsaVerify, nobleMlDsa, nodeMlDsa } from '../../src/local-kms/ml-dsa.js';
import type { MlDsa } from '../../src/local-kms/ml-dsa.js';
import { NODE_HAS_NATIVE_PQ, NODE_LACKS_NATIVE_PQ } from '../helpers/node-pq.js';
import { loadWycheproof } from '../helpers/wycheproof.js';
import { freshKms } from './helpers.js';

// ML-DSA keys in the local KMS (issue 15): key specs, Sign / Verify with RAW and EXTERNAL_MU,
// GetPublicKey's SPKI, AWS's errors and limits; signatures checked with @noble/post-quantum and
// with node:crypto where this Node has ML-DSA; Wycheproof for the calls the KMS makes. Node 24
// runs the native implementation and the noble fallback; Node 20 and 22 the fallback only.

const DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;
const SIZES = { ML_DSA_44: [1312, 2420], ML_DSA_65: [1952, 3309], ML_DSA_87: [2592, 4627] } as const;
const OID_LAST = { ML_DSA_44: 0x11, ML_DSA_65: 0x12, ML_DSA_87: 0x13 } as const;
const NODE_HAS_ML_DSA = (() => {
  try {
    createPublicKey({ key: Buffer.from(mlDsaSpkiOf('ML_DSA_44', ml_dsa44.keygen(new Uint8Array(32)).publicKey)), format: 'der', type: 'spki' });
    return true;
  } catch {
    return false;
  }
})();

/** FIPS 204 §6.2 (Algorithm 7 line 6) with an empty context: μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ 0 ‖ M, 64). */
const mu = (pk: Uint8Array, msg: Uint8Array) => shake256(Buffer.concat([shake256(pk, { dkLen: 64 }), Buffer.of(0, 0), msg]), { dkLen: 64 });

/** The implementations this Node has. */
const IMPLS: [string, MlDsa][] = [['noble', nobleMlDsa]];
if (nodeMlDsa) IMPLS.push(['node', nodeMlDsa]);

describe('the ML-DSA implementation chosen', () => {
  it('node:crypto on Node >= 24.7, @noble/post-quantum on Node 20 and 22', () => {
    if (NODE_HAS_NATIVE_PQ) expect(mlDsa.name).toBe('node');
    if (NODE_LACKS_NATIVE_PQ) expect(nodeMlDsa).toBeUndefined();
    expect(mlDsa).toBe(nodeMlDsa ?? nobleMlDsa);
  });
});

describe.each(Object.keys(DSA) as (keyof typeof DSA)[])('%s: every implementation gives the same key, and each verifies the others', (spec) => {
  it.each(IMPLS)('%s', (_name, impl) => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const msg = crypto.getRandomValues(new Uint8Array(100));
    const ref = DSA[spec].keygen(seed);
    expect(Buffer.from(impl.publicKey(spec, seed)).equals(Buffer.from(ref.publicKey))).toBe(true);
    expect(Buffer.from(mlDsaSpki(spec, seed, impl)).equals(Buffer.from(mlDsaSpkiOf(spec, ref.publicKey)))).toBe(true);
    for (const [, other] of IMPLS) {
      const sig = mlDsaSign(spec, seed, msg, false, impl);
      expect(sig.length).toBe(SIZES[spec][1]);
      expect(mlDsaVerify(spec, seed, msg, false, sig, other)).toBe(true);
      expect(DSA[spec].verify(sig, msg, ref.publicKey)).toBe(true);
      const theirs = mlDsaSign(spec, seed, msg, false, other);
      expect(impl.verify(spec, seed, msg, theirs)).toBe(true);
      const bad = theirs.slice();
      bad[7]! ^= 0x10;
      expect(impl.verify(spec, seed, msg, bad)).toBe(false);
      expect(impl.verify(spec, seed, msg.subarray(1), theirs)).toBe(false);
      expect(impl.verify(spec, seed, msg, theirs.subarray(0, 100))).toBe(false);
      expect(impl.verify(spec, seed, msg, new Uint8Array(0))).toBe(false);
    }
    // EXTERNAL_MU is noble's on every path (node:crypto takes no μ); its signature verifies as RAW.
    const external = mlDsaSign(spec, seed, mu(ref.publicKey, msg), true, impl);
    expect(impl.verify(spec, seed, msg, external)).toBe(true);
    expect(mlDsaVerify(spec, seed, mu(ref.publicKey, msg), true, mlDsaSign(spec, seed, msg, false, impl), impl)).toBe(true);
  });
});

let kms: LocalKms;
let cleanup: () => void;
beforeEach(() => ({ kms, cleanup } = freshKms()));
afterEach(() => cleanup());

const thrownName = async (f: () => unknown): Promise<string> => {
  try {
    await f();
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
};

describe.each(Object.keys(DSA) as (keyof typeof DSA)[])('%s keys', (spec) => {
  it('sign RAW and EXTERNAL_MU; the SPKI and signatures verify with noble (and node:crypto when it has ML-DSA)', async () => {
    const { KeyMetadata } = await kms.createKey({ KeySpec: spec as never, KeyUsage: 'SIGN_VERIFY' });
    expect(KeyMetadata).toMatchObject({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
    const id = KeyMetadata!.KeyId!;
    const pub = await kms.getPublicKey({ KeyId: id });
    expect(pub).toMatchObject({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
    const spki = pub.PublicKey!;
    const [pkBytes, sigBytes] = SIZES[spec];
    const pk = spki.subarray(spki.length - pkBytes);
    // SEQUENCE { SEQUENCE { OID 2.16.840.1.101.3.4.3.17/18/19 } BIT STRING (0 unused bits) pk }
    expect(Buffer.from(mlDsaSpkiOf(spec, pk)).equals(Buffer.from(spki))).toBe(true);
    expect(Buffer.from(spki.subarray(4, 17)).toString('hex')).toBe(`300b06096086480165030403${OID_LAST[spec].toString(16)}`);

    const msg = new TextEncoder().encode('post-quantum signature');
    const raw = await kms.sign({ KeyId: id, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ML_DSA_SHAKE_256' as never });
    expect(raw.Signature!.length).toBe(sigBytes);
    expect(DSA[spec].verify(raw.Signature!, msg, pk)).toBe(true);
    expect(DSA[spec].verify(raw.Signature!, Buffer.from('other'), pk)).toBe(false);
    // EXTERNAL_MU: the caller's μ of the same message gives a signature over the message.
    const external = await kms.sign({ KeyId: id, Message: mu(pk, msg), MessageType: 'EXTERNAL_MU' as never, SigningAlgorithm: 'ML_DSA_SHAKE_256' as never });
    expect(DSA[spec].verify(external.Signature!, msg, pk)).toBe(true);
    // Verify in the KMS, both message types, and a changed byte refused.
    expect((await kms.verify({ KeyId: id, Message: msg, Signature: external.Signature!, SigningAlgorithm: 'ML_DSA_SHAKE_256' as never })).SignatureValid).toBe(true);
    expect((await kms.verify({ KeyId: id, Message: mu(pk, msg), MessageType: 'EXTERNAL_MU' as never, Signature: raw.Signature!, SigningAlgorithm: 'ML_DSA_SHAKE_256' as never })).SignatureValid).toBe(true);
    const bad = raw.Signature!.slice();
    bad[10]! ^= 1;
    expect(await thrownName(() => kms.verify({ KeyId: id, Message: msg, Signature: bad, SigningAlgorithm: 'ML_DSA_SHAKE_256' as never }))).toBe('KMSInvalidSignatureException');
    expect(await thrownName(() => kms.verify({ KeyId: id, Message: msg, Signature: raw.Signature!.subarray(1), SigningAlgorithm: 'ML_DSA_SHAKE_256' as never }))).toBe('KMSInvalidSignatureException');
    if (NODE_HAS_ML_DSA) {
      const { verify } = await import('node:crypto');
      expect(verify(null, msg, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), raw.Signature!)).toBe(true);
    }
  });
});

describe('ML-DSA errors and limits, as AWS KMS states them', () => {
  it('RAW up to 4096 bytes, EXTERNAL_MU exactly 64, no DIGEST, only ML_DSA_SHAKE_256, SIGN_VERIFY only', async () => {
    const id = (await kms.createKey({ KeySpec: 'ML_DSA_44' as never, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const sign = (Message: Uint8Array, MessageType?: string, SigningAlgorithm = 'ML_DSA_SHAKE_256') =>
      thrownName(() => kms.sign({ KeyId: id, Message, ...(MessageType ? { MessageType: MessageType as never } : {}), SigningAlgorithm: SigningAlgorithm as never }));
    expect(await sign(new Uint8Array(4096))).toBe('no error');
    expect(await sign(new Uint8Array(4097))).toBe('ValidationException');
    expect(await sign(new Uint8Array(64), 'EXTERNAL_MU')).toBe('no error');
    expect(await sign(new Uint8Array(63), 'EXTERNAL_MU')).toBe('ValidationException');
    expect(await sign(new Uint8Array(65), 'EXTERNAL_MU')).toBe('ValidationException');
    expect(await sign(new Uint8Array(32), 'DIGEST')).toBe('ValidationException');
    expect(await sign(new Uint8Array(32), 'RAW', 'ECDSA_SHA_256')).toBe('InvalidKeyUsageException');
    expect(await thrownName(() => kms.createKey({ KeySpec: 'ML_DSA_65' as never, KeyUsage: 'ENCRYPT_DECRYPT' }))).toBe('ValidationException');
    // EXTERNAL_MU is for ML-DSA keys only.
    const ec = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    expect(await thrownName(() => kms.sign({ KeyId: ec, Message: new Uint8Array(64), MessageType: 'EXTERNAL_MU' as never, SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('ValidationException');
  });
});

// File names written out: test/wycheproof-files.test.ts checks that each file's reader names it.
describe.each([
  ['44', 'mldsa_44_verify_test.json', 'mldsa_44_sign_seed_test.json'],
  ['65', 'mldsa_65_verify_test.json', 'mldsa_65_sign_seed_test.json'],
  ['87', 'mldsa_87_verify_test.json', 'mldsa_87_sign_seed_test.json'],
] as const)('Wycheproof ML-DSA-%s', (level, verifyFile, signFile) => {
  const spec = `ML_DSA_${level}` as keyof typeof DSA;
  const dsa = DSA[spec];

  it(`${verifyFile}: verify, and the SPKI encoding`, () => {
    interface T { tcId: number; msg: string; sig: string; ctx?: string; result: string }
    const file = loadWycheproof<{ publicKey: string; publicKeyDer: string; tests: T[] }>(verifyFile);
    let n = 0;
    for (const g of file.testGroups) {
      const pk = Buffer.from(g.publicKey, 'hex');
      // Groups with a malformed public key have no DER form to compare.
      if (g.publicKeyDer && pk.length === SIZES[spec][0]) expect(Buffer.from(mlDsaSpkiOf(spec, pk)).toString('hex')).toBe(g.publicKeyDer);
      for (const t of g.tests) {
        let ok: boolean;
        try {
          ok = dsa.verify(Buffer.from(t.sig, 'hex'), Buffer.from(t.msg, 'hex'), pk, t.ctx ? { context: Buffer.from(t.ctx, 'hex') } : {});
        } catch {
          ok = false;
        }
        expect(ok, `tcId ${t.tcId}`).toBe(t.result === 'valid');
        n++;
      }
    }
    expect(n).toBe(file.numberOfTests);
  });

  it.each(IMPLS)(`${signFile}: the public key of each seed, and RAW signatures with no context verify (%s)`, (_name, impl) => {
    interface T { tcId: number; msg?: string; sig: string; ctx?: string; result: string }
    const file = loadWycheproof<{ privateSeed: string; publicKey: string; tests: T[] }>(signFile);
    let n = 0;
    for (const g of file.testGroups) {
      const seed = Buffer.from(g.privateSeed, 'hex');
      if (seed.length !== 32) {
        expect(() => impl.publicKey(spec, seed)).toThrow();
        continue;
      }
      expect(Buffer.from(impl.publicKey(spec, seed)).toString('hex')).toBe(g.publicKey);
      for (const t of g.tests) {
        if (t.result !== 'valid' || t.msg === undefined || t.ctx) continue;
        expect(impl.verify(spec, seed, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex')), `tcId ${t.tcId}`).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThan(10);
  });

  it(`${signFile}: keys from the seed, μ, and the signatures verify`, () => {
    interface T { tcId: number; msg?: string; mu?: string; sig: string; ctx?: string; result: string; flags: string[] }
    const file = loadWycheproof<{ privateSeed: string; publicKey: string; tests: T[] }>(signFile);
    let n = 0;
    for (const g of file.testGroups) {
      const seed = Buffer.from(g.privateSeed, 'hex');
      for (const t of g.tests) {
        n++;
        if (t.result === 'invalid') {
          // A seed of the wrong length, or a context over 255 bytes: refused.
          expect(() => dsa.sign(Buffer.from(t.msg ?? '', 'hex'), dsa.keygen(seed).secretKey, t.ctx ? { context: Buffer.from(t.ctx, 'hex') } : {}), `tcId ${t.tcId}`).toThrow();
          continue;
        }
        const { publicKey } = dsa.keygen(seed);
        expect(Buffer.from(publicKey).toString('hex'), `tcId ${t.tcId}`).toBe(g.publicKey);
        if (t.msg === undefined) {
          // "Internal" cases give μ only: the EXTERNAL_MU path the KMS uses.
          expect(dsa.internal.verify(Buffer.from(t.sig, 'hex'), Buffer.from(t.mu!, 'hex'), publicKey, { externalMu: true }), `tcId ${t.tcId}`).toBe(true);
          continue;
        }
        const msg = Buffer.from(t.msg, 'hex');
        if (!t.ctx && t.mu) expect(Buffer.from(mu(publicKey, msg)).toString('hex'), `tcId ${t.tcId}`).toBe(t.mu);
        expect(dsa.verify(Buffer.from(t.sig, 'hex'), msg, publicKey, t.ctx ? { context: Buffer.from(t.ctx, 'hex') } : {}), `tcId ${t.tcId}`).toBe(true);
      }
    }
    expect(n).toBe(file.numberOfTests);
  });
});
