/**
 * Key policy condition keys and operators (AWS KMS Developer Guide, "Condition keys for AWS KMS",
 * "ABAC for AWS KMS"; IAM User Guide, "Condition operators"), each tried as an attacker would:
 * a second principal who tags the key, passes a request tag or an alias, or a minimal signer
 * who asks for more than it was given.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKms } from '../../src/local-kms/index.js';
import type { Caller } from '../../src/local-kms/operation.js';
import { errorName, freshKms, type TestClock, outcomeAs } from './helpers.js';

const ACCOUNT = '111122223333';
const who = (name: string): Caller => ({ principal: `arn:aws:iam::${ACCOUNT}:${name}`, accountId: ACCOUNT });
const ADMIN = who('user/admin');
const ALICE = who('user/alice');
const MALLORY = who('user/mallory');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

let kms: LocalKms;
let clock: TestClock;
let cleanup: () => void;
beforeEach(() => ({ kms, clock, cleanup } = freshKms()));
afterEach(() => cleanup());

const admin = { Effect: 'Allow', Principal: { AWS: ADMIN.principal }, Action: 'kms:*', Resource: '*' };
const allow = (caller: Caller, Action: string | string[], Condition?: object) => ({ Effect: 'Allow', Principal: { AWS: caller.principal }, Action, Resource: '*', ...(Condition ? { Condition } : {}) });
const deny = (caller: Caller, Action: string | string[], Condition?: object) => ({ ...allow(caller, Action, Condition), Effect: 'Deny' });
const policyOf = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: [admin, ...statements] });

async function keyWith(policy: string, input: Record<string, unknown> = {}): Promise<string> {
  // Made by the administrator the policies name, so the lockout safety check passes.
  return ((await kms.execute('CreateKey', { Policy: policy, ...input }, ADMIN)) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
}
/** The AWS exception name of a call made as `caller`, or 'ok'. */
const as = (caller: Caller, operation: string, input: Record<string, unknown>): Promise<string> => outcomeAs(kms, caller, operation, input);
const tags = async (KeyId: string) => (await kms.execute('ListResourceTags', { KeyId }, ADMIN) as { Tags: { TagKey: string; TagValue: string }[] }).Tags;

describe('aws:ResourceTag (ABAC)', () => {
  it('a second principal cannot tag a key into an Allow: TagResource is refused and the tag is not applied', async () => {
    const id = await keyWith(
      policyOf(
        allow(MALLORY, 'kms:Encrypt', { StringEquals: { 'aws:ResourceTag/project': 'alpha' } }),
        // Mallory may set env tags only.
        allow(MALLORY, ['kms:TagResource', 'kms:UntagResource'], { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } }),
      ),
      { Tags: [{ TagKey: 'project', TagValue: 'beta' }] },
    );
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    for (const TagKey of ['project', 'Project', 'PROJECT']) {
      expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey, TagValue: 'alpha' }] })).toBe('AccessDeniedException');
      expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'dev' }, { TagKey, TagValue: 'alpha' }] })).toBe('AccessDeniedException');
    }
    expect(await as(MALLORY, 'UntagResource', { KeyId: id, TagKeys: ['project'] })).toBe('AccessDeniedException');
    expect(await tags(id)).toEqual([{ TagKey: 'project', TagValue: 'beta' }]);
    expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'dev' }] })).toBe('ok');
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    await kms.execute('TagResource', { KeyId: id, Tags: [{ TagKey: 'project', TagValue: 'alpha' }] }, ADMIN);
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
  });

  it('the tag key in the condition is case-insensitive; a case variant cannot borrow an Allow or dodge a Deny', async () => {
    const id = await keyWith(
      policyOf(
        allow(ALICE, 'kms:Encrypt', { StringEquals: { 'aws:ResourceTag/Project': 'alpha' } }),
        deny(ALICE, 'kms:Decrypt', { StringEquals: { 'aws:resourcetag/CLASS': 'secret' } }),
        allow(ALICE, 'kms:Decrypt'),
      ),
      { Tags: [{ TagKey: 'project', TagValue: 'alpha' }, { TagKey: 'class', TagValue: 'public' }] },
    );
    const blob = ((await kms.execute('Encrypt', { KeyId: id, Plaintext: bytes('x') }, ADMIN)) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'Decrypt', { CiphertextBlob: blob })).toBe('ok');
    // Tag keys are case-sensitive in KMS, so both exist; the Allow needs every variant to match, the Deny any.
    await kms.execute('TagResource', { KeyId: id, Tags: [{ TagKey: 'PROJECT', TagValue: 'beta' }, { TagKey: 'Class', TagValue: 'secret' }] }, ADMIN);
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'Decrypt', { CiphertextBlob: blob })).toBe('AccessDeniedException');
  });

  it('Null requires the tag to exist (or not to)', async () => {
    const id = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt', { Null: { 'aws:ResourceTag/owner': 'false' } }), allow(MALLORY, 'kms:Encrypt', { Null: { 'aws:ResourceTag/owner': 'true' } })));
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    await kms.execute('TagResource', { KeyId: id, Tags: [{ TagKey: 'Owner', TagValue: '' }] }, ADMIN);
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });
});

describe('aws:RequestTag and aws:TagKeys', () => {
  it('a Deny on a request tag value holds whatever the letter case of the tag key', async () => {
    const id = await keyWith(policyOf(allow(MALLORY, 'kms:TagResource'), deny(MALLORY, 'kms:TagResource', { StringEquals: { 'aws:RequestTag/owner': 'security' } })));
    for (const TagKey of ['owner', 'Owner', 'OWNER']) {
      expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey, TagValue: 'security' }] })).toBe('AccessDeniedException');
    }
    expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey: 'owner', TagValue: 'Security' }] })).toBe('ok');
    expect(await tags(id)).toEqual([{ TagKey: 'owner', TagValue: 'Security' }]);
  });

  it('a request with no tags has no aws:RequestTag: positive operators fail, ...IfExists passes', async () => {
    const id = await keyWith(policyOf(
      allow(ALICE, 'kms:UntagResource', { StringEquals: { 'aws:RequestTag/owner': 'alice' } }),
      allow(MALLORY, 'kms:UntagResource', { StringEqualsIfExists: { 'aws:RequestTag/owner': 'mallory' } }),
    ));
    expect(await as(ALICE, 'UntagResource', { KeyId: id, TagKeys: ['x'] })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'UntagResource', { KeyId: id, TagKeys: ['x'] })).toBe('ok');
  });
});

describe('kms:ResourceAliases and kms:RequestAlias', () => {
  it('a second principal cannot alias a key into an Allow without kms:CreateAlias on that key', async () => {
    const victim = await keyWith(policyOf(allow(MALLORY, 'kms:Encrypt', { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/mallory-*' } })));
    const own = await keyWith(policyOf(allow(MALLORY, 'kms:*')));
    expect(await as(MALLORY, 'CreateAlias', { AliasName: 'alias/mallory-x', TargetKeyId: victim })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'CreateAlias', { AliasName: 'alias/mallory-x', TargetKeyId: own })).toBe('ok');
    // Repointing her alias at the victim needs kms:UpdateAlias on the victim too.
    expect(await as(MALLORY, 'UpdateAlias', { AliasName: 'alias/mallory-x', TargetKeyId: victim })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'Encrypt', { KeyId: victim, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'Encrypt', { KeyId: 'alias/mallory-x', Plaintext: bytes('x') })).toBe('ok');
    // Once an administrator gives the victim such an alias, the Allow applies; gone with the alias.
    await kms.execute('CreateAlias', { AliasName: 'alias/mallory-y', TargetKeyId: victim }, ADMIN);
    expect(await as(MALLORY, 'Encrypt', { KeyId: victim, Plaintext: bytes('x') })).toBe('ok');
    await kms.execute('DeleteAlias', { AliasName: 'alias/mallory-y' }, ADMIN);
    expect(await as(MALLORY, 'Encrypt', { KeyId: victim, Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });

  it('kms:RequestAlias is the alias the request named the key by: not a key id, not another alias of the same key', async () => {
    const id = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt', { StringEquals: { 'kms:RequestAlias': 'alias/app' } })));
    await kms.execute('CreateAlias', { AliasName: 'alias/app', TargetKeyId: id }, ADMIN);
    await kms.execute('CreateAlias', { AliasName: 'alias/other', TargetKeyId: id }, ADMIN);
    expect(await as(ALICE, 'Encrypt', { KeyId: 'alias/app', Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app`, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'Encrypt', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'Encrypt', { KeyId: 'alias/other', Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });

  it('a Deny with StringNotEqualsIfExists on kms:RequestAlias also holds when no alias was named (IfExists: absent is true)', async () => {
    const id = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt'), deny(ALICE, 'kms:Encrypt', { StringNotEqualsIfExists: { 'kms:RequestAlias': 'alias/app' } })));
    await kms.execute('CreateAlias', { AliasName: 'alias/app', TargetKeyId: id }, ADMIN);
    await kms.execute('CreateAlias', { AliasName: 'alias/other', TargetKeyId: id }, ADMIN);
    expect(await as(ALICE, 'Encrypt', { KeyId: 'alias/app', Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'Encrypt', { KeyId: 'alias/other', Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });
});

describe('request parameters: a minimal signer and encrypter get only what they were given', () => {
  it('kms:SigningAlgorithm and kms:MessageType (RAW when omitted)', async () => {
    const signer = who('role/signer');
    const id = await keyWith(
      policyOf(allow(signer, 'kms:Sign', { StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PSS_SHA_256', 'kms:MessageType': 'RAW' } })),
      { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' },
    );
    const sign = (extra: object) => as(signer, 'Sign', { KeyId: id, Message: bytes('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256', ...extra });
    expect(await sign({})).toBe('ok');
    expect(await sign({ MessageType: 'RAW' })).toBe('ok');
    expect(await sign({ MessageType: 'DIGEST', Message: new Uint8Array(32) })).toBe('AccessDeniedException');
    expect(await sign({ SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })).toBe('AccessDeniedException');
    expect(await as(signer, 'Verify', { KeyId: id, Message: bytes('m'), Signature: new Uint8Array(256), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).toBe('AccessDeniedException');
  });

  it('kms:EncryptionAlgorithm: the request parameter, SYMMETRIC_DEFAULT when omitted', async () => {
    const rsa = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt', { StringEquals: { 'kms:EncryptionAlgorithm': 'RSAES_OAEP_SHA_256' } })), { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    expect(await as(ALICE, 'Encrypt', { KeyId: rsa, Plaintext: bytes('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).toBe('ok');
    expect(await as(ALICE, 'Encrypt', { KeyId: rsa, Plaintext: bytes('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })).toBe('AccessDeniedException');
    const sym = await keyWith(policyOf(allow(ALICE, ['kms:Encrypt', 'kms:GenerateDataKey'], { StringEquals: { 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT' } })));
    expect(await as(ALICE, 'Encrypt', { KeyId: sym, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(ALICE, 'GenerateDataKey', { KeyId: sym, KeySpec: 'AES_256' })).toBe('ok');
  });

  it('kms:GrantOperations and kms:GrantIsForAWSResource: no wider grant, and no "AWS service" locally', async () => {
    const id = await keyWith(policyOf(
      allow(ALICE, 'kms:CreateGrant', { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt'] } }),
      allow(MALLORY, 'kms:CreateGrant', { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
    ));
    const grant = (caller: Caller, Operations: string[]) => as(caller, 'CreateGrant', { KeyId: id, GranteePrincipal: who('role/x').principal, Operations });
    expect(await grant(ALICE, ['Decrypt'])).toBe('ok');
    expect(await grant(ALICE, ['Decrypt', 'Encrypt'])).toBe('AccessDeniedException');
    expect(await grant(ALICE, ['CreateGrant'])).toBe('AccessDeniedException');
    expect(await grant(MALLORY, ['Decrypt'])).toBe('AccessDeniedException');
  });

  it('Numeric*: kms:ScheduleKeyDeletionPendingWindowInDays (30 when omitted) and kms:RotationPeriodInDays', async () => {
    const id = await keyWith(policyOf(
      allow(ALICE, ['kms:ScheduleKeyDeletion', 'kms:EnableKeyRotation']),
      deny(ALICE, 'kms:ScheduleKeyDeletion', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '20' } }),
      deny(ALICE, 'kms:EnableKeyRotation', { NumericGreaterThan: { 'kms:RotationPeriodInDays': 180 } }),
    ));
    expect(await as(ALICE, 'EnableKeyRotation', { KeyId: id })).toBe('AccessDeniedException'); // 365
    expect(await as(ALICE, 'EnableKeyRotation', { KeyId: id, RotationPeriodInDays: 180 })).toBe('ok');
    expect(await as(ALICE, 'ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: 7 })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'ScheduleKeyDeletion', { KeyId: id })).toBe('ok');
  });
});

describe('key properties, time, principal ARNs', () => {
  it('kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:MultiRegion come from the key', async () => {
    const statement = allow(ALICE, 'kms:DescribeKey', {
      StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeyOrigin': 'AWS_KMS' },
      Bool: { 'kms:MultiRegion': 'false' },
    });
    expect(await as(ALICE, 'DescribeKey', { KeyId: await keyWith(policyOf(statement)) })).toBe('ok');
    expect(await as(ALICE, 'DescribeKey', { KeyId: await keyWith(policyOf(statement), { MultiRegion: true }) })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'DescribeKey', { KeyId: await keyWith(policyOf(statement), { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }) })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'DescribeKey', { KeyId: await keyWith(policyOf(statement), { Origin: 'EXTERNAL' }) })).toBe('AccessDeniedException');
  });

  it('Date*: aws:CurrentTime and aws:EpochTime follow the clock', async () => {
    const id = await keyWith(policyOf(
      allow(ALICE, 'kms:Encrypt', { DateLessThan: { 'aws:CurrentTime': '2026-01-05T00:00:00Z' } }),
      allow(MALLORY, 'kms:Encrypt', { DateGreaterThanEquals: { 'aws:EpochTime': String(Date.UTC(2026, 0, 5) / 1000) } }),
    ));
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    clock.advanceDays(4);
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
  });

  it('ArnLike / ArnEquals on aws:PrincipalArn match each ARN part on its own', async () => {
    const id = await keyWith(JSON.stringify({ Statement: [admin,
      { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:Encrypt', Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/ops-*' } } },
      { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:DescribeKey', Resource: '*', Condition: { ArnEquals: { 'aws:PrincipalArn': ALICE.principal } } },
    ] }));
    expect(await as(who('role/ops-1'), 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    expect(await as(who('user/ops-1'), 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(who('role/opsx'), 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(ALICE, 'DescribeKey', { KeyId: id })).toBe('ok');
    expect(await as(MALLORY, 'DescribeKey', { KeyId: id })).toBe('AccessDeniedException');
  });

  it('kms:ViaService is never present locally (no AWS service calls the local KMS)', async () => {
    const id = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt', { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } })));
    expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
  });
});

describe('policies the local KMS refuses rather than half-enforce (MalformedPolicyDocumentException)', () => {
  const withCondition = (Condition: object) => JSON.stringify({ Statement: [{ ...admin, Condition }] });
  const cases: [string, object][] = [
    ['an unknown global key', { StringEquals: { 'aws:SourceIp': '10.0.0.1' } }],
    ['an unknown kms key', { StringEquals: { 'kms:KeySpecs': 'RSA_2048' } }],
    ['an unknown operator', { StringEqualsAnything: { 'kms:KeySpec': 'RSA_2048' } }],
    ['a misspelt IfExists', { StringEqualsIfExist: { 'kms:KeySpec': 'RSA_2048' } }],
    ['Numeric on a string key', { NumericEquals: { 'kms:KeySpec': '1' } }],
    ['Date on a string key', { DateLessThan: { 'kms:RequestAlias': '2026-01-01T00:00:00Z' } }],
    ['Bool on a string key', { Bool: { 'kms:KeyUsage': 'true' } }],
    ['Arn on a string key', { ArnLike: { 'kms:CallerAccount': 'arn:aws:iam::*:root' } }],
    ['String on a numeric key', { StringEquals: { 'kms:RotationPeriodInDays': '90' } }],
    ['a Bool value not true/false', { Bool: { 'kms:MultiRegion': 'yes' } }],
    ['a Numeric value not a number', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 'ten' } }],
    ['a Date value not a date', { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }],
    ['a Null value not true/false', { Null: { 'aws:ResourceTag/x': 'maybe' } }],
    ['NullIfExists', { NullIfExists: { 'aws:ResourceTag/x': 'true' } }],
    ['a multivalued key without a set operator', { StringEquals: { 'aws:TagKeys': 'env' } }],
    ['ForAllValues on a single-valued key', { 'ForAllValues:StringEquals': { 'aws:ResourceTag/project': 'alpha' } }],
    ['an empty tag key', { StringEquals: { 'aws:ResourceTag/': 'x' } }],
  ];
  it.each(cases)('%s, at CreateKey, PutKeyPolicy and ReplicateKey', async (_name, condition) => {
    const before = (await kms.listKeys({})).Keys!.length;
    expect(await errorName(kms.createKey({ Policy: withCondition(condition) }))).toBe('MalformedPolicyDocumentException');
    expect((await kms.listKeys({})).Keys).toHaveLength(before);
    const id = (await kms.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    expect(await errorName(kms.putKeyPolicy({ KeyId: id, Policy: withCondition(condition) }))).toBe('MalformedPolicyDocumentException');
    expect(await errorName(kms.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1', Policy: withCondition(condition) }))).toBe('MalformedPolicyDocumentException');
  });

  it('accepts every documented operator family on a key of its type', async () => {
    const ok = withCondition({
      StringLikeIfExists: { 'kms:RequestAlias': 'alias/*' },
      'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a'], 'kms:ResourceAliases': ['alias/x'], 'kms:GrantOperations': ['Decrypt'] },
      NumericLessThanEquals: { 'kms:RotationPeriodInDays': 365 },
      DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z', 'kms:ValidTo': '1700000000' },
      BoolIfExists: { 'kms:MultiRegion': false, 'kms:BypassPolicyLockoutSafetyCheck': 'false' },
      ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/blocked-*' },
      Null: { 'aws:RequestTag/x': 'true' },
    });
    expect((await kms.createKey({ Policy: ok, BypassPolicyLockoutSafetyCheck: true })).KeyMetadata!.KeyId).toBeDefined();
  });
});

describe('review fixes: set operators on an absent key, policy variables, dates without a zone', () => {
  it('ForAnyValue with a negated operator fails on a request without the key (IAM: ForAnyValue is false when the key is absent)', async () => {
    // Meant: Mallory may tag with any key but "owner". Before, the Allow also held for every
    // listed action that carries no tags: Encrypt and ScheduleKeyDeletion went through.
    const id = await keyWith(policyOf(allow(MALLORY, ['kms:TagResource', 'kms:Encrypt', 'kms:ScheduleKeyDeletion'], { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['owner'] } })));
    expect(await as(MALLORY, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: 7 })).toBe('AccessDeniedException');
    expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'x' }] })).toBe('ok');
    expect(await as(MALLORY, 'TagResource', { KeyId: id, Tags: [{ TagKey: 'owner', TagValue: 'x' }] })).toBe('AccessDeniedException');
  });

  it('a policy variable in a condition value or a Resource is refused (MalformedPolicyDocumentException), not compared as text', async () => {
    // AWS replaces ${aws:PrincipalArn} with the caller's ARN under Version 2012-10-17; as text
    // it never matched, so this "no self-grants" Deny never applied.
    const noSelfGrant = deny(ALICE, 'kms:CreateGrant', { StringEquals: { 'kms:GranteePrincipal': '${aws:PrincipalArn}' } });
    expect(await as(ADMIN, 'CreateKey', { Policy: policyOf(noSelfGrant) })).toBe('MalformedPolicyDocumentException');
    expect(await as(ADMIN, 'CreateKey', { Policy: policyOf({ ...allow(ALICE, 'kms:Encrypt'), Resource: 'arn:aws:kms:*:${aws:PrincipalAccount}:key/*' }) })).toBe('MalformedPolicyDocumentException');
    const id = await keyWith(policyOf());
    expect(await as(ADMIN, 'PutKeyPolicy', { KeyId: id, Policy: policyOf(noSelfGrant) })).toBe('MalformedPolicyDocumentException');
    // Version 2008-10-17 has no variables: the text is literal there, in AWS too.
    await keyWith(JSON.stringify({ Version: '2008-10-17', Statement: [admin, noSelfGrant] }));
  });

  it('a date and time without a zone is UTC, whatever the time zone of the machine', async () => {
    const previous = process.env.TZ;
    try {
      const id = await keyWith(policyOf(allow(ALICE, 'kms:Encrypt', { DateLessThan: { 'aws:CurrentTime': '2026-01-01T12:00:00' } })));
      clock.time = Date.parse('2026-01-01T13:00:00Z');
      for (const tz of ['UTC', 'America/Los_Angeles', 'Asia/Tokyo']) {
        process.env.TZ = tz;
        expect([tz, await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })]).toEqual([tz, 'AccessDeniedException']);
      }
      clock.time = Date.parse('2026-01-01T11:00:00Z');
      process.env.TZ = 'America/Los_Angeles';
      expect(await as(ALICE, 'Encrypt', { KeyId: id, Plaintext: bytes('x') })).toBe('ok');
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });
});
