/**
 * Key policies over HTTP, as a second principal with its own access key sees them: a policy
 * whose text reads stricter than JSON.parse reads it (a name twice in one object), or that names
 * a principal no caller can be, is refused at PutKeyPolicy (MalformedPolicyDocumentException),
 * so the principal it was meant to stop stays stopped (docs/kms-server.md, "Key policies").
 */
import { DecryptCommand, EncryptCommand, GetKeyPolicyCommand, PutKeyPolicyCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { failure, useServedKms } from './served-kms.js';

const served = useServedKms();

describe('PutKeyPolicy over HTTP refuses what it would not enforce as written', () => {
  it.each([
    ['an Effect twice (Deny, then Allow)', (m: string) => `{"Effect":"Deny","Effect":"Allow","Principal":{"AWS":"${m}"},"Action":"kms:Decrypt","Resource":"*"}`],
    ['a condition operator twice', (m: string) => `{"Effect":"Allow","Principal":{"AWS":"${m}"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"mallory"},"StringEquals":{"kms:CallerAccount":"${served.kms.accountId}"}}}`],
    ['a Deny naming a user group', () => `{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::${served.kms.accountId}:group/contractors"},"Action":"kms:Decrypt","Resource":"*"}`],
  ])('%s: MalformedPolicyDocumentException; mallory still cannot decrypt alice data', async (_name, statement) => {
    const { kms } = served;
    // The key's administrator is one user: the account root ARN would stand for every principal
    // of the account (mallory included) that has no identity policy.
    const adminCredential = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/admin`);
    const adminClient = kms.client(adminCredential);
    const mallory = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/mallory`);
    const admin = `{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"${adminCredential.principal}"},"Action":"kms:*","Resource":"*"}`;
    const before = `{"Version":"2012-10-17","Statement":[${admin}]}`;
    const keyId = (await adminClient.send(new CreateKeyCommand({ Policy: before }))).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await adminClient.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('alice data'), EncryptionContext: { tenant: 'alice' } }));
    const policy = `{"Version":"2012-10-17","Statement":[${admin},${statement(mallory.principal)}]}`;
    expect((await failure(adminClient.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy })))).name).toBe('MalformedPolicyDocumentException');
    expect((await adminClient.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(before);
    expect((await failure(kms.client(mallory).send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { tenant: 'alice' } })))).name).toBe('AccessDeniedException');
  });
});
