import { describe, expect, it } from 'vitest';
import {
  cachedKeyPolicy,
  defaultKeyPolicy,
  evaluateKeyPolicy,
  parseKeyPolicy,
  type PolicyRequest,
} from '../../src/local-kms/policy.js';
import { thrownName } from '../helpers/errors.js';

const ACCOUNT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const MALLORY = 'arn:aws:iam::444455556666:user/mallory';

const req = (over: Partial<PolicyRequest> = {}): PolicyRequest => ({
  principal: ALICE,
  accountId: ACCOUNT,
  action: 'kms:Encrypt',
  keyArn: KEY,
  ...over,
});

const policy = (...Statement: object[]) => parseKeyPolicy(JSON.stringify({ Version: '2012-10-17', Statement }));


describe('default key policy', () => {
  const p = parseKeyPolicy(defaultKeyPolicy(ACCOUNT));
  it('gives principals of the local account every kms action', () => {
    for (const action of ['kms:Encrypt', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:CreateGrant']) {
      expect(evaluateKeyPolicy(p, req({ action }))).toBe('allow');
    }
    expect(evaluateKeyPolicy(p, req({ principal: `arn:aws:iam::${ACCOUNT}:root` }))).toBe('allow');
  });
  it('gives another account nothing', () => {
    expect(evaluateKeyPolicy(p, req({ principal: MALLORY, accountId: '444455556666' }))).toBe('implicitDeny');
  });
});

describe('statements', () => {
  it('allows only the named principal and actions', () => {
    const p = policy({ Effect: 'Allow', Principal: { AWS: ALICE }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' });
    expect(evaluateKeyPolicy(p, req())).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt' }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:GenerateDataKey' }))).toBe('implicitDeny');
    expect(evaluateKeyPolicy(p, req({ principal: BOB }))).toBe('implicitDeny');
  });

  it('matches action wildcards case-insensitively', () => {
    const p = policy({ Effect: 'Allow', Principal: { AWS: [ALICE] }, Action: 'kms:GenerateDataKey*', Resource: '*' });
    expect(evaluateKeyPolicy(p, req({ action: 'kms:GenerateDataKey' }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:GenerateDataKeyWithoutPlaintext' }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'KMS:generatedatakeypair' }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Encrypt' }))).toBe('implicitDeny');
    const q = policy({ Effect: 'Allow', Principal: '*', Action: 'kms:?ecrypt', Resource: '*' });
    expect(evaluateKeyPolicy(q, req({ action: 'kms:Decrypt' }))).toBe('allow');
    expect(evaluateKeyPolicy(q, req({ action: 'kms:Encrypt' }))).toBe('implicitDeny');
  });

  it('lets an explicit Deny win over any Allow, in any order', () => {
    const allow = { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' };
    const deny = { Effect: 'Deny', Principal: { AWS: BOB }, Action: 'kms:Decrypt', Resource: '*' };
    for (const p of [policy(allow, deny), policy(deny, allow)]) {
      expect(evaluateKeyPolicy(p, req({ principal: BOB, action: 'kms:Decrypt' }))).toBe('deny');
      expect(evaluateKeyPolicy(p, req({ principal: BOB, action: 'kms:Encrypt' }))).toBe('allow');
      expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt' }))).toBe('allow');
    }
  });

  it('matches Resource against the key ARN', () => {
    const p = policy({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: 'arn:aws:kms:us-east-1:111122223333:key/*' });
    expect(evaluateKeyPolicy(p, req())).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ keyArn: KEY.replace('us-east-1', 'eu-west-1') }))).toBe('implicitDeny');
  });
});

describe('conditions', () => {
  const onContext = (Condition: object) => policy({ Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:Decrypt', Resource: '*', Condition });

  it('StringEquals on kms:EncryptionContext:<key>: the value is case-sensitive, the key is not (as in AWS)', () => {
    const p = onContext({ StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } });
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'acme', x: 'y' } }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'ACME' } }))).toBe('implicitDeny');
    // The KMS Developer Guide's own example: kms:EncryptionContext:Appname matches a key AppName.
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { Tenant: 'acme' } }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt' }))).toBe('implicitDeny');
    // Case variants of one key: an Allow needs every one of them to pass.
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'acme', TENANT: 'evil' } }))).toBe('implicitDeny');
  });

  it('refuses ForAllValues with kms:EncryptionContext:<key>, which would allow requests without the pair (as AWS does)', () => {
    const statement = (operator: string) => ({
      Effect: 'Allow',
      Principal: { AWS: ALICE },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { [operator]: { 'kms:EncryptionContext:Department': 'IT' } },
    });
    expect(thrownName(() => policy(statement('ForAllValues:StringEquals')))).toBe('MalformedPolicyDocumentException');
    expect(thrownName(() => policy(statement('ForAllValues:StringLikeIfExists')))).toBe('MalformedPolicyDocumentException');
    expect(evaluateKeyPolicy(policy(statement('StringEquals')), req({ action: 'kms:Decrypt' }))).toBe('implicitDeny');
    // One already stored is still read (no key locked out of PutKeyPolicy), with IAM's meaning.
    const text = JSON.stringify({ Version: '2012-10-17', Statement: [statement('ForAllValues:StringEquals')] });
    expect(evaluateKeyPolicy(cachedKeyPolicy(text), req({ action: 'kms:Decrypt' }))).toBe('allow');
  });

  it('a Deny on kms:EncryptionContext:<key> cannot be dodged by writing the context key in another case', () => {
    const p = policy(
      { Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:classification': 'secret' } } },
    );
    const variants: Record<string, string>[] = [{ classification: 'secret' }, { Classification: 'secret' }, { CLASSIFICATION: 'secret', x: '1' }, { classification: 'public', Classification: 'secret' }];
    for (const encryptionContext of variants) {
      expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext }))).toBe('deny');
    }
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { Classification: 'public' } }))).toBe('allow');
  });

  it('a list of values is any-of; several keys are all-of', () => {
    const p = onContext({ StringEquals: { 'kms:EncryptionContext:tenant': ['a', 'b'], 'kms:EncryptionContext:env': 'prod' } });
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'b', env: 'prod' } }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'b', env: 'dev' } }))).toBe('implicitDeny');
  });

  it('StringLike takes wildcards', () => {
    const p = onContext({ StringLike: { 'kms:EncryptionContext:path': 'reports/*' } });
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { path: 'reports/2026/q1' } }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { path: 'secrets/x' } }))).toBe('implicitDeny');
  });

  it('kms:CallerAccount', () => {
    const p = policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT } } });
    expect(evaluateKeyPolicy(p, req({ principal: BOB }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ principal: MALLORY, accountId: '444455556666' }))).toBe('implicitDeny');
  });

  it('a Deny conditioned on context denies only that context; negated operators pass when the key is absent', () => {
    const p = policy(
      { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringNotEquals: { 'kms:EncryptionContext:tenant': 'acme' } } },
    );
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'acme' } }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'other' } }))).toBe('deny');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt' }))).toBe('deny');
  });

  it('IfExists passes when the key is absent', () => {
    const p = onContext({ StringEqualsIfExists: { 'kms:EncryptionContext:tenant': 'acme' } });
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt' }))).toBe('allow');
    expect(evaluateKeyPolicy(p, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'x' } }))).toBe('implicitDeny');
  });

  it('ForAllValues / ForAnyValue on kms:EncryptionContextKeys', () => {
    const all = onContext({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'env'] } });
    expect(evaluateKeyPolicy(all, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'a' } }))).toBe('allow');
    expect(evaluateKeyPolicy(all, req({ action: 'kms:Decrypt', encryptionContext: { tenant: 'a', other: 'b' } }))).toBe('implicitDeny');
    const any = onContext({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } });
    expect(evaluateKeyPolicy(any, req({ action: 'kms:Decrypt', encryptionContext: { other: 'b', tenant: 'a' } }))).toBe('allow');
    expect(evaluateKeyPolicy(any, req({ action: 'kms:Decrypt', encryptionContext: {} }))).toBe('implicitDeny');
  });
});

describe('parseKeyPolicy refuses what it cannot enforce', () => {
  const base = { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' };
  it.each([
    ['not JSON', '{'],
    ['not an object', '[]'],
    ['no statements', '{"Version":"2012-10-17","Statement":[]}'],
    ['bad version', JSON.stringify({ Version: '2020-01-01', Statement: [base] })],
    ['NotAction', JSON.stringify({ Statement: [{ ...base, NotAction: 'kms:Encrypt' }] })],
    ['bad effect', JSON.stringify({ Statement: [{ ...base, Effect: 'Maybe' }] })],
    ['service principal', JSON.stringify({ Statement: [{ ...base, Principal: { Service: 'x.amazonaws.com' } }] })],
    ['wildcard in ARN principal', JSON.stringify({ Statement: [{ ...base, Principal: { AWS: 'arn:aws:iam::111122223333:user/*' } }] })],
    ['non-kms action', JSON.stringify({ Statement: [{ ...base, Action: 's3:GetObject' }] })],
    ['unknown operator', JSON.stringify({ Statement: [{ ...base, Condition: { NumericEquals: { 'kms:CallerAccount': '1' } } }] })],
    ['unknown key', JSON.stringify({ Statement: [{ ...base, Condition: { StringEquals: { 'aws:SourceIp': '1' } } }] })],
    ['set key without set operator', JSON.stringify({ Statement: [{ ...base, Condition: { StringEquals: { 'kms:EncryptionContextKeys': 'a' } } }] })],
  ])('%s', (_name, text) => {
    expect(thrownName(() => parseKeyPolicy(text))).toBe('MalformedPolicyDocumentException');
  });
  it('refuses an empty or too long policy with ValidationException', () => {
    expect(thrownName(() => parseKeyPolicy(''))).toBe('ValidationException');
    expect(thrownName(() => parseKeyPolicy(' '.repeat(32_769)))).toBe('ValidationException');
  });
});

