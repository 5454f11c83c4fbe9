import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import type { SealboxError } from '../../src/errors.js';
import { KmsKeyring } from '../../src/keyring/kms.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { KmsRsaKeyring } from '../../src/keyring/kms-rsa.js';
import { MultiKeyring } from '../../src/keyring/multi.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { bytesEqual, pattern, thrown } from '../helpers/keys.js';
import { resignWithOwnKey } from '../helpers/forge.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/crypto/suites.js';
import type { Keyring } from '../../src/keyring/keyring.js';

const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-rsa-'));
let kms: LocalKms;
let rsaKey: string;
let publicPem: string;
let symmetricKey: string;
let signingKey: string;

/** The local KMS, recording each operation it is asked for. */
function recording(calls: string[], fail?: (op: string) => Error | undefined): KmsClientLike {
  return {
    send: () => Promise.reject(new Error('execute is used for LocalKms')),
    async execute(op: string, input: unknown) {
      calls.push(op);
      const err = fail?.(op);
      if (err) throw err;
      return kms.execute(op, input as Record<string, unknown>);
    },
  };
}
const noKms: KmsClientLike = {
  send: () => Promise.reject(new Error('no KMS call expected')),
  execute: () => Promise.reject(new Error('no KMS call expected')),
};

beforeAll(async () => {
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(8) });
  rsaKey = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.Arn!;
  symmetricKey = (await kms.createKey({})).KeyMetadata!.Arn!;
  signingKey = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.Arn!;
  const { PublicKey } = (await kms.execute('GetPublicKey', { KeyId: rsaKey })) as { PublicKey: Uint8Array };
  publicPem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(PublicKey).toString('base64')}\n-----END PUBLIC KEY-----\n`;
});
afterAll(() => {
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KmsRsaKeyring (against the local KMS in-process)', () => {
  it('with the public key, encrypt makes no KMS call; KMS Decrypt opens the data key', async () => {
    const data = pattern(4000, 1);
    const sender = new KmsRsaKeyring({ keyId: rsaKey, publicKey: publicPem, client: noKms });
    const { ciphertext, header } = await encrypt(data, { keyring: sender, encryptionContext: { tenant: 'a' } });
    const [edk] = header.encryptedDataKeys;
    expect(edk!.providerId).toBe('aws-kms-rsa');
    expect(new TextDecoder().decode(edk!.providerInfo)).toBe(rsaKey);
    expect(edk!.ciphertext.length).toBe(256);
    const calls: string[] = [];
    const recipient = new KmsRsaKeyring({ keyId: rsaKey, client: recording(calls) });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: recipient })).plaintext, data)).toBe(true);
    expect(calls).toEqual(['Decrypt']);
  });

  it('without the public key, GetPublicKey runs once for all messages; SHA-1 OAEP works too', async () => {
    for (const encryptionAlgorithm of ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1'] as const) {
      const calls: string[] = [];
      const keyring = new KmsRsaKeyring({ keyId: rsaKey, client: recording(calls), encryptionAlgorithm });
      for (let i = 0; i < 3; i++) {
        const { ciphertext } = await encrypt(pattern(100, i), { keyring });
        expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, pattern(100, i))).toBe(true);
      }
      expect(calls).toEqual(['GetPublicKey', 'Decrypt', 'Decrypt', 'Decrypt']);
    }
  });

  it('a failed GetPublicKey is reported as ERR_KEYRING and tried again on the next encrypt', async () => {
    const calls: string[] = [];
    let flaky = true;
    const keyring = new KmsRsaKeyring({
      keyId: rsaKey,
      client: recording(calls, (op) => (op === 'GetPublicKey' && flaky ? Object.assign(new Error('throttled'), { name: 'ThrottlingException' }) : undefined)),
    });
    const err = (await thrown(() => encrypt(pattern(10, 1), { keyring }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
    expect((err.cause as Error).name).toBe('ThrottlingException');
    flaky = false;
    await encrypt(pattern(10, 1), { keyring });
    expect(calls).toEqual(['GetPublicKey', 'GetPublicKey']);
  });

  it('a symmetric or a signing key cannot be used: ERR_KEYRING naming why', async () => {
    const symmetric = (await thrown(() => encrypt(pattern(10, 2), { keyring: new KmsRsaKeyring({ keyId: symmetricKey, client: kms }) }))) as SealboxError;
    expect(symmetric.code).toBe('ERR_KEYRING');
    expect((symmetric.cause as Error).name).toBe('UnsupportedOperationException');
    const signing = (await thrown(() => encrypt(pattern(10, 2), { keyring: new KmsRsaKeyring({ keyId: signingKey, client: kms }) }))) as SealboxError;
    expect(signing.code).toBe('ERR_KEYRING');
    expect(signing.message).toMatch(/not an RSA ENCRYPT_DECRYPT key/);
  });

  it('decrypt: a tampered EDK or a disabled key is ERR_KEYRING with the KMS exception; other keys are "not mine"', async () => {
    const { ciphertext, header } = await encrypt(pattern(10, 3), { keyring: new KmsRsaKeyring({ keyId: rsaKey, publicKey: publicPem }) });
    const edk = header.encryptedDataKeys[0]!;
    const recipient = new KmsRsaKeyring({ keyId: rsaKey, client: kms });
    const tampered = { ...edk, ciphertext: Uint8Array.from(edk.ciphertext, (b, i) => (i === 7 ? b ^ 1 : b)) };
    const bad = (await thrown(() => recipient.unwrapKey({ suite: header.suite, encryptionContext: {}, encryptedDataKeys: [tampered] }))) as SealboxError;
    expect(bad.code).toBe('ERR_KEYRING');
    expect((bad.cause as Error).name).toBe('InvalidCiphertextException');
    const other = new KmsRsaKeyring({ keyId: signingKey, client: kms });
    expect(await other.unwrapKey({ suite: header.suite, encryptionContext: {}, encryptedDataKeys: [edk] })).toBeNull();
    await kms.execute('DisableKey', { KeyId: rsaKey });
    try {
      const disabled = (await thrown(() => decrypt(ciphertext, { keyring: recipient }))) as SealboxError;
      expect(disabled.code).toBe('ERR_KEYRING');
      expect((disabled.cause as Error).name).toBe('DisabledException');
    } finally {
      await kms.execute('EnableKey', { KeyId: rsaKey });
    }
  });

  it('next to a symmetric KMS key in a MultiKeyring: either key decrypts alone', async () => {
    const keyring = new MultiKeyring({ generator: new KmsKeyring({ generatorKeyId: symmetricKey, client: kms }), children: [new KmsRsaKeyring({ keyId: rsaKey, publicKey: publicPem })] });
    const { ciphertext, header } = await encrypt(pattern(500, 4), { keyring, encryptionContext: { purpose: 'mixed' } });
    expect(header.encryptedDataKeys.map((e) => e.providerId)).toEqual(['aws-kms', 'aws-kms-rsa']);
    for (const only of [new KmsKeyring({ keyIds: [symmetricKey], client: kms }), new KmsRsaKeyring({ keyId: rsaKey, client: kms })]) {
      expect(bytesEqual((await decrypt(ciphertext, { keyring: only })).plaintext, pattern(500, 4))).toBe(true);
    }
  });

  it('refuses bad options', () => {
    expect(() => new KmsRsaKeyring({ keyId: 'alias/x', client: kms })).toThrow(TypeError);
    expect(() => new KmsRsaKeyring({ keyId: rsaKey, client: kms, encryptionAlgorithm: 'RSAES_PKCS1_V1_5' as never })).toThrow(RangeError);
    expect(() => new KmsRsaKeyring({ keyId: rsaKey, client: kms, encryptionAlgorithm: 'toString' as never })).toThrow(RangeError);
    expect(() => new KmsRsaKeyring({ keyId: rsaKey, client: kms, clientSupplier: () => kms })).toThrow(TypeError);
    expect(() => new KmsRsaKeyring({ keyId: rsaKey, publicKey: '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----' })).toThrow(TypeError);
  });
});

// SPEC §11.1: a signed message keeps recipients from forging it only through keyrings that bind
// the encryption context (and so the message's public key) into the wrap. KMS takes no context
// with asymmetric keys: whoever may call Decrypt on the RSA key could put a key pair of their own
// in the header and re-sign, and the RSA EDK would still open. So KmsRsaKeyring takes no part in
// signed messages: it refuses to wrap for one and to unwrap one, before any KMS call.
describe('KmsRsaKeyring and the signed suite', () => {
  const signed = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
  /** The RSA keyring made to wrap and unwrap for a signed message anyway (as a sender of an older version, or a forger, could). */
  const unguarded = (rsa: KmsRsaKeyring): Keyring => ({
    wrapKey: (r) => rsa.wrapKey({ ...r, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT }),
    unwrapKey: (r) => rsa.unwrapKey({ ...r, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT }),
  });

  it('refuses to wrap a signed message\'s data key, alone or in a multi-keyring, with no KMS call', async () => {
    const calls: string[] = [];
    const rsa = new KmsRsaKeyring({ keyId: rsaKey, publicKey: publicPem, client: recording(calls) });
    for (const keyring of [rsa, new MultiKeyring({ generator: new KmsKeyring({ generatorKeyId: symmetricKey, client: kms }), children: [rsa] })]) {
      const err = (await thrown(() => encrypt(pattern(10, 1), { keyring, suite: signed }))) as SealboxError;
      expect(err.code).toBe('ERR_KEYRING');
      expect(err.message).toMatch(/signed message/);
    }
    expect(calls).toEqual([]);
    // Unsigned messages are unchanged.
    const { ciphertext } = await encrypt(pattern(10, 1), { keyring: rsa });
    expect((await decrypt(ciphertext, { keyring: new KmsRsaKeyring({ keyId: rsaKey, client: kms }) })).plaintext.length).toBe(10);
  });

  it('an insider with Decrypt on the RSA key re-signs a signed message: an RSA reader refuses it (no KMS call), a symmetric-key reader too', async () => {
    const calls: string[] = [];
    const rsa = new KmsRsaKeyring({ keyId: rsaKey, client: recording(calls) });
    const symmetric = new KmsKeyring({ generatorKeyId: symmetricKey, client: kms });
    const sender = new MultiKeyring({ generator: symmetric, children: [unguarded(new KmsRsaKeyring({ keyId: rsaKey, client: kms }))] });
    const data = pattern(300, 5);
    const { ciphertext } = await encrypt(data, { keyring: sender, frameLength: 128, suite: signed });
    const evil = pattern(300, 6);
    const forged = await resignWithOwnKey(ciphertext, unguarded(new KmsRsaKeyring({ keyId: rsaKey, client: kms })), (i, pt) => evil.subarray(i * 128, i * 128 + pt.length));
    // Before: the RSA reader accepted the forgery, with require-signed too.
    for (const message of [forged, ciphertext]) {
      const err = (await thrown(() => decrypt(message, { keyring: rsa, signaturePolicy: 'require-signed' }))) as SealboxError;
      expect(err.code).toBe('ERR_KEYRING');
      expect(err.message).toMatch(/signed message/);
    }
    expect(calls).toEqual([]);
    expect(((await thrown(() => decrypt(forged, { keyring: symmetric }))) as SealboxError).code).toBe('ERR_KEYRING');
    // The genuine message still opens through the symmetric key, also in a multi-keyring with the RSA one.
    const reader = new MultiKeyring({ children: [rsa, symmetric] });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: reader, signaturePolicy: 'require-signed' })).plaintext, data)).toBe(true);
  });

  it('a signed message with no EDK of the RSA key is "not mine", as an unsigned one is: not the signed refusal', async () => {
    const rsa = new KmsRsaKeyring({ keyId: rsaKey, client: noKms });
    const symmetric = new KmsKeyring({ generatorKeyId: symmetricKey, client: kms });
    const unsigned = (await encrypt(pattern(10, 7), { keyring: symmetric })).ciphertext;
    const signedMessage = (await encrypt(pattern(10, 7), { keyring: symmetric, suite: signed })).ciphertext;
    const notMine = (await thrown(() => decrypt(unsigned, { keyring: rsa }))) as SealboxError;
    const err = (await thrown(() => decrypt(signedMessage, { keyring: rsa }))) as SealboxError;
    expect(err.code).toBe(notMine.code);
    expect(err.code).not.toBe('ERR_KEYRING');
    expect(err.message).not.toMatch(/signed message/);
  });
});
