// RSA key pairs are made on libuv's thread pool, not on the event loop: an RSA-4096 pair takes
// 0.1-1.5 s here, and made synchronously it held every other request of a KMS server (and every
// other task of the process) for that long. Each test counts event-loop turns (setImmediate)
// while the operation runs: made synchronously, none can run before the call settles.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants, createPrivateKey, createPublicKey, publicEncrypt } from 'node:crypto';
import type { LocalKms } from '../../src/local-kms/index.js';
import { errorName, freshKms } from './helpers.js';

let kms: LocalKms;
let cleanup: () => void;
beforeEach(() => ({ kms, cleanup } = freshKms()));
afterEach(() => cleanup());

/** Runs `op` and counts the event-loop turns taken while it was pending. */
async function turnsDuring<T>(op: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let pending = true;
  const turn = (): void => {
    turns++;
    if (pending) setImmediate(turn);
  };
  setImmediate(turn);
  try {
    return { result: await op(), turns };
  } finally {
    pending = false;
  }
}

const ops = (operation: string): number => kms.readAudit().filter((r) => r.operation === operation).length;

describe('RSA key pairs are made off the event loop', () => {
  it('CreateKey RSA_2048: the loop turns meanwhile; one key, one audit row, and the key works', async () => {
    const { result, turns } = await turnsDuring(() => kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }));
    expect(turns).toBeGreaterThan(0);
    expect((await kms.listKeys()).Keys).toHaveLength(1);
    expect(ops('CreateKey')).toBe(1);
    const keyId = result.KeyMetadata!.KeyId!;
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    const blob = publicEncrypt({ key: createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.from('hi'));
    const { Plaintext } = await kms.decrypt({ KeyId: keyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    expect(Buffer.from(Plaintext!).toString()).toBe('hi');
  });

  it('GenerateDataKeyPair RSA_2048: the loop turns meanwhile, and the pair matches its public key', async () => {
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const { result, turns } = await turnsDuring(() => kms.generateDataKeyPair({ KeyId: keyId, KeyPairSpec: 'RSA_2048' }));
    expect(turns).toBeGreaterThan(0);
    expect(ops('GenerateDataKeyPair')).toBe(1);
    const privateKey = createPrivateKey({ key: Buffer.from(result.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    expect(Buffer.from(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))).toEqual(Buffer.from(result.PublicKey!));
    const { Plaintext } = await kms.decrypt({ CiphertextBlob: result.PrivateKeyCiphertextBlob! });
    expect(Buffer.from(Plaintext!)).toEqual(Buffer.from(result.PrivateKeyPlaintext!));
  });

  it('GetParametersForImport RSA_2048: the loop turns meanwhile, and the wrapping key imports', async () => {
    const keyId = (await kms.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!.KeyId!;
    const { result: p, turns } = await turnsDuring(() => kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    expect(turns).toBeGreaterThan(0);
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.alloc(32, 7));
    await kms.importKeyMaterial({ KeyId: keyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('every check runs again with the pair: a key disabled while the pair is made refuses the call', async () => {
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const call = errorName(kms.generateDataKeyPair({ KeyId: keyId, KeyPairSpec: 'RSA_2048' }));
    await new Promise((resolve) => setImmediate(resolve));
    await kms.disableKey({ KeyId: keyId });
    expect(await call).toBe('DisabledException');
    // One audit row, for the run that counted: the refused one.
    const rows = kms.readAudit().filter((r) => r.operation === 'GenerateDataKeyPair');
    expect(rows.map((r) => r.error)).toEqual(['DisabledException']);
  });

  it('a refused caller gets its error without a pair being made first', async () => {
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    await kms.disableKey({ KeyId: keyId });
    const { result, turns } = await turnsDuring(() => errorName(kms.generateDataKeyPair({ KeyId: keyId, KeyPairSpec: 'RSA_4096' })));
    expect(result).toBe('DisabledException');
    expect(turns).toBe(0);
  });

  it('ECC pairs (a millisecond or less) and executeBatch are made at once, and work', async () => {
    const { turns } = await turnsDuring(() => kms.createKey({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }));
    expect(turns).toBe(0);
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const [r] = await kms.executeBatch([{ operation: 'GenerateDataKeyPair', input: { KeyId: keyId, KeyPairSpec: 'RSA_2048' } }]);
    expect(r!.status).toBe('fulfilled');
  });
});
