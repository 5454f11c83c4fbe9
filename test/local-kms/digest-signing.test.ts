/**
 * Sign and Verify with MessageType DIGEST for every signing algorithm (issue 16). AWS KMS API
 * Reference, Sign, MessageType: "Use DIGEST ... for a message digest"; "When the value of
 * MessageType is DIGEST, the length of the Message value must match the length of hashed
 * messages for the specified signing algorithm."
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import type { LocalKms } from '../../src/local-kms/index.js';
import { verifyDigest, type SigningHash } from '../../src/local-kms/digest-signing.js';
import { loadWycheproof } from '../helpers/wycheproof.js';
import { errorName, freshKms } from './helpers.js';

let kms: LocalKms;
let cleanup: () => void;
beforeEach(() => ({ kms, cleanup } = freshKms()));
afterEach(() => cleanup());

const HASH: Record<string, SigningHash> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const message = new TextEncoder().encode('a message signed by its digest');

describe('Sign/Verify with MessageType DIGEST', () => {
  const keys: [string, string[]][] = [
    ['ECC_NIST_P256', ['ECDSA_SHA_256']],
    ['ECC_NIST_P384', ['ECDSA_SHA_384']],
    ['ECC_NIST_P521', ['ECDSA_SHA_512']],
    ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
    ['RSA_2048', ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_512']],
    ['RSA_3072', ['RSASSA_PSS_SHA_384']],
    ['RSA_4096', ['RSASSA_PSS_SHA_512']],
  ];
  it.each(keys)('%s: a signature over the digest verifies with node:crypto as one over the message, and in Verify both ways', async (KeySpec, algorithms) => {
    const id = (await kms.createKey({ KeySpec: KeySpec as never, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const publicKey = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: id })).PublicKey!), format: 'der', type: 'spki' });
    for (const SigningAlgorithm of algorithms) {
      const hash = HASH[SigningAlgorithm.slice(-3)]!;
      const digest = createHash(hash).update(message).digest();
      const { Signature } = await kms.sign({ KeyId: id, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: SigningAlgorithm as never });
      const options = SigningAlgorithm.includes('PSS')
        ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digest.length }
        : { key: publicKey, ...(SigningAlgorithm.startsWith('ECDSA') ? { dsaEncoding: 'der' as const } : {}) };
      expect(verify(hash, message, options, Signature!), SigningAlgorithm).toBe(true);
      // Verify accepts it over the digest and over the message; a RAW signature verifies as DIGEST.
      expect((await kms.verify({ KeyId: id, Message: digest, MessageType: 'DIGEST', Signature, SigningAlgorithm: SigningAlgorithm as never })).SignatureValid).toBe(true);
      expect((await kms.verify({ KeyId: id, Message: message, Signature, SigningAlgorithm: SigningAlgorithm as never })).SignatureValid).toBe(true);
      const raw = (await kms.sign({ KeyId: id, Message: message, SigningAlgorithm: SigningAlgorithm as never })).Signature;
      expect((await kms.verify({ KeyId: id, Message: digest, MessageType: 'DIGEST', Signature: raw, SigningAlgorithm: SigningAlgorithm as never })).SignatureValid).toBe(true);
      // A flipped bit, or another digest, is KMSInvalidSignatureException.
      const bad = Signature!.slice();
      bad[bad.length - 2]! ^= 1;
      expect(await errorName(kms.verify({ KeyId: id, Message: digest, MessageType: 'DIGEST', Signature: bad, SigningAlgorithm: SigningAlgorithm as never }))).toBe('KMSInvalidSignatureException');
      const other = createHash(hash).update('other').digest();
      expect(await errorName(kms.verify({ KeyId: id, Message: other, MessageType: 'DIGEST', Signature, SigningAlgorithm: SigningAlgorithm as never }))).toBe('KMSInvalidSignatureException');
      // The digest length must be the algorithm's hash length, for Sign and Verify.
      for (const wrong of [digest.subarray(1), Buffer.concat([digest, Buffer.alloc(1)]), createHash(hash === 'sha256' ? 'sha384' : 'sha256').update(message).digest()]) {
        expect(await errorName(kms.sign({ KeyId: id, Message: wrong, MessageType: 'DIGEST', SigningAlgorithm: SigningAlgorithm as never }))).toBe('ValidationException');
        expect(await errorName(kms.verify({ KeyId: id, Message: wrong, MessageType: 'DIGEST', Signature, SigningAlgorithm: SigningAlgorithm as never }))).toBe('ValidationException');
      }
    }
  });

  it('ECC_SECG_P256K1: SIGN_VERIFY with ECDSA_SHA_256 only (AWS KMS key spec reference), and a data key pair spec', async () => {
    const id = (await kms.createKey({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const pub = await kms.getPublicKey({ KeyId: id });
    expect(pub).toMatchObject({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    expect(createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
    expect(await errorName(kms.sign({ KeyId: id, Message: message, SigningAlgorithm: 'ECDSA_SHA_384' }))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.createKey({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'ENCRYPT_DECRYPT' }))).toBe('ValidationException');
    const sym = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const pair = await kms.generateDataKeyPair({ KeyId: sym, KeyPairSpec: 'ECC_SECG_P256K1' });
    expect(createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
  });

  it('PSS and ECDSA digest signatures are randomized, as AWS KMS signatures are', async () => {
    for (const [KeySpec, alg] of [['ECC_NIST_P256', 'ECDSA_SHA_256'], ['RSA_2048', 'RSASSA_PSS_SHA_256']] as const) {
      const id = (await kms.createKey({ KeySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
      const digest = createHash('sha256').update(message).digest();
      const a = (await kms.sign({ KeyId: id, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg })).Signature!;
      const b = (await kms.sign({ KeyId: id, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg })).Signature!;
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    }
  });

  it('ECDSA signatures over a digest are not normalized to low S (AWS KMS and OpenSSL do not): both halves occur and verify', async () => {
    const id = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const digest = createHash('sha256').update(message).digest();
    const halves = new Set<boolean>();
    for (let i = 0; i < 24 && halves.size < 2; i++) {
      const sig = (await kms.sign({ KeyId: id, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
      halves.add(p256.Signature.fromBytes(sig, 'der').hasHighS());
    }
    expect(halves.size).toBe(2);
  });
});

interface EcdsaTest { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
interface EcdsaGroup { publicKeyDer: string; sha: string; tests: EcdsaTest[] }
interface PssGroup extends EcdsaGroup { mgfSha: string; sLen: number }

const SHA: Record<string, SigningHash> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/** Runs a Wycheproof signature file through the DIGEST Verify path: the digest of `msg`. */
function wycheproofDigest(file: string, kind: 'ecdsa' | 'pss'): void {
  const data = loadWycheproof<PssGroup>(file);
  const cases = data.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
  it('has every case, and valid and invalid ones', () => {
    expect(cases.length).toBe(data.numberOfTests);
    expect(cases.some(({ t }) => t.result === 'valid') && cases.some(({ t }) => t.result === 'invalid')).toBe(true);
  });
  it.each(cases.map(({ g, t }) => [t.tcId, g, t] as const))('tcId %i', (_id, g, t) => {
    const hash = SHA[g.sha]!;
    if (kind === 'pss') expect([g.mgfSha, g.sLen]).toEqual([g.sha, createHash(hash).digest().length]);
    const key = createPublicKey({ key: Buffer.from(g.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
    const digest = createHash(hash).update(Buffer.from(t.msg, 'hex')).digest();
    expect(verifyDigest(kind, hash, key, digest, Buffer.from(t.sig, 'hex'))).toBe(t.result === 'valid');
  });
}

describe('Wycheproof ECDSA P-256 / SHA-256 (DER) through the DIGEST Verify path', () => wycheproofDigest('ecdsa_secp256r1_sha256_test.json', 'ecdsa'));
describe('Wycheproof ECDSA P-384 / SHA-384 (DER) through the DIGEST Verify path', () => wycheproofDigest('ecdsa_secp384r1_sha384_test.json', 'ecdsa'));
describe('Wycheproof RSASSA-PSS 2048 / SHA-256 / MGF1-SHA-256 / salt 32 through the DIGEST Verify path', () => wycheproofDigest('rsa_pss_2048_sha256_mgf1_32_test.json', 'pss'));
