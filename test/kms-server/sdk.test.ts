/**
 * The local KMS over HTTP, driven by the real `@aws-sdk/client-kms` with an endpoint override
 * and SigV4 credentials from the local credential store. Every failure must arrive as the
 * typed exception class the SDK raises for AWS KMS.
 */
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateRandomCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSClient,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KMSServiceException,
  ListAliasesCommand,
  ListKeysCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  ListKeyRotationsCommand,
  NotFoundException,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  GetPublicKeyCommand,
  InvalidAliasNameException,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { createPublicKey, createVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedKms, type ServedKms } from './served-kms.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startKmsServer } from '../../src/kms-server/server.js';
import { encodeBlob } from '../../src/local-kms/ciphertext-blob.js';
import { signedPost } from './signing.js';

let kms: ServedKms;
let root: KMSClient;

beforeAll(async () => {
  kms = await startServedKms();
  root = kms.client(kms.rootCredential);
});

afterAll(async () => {
  await kms?.close();
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

async function newKey(input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}): Promise<string> {
  const out = await root.send(new CreateKeyCommand(input));
  return out.KeyMetadata!.KeyId!;
}

describe('symmetric keys over HTTP', () => {
  it('CreateKey, CreateAlias, Encrypt with context, Decrypt with and without KeyId', async () => {
    const created = await root.send(new CreateKeyCommand({ Description: 'sdk test' }));
    const meta = created.KeyMetadata!;
    expect(meta.KeyState).toBe('Enabled');
    expect(meta.CreationDate).toBeInstanceOf(Date);
    expect(meta.Arn).toBe(`arn:aws:kms:${kms.region}:${kms.accountId}:key/${meta.KeyId}`);
    await root.send(new CreateAliasCommand({ AliasName: 'alias/sdk-test', TargetKeyId: meta.KeyId }));
    const aliases = await root.send(new ListAliasesCommand({ KeyId: meta.KeyId }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toContain('alias/sdk-test');

    const context = { purpose: 'test', tenant: 'acme' };
    const enc = await root.send(new EncryptCommand({ KeyId: 'alias/sdk-test', Plaintext: Buffer.from('hello'), EncryptionContext: context }));
    expect(enc.KeyId).toBe(meta.Arn);
    const dec = await root.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('hello');
    expect(dec.KeyId).toBe(meta.Arn);
    const dec2 = await root.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context, KeyId: meta.Arn }));
    expect(Buffer.from(dec2.Plaintext!).toString()).toBe('hello');

    expect(await failure(root.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'test' } })))).toBeInstanceOf(
      InvalidCiphertextException,
    );
    const tampered = Uint8Array.from(enc.CiphertextBlob!);
    tampered[tampered.length - 1]! ^= 1;
    expect(await failure(root.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })))).toBeInstanceOf(
      InvalidCiphertextException,
    );
    const other = await newKey();
    expect(await failure(root.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context, KeyId: other })))).toBeInstanceOf(
      IncorrectKeyException,
    );
    expect(await failure(root.send(new CreateAliasCommand({ AliasName: 'alias/sdk-test', TargetKeyId: other })))).toBeInstanceOf(
      AlreadyExistsException,
    );
  });

  it('GenerateDataKey and GenerateDataKeyWithoutPlaintext, then ReEncrypt', async () => {
    const a = await newKey();
    const b = await newKey();
    const gdk = await root.send(new GenerateDataKeyCommand({ KeyId: a, KeySpec: 'AES_256', EncryptionContext: { k: 'v' } }));
    expect(gdk.Plaintext).toHaveLength(32);
    const back = await root.send(new DecryptCommand({ CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: { k: 'v' } }));
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(gdk.Plaintext!))).toBe(true);
    const wp = await root.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: a, NumberOfBytes: 16 }));
    expect(wp).not.toHaveProperty('Plaintext');
    const re = await root.send(
      new ReEncryptCommand({
        CiphertextBlob: gdk.CiphertextBlob,
        SourceEncryptionContext: { k: 'v' },
        DestinationKeyId: b,
        DestinationEncryptionContext: { k: 'w' },
      }),
    );
    const again = await root.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { k: 'w' } }));
    expect(Buffer.from(again.Plaintext!).equals(Buffer.from(gdk.Plaintext!))).toBe(true);
    expect(again.KeyId).toContain(b);
    const bad = await failure(root.send(new GenerateDataKeyCommand({ KeyId: a, KeySpec: 'AES_256', NumberOfBytes: 32 })));
    expect(bad).toBeInstanceOf(KMSServiceException);
    expect(bad.name).toBe('ValidationException');
  });

  it('rotation: enable, status, on demand, list; old ciphertexts still decrypt', async () => {
    const key = await newKey();
    const before = await root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('v1') }));
    await root.send(new EnableKeyRotationCommand({ KeyId: key, RotationPeriodInDays: 90 }));
    const status = await root.send(new GetKeyRotationStatusCommand({ KeyId: key }));
    expect(status.KeyRotationEnabled).toBe(true);
    expect(status.RotationPeriodInDays).toBe(90);
    await root.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const rotations = await root.send(new ListKeyRotationsCommand({ KeyId: key }));
    expect(rotations.Rotations?.length).toBeGreaterThanOrEqual(1);
    const dec = await root.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('v1');
    const bad = await failure(root.send(new EnableKeyRotationCommand({ KeyId: key, RotationPeriodInDays: 10 })));
    expect(bad.name).toBe('ValidationException');
  });

  it('disable, deletion window, cancel: the states and their exceptions', async () => {
    const key = await newKey();
    const enc = await root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') }));
    await root.send(new DisableKeyCommand({ KeyId: key }));
    expect(await failure(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).toBeInstanceOf(DisabledException);
    expect(await failure(root.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' })))).toBeInstanceOf(DisabledException);
    expect(await failure(root.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).toBeInstanceOf(DisabledException);
    await root.send(new EnableKeyCommand({ KeyId: key }));
    const sixDays = await failure(root.send(new ScheduleKeyDeletionCommand({ KeyId: key, PendingWindowInDays: 6 })));
    expect(sixDays.name).toBe('ValidationException');
    const scheduled = await root.send(new ScheduleKeyDeletionCommand({ KeyId: key, PendingWindowInDays: 7 }));
    expect(scheduled.DeletionDate).toBeInstanceOf(Date);
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(await failure(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).toBeInstanceOf(
      KMSInvalidStateException,
    );
    await root.send(new CancelKeyDeletionCommand({ KeyId: key }));
    const meta = await root.send(new DescribeKeyCommand({ KeyId: key }));
    expect(meta.KeyMetadata?.KeyState).toBe('Disabled');
  });

  it("each exception arrives with the HTTP status of AWS KMS's service model (404, 409, 412, 400)", async () => {
    const status = async (p: Promise<unknown>): Promise<[string, number | undefined]> => {
      const err = (await failure(p)) as Error & { $metadata?: { httpStatusCode?: number } };
      return [err.name, err.$metadata?.httpStatusCode];
    };
    const key = await newKey();
    expect(await status(root.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })))).toEqual(['NotFoundException', 404]);
    await root.send(new CreateAliasCommand({ AliasName: 'alias/status-codes', TargetKeyId: key }));
    expect(await status(root.send(new CreateAliasCommand({ AliasName: 'alias/status-codes', TargetKeyId: key })))).toEqual(['AlreadyExistsException', 409]);
    expect(await status(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), DryRun: true })))).toEqual(['DryRunOperationException', 412]);
    await root.send(new DisableKeyCommand({ KeyId: key }));
    expect(await status(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).toEqual(['DisabledException', 409]);
    await root.send(new EnableKeyCommand({ KeyId: key }));
    await root.send(new ScheduleKeyDeletionCommand({ KeyId: key, PendingWindowInDays: 7 }));
    expect(await status(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).toEqual(['KMSInvalidStateException', 409]);
    expect(await status(root.send(new ScheduleKeyDeletionCommand({ KeyId: key, PendingWindowInDays: 6 })))).toEqual(['ValidationException', 400]);
  });

  it('unknown keys and ARNs of another region are NotFoundException', async () => {
    const key = await newKey();
    expect(await failure(root.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })))).toBeInstanceOf(
      NotFoundException,
    );
    const otherRegion = `arn:aws:kms:eu-north-1:${kms.accountId}:key/${key}`;
    expect(await failure(root.send(new EncryptCommand({ KeyId: otherRegion, Plaintext: Buffer.from('x') })))).toBeInstanceOf(
      NotFoundException,
    );
  });
});

describe('asymmetric keys over HTTP', () => {
  it('Encrypt with a SIGN_VERIFY key is InvalidKeyUsageException', async () => {
    const key = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(await failure(root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).toBeInstanceOf(InvalidKeyUsageException);
  });

  it('Decrypt and ReEncrypt of a forged blob naming an RSA encryption key are InvalidCiphertextException (400), not a 500', async () => {
    const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const forged = encodeBlob(rsa, 1, new Uint8Array(12), new Uint8Array(32));
    const errors = [
      await failure(root.send(new DecryptCommand({ CiphertextBlob: forged }))),
      await failure(root.send(new ReEncryptCommand({ CiphertextBlob: forged, DestinationKeyId: await newKey() }))),
    ];
    for (const err of errors) {
      expect(err).toBeInstanceOf(InvalidCiphertextException);
      expect((err as KMSServiceException).$metadata.httpStatusCode).toBe(400);
    }
  });

  it('Recipient (Nitro Enclaves) is SerializationException over HTTP, not a plaintext answer', async () => {
    const key = await newKey();
    const Recipient = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: new Uint8Array([1, 2, 3, 4]) };
    const { CiphertextBlob } = await root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('enclave-only secret') }));
    for (const command of [
      new DecryptCommand({ CiphertextBlob, Recipient }),
      new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256', Recipient }),
      new GenerateDataKeyPairCommand({ KeyId: key, KeyPairSpec: 'ECC_NIST_P256', Recipient }),
      new GenerateRandomCommand({ NumberOfBytes: 16, Recipient }),
    ]) {
      const err = await failure(root.send(command as DecryptCommand));
      expect(err.name).toBe('SerializationException');
      expect((err as KMSServiceException).$metadata.httpStatusCode).toBe(400);
    }
  });

  it('ML-DSA over HTTP: ML_DSA_65 signs RAW and EXTERNAL_MU; noble verifies with the SPKI key; DIGEST is ValidationException', async () => {
    const { ml_dsa65 } = await import('@noble/post-quantum/ml-dsa.js');
    const { shake256 } = await import('@noble/hashes/sha3.js');
    const key = await newKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY' });
    const message = Buffer.from('post-quantum over HTTP');
    const pub = await root.send(new GetPublicKeyCommand({ KeyId: key }));
    expect(pub).toMatchObject({ KeySpec: 'ML_DSA_65', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
    const pk = pub.PublicKey!.subarray(pub.PublicKey!.length - 1952);
    const raw = await root.send(new SignCommand({ KeyId: key, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ML_DSA_SHAKE_256' }));
    expect(ml_dsa65.verify(raw.Signature!, message, pk)).toBe(true);
    const mu = shake256(Buffer.concat([shake256(pk, { dkLen: 64 }), Buffer.of(0, 0), message]), { dkLen: 64 });
    const ext = await root.send(new SignCommand({ KeyId: key, Message: mu, MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' }));
    expect(ml_dsa65.verify(ext.Signature!, message, pk)).toBe(true);
    expect((await root.send(new VerifyCommand({ KeyId: key, Message: message, Signature: ext.Signature, SigningAlgorithm: 'ML_DSA_SHAKE_256' }))).SignatureValid).toBe(true);
    expect((await failure(root.send(new SignCommand({ KeyId: key, Message: Buffer.alloc(32), MessageType: 'DIGEST', SigningAlgorithm: 'ML_DSA_SHAKE_256' })))).name).toBe('ValidationException');
  });

  it('Sign and Verify with ECC_NIST_P256; a bad signature is KMSInvalidSignatureException', async () => {
    const key = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const message = Buffer.from('sign me');
    const sig = await root.send(new SignCommand({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const ok = await root.send(new VerifyCommand({ KeyId: key, Message: message, Signature: sig.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(ok.SignatureValid).toBe(true);
    // The public key verifies the signature outside the KMS too.
    const pub = await root.send(new GetPublicKeyCommand({ KeyId: key }));
    const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    expect(createVerify('sha256').update(message).verify(publicKey, Buffer.from(sig.Signature!))).toBe(true);
    const bad = Uint8Array.from(sig.Signature!);
    bad[bad.length - 1]! ^= 1;
    expect(
      await failure(root.send(new VerifyCommand({ KeyId: key, Message: message, Signature: bad, SigningAlgorithm: 'ECDSA_SHA_256' }))),
    ).toBeInstanceOf(KMSInvalidSignatureException);
  });
});

describe('authentication and authorization over HTTP', () => {
  it('refuses a wrong secret and an unknown access key with AWS names', async () => {
    const wrong = kms.client({ accessKeyId: kms.rootCredential.accessKeyId, secretAccessKey: 'not-the-secret' });
    expect((await failure(wrong.send(new ListAliasesCommand({})))).name).toBe('InvalidSignatureException');
    const unknown = kms.client({ accessKeyId: 'LKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x' });
    expect((await failure(unknown.send(new ListAliasesCommand({})))).name).toBe('UnrecognizedClientException');
    // A scope naming no region at all is refused; every well-formed region is served (below).
    const region = kms.client(kms.rootCredential, 'nowhere');
    expect((await failure(region.send(new ListAliasesCommand({})))).name).toBe('InvalidSignatureException');
  });

  it('serves every region of the store by the SigV4 scope: another region sees its own keys only', async () => {
    const key = await newKey();
    const paris = kms.client(kms.rootCredential, 'eu-west-3');
    expect((await paris.send(new ListKeysCommand({}))).Keys).toEqual([]);
    expect((await failure(paris.send(new DescribeKeyCommand({ KeyId: key })))).name).toBe('NotFoundException');
    const made = (await paris.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(made.Arn).toBe(`arn:aws:kms:eu-west-3:${kms.accountId}:key/${made.KeyId}`);
    expect((await root.send(new ListKeysCommand({}))).Keys!.some((k) => k.KeyId === made.KeyId)).toBe(false);
  });

  it('policies and grants see the authenticated principal', async () => {
    const alice = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/alice`);
    const bob = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/bob`);
    const mallory = kms.createCredential('arn:aws:iam::444455556666:user/mallory');
    const aliceClient = kms.client(alice);
    const bobClient = kms.client(bob);
    const key = await newKey();
    // The default policy: the whole account, no one else.
    await bobClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') }));
    // Another account names the key by its ARN (a bare key id would name one of its own: NotFoundException).
    const keyArn = `arn:aws:kms:us-east-1:${kms.accountId}:key/${key}`;
    expect((await failure(kms.client(mallory).send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).name).toBe('NotFoundException');
    expect((await failure(kms.client(mallory).send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name).toBe(
      'AccessDeniedException',
    );
    // Alice alone administers the key; Bob may decrypt only for tenant acme.
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'admin', Effect: 'Allow', Principal: { AWS: alice.principal }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'bob',
          Effect: 'Allow',
          Principal: { AWS: bob.principal },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } },
        },
      ],
    });
    await root.send(new PutKeyPolicyCommand({ KeyId: key, Policy: policy, BypassPolicyLockoutSafetyCheck: true }));
    expect((await aliceClient.send(new GetKeyPolicyCommand({ KeyId: key }))).Policy).toBe(policy);
    const acme = await aliceClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('a'), EncryptionContext: { tenant: 'acme' } }));
    const other = await aliceClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('b'), EncryptionContext: { tenant: 'other' } }));
    await bobClient.send(new DecryptCommand({ CiphertextBlob: acme.CiphertextBlob, EncryptionContext: { tenant: 'acme' } }));
    expect((await failure(bobClient.send(new DecryptCommand({ CiphertextBlob: other.CiphertextBlob, EncryptionContext: { tenant: 'other' } })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await failure(bobClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');

    // A grant with a constraint gives Bob Encrypt for tenant acme, usable at once with its token.
    const grant = await aliceClient.send(
      new CreateGrantCommand({
        KeyId: key,
        GranteePrincipal: bob.principal,
        Operations: ['Encrypt'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
        RetiringPrincipal: alice.principal,
      }),
    );
    await bobClient.send(
      new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'acme' }, GrantTokens: [grant.GrantToken!] }),
    );
    expect(
      (await failure(bobClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'zzz' } })))).name,
    ).toBe('AccessDeniedException');
    const listed = await aliceClient.send(new ListGrantsCommand({ KeyId: key }));
    expect(listed.Grants?.map((g: { GrantId?: string }) => g.GrantId)).toEqual([grant.GrantId]);
    expect(listed.Grants?.[0]?.CreationDate).toBeInstanceOf(Date);
    await aliceClient.send(new RevokeGrantCommand({ KeyId: key, GrantId: grant.GrantId }));
    expect(
      (await failure(bobClient.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'acme' } })))).name,
    ).toBe('AccessDeniedException');
    const second = await aliceClient.send(
      new CreateGrantCommand({ KeyId: key, GranteePrincipal: bob.principal, Operations: ['Encrypt'], RetiringPrincipal: alice.principal }),
    );
    await aliceClient.send(new RetireGrantCommand({ GrantToken: second.GrantToken }));
    expect((await aliceClient.send(new ListGrantsCommand({ KeyId: key }))).Grants).toEqual([]);

    // The audit log names the authenticated principal, refusals included, and holds no secret.
    const rows = kms.kms.readAudit();
    expect(rows.some((r) => r.caller === bob.principal && r.operation === 'Decrypt' && r.error === null)).toBe(true);
    expect(rows.some((r) => r.caller === bob.principal && r.operation === 'Encrypt' && r.error === 'AccessDeniedException')).toBe(true);
    expect(rows.some((r) => r.caller === 'arn:aws:iam::444455556666:user/mallory' && r.error === 'AccessDeniedException')).toBe(true);
    const log = kms.kms.exportAudit();
    for (const secret of [alice.secretAccessKey, bob.secretAccessKey, grant.GrantToken!, second.GrantToken!]) {
      expect(log).not.toContain(secret);
    }
    expect(kms.kms.verifyAudit().ok).toBe(true);
  });

  it('grants over SigV4: identity policies bound retiring and listing retirable grants; a grantee passes on only what it has', async () => {
    const admin = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/grant-admin`);
    const holder = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/grant-holder`);
    const retirer = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/grant-retirer`);
    const adminClient = kms.client(admin);
    const holderClient = kms.client(holder);
    const retirerClient = kms.client(retirer);
    const onlyAdmin = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: admin.principal }, Action: 'kms:*', Resource: '*' }] });
    const key = await newKey({ Policy: onlyAdmin, BypassPolicyLockoutSafetyCheck: true });
    const grant = await adminClient.send(
      new CreateGrantCommand({
        KeyId: key,
        GranteePrincipal: holder.principal,
        RetiringPrincipal: retirer.principal,
        Operations: ['Decrypt', 'CreateGrant'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
      }),
    );
    const deny = (Action: string, Resource: string) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Action, Resource }] });
    await kms.kms.putPrincipalPolicy({ Principal: retirer.principal, PolicyName: 'no-retire', PolicyDocument: deny('kms:RetireGrant', '*') });
    await kms.kms.putPrincipalPolicy({ Principal: holder.principal, PolicyName: 'no-list', PolicyDocument: deny('kms:ListRetirableGrants', retirer.principal) });
    expect((await failure(retirerClient.send(new RetireGrantCommand({ GrantToken: grant.GrantToken })))).name).toBe('AccessDeniedException');
    expect((await failure(holderClient.send(new ListRetirableGrantsCommand({ RetiringPrincipal: retirer.principal })))).name).toBe('AccessDeniedException');
    // The holder may pass on Decrypt under a stricter constraint, never a wider one.
    const third = `arn:aws:iam::${kms.accountId}:user/grant-third`;
    await holderClient.send(new CreateGrantCommand({ KeyId: key, GranteePrincipal: third, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { tenant: 'acme' } } }));
    expect((await failure(holderClient.send(new CreateGrantCommand({ KeyId: key, GranteePrincipal: third, Operations: ['Decrypt'] })))).name).toBe('AccessDeniedException');
    expect((await adminClient.send(new ListGrantsCommand({ KeyId: key }))).Grants).toHaveLength(2);
    await kms.kms.deletePrincipalPolicy({ Principal: retirer.principal, PolicyName: 'no-retire' });
    await retirerClient.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    expect((await adminClient.send(new ListGrantsCommand({ KeyId: key }))).Grants).toHaveLength(1);
  });

  it('a second principal cannot repoint an alias of a key it has no rights on to a key of its own', async () => {
    const alice = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/alice-alias`);
    const mallory = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/mallory-alias`);
    const onlyFor = (principal: string) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:*', Resource: '*' }] });
    const victim = await newKey({ Policy: onlyFor(alice.principal), BypassPolicyLockoutSafetyCheck: true });
    const own = await newKey({ Policy: onlyFor(mallory.principal), BypassPolicyLockoutSafetyCheck: true });
    const aliceClient = kms.client(alice);
    await aliceClient.send(new CreateAliasCommand({ AliasName: 'alias/victim-app', TargetKeyId: victim }));
    const err = await failure(kms.client(mallory).send(new UpdateAliasCommand({ AliasName: 'alias/victim-app', TargetKeyId: own })));
    expect(err.name).toBe('AccessDeniedException');
    expect(err).toBeInstanceOf(KMSServiceException);
    const described = await aliceClient.send(new DescribeKeyCommand({ KeyId: 'alias/victim-app' }));
    expect(described.KeyMetadata?.KeyId).toBe(victim);
  });

  it('an encryption context over 8,192 UTF-8 bytes is ValidationException over HTTP too, under a many-star StringLike policy', async () => {
    const key = await newKey({
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${kms.accountId}:root` }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringLike: { 'kms:EncryptionContext:p': `${'*a'.repeat(20)}*b` } } },
        ],
      }),
    });
    const encrypt = (value: string) => root.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), EncryptionContext: { p: value } }));
    expect((await failure(encrypt('a'.repeat(8_192)))).name).toBe('ValidationException');
    // Just under the limit, the hostile value is matched at once: allowed, then denied by the b.
    await encrypt('a'.repeat(8_190));
    expect((await failure(encrypt(`${'a'.repeat(8_189)}b`))).name).toBe('AccessDeniedException');
  });

  it('a lone surrogate sent as a JSON escape (policy, tag, description, context) is ValidationException, and the policy is not stored', async () => {
    const key = await newKey();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${kms.accountId}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': '\ud800' } } },
      ],
    });
    // JSON.stringify writes the lone surrogate as the escape \ud800 (valid JSON); stringified
    // again as the Policy member, the body then carries the character itself once parsed.
    const bodies: [string, string][] = [
      ['PutKeyPolicy', JSON.stringify({ KeyId: key, Policy: policy.replace('\\ud800', '\ud800') })],
      ['PutKeyPolicy', JSON.stringify({ KeyId: key, Policy: policy })],
      ['TagResource', JSON.stringify({ KeyId: key, Tags: [{ TagKey: 'team', TagValue: '\ud800' }] })],
      ['UpdateKeyDescription', JSON.stringify({ KeyId: key, Description: 'x\udfff' })],
      ['Encrypt', JSON.stringify({ KeyId: key, Plaintext: 'AQ==', EncryptionContext: { tenant: '\ud800' } })],
    ];
    for (const [operation, body] of bodies) {
      expect(body.isWellFormed()).toBe(true);
      const res = await signedPost(kms.url, `TrentService.${operation}`, body, kms.rootCredential, kms.region);
      expect([operation, res.status, res.json?.__type]).toEqual([operation, 400, 'ValidationException']);
    }
    expect((await root.send(new GetKeyPolicyCommand({ KeyId: key }))).Policy).not.toContain('tenant');
  });

  it('CreateAlias with the reserved prefix is refused', async () => {
    const key = await newKey();
    const err = await failure(root.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: key })));
    expect(err instanceof InvalidAliasNameException || err.name === 'NotAuthorizedException').toBe(true);
  });
});

describe('startKmsServer without a kms', () => {
  it('opens a LocalKms in dataDir, serves it on 127.0.0.1 with its access keys, and closes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-serve-'));
    const server = await startKmsServer({ localKms: { dataDir: dir, rootKey: randomBytes(32) } });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const key = server.credentialStore!.create({ principal: 'arn:aws:iam::111122223333:root' });
      const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: key, maxAttempts: 1 });
      const out = await client.send(new CreateKeyCommand({}));
      expect(out.KeyMetadata?.KeyState).toBe('Enabled');
      client.destroy();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
