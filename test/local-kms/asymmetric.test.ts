import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants, createHash, createPrivateKey, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import type { LocalKms } from '../../src/local-kms/index.js';
import { errorName, freshKms, type TestClock } from './helpers.js';

let kms: LocalKms;
let clock: TestClock;
let cleanup: () => void;
const msg = new TextEncoder().encode('sign me');

beforeEach(() => ({ kms, clock, cleanup } = freshKms()));
afterEach(() => cleanup());

const key = async (KeySpec: string, KeyUsage: string, Origin?: string): Promise<string> =>
  (await kms.createKey({ KeySpec: KeySpec as never, KeyUsage: KeyUsage as never, ...(Origin ? { Origin: Origin as never } : {}) })).KeyMetadata!.KeyId!;

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

describe('Sign, Verify, GetPublicKey', () => {
  it('every key spec and signing algorithm: the public key verifies with plain node:crypto', async () => {
    for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521']) {
      const id = await key(spec, 'SIGN_VERIFY');
      const pub = await kms.getPublicKey({ KeyId: id });
      expect(pub).toMatchObject({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
      const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
      for (const alg of pub.SigningAlgorithms!) {
        const { Signature, SigningAlgorithm } = await kms.sign({ KeyId: id, Message: msg, SigningAlgorithm: alg });
        expect(SigningAlgorithm).toBe(alg);
        const hash = HASH[alg.slice(-3)]!;
        const options = alg.includes('PSS') ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8 } : { key: publicKey };
        expect(verify(hash, msg, options, Signature!), `${spec} ${alg}`).toBe(true);
        expect((await kms.verify({ KeyId: id, Message: msg, Signature, SigningAlgorithm: alg })).SignatureValid).toBe(true);
        const bad = Signature!.slice();
        bad[bad.length - 1]! ^= 1;
        expect(await errorName(kms.verify({ KeyId: id, Message: msg, Signature: bad, SigningAlgorithm: alg }))).toBe('KMSInvalidSignatureException');
        expect(await errorName(kms.verify({ KeyId: id, Message: new TextEncoder().encode('other'), Signature, SigningAlgorithm: alg }))).toBe('KMSInvalidSignatureException');
      }
    }
  });

  it('DIGEST messages for RSASSA_PKCS1_V1_5; wrong usage, algorithm and sizes are refused', async () => {
    const rsa = await key('RSA_2048', 'SIGN_VERIFY');
    const digest = createHash('sha256').update(msg).digest();
    const { Signature } = await kms.sign({ KeyId: rsa, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
    expect((await kms.verify({ KeyId: rsa, Message: msg, Signature, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })).SignatureValid).toBe(true);
    expect((await kms.verify({ KeyId: rsa, Message: digest, MessageType: 'DIGEST', Signature, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })).SignatureValid).toBe(true);
    expect(await errorName(kms.sign({ KeyId: rsa, Message: digest.subarray(1), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))).toBe('ValidationException');
    expect(await errorName(kms.sign({ KeyId: rsa, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('InvalidKeyUsageException');
    const enc = await key('RSA_2048', 'ENCRYPT_DECRYPT');
    expect(await errorName(kms.sign({ KeyId: enc, Message: msg, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).toBe('InvalidKeyUsageException');
    const sym = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    expect(await errorName(kms.getPublicKey({ KeyId: sym }))).toBe('UnsupportedOperationException');
    await kms.disableKey({ KeyId: rsa });
    expect(await errorName(kms.sign({ KeyId: rsa, Message: msg, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).toBe('DisabledException');
  });

  it('RSA ENCRYPT_DECRYPT public keys encrypt outside KMS and Decrypt opens', async () => {
    const id = await key('RSA_3072', 'ENCRYPT_DECRYPT');
    const pub = await kms.getPublicKey({ KeyId: id });
    expect(pub.EncryptionAlgorithms).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    const ct = publicEncrypt({ key: createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('outside'));
    expect(Buffer.from((await kms.decrypt({ KeyId: id, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).Plaintext!).toString()).toBe('outside');
  });

  it('an RSA ciphertext of any length but the modulus\'s is InvalidCiphertextException, also one cut by its leading zero byte', async () => {
    // RFC 8017 §7.1.2 step 1. OpenSSL left-pads short input, so without the length check a
    // ciphertext whose first byte is 0 (about 1 in 256) also opened with that byte cut off.
    const id = await key('RSA_2048', 'ENCRYPT_DECRYPT');
    const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: id })).PublicKey!), format: 'der', type: 'spki' });
    const ct = oaepWithLeadingZero(pub, Buffer.from('zero'));
    expect(Buffer.from((await kms.decrypt({ KeyId: id, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).Plaintext!).toString()).toBe('zero');
    expect(await errorName(kms.decrypt({ KeyId: id, CiphertextBlob: ct.subarray(1), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.decrypt({ KeyId: id, CiphertextBlob: Buffer.concat([Buffer.alloc(1), ct]), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('InvalidCiphertextException');
  });
});

/** An RSA-OAEP-SHA-256 ciphertext whose first byte is 0 (encrypts until one is; about 256 tries). */
function oaepWithLeadingZero(key: ReturnType<typeof createPublicKey>, plaintext: Buffer): Buffer {
  for (;;) {
    const ct = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
    if (ct[0] === 0) return ct;
  }
}

describe('HMAC', () => {
  it('GenerateMac/VerifyMac for every HMAC spec; a wrong MAC is KMSInvalidMacException', async () => {
    for (const [spec, alg] of [['HMAC_224', 'HMAC_SHA_224'], ['HMAC_256', 'HMAC_SHA_256'], ['HMAC_384', 'HMAC_SHA_384'], ['HMAC_512', 'HMAC_SHA_512']] as const) {
      const id = await key(spec, 'GENERATE_VERIFY_MAC');
      const { Mac } = await kms.generateMac({ KeyId: id, Message: msg, MacAlgorithm: alg });
      expect(Mac!.length).toBe(Number(alg.slice(-3)) / 8);
      expect((await kms.verifyMac({ KeyId: id, Message: msg, Mac, MacAlgorithm: alg })).MacValid).toBe(true);
      const bad = Mac!.slice();
      bad[0]! ^= 1;
      expect(await errorName(kms.verifyMac({ KeyId: id, Message: msg, Mac: bad, MacAlgorithm: alg }))).toBe('KMSInvalidMacException');
    }
    const id = await key('HMAC_256', 'GENERATE_VERIFY_MAC');
    expect(await errorName(kms.generateMac({ KeyId: id, Message: msg, MacAlgorithm: 'HMAC_SHA_512' }))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: msg }))).toBe('InvalidKeyUsageException');
  });
});

describe('data key pairs', () => {
  it('GenerateDataKeyPair: the encrypted private key decrypts back and matches the public key', async () => {
    const sym = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    for (const KeyPairSpec of ['RSA_2048', 'ECC_NIST_P256'] as const) {
      const pair = await kms.generateDataKeyPair({ KeyId: sym, KeyPairSpec, EncryptionContext: { p: '1' } });
      const back = await kms.decrypt({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: { p: '1' } });
      expect(Buffer.from(back.Plaintext!).equals(Buffer.from(pair.PrivateKeyPlaintext!))).toBe(true);
      const derived = createPublicKey(createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
      expect(derived.equals(Buffer.from(pair.PublicKey!))).toBe(true);
      const np = await kms.generateDataKeyPairWithoutPlaintext({ KeyId: sym, KeyPairSpec });
      expect(np).not.toHaveProperty('PrivateKeyPlaintext');
    }
    const rsa = await key('RSA_2048', 'SIGN_VERIFY');
    expect(await errorName(kms.generateDataKeyPair({ KeyId: rsa, KeyPairSpec: 'RSA_2048' }))).toBe('InvalidKeyUsageException');
  });
});

describe('import', () => {
  async function importInto(id: string, material: Buffer, extra: Record<string, unknown> = {}): Promise<void> {
    const p = await kms.getParametersForImport({ KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
    await kms.importKeyMaterial({ KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra });
  }

  it('import: wrapped key material cut by its leading zero byte is InvalidCiphertextException (RFC 8017 §7.1.2)', async () => {
    const id = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    const p = await kms.getParametersForImport({ KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const wrapped = oaepWithLeadingZero(createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), Buffer.alloc(32, 5));
    const args = { KeyId: id, ImportToken: p.ImportToken, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
    expect(await errorName(kms.importKeyMaterial({ ...args, EncryptedKeyMaterial: wrapped.subarray(1) }))).toBe('InvalidCiphertextException');
    await kms.importKeyMaterial({ ...args, EncryptedKeyMaterial: wrapped });
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('EXTERNAL keys wait in PendingImport, work after import, and only take the same material again', async () => {
    const id = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingImport');
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: msg }))).toBe('KMSInvalidStateException');
    const material = Buffer.alloc(32, 3);
    await importInto(id, material);
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const { CiphertextBlob } = await kms.encrypt({ KeyId: id, Plaintext: msg });
    await kms.deleteImportedKeyMaterial({ KeyId: id });
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingImport');
    expect(await errorName(kms.decrypt({ CiphertextBlob }))).toBe('KMSInvalidStateException');
    expect(await errorName(importInto(id, Buffer.alloc(32, 4)))).toBe('IncorrectKeyMaterialException');
    expect(await errorName(importInto(id, Buffer.alloc(16, 3)))).toBe('IncorrectKeyMaterialException');
    await importInto(id, material);
    expect((await kms.decrypt({ CiphertextBlob })).Plaintext).toEqual(msg);
    const aws = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    expect(await errorName(kms.getParametersForImport({ KeyId: aws, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).toBe('UnsupportedOperationException');
  });

  it('a key keeps its 10 newest import parameter sets; expired ones go after a week', async () => {
    const id = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    const other = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    type Params = Awaited<ReturnType<typeof kms.getParametersForImport>>;
    const params: Params[] = [];
    for (let i = 0; i < 11; i++) params.push(await kms.getParametersForImport({ KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const rows = (keyId: string): unknown => kms.database.prepare('SELECT count(*) AS n FROM import_tokens WHERE key_id = (SELECT key_id FROM keys WHERE key_id LIKE ?)').get(`${keyId}%`);
    // Before, every call kept its row (a sealed RSA private key) until an import used it.
    expect(rows(id)).toEqual({ n: 10 });
    const wrap = (p: Params) =>
      publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.alloc(32, 5));
    const importWith = (p: Params) => kms.importKeyMaterial({ KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(await errorName(importWith(params[0]!))).toBe('InvalidImportTokenException');
    await kms.getParametersForImport({ KeyId: other, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    clock.advanceDays(2);
    // Expired a day ago: still recognized as expired.
    expect(await errorName(importWith(params[5]!))).toBe('ExpiredImportTokenException');
    clock.advanceDays(7);
    await kms.getParametersForImport({ KeyId: other, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    expect(rows(id)).toEqual({ n: 0 });
    expect(rows(other)).toEqual({ n: 1 });
  }, 60_000);

  it('tokens expire after 24 hours and belong to one key; material with ValidTo expires to PendingImport', async () => {
    const id = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    const other = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EXTERNAL');
    const p = await kms.getParametersForImport({ KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
    expect(p.ParametersValidTo!.getTime()).toBe(clock.time + 86_400_000);
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.alloc(32, 7));
    expect(await errorName(kms.importKeyMaterial({ KeyId: other, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('InvalidImportTokenException');
    clock.advanceDays(2);
    expect(await errorName(kms.importKeyMaterial({ KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('ExpiredImportTokenException');
    await importInto(id, Buffer.alloc(32, 7), { ValidTo: new Date(clock.time + 3 * 86_400_000), ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    clock.advanceDays(3);
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingImport');
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: msg }))).toBe('KMSInvalidStateException');
  });
});
