/**
 * Encryption-context keys named like Object.prototype members, in process: bound, seen by
 * policy conditions and grant constraints, and written to the audit log like any other key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sanitizeRequest } from '../../src/local-kms/audit.js';
import { errorName, freshKms } from './helpers.js';
import { protoContext } from '../helpers/hostile-names.js';

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe('sanitizeRequest', () => {
  it('logs map keys named __proto__ or constructor like any other key', () => {
    const logged = JSON.parse(sanitizeRequest({ EncryptionContext: protoContext('v', { constructor: 'c' }) })) as {
      EncryptionContext: Record<string, string>;
    };
    expect(Object.hasOwn(logged.EncryptionContext, '__proto__')).toBe(true);
    expect(logged.EncryptionContext.__proto__).toBe('v');
    expect(logged.EncryptionContext.constructor).toBe('c');
  });
});

describe('LocalKms with a __proto__ context key', () => {
  it('binds it and audits it', async () => {
    const f = freshKms();
    cleanup = f.cleanup;
    const { kms } = f;
    const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: protoContext('a') });
    expect(await errorName(kms.decrypt({ CiphertextBlob: CiphertextBlob!, EncryptionContext: protoContext('b') }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.decrypt({ CiphertextBlob: CiphertextBlob!, EncryptionContext: {} }))).toBe('InvalidCiphertextException');
    await kms.decrypt({ CiphertextBlob: CiphertextBlob!, EncryptionContext: protoContext('a') });
    const rows = kms.readAudit({ limit: 1 });
    const request = JSON.parse(rows[0]!.request) as { EncryptionContext: Record<string, string> };
    expect(rows[0]!.operation).toBe('Decrypt');
    expect(Object.hasOwn(request.EncryptionContext, '__proto__')).toBe(true);
    expect(request.EncryptionContext.__proto__).toBe('a');
  });
});
