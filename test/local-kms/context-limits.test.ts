/**
 * The encryption-context bound (src/limits.ts, MAX_KMS_ENCRYPTION_CONTEXT_BYTES) in every local
 * KMS operation that takes a context, and the grant-constraint bounds AWS documents.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_KMS_ENCRYPTION_CONTEXT_BYTES } from '../../src/limits.js';
import type { LocalKms } from '../../src/local-kms/index.js';
import { errorName, freshKms } from './helpers.js';

let kms: LocalKms;
let cleanup: () => void;
let keyId: string;
let blob: Uint8Array;
const OK = { tenant: 'ok' };

/** A context of exactly `bytes` UTF-8 bytes: key `k` and a value of 2-byte characters (plus one ASCII if odd). */
function contextOf(bytes: number): Record<string, string> {
  const valueBytes = bytes - 1;
  return { k: 'é'.repeat(Math.floor(valueBytes / 2)) + 'x'.repeat(valueBytes % 2) };
}

beforeEach(async () => {
  ({ kms, cleanup } = freshKms());
  keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  blob = (await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: OK })).CiphertextBlob!;
});

afterEach(() => cleanup());

const operations: [string, (context: Record<string, string>) => [string, Record<string, unknown>]][] = [
  ['Encrypt', (c) => ['Encrypt', { KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: c }]],
  ['Decrypt', (c) => ['Decrypt', { CiphertextBlob: blob, EncryptionContext: c }]],
  ['ReEncrypt (source)', (c) => ['ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: c, DestinationKeyId: keyId }]],
  ['ReEncrypt (destination)', (c) => ['ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: OK, DestinationKeyId: keyId, DestinationEncryptionContext: c }]],
  ['GenerateDataKey', (c) => ['GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: c }]],
  ['GenerateDataKeyWithoutPlaintext', (c) => ['GenerateDataKeyWithoutPlaintext', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: c }]],
  ['GenerateDataKeyPair', (c) => ['GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: c }]],
  ['GenerateDataKeyPairWithoutPlaintext', (c) => ['GenerateDataKeyPairWithoutPlaintext', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: c }]],
];

describe(`an encryption context over ${MAX_KMS_ENCRYPTION_CONTEXT_BYTES} UTF-8 bytes`, () => {
  it.each(operations)('%s refuses it with ValidationException', async (_name, request) => {
    const [operation, input] = request(contextOf(MAX_KMS_ENCRYPTION_CONTEXT_BYTES + 1));
    expect(await errorName(kms.execute(operation, input))).toBe('ValidationException');
    // The refusal is audited, as every call is.
    const last = kms.readAudit({ limit: 1 })[0]!;
    expect([last.operation, last.error]).toEqual([operation, 'ValidationException']);
  });

  it('a context of exactly the limit is accepted and round-trips; bytes, not characters, count', async () => {
    const context = contextOf(MAX_KMS_ENCRYPTION_CONTEXT_BYTES);
    expect(context.k!.length).toBeLessThan(MAX_KMS_ENCRYPTION_CONTEXT_BYTES / 2 + 1);
    const enc = await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([7]), EncryptionContext: context });
    const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: context });
    expect(dec.Plaintext).toEqual(new Uint8Array([7]));
  });
});

describe('grant constraints (AWS: at most 8 pairs and 384 characters each)', () => {
  const grant = (constraint: Record<string, string>, kind = 'EncryptionContextSubset') =>
    kms.execute('CreateGrant', {
      KeyId: keyId,
      GranteePrincipal: 'arn:aws:iam::111122223333:user/bob',
      Operations: ['Decrypt'],
      Constraints: { [kind]: constraint },
    });
  const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

  it('accepts 8 pairs and 384 characters', async () => {
    await grant(pairs(8));
    await grant({ k: 'v'.repeat(383) }, 'EncryptionContextEquals');
  });

  it('refuses 9 pairs or 385 characters with ValidationException', async () => {
    expect(await errorName(grant(pairs(9)))).toBe('ValidationException');
    expect(await errorName(grant({ k: 'v'.repeat(384) }, 'EncryptionContextEquals'))).toBe('ValidationException');
    expect(await errorName(grant({ [`${'k'.repeat(200)}`]: 'v'.repeat(185) }))).toBe('ValidationException');
  });
});
