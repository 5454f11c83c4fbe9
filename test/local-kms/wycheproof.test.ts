import { describe, expect, it } from 'vitest';
import { constants, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { verifySignature } from '../../src/local-kms/ops-asymmetric.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

interface EcdsaTest { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' }
interface EcdsaGroup { publicKeyDer: string; sha: string; tests: EcdsaTest[] }

describe('Wycheproof ECDSA P-384 / SHA-384 (DER) through the Verify code path', () => {
  const file = loadWycheproof<EcdsaGroup>('ecdsa_secp384r1_sha384_test.json');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
  it('has every case', () => expect(cases.length).toBe(file.numberOfTests));
  it.each(cases.map(({ g, t }) => [t.tcId, g, t] as const))('tcId %i', (_id, g, t) => {
    const key = createPublicKey({ key: Buffer.from(g.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
    expect(verifySignature('ECDSA_SHA_384', key, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'))).toBe(t.result === 'valid');
  });
});

interface OaepTest { tcId: number; ct: string; label: string; msg: string; result: 'valid' | 'invalid' }
interface OaepGroup { privateKeyPkcs8: string; sha: string; tests: OaepTest[] }

describe('Wycheproof RSA-OAEP-2048 SHA-256 through the Decrypt padding settings', () => {
  const file = loadWycheproof<OaepGroup>('rsa_oaep_2048_sha256_mgf1sha256_test.json');
  // KMS never uses an OAEP label: run the empty-label cases.
  const cases = file.testGroups.flatMap((g) => g.tests.filter((t) => t.label === '').map((t) => ({ g, t })));
  it('runs the empty-label cases', () => expect(cases.length).toBeGreaterThan(10));
  it.each(cases.map(({ g, t }) => [t.tcId, g, t] as const))('tcId %i', (_id, g, t) => {
    const key = createPrivateKey({ key: Buffer.from(g.privateKeyPkcs8, 'hex'), format: 'der', type: 'pkcs8' });
    let out: Buffer | undefined;
    try {
      out = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(t.ct, 'hex'));
    } catch {
      out = undefined;
    }
    if (t.result === 'valid') expect(out?.toString('hex')).toBe(t.msg);
    else expect(out).toBeUndefined();
  });
});
