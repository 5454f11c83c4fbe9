/**
 * Identity (IAM) policies for local principals, combined with key policies and grants as AWS
 * does (KMS Developer Guide, "Determining access to AWS KMS keys"; IAM User Guide, "Policy
 * evaluation logic"), and tried as a second principal would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/index.js';
import type { Caller } from '../../src/local-kms/operation.js';
import { defaultKeyPolicy } from '../../src/local-kms/policy.js';
import { errorName, freshKms, ROOT_KEY, outcomeAs } from './helpers.js';

const ACCOUNT = '111122223333';
const who = (name: string): Caller => ({ principal: `arn:aws:iam::${ACCOUNT}:${name}`, accountId: ACCOUNT });
const ALICE = who('user/alice');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[], Resource = '*', Condition?: object) => ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });

let kms: LocalKms;
let dir: string;
let cleanup: () => void;
beforeEach(() => ({ kms, dir, cleanup } = freshKms()));
afterEach(() => cleanup());

/** The AWS exception name of a call made as `caller`, or 'ok'. */
const as = (caller: Caller, operation: string, input: Record<string, unknown>): Promise<string> => outcomeAs(kms, caller, operation, input);
const attach = (caller: Caller, PolicyDocument: string, PolicyName = 'p') => kms.putPrincipalPolicy({ Principal: caller.principal, PolicyName, PolicyDocument });

describe('identity policies with the default key policy (the account delegates to IAM)', () => {
  it('without identity policies a principal of the account keeps full access; with one, exactly what it allows', async () => {
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const blob = (await kms.encrypt({ KeyId: id, Plaintext: bytes('x') })).CiphertextBlob!;
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    await attach(ALICE, doc(allow('kms:Decrypt')));
    expect(await as(ALICE, 'Decrypt', { CiphertextBlob: blob })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'ScheduleKeyDeletion', { KeyId: id })).toBe('AccessDeniedException');
    // Key-less actions are IAM-only: decided by the identity policies, Resource "*".
    expect(await as(ALICE, 'CreateKey', {})).toBe('AccessDeniedException');
    expect(await as(ALICE, 'ListKeys', {})).toBe('AccessDeniedException');
    await kms.deletePrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p' });
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
  });

  it('Resource and conditions in an identity policy: one key, by tag, CreateKey by key spec', async () => {
    const one = (await kms.createKey({ Tags: [{ TagKey: 'team', TagValue: 'a' }] })).KeyMetadata!;
    const two = (await kms.createKey({})).KeyMetadata!;
    await attach(ALICE, doc(
      allow('kms:Encrypt', one.Arn!),
      allow('kms:DescribeKey', `arn:aws:kms:*:${ACCOUNT}:key/*`, { StringEquals: { 'aws:ResourceTag/team': 'a' } }),
      allow('kms:CreateKey', '*', { StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT' } }),
    ));
    expect(await as(ALICE, 'Encrypt', { KeyId: one.KeyId, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: two.KeyId, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'DescribeKey', { KeyId: one.KeyId })).toBe('ok');
    expect(await as(ALICE, 'DescribeKey', { KeyId: two.KeyId })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'CreateKey', {})).toBe('ok');
    expect(await as(ALICE, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).toBe('AccessDeniedException');
  });

  it("ReplicateKey's kms:CreateKey check sees the replica (multi-Region, the primary's spec, usage, origin), not ReplicateKey's input", async () => {
    const mrk = (await kms.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    const signing = (await kms.createKey({ MultiRegion: true, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const replicate = (KeyId: string, ReplicaRegion = 'eu-west-1') => as(ALICE, 'ReplicateKey', { KeyId, ReplicaRegion });
    // No multi-Region keys: neither made nor replicated.
    await attach(ALICE, doc(allow('kms:*'), { Effect: 'Deny', Action: 'kms:CreateKey', Resource: '*', Condition: { Bool: { 'kms:MultiRegion': 'true' } } }));
    expect(await as(ALICE, 'CreateKey', { MultiRegion: true })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'CreateKey', {})).toBe('ok');
    expect(await replicate(mrk)).toBe('AccessDeniedException');
    // Symmetric encryption keys only: the signing key's replica is refused, the symmetric one's made.
    await attach(ALICE, doc(allow(['kms:ReplicateKey', 'kms:DescribeKey']), allow('kms:CreateKey', '*', {
      StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeyOrigin': 'AWS_KMS' },
    })));
    expect(await replicate(signing)).toBe('AccessDeniedException');
    expect(await replicate(mrk)).toBe('ok');
    // Replicas may be made, new primaries may not.
    await attach(ALICE, doc(allow(['kms:ReplicateKey', 'kms:DescribeKey']), allow('kms:CreateKey', '*', { StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } })));
    expect(await replicate(signing, 'ap-southeast-2')).toBe('ok');
    expect(await as(ALICE, 'CreateKey', { MultiRegion: true })).toBe('AccessDeniedException');
  });

  it('an explicit Deny in an identity policy beats an Allow in the key policy naming the principal, and a grant', async () => {
    const policy = JSON.parse(defaultKeyPolicy(ACCOUNT)) as { Statement: object[] };
    policy.Statement.push({ Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:Encrypt', Resource: '*' });
    const id = (await kms.createKey({ Policy: JSON.stringify(policy) })).KeyMetadata!.KeyId!;
    await kms.createGrant({ KeyId: id, GranteePrincipal: ALICE.principal, Operations: ['Encrypt'] });
    await attach(ALICE, doc({ Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' }));
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });
});

describe('identity policies and key policies that do not delegate', () => {
  it('a key policy naming the principal allows without IAM; one not naming the account ignores IAM; grants still allow', async () => {
    const policy = doc(
      { Effect: 'Allow', Principal: { AWS: who('user/admin').principal }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:Encrypt', Resource: '*' },
    );
    const id = ((await kms.execute('CreateKey', { Policy: policy }, who('user/admin'))) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const blob = ((await kms.execute('Encrypt', { KeyId: id, Plaintext: bytes('x') }, who('user/admin'))) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    await attach(ALICE, doc(allow('kms:*')));
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    // kms:* in her identity policy does not open a key whose policy does not allow the account.
    expect(await as(ALICE, 'Decrypt', { CiphertextBlob: blob })).toBe('AccessDeniedException');
    await kms.execute('CreateGrant', { KeyId: id, GranteePrincipal: ALICE.principal, Operations: ['Decrypt'] }, who('user/admin'));
    expect(await as(ALICE, 'Decrypt', { CiphertextBlob: blob })).toBe('ok');
  });
});

describe('managing identity policies', () => {
  it('only the account root, only for principals of its account, only policies without Principal', async () => {
    const alice = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, caller: ALICE });
    try {
      expect(await errorName(alice.putPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: doc(allow('kms:*')) }))).toBe('AccessDeniedException');
      expect(await errorName(alice.listPrincipalPolicies({ Principal: ALICE.principal }))).toBe('AccessDeniedException');
    } finally {
      alice.close();
    }
    expect(await errorName(kms.putPrincipalPolicy({ Principal: 'arn:aws:iam::444455556666:user/x', PolicyName: 'p', PolicyDocument: doc(allow('kms:*')) }))).toBe('ValidationException');
    expect(await errorName(kms.putPrincipalPolicy({ Principal: `arn:aws:iam::${ACCOUNT}:root`, PolicyName: 'p', PolicyDocument: doc(allow('kms:*')) }))).toBe('ValidationException');
    expect(await errorName(kms.putPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: doc({ ...allow('kms:*'), Principal: '*' }) }))).toBe('MalformedPolicyDocumentException');
    expect(await errorName(kms.putPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: doc(allow('kms:*', '*', { StringEquals: { 'aws:SourceIp': '1.2.3.4' } })) }))).toBe('MalformedPolicyDocumentException');
    expect((await kms.listPrincipalPolicies({ Principal: ALICE.principal })).PolicyNames).toEqual([]);
    await attach(ALICE, doc(allow('kms:Decrypt')), 'b');
    await attach(ALICE, doc(allow('kms:Encrypt')), 'a');
    expect((await kms.listPrincipalPolicies({ Principal: ALICE.principal })).PolicyNames).toEqual(['a', 'b']);
    expect(JSON.parse((await kms.getPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'a' })).PolicyDocument).Statement[0].Action).toBe('kms:Encrypt');
    expect(await errorName(kms.getPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'zz' }))).toBe('NotFoundException');
    expect(kms.readAudit().filter((r) => r.operation === 'PutPrincipalPolicy').map((r) => r.error)).toEqual(expect.arrayContaining([null, 'ValidationException', 'MalformedPolicyDocumentException']));
  });

  it('is not a KMS operation: not served, not reachable through execute()', async () => {
    expect(kms.operations).not.toContain('PutPrincipalPolicy');
    expect(await errorName(kms.execute('PutPrincipalPolicy', { Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: doc(allow('kms:*')) }))).toBe('UnknownOperationException');
  });
});

describe('kms:BypassPolicyLockoutSafetyCheck on CreateKey', () => {
  // AWS KMS Developer Guide, condition keys: it controls CreateKey and PutKeyPolicy by the
  // request's BypassPolicyLockoutSafetyCheck. Before, CreateKey's requests never carried it, so
  // this Deny never applied.
  it('an identity policy can forbid creating keys that bypass the lockout check', async () => {
    await attach(ALICE, JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Action: 'kms:CreateKey', Resource: '*', Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } } },
      ],
    }));
    const lockedOut = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/nobody' }, Action: 'kms:*', Resource: '*' }] });
    expect(await as(ALICE, 'CreateKey', { Policy: lockedOut, BypassPolicyLockoutSafetyCheck: true })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'CreateKey', {})).toBe('ok');
  });
});
