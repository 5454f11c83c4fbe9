/**
 * Map keys named like Object.prototype members (`__proto__` above all) over HTTP. JSON.parse
 * gives them as own members; the server must keep them so, or an encryption-context pair would
 * silently vanish: not bound to the ciphertext, invisible to key policies and to the audit log.
 */
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  InvalidCiphertextException,
  ListGrantsCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import { KmsKeyring } from '../../src/keyring/kms.js';
import { failure, useServedKms } from './served-kms.js';
import { signedPost } from './signing.js';
import { protoContext } from '../helpers/hostile-names.js';

const served = useServedKms();

describe('an encryption-context key named __proto__ over HTTP', () => {
  it('is an own member of the context the helper builds', () => {
    const ctx = protoContext('v', { app: 'x' });
    expect(Object.hasOwn(ctx, '__proto__')).toBe(true);
    expect(Object.keys(ctx).sort()).toEqual(['__proto__', 'app']);
  });

  it('a Sealbox message encrypted in-process decrypts over HTTP with @aws-sdk/client-kms', async () => {
    const { kms, root } = served;
    const keyArn = (await kms.kms.createKey({})).KeyMetadata!.Arn!;
    const plaintext = new TextEncoder().encode('proto keys travel');
    const { ciphertext } = await encrypt(plaintext, {
      keyring: new KmsKeyring({ generatorKeyId: keyArn, client: kms.kms }),
      encryptionContext: protoContext('tenant-a', { app: 'x' }),
    });
    const out = await decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [keyArn], client: root }) });
    expect(out.plaintext).toEqual(plaintext);
    expect(Object.hasOwn(out.header.encryptionContext, '__proto__')).toBe(true);
    expect(out.header.encryptionContext.__proto__).toBe('tenant-a');
  });

  it('is bound to the ciphertext: another value, or no such key, fails', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await root.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([7]), EncryptionContext: protoContext('one', { app: 'x' }) }),
    );
    const ok = await root.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: protoContext('one', { app: 'x' }) }));
    expect(ok.Plaintext).toEqual(new Uint8Array([7]));
    // In-process, with the same context: the HTTP call bound the same pairs.
    expect((await kms.kms.decrypt({ CiphertextBlob: CiphertextBlob!, EncryptionContext: protoContext('one', { app: 'x' }) })).Plaintext).toEqual(
      new Uint8Array([7]),
    );
    for (const EncryptionContext of [protoContext('two', { app: 'x' }), { app: 'x' }]) {
      expect(await failure(root.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })))).toBeInstanceOf(
        InvalidCiphertextException,
      );
    }
  });

  it('is seen by key-policy conditions and written to the audit log', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'all', Effect: 'Allow', Principal: { AWS: kms.rootCredential.principal }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'not-blocked',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:__proto__': 'blocked' } },
        },
      ],
    });
    await root.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy, BypassPolicyLockoutSafetyCheck: true }));
    await root.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: protoContext('fine', { app: 'x' }) }));
    expect(
      (await failure(root.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1]), EncryptionContext: protoContext('blocked', { app: 'x' }) })))).name,
    ).toBe('AccessDeniedException');
    const rows = kms.kms.readAudit({ limit: 2 });
    expect(rows.map((r) => r.operation)).toEqual(['Encrypt', 'Encrypt']);
    const logged = rows.map((r) => JSON.parse(r.request) as { EncryptionContext?: Record<string, string> });
    expect(logged.map((r) => r.EncryptionContext && Object.hasOwn(r.EncryptionContext, '__proto__') ? r.EncryptionContext.__proto__ : null)).toEqual([
      'fine',
      'blocked',
    ]);
  });

  it('keeps grant constraints naming __proto__, in and out', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const subset = protoContext('g');
    await root.send(
      new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: kms.rootCredential.principal, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: subset } }),
    );
    // The raw response body, as AWS would send it: the constraint is listed, not dropped.
    const res = await signedPost(kms.url, 'TrentService.ListGrants', JSON.stringify({ KeyId: keyId }), kms.rootCredential, kms.region);
    expect(res.text).toContain('"EncryptionContextSubset":{"__proto__":"g"}');
    const listed = await root.send(new ListGrantsCommand({ KeyId: keyId }));
    expect(listed.Grants).toHaveLength(1);
  });

  it('never lends a structure member named __proto__ to the input by inheritance', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // KeyId only inside __proto__: the operation must see no KeyId at all.
    const body = `{"__proto__":{"KeyId":${JSON.stringify(keyId)}},"Plaintext":"AQ=="}`;
    const res = await signedPost(kms.url, 'TrentService.Encrypt', body, kms.rootCredential, kms.region);
    expect(res.status).toBe(400);
    expect(res.json?.__type).toBe('ValidationException');
  });
});
