/**
 * Allow/deny decisions of key and identity policies, table by table, through the public API
 * (execute() as a given principal), as a second principal holding its own credentials would
 * probe them: principals, action wildcards, condition operators on the encryption context
 * (present, absent, case variants, empty sets), key policy x identity policy x grant, another
 * account. Sources: IAM User Guide, "Policy evaluation logic", "Principal", "Condition
 * operators", "Conditions with multiple context keys or values"; AWS KMS Developer Guide,
 * "Default key policy", "AWS KMS condition keys".
 *
 * Also what is refused when a policy is put rather than stored and half-enforced: a name that
 * appears twice in one object of the document (JSON keeps only the last), and Principal ARNs
 * that can never name a caller (a group, `:ROOT`, a name with a space).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKms } from '../../src/local-kms/index.js';
import type { Caller } from '../../src/local-kms/operation.js';
import { cachedKeyPolicy, evaluateKeyPolicy } from '../../src/local-kms/policy.js';
import { errorName, freshKms, outcomeAs, type TestClock } from './helpers.js';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const who = (name: string, account = ACCOUNT): Caller => ({ principal: `arn:aws:iam::${account}:${name}`, accountId: account });
const ROOT = who('root');
const ADMIN = who('user/admin');
const ALICE = who('user/alice');
const BOB = who('user/bob');
const MALLORY = who('user/mallory');
const PARTNER = who('user/partner', OTHER);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

let kms: LocalKms;
let clock: TestClock;
let cleanup: () => void;
beforeEach(() => ({ kms, clock, cleanup } = freshKms()));
afterEach(() => cleanup());

const adminStatement = { Sid: 'admin', Effect: 'Allow', Principal: { AWS: ADMIN.principal }, Action: 'kms:*', Resource: '*' };
const statement = (Effect: 'Allow' | 'Deny', Principal: unknown, Action: unknown, Condition?: object) => ({ Effect, Principal, Action, Resource: '*', ...(Condition ? { Condition } : {}) });
const policyOf = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: [adminStatement, ...statements] });
const as = (caller: Caller, operation: string, input: Record<string, unknown>): Promise<string> => outcomeAs(kms, caller, operation, input);

/** A key made by ADMIN with `policy`; its ARN (every caller, another account's too, can name it so). */
async function keyWith(policy: string, input: Record<string, unknown> = {}): Promise<string> {
  return ((await kms.execute('CreateKey', { Policy: policy, ...input }, ADMIN)) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
}
const encryptAs = (caller: Caller, KeyId: string, EncryptionContext?: Record<string, string>) =>
  as(caller, 'Encrypt', { KeyId, Plaintext: bytes('x'), ...(EncryptionContext ? { EncryptionContext } : {}) });

describe('a name twice in one object of a policy is refused, not collapsed to its last value', () => {
  // JSON.parse keeps the last of duplicate members, so the first was silently dropped: a Deny
  // turned Allow, a statement list replaced, a condition gone. AWS refuses duplicate elements in
  // new policies (IAM User Guide, "Troubleshoot IAM policies", "More than one JSON statement
  // element" and "More than one effect, action, or resource element in a JSON statement
  // element": "The policy engine does not allow such errors in new or edited policies").
  const M = JSON.stringify(MALLORY.principal);
  const A = JSON.stringify(ADMIN.principal);
  const admin = JSON.stringify(adminStatement);
  const doc = (statements: string) => `{"Version":"2012-10-17","Statement":[${admin},${statements}]}`;
  // Each one, read as JSON.parse reads it, lets mallory decrypt alice's data (context tenant=alice).
  const cases: [string, string][] = [
    ['Effect twice (Deny, then Allow)', doc(`{"Effect":"Deny","Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*"}`)],
    ['Effect twice, one name escaped', doc(`{"Effect":"Deny","Eff\\u0065ct":"Allow","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*"}`)],
    [
      'Statement twice',
      `{"Version":"2012-10-17","Statement":[${admin},{"Effect":"Deny","Principal":{"AWS":${M}},"Action":"kms:*","Resource":"*"}],"Statement":[${admin},{"Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:*","Resource":"*"}]}`,
    ],
    [
      'a condition operator twice',
      doc(`{"Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"mallory"},"StringEquals":{"kms:CallerAccount":"${ACCOUNT}"}}}`),
    ],
    [
      'a condition key twice in one operator',
      doc(`{"Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"mallory","kms:EncryptionContext:tenant":"alice"}}}`),
    ],
    [
      // Condition key names are not case-sensitive (IAM User Guide, "Condition"): one key twice.
      'a condition key twice in one operator, in two letter cases',
      doc(`{"Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"alice","KMS:EncryptionContext:Tenant":"bob"}}}`),
    ],
    ['Action twice in a Deny', doc(`{"Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Action":"kms:Encrypt","Resource":"*"}`)],
    ['Principal "AWS" twice in a Deny', doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":${M},"AWS":${A}},"Action":"kms:Decrypt","Resource":"*"}`)],
  ];

  it.each(cases)('%s: CreateKey, PutKeyPolicy and ReplicateKey refuse it; the key keeps its policy', async (_name, policy) => {
    const before = (await kms.listKeys({})).Keys!.length;
    expect(await errorName(kms.execute('CreateKey', { Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
    expect((await kms.listKeys({})).Keys).toHaveLength(before);
    const key = await keyWith(policyOf(), { MultiRegion: true });
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId: key, Plaintext: bytes('alice data'), EncryptionContext: { tenant: 'alice' } }, ADMIN)) as { CiphertextBlob: Uint8Array };
    expect(await errorName(kms.execute('PutKeyPolicy', { KeyId: key, Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
    expect(await errorName(kms.execute('ReplicateKey', { KeyId: key, ReplicaRegion: 'eu-west-1', Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
    expect(((await kms.execute('GetKeyPolicy', { KeyId: key }, ADMIN)) as { Policy: string }).Policy).toBe(policyOf());
    expect(await as(MALLORY, 'Decrypt', { CiphertextBlob, EncryptionContext: { tenant: 'alice' } })).toBe('AccessDeniedException');
  });

  it('identity policies too: putPrincipalPolicy refuses a duplicate name and stores nothing', async () => {
    const dup = '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"kms:*","Resource":"*"}}';
    expect(await errorName(kms.putPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: dup }))).toBe('MalformedPolicyDocumentException');
    expect((await kms.listPrincipalPolicies({ Principal: ALICE.principal })).PolicyNames).toEqual([]);
  });

  it('the same name in different objects, or inside a string value, is not a duplicate', async () => {
    const policy = policyOf(
      statement('Allow', { AWS: ALICE.principal }, 'kms:Encrypt', { StringEquals: { 'kms:EncryptionContext:tenant': 'a' }, StringLike: { 'kms:EncryptionContext:tenant': 'a*' } }),
      statement('Allow', { AWS: BOB.principal }, 'kms:Encrypt', { StringEquals: { 'kms:EncryptionContext:tenant': '"Effect":"x","Effect":"y"' } }),
    );
    const key = await keyWith(policy);
    expect(await encryptAs(ALICE, key, { tenant: 'a' })).toBe('ok');
    expect(await encryptAs(BOB, key, { tenant: '"Effect":"x","Effect":"y"' })).toBe('ok');
  });

  it('a name after a string holding an escaped quote is still seen twice (the scan skips \\" inside strings)', async () => {
    // One escaped quote before the duplicate and one after: a scan that ended a string at \"
    // would read every string in between out of phase and find no name at all.
    const policy = `{"Version":"2012-10-17","Statement":[${admin},{"Sid":"say \\"hi","Effect":"Deny","Effect":"Allow","Principal":{"AWS":${M}},"Action":"kms:Decrypt","Resource":"*"}],"Id":"a \\" b"}`;
    expect(() => JSON.parse(policy) as unknown).not.toThrow();
    expect(await errorName(kms.execute('CreateKey', { Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
  });

  it('a list (not an object) may hold one value twice', async () => {
    const policy = `{"Version":"2012-10-17","Statement":[${admin},{"Effect":"Allow","Principal":{"AWS":["${ALICE.principal}","${ALICE.principal}"]},"Action":["kms:Encrypt","kms:Encrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":["a","a"]}}}]}`;
    const key = await keyWith(policy);
    expect(await encryptAs(ALICE, key, { tenant: 'a' })).toBe('ok');
  });

  it('a policy stored before the check is still read (as JSON.parse reads it), so no key is locked out', () => {
    const stored = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`;
    const request = { principal: ALICE.principal, accountId: ACCOUNT, action: 'kms:PutKeyPolicy', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k` };
    expect(evaluateKeyPolicy(cachedKeyPolicy(stored), request)).toBe('allow');
  });
});

describe('Principal: only ARNs that can name a caller are accepted', () => {
  // IAM User Guide, "AWS JSON policy elements: Principal": an account (id or root ARN), an IAM
  // user or role, a role session or federated user session, or "*"; "You cannot identify a user
  // group as a principal". AWS KMS refuses a key policy whose principals do not exist (API
  // Reference, PutKeyPolicy, Policy: "The principals in the key policy must exist"). Before, any
  // ARN text was stored: a Deny naming a group or `:ROOT` never applied, and nothing said so.
  const refused = [
    `arn:aws:iam::${ACCOUNT}:group/contractors`,
    `arn:aws:iam::${ACCOUNT}:ROOT`,
    `arn:aws:iam::${ACCOUNT}:user/mallory `,
    `arn:aws:iam::${ACCOUNT}:user/`,
    `arn:aws:iam::${ACCOUNT}:mallory`,
    `arn:aws:iam::${ACCOUNT}:policy/admin`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/app`,
    // STS API Reference, GetFederationToken, Name: alphanumerics and _=,.@- (no slash, no path).
    `arn:aws:sts::${ACCOUNT}:federated-user/bob/admin`,
  ];
  it.each(refused)('%s is MalformedPolicyDocumentException at CreateKey and PutKeyPolicy', async (principal) => {
    const policy = policyOf(statement('Allow', { AWS: ALICE.principal }, 'kms:*'), statement('Deny', { AWS: principal }, 'kms:Decrypt'));
    expect(await errorName(kms.execute('CreateKey', { Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
    const key = await keyWith(policyOf());
    expect(await errorName(kms.execute('PutKeyPolicy', { KeyId: key, Policy: policy }, ADMIN))).toBe('MalformedPolicyDocumentException');
  });

  it('accepts the account (id or root ARN), users and roles with paths, role and federated sessions, other partitions, "*"', async () => {
    const principals = [
      ACCOUNT,
      ROOT.principal,
      `arn:aws:iam::${ACCOUNT}:user/division/team/alice`,
      `arn:aws:iam::${ACCOUNT}:role/app+role=x,y.z@w-1`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/app/session-1`,
      `arn:aws:sts::${ACCOUNT}:federated-user/bob`,
      `arn:aws-cn:iam::${ACCOUNT}:root`,
      '*',
    ];
    expect(await keyWith(policyOf(statement('Deny', { AWS: principals }, 'kms:ScheduleKeyDeletion')))).toMatch(/^arn:aws:kms:/);
  });

  it('a policy stored before the check is still read', () => {
    const stored = JSON.stringify({ Version: '2012-10-17', Statement: [statement('Allow', { AWS: [`arn:aws:iam::${ACCOUNT}:group/g`, ALICE.principal] }, 'kms:*')] });
    const request = { principal: ALICE.principal, accountId: ACCOUNT, action: 'kms:Encrypt', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k` };
    expect(evaluateKeyPolicy(cachedKeyPolicy(stored), request)).toBe('allow');
  });
});

describe('which callers a Principal covers', () => {
  // IAM User Guide, "Principal": an account id or its root ARN delegates to the account (the
  // local KMS trusts principals without identity policies as IAM administrators would be); "*"
  // and {"AWS": "*"} are everyone, other accounts included; a user ARN is that user only.
  const cases: [string, unknown, Record<'root' | 'alice' | 'bob' | 'partner', string>][] = [
    ['"*"', '*', { root: 'ok', alice: 'ok', bob: 'ok', partner: 'ok' }],
    ['{"AWS": "*"}', { AWS: '*' }, { root: 'ok', alice: 'ok', bob: 'ok', partner: 'ok' }],
    ['the account id', { AWS: ACCOUNT }, { root: 'ok', alice: 'ok', bob: 'ok', partner: 'AccessDeniedException' }],
    ['the account root ARN', { AWS: ROOT.principal }, { root: 'ok', alice: 'ok', bob: 'ok', partner: 'AccessDeniedException' }],
    ['another account', { AWS: `arn:aws:iam::${OTHER}:root` }, { root: 'AccessDeniedException', alice: 'AccessDeniedException', bob: 'AccessDeniedException', partner: 'ok' }],
    ['one user', { AWS: ALICE.principal }, { root: 'AccessDeniedException', alice: 'ok', bob: 'AccessDeniedException', partner: 'AccessDeniedException' }],
    ['a list', { AWS: [BOB.principal, PARTNER.principal] }, { root: 'AccessDeniedException', alice: 'AccessDeniedException', bob: 'ok', partner: 'ok' }],
  ];
  it.each(cases)('Allow to %s', async (_name, principal, expected) => {
    const key = await keyWith(policyOf(statement('Allow', principal, 'kms:Encrypt')));
    const got = { root: await encryptAs(ROOT, key), alice: await encryptAs(ALICE, key), bob: await encryptAs(BOB, key), partner: await encryptAs(PARTNER, key) };
    expect(got).toEqual(expected);
  });

  it.each(cases)('Deny to %s, after an Allow to "*": explicit Deny wins for exactly those callers', async (_name, principal, allowed) => {
    const key = await keyWith(policyOf(statement('Allow', '*', 'kms:Encrypt'), statement('Deny', principal, 'kms:Encrypt')));
    const flip = (o: string) => (o === 'ok' ? 'AccessDeniedException' : 'ok');
    const got = { root: await encryptAs(ROOT, key), alice: await encryptAs(ALICE, key), bob: await encryptAs(BOB, key), partner: await encryptAs(PARTNER, key) };
    expect(got).toEqual({ root: flip(allowed.root), alice: flip(allowed.alice), bob: flip(allowed.bob), partner: flip(allowed.partner) });
  });
});

describe('Action patterns: * and ? wildcards, case-insensitive, whole-name match', () => {
  const operations = ['Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey', 'GetKeyPolicy'] as const;
  const cases: [unknown, string[]][] = [
    ['kms:Gen*', ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext']],
    ['kms:GenerateDataKey', ['GenerateDataKey']],
    ['KMS:ENCRYPT', ['Encrypt']],
    ['kms:?ncrypt', ['Encrypt']],
    ['kms:??crypt', ['Encrypt']],
    ['kms:*Key', ['GenerateDataKey', 'DescribeKey']],
    ['kms:Get*', ['GetKeyPolicy']],
    ['kms:*', [...operations]],
    ['*', [...operations]],
    [['kms:Describe*', 'kms:Encrypt'], ['Encrypt', 'DescribeKey']],
  ];
  const inputs: Record<(typeof operations)[number], (key: string) => Record<string, unknown>> = {
    Encrypt: (KeyId) => ({ KeyId, Plaintext: bytes('x') }),
    GenerateDataKey: (KeyId) => ({ KeyId, KeySpec: 'AES_256' }),
    GenerateDataKeyWithoutPlaintext: (KeyId) => ({ KeyId, KeySpec: 'AES_256' }),
    DescribeKey: (KeyId) => ({ KeyId }),
    GetKeyPolicy: (KeyId) => ({ KeyId }),
  };
  it.each(cases)('Allow %j', async (action, expected) => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: ALICE.principal }, action)));
    const allowed: string[] = [];
    for (const operation of operations) if ((await as(ALICE, operation, inputs[operation](key))) === 'ok') allowed.push(operation);
    expect(allowed).toEqual(expected);
  });
});

describe('condition operators on the encryption context (Encrypt as alice)', () => {
  // IAM User Guide, "Condition operators": a missing key fails positive operators and passes Not
  // operators; ...IfExists passes when the key is missing; Null "true" means missing; several
  // values of one key are OR (NOR for a Not operator). "Conditions with multiple context keys or
  // values": ForAllValues is true for an empty or missing set, ForAnyValue false. KMS Developer
  // Guide, kms:EncryptionContext:context-key: the whole condition key is case-insensitive, the
  // value follows the operator; kms:EncryptionContextKeys values follow the operator too.
  type Row = [Record<string, string> | undefined, 'ok' | 'AccessDeniedException'];
  const ok = 'ok' as const;
  const no = 'AccessDeniedException' as const;
  const allowCases: [string, object, Row[]][] = [
    ['StringEquals', { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } }, [[{ tenant: 'a' }, ok], [{ Tenant: 'a' }, ok], [{ tenant: 'A' }, no], [{ tenant: 'a', TENANT: 'b' }, no], [{}, no], [undefined, no]]],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'kms:EncryptionContext:tenant': 'a' } }, [[{ tenant: 'A' }, ok], [{ tenant: 'b' }, no]]],
    ['StringLike with * and ?', { StringLike: { 'kms:EncryptionContext:tenant': 'a?c*' } }, [[{ tenant: 'abc' }, ok], [{ tenant: 'abcdef' }, ok], [{ tenant: 'ac' }, no], [{ tenant: 'Abc' }, no]]],
    ['StringEquals treats * literally', { StringEquals: { 'kms:EncryptionContext:tenant': 'a*' } }, [[{ tenant: 'a*' }, ok], [{ tenant: 'ab' }, no]]],
    ['StringNotEquals (absent passes)', { StringNotEquals: { 'kms:EncryptionContext:tenant': 'a' } }, [[{ tenant: 'b' }, ok], [{}, ok], [{ tenant: 'a' }, no]]],
    ['StringNotEquals, two values: NOR', { StringNotEquals: { 'kms:EncryptionContext:tenant': ['a', 'b'] } }, [[{ tenant: 'c' }, ok], [{ tenant: 'b' }, no]]],
    ['StringEqualsIfExists', { StringEqualsIfExists: { 'kms:EncryptionContext:tenant': 'a' } }, [[undefined, ok], [{ other: 'x' }, ok], [{ tenant: 'a' }, ok], [{ tenant: 'b' }, no]]],
    ['two keys: AND', { StringEquals: { 'kms:EncryptionContext:tenant': 'a', 'kms:EncryptionContext:env': 'prod' } }, [[{ tenant: 'a', env: 'prod' }, ok], [{ tenant: 'a' }, no]]],
    ['Null "true"', { Null: { 'kms:EncryptionContext:tenant': 'true' } }, [[undefined, ok], [{ other: 'x' }, ok], [{ tenant: 'x' }, no]]],
    ['Null "false"', { Null: { 'kms:EncryptionContext:tenant': 'false' } }, [[{ TENANT: 'x' }, ok], [undefined, no]]],
    ['ForAllValues:StringEquals keys', { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'env'] } }, [[undefined, ok], [{}, ok], [{ tenant: 'x' }, ok], [{ tenant: 'x', other: 'y' }, no], [{ Tenant: 'x' }, no]]],
    ['ForAnyValue:StringEquals keys', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } }, [[undefined, no], [{}, no], [{ other: 'y', tenant: 'x' }, ok], [{ TENANT: 'x' }, no]]],
    ['ForAnyValue:StringNotLike keys (missing set: false)', { 'ForAnyValue:StringNotLike': { 'kms:EncryptionContextKeys': 'ten*' } }, [[undefined, no], [{ tenant: 'x' }, no], [{ tenant: 'x', y: 'z' }, ok]]],
    ['ForAllValues:StringNotEquals keys (missing set: true)', { 'ForAllValues:StringNotEquals': { 'kms:EncryptionContextKeys': 'secret' } }, [[undefined, ok], [{ a: 'x' }, ok], [{ a: 'x', secret: 'y' }, no]]],
  ];
  it.each(allowCases)('Allow with %s', async (_name, condition, rows) => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: ALICE.principal }, 'kms:Encrypt', condition)));
    const got: Row[] = [];
    for (const [context] of rows) got.push([context, (await encryptAs(ALICE, key, context)) as Row[1]]);
    expect(got).toEqual(rows);
  });

  const denyCases: [string, object, Row[]][] = [
    ['StringEquals', { StringEquals: { 'kms:EncryptionContext:class': 'secret' } }, [[{ class: 'secret' }, no], [{ CLASS: 'secret' }, no], [{ class: 'public', Class: 'secret' }, no], [{ class: 'Secret' }, ok], [undefined, ok]]],
    ['StringNotEquals (absent: denied)', { StringNotEquals: { 'kms:EncryptionContext:class': 'public' } }, [[undefined, no], [{ class: 'other' }, no], [{ class: 'public' }, ok]]],
    // "with a negated condition operator like StringNotEqualsIfExists, the request is still denied even if the tag is missing"
    ['StringNotEqualsIfExists (absent: denied too)', { StringNotEqualsIfExists: { 'kms:EncryptionContext:class': 'public' } }, [[undefined, no], [{ class: 'other' }, no], [{ class: 'public' }, ok]]],
    ['StringEqualsIfExists (absent: denied)', { StringEqualsIfExists: { 'kms:EncryptionContext:class': 'secret' } }, [[undefined, no], [{ class: 'secret' }, no], [{ class: 'public' }, ok]]],
    ['StringLike', { StringLike: { 'kms:EncryptionContext:class': 's*' } }, [[{ class: 'sx' }, no], [{ Class: 'S' }, ok]]],
    ['Null "true" on the keys (no context: denied)', { Null: { 'kms:EncryptionContextKeys': 'true' } }, [[undefined, no], [{}, no], [{ a: 'b' }, ok]]],
    ['ForAnyValue:StringEquals keys (value case-sensitive)', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'secret' } }, [[{ a: 'b', secret: 'c' }, no], [{ SECRET: 'c' }, ok], [undefined, ok]]],
    ['ForAnyValue:StringEqualsIgnoreCase keys', { 'ForAnyValue:StringEqualsIgnoreCase': { 'kms:EncryptionContextKeys': 'secret' } }, [[{ SECRET: 'c' }, no]]],
  ];
  it.each(denyCases)('Deny with %s, after an unconditional Allow', async (_name, condition, rows) => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: ALICE.principal }, 'kms:Encrypt'), statement('Deny', { AWS: ALICE.principal }, 'kms:Encrypt', condition)));
    const got: Row[] = [];
    for (const [context] of rows) got.push([context, (await encryptAs(ALICE, key, context)) as Row[1]]);
    expect(got).toEqual(rows);
  });
});

describe('ForAnyValue: on a single-valued key: case variants cannot borrow an Allow', () => {
  // A context or tag key is single-valued; several values arise only from keys differing in case.
  // docs/kms-server.md: a Deny applies if any matches, an Allow only if all do. ForAnyValue: read
  // them as a set, so one matching variant was enough for an Allow.
  it('kms:EncryptionContext:<key> (Encrypt as mallory)', async () => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: MALLORY.principal }, 'kms:Encrypt', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContext:tenant': 'mallory' } })));
    const rows: [Record<string, string> | undefined, string][] = [
      [{ tenant: 'mallory' }, 'ok'],
      [{ TENANT: 'mallory' }, 'ok'],
      [{ tenant: 'mallory', TENANT: 'alice' }, 'AccessDeniedException'],
      [{ tenant: 'alice' }, 'AccessDeniedException'],
      [undefined, 'AccessDeniedException'],
    ];
    const got: [Record<string, string> | undefined, string][] = [];
    for (const [context] of rows) got.push([context, await encryptAs(MALLORY, key, context)]);
    expect(got).toEqual(rows);
  });

  it('aws:RequestTag/<tag> (TagResource as mallory): no ENV=prod smuggled next to env=dev', async () => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: MALLORY.principal }, 'kms:TagResource', { 'ForAnyValue:StringEquals': { 'aws:RequestTag/env': 'dev' } })));
    expect(await as(MALLORY, 'TagResource', { KeyId: key, Tags: [{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'ENV', TagValue: 'prod' }] })).toBe('AccessDeniedException');
    expect(((await kms.execute('ListResourceTags', { KeyId: key }, ADMIN)) as { Tags: unknown[] }).Tags).toEqual([]);
    expect(await as(MALLORY, 'TagResource', { KeyId: key, Tags: [{ TagKey: 'env', TagValue: 'dev' }] })).toBe('ok');
  });

  it('a Deny with ForAnyValue: still applies when any variant matches', async () => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: MALLORY.principal }, 'kms:Encrypt'), statement('Deny', '*', 'kms:Encrypt', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContext:class': 'secret' } })));
    expect(await encryptAs(MALLORY, key, { class: 'public', CLASS: 'secret' })).toBe('AccessDeniedException');
    expect(await encryptAs(MALLORY, key, { class: 'public' })).toBe('ok');
  });

  it('a stored Deny with ForAllValues: (refused in new policies) applies when any variant matches, too', () => {
    // Read as a set, ForAllValues: wanted every variant to match: CLASS=public next to
    // class=secret took the Deny away. Only a policy stored before the OverlyPermissiveCondition
    // check can hold it, and it is still evaluated.
    const stored = policyOf(statement('Allow', { AWS: MALLORY.principal }, 'kms:Encrypt'), statement('Deny', '*', 'kms:Encrypt', { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:class': 'secret' } }));
    const decide = (encryptionContext: Record<string, string>) =>
      evaluateKeyPolicy(cachedKeyPolicy(stored), { principal: MALLORY.principal, accountId: ACCOUNT, action: 'kms:Encrypt', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`, encryptionContext });
    expect(decide({ class: 'secret', CLASS: 'public' })).toBe('deny');
    expect(decide({ CLASS: 'secret', class: 'public' })).toBe('deny');
    expect(decide({ class: 'secret' })).toBe('deny');
    expect(decide({ class: 'public' })).toBe('allow');
  });
});

describe('aws:EpochTime takes date and numeric operators', () => {
  // IAM User Guide, "AWS global condition context keys", aws:EpochTime: "Works with date
  // operators or numeric operators". Before, Numeric* on it was MalformedPolicyDocumentException.
  it.each([
    ['NumericLessThan', { NumericLessThan: { 'aws:EpochTime': String(Date.UTC(2026, 0, 2) / 1000) } }],
    ['DateLessThan (epoch seconds)', { DateLessThan: { 'aws:EpochTime': String(Date.UTC(2026, 0, 2) / 1000) } }],
    ['DateLessThan (ISO 8601)', { DateLessThan: { 'aws:EpochTime': '2026-01-02T00:00:00Z' } }],
  ])('Allow until 2026-01-02 with %s', async (_name, condition) => {
    const key = await keyWith(policyOf(statement('Allow', { AWS: ALICE.principal }, 'kms:Encrypt', condition)));
    expect(await encryptAs(ALICE, key)).toBe('ok'); // the clock starts at 2026-01-01
    clock.advanceDays(1);
    expect(await encryptAs(ALICE, key)).toBe('AccessDeniedException');
  });

  it('other numeric keys still refuse date operators, and aws:CurrentTime numeric ones', async () => {
    const key = await keyWith(policyOf());
    for (const condition of [{ DateLessThan: { 'kms:RotationPeriodInDays': '2026-01-01' } }, { NumericLessThan: { 'aws:CurrentTime': '1' } }]) {
      expect(await errorName(kms.execute('PutKeyPolicy', { KeyId: key, Policy: policyOf(statement('Allow', '*', 'kms:Encrypt', condition)) }, ADMIN))).toBe('MalformedPolicyDocumentException');
    }
  });
});

describe('key policy x identity policy x grant, for a principal of the key account', () => {
  // KMS Developer Guide, "Default key policy": the account principal lets IAM policies allow;
  // "Without this permission, IAM policies that allow access to the key are ineffective, although
  // IAM policies that deny access to the key are still effective". IAM User Guide, "Policy
  // evaluation logic": within one account, an Allow in either the key policy (naming the
  // principal) or, where delegated, the identity policy suffices; an explicit Deny anywhere wins.
  const keyPolicies = {
    account: policyOf(statement('Allow', { AWS: ROOT.principal }, 'kms:*')),
    alice: policyOf(statement('Allow', { AWS: ALICE.principal }, 'kms:Encrypt')),
    'admin only': policyOf(),
  } as const;
  const identity = {
    none: undefined,
    'allow Encrypt': { Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' },
    'allow Decrypt': { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
    'deny Encrypt': { Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*' },
  } as const;
  const cases: [keyof typeof keyPolicies, keyof typeof identity, boolean, string][] = [
    ['account', 'none', false, 'ok'],
    ['account', 'allow Encrypt', false, 'ok'],
    ['account', 'allow Decrypt', false, 'AccessDeniedException'],
    ['account', 'allow Decrypt', true, 'ok'],
    ['account', 'deny Encrypt', false, 'AccessDeniedException'],
    ['account', 'deny Encrypt', true, 'AccessDeniedException'],
    ['alice', 'none', false, 'ok'],
    ['alice', 'allow Decrypt', false, 'ok'],
    ['alice', 'deny Encrypt', false, 'AccessDeniedException'],
    ['admin only', 'none', false, 'AccessDeniedException'],
    ['admin only', 'none', true, 'ok'],
    ['admin only', 'allow Encrypt', false, 'AccessDeniedException'],
    ['admin only', 'allow Encrypt', true, 'ok'],
    ['admin only', 'deny Encrypt', true, 'AccessDeniedException'],
  ];
  it.each(cases)('key policy naming %s, identity policy %s, grant %s: %s', async (policy, attached, grant, expected) => {
    const key = await keyWith(keyPolicies[policy]);
    const statementOf = identity[attached];
    if (statementOf) await kms.putPrincipalPolicy({ Principal: ALICE.principal, PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statementOf] }) });
    if (grant) await kms.execute('CreateGrant', { KeyId: key, GranteePrincipal: ALICE.principal, Operations: ['Encrypt'] }, ADMIN);
    expect(await encryptAs(ALICE, key)).toBe(expected);
  });
});

describe('another account', () => {
  // IAM User Guide, "Cross-account policy evaluation logic": the key policy must allow the other
  // account or principal (its own IAM is not in the local store); KMS Developer Guide,
  // kms:CallerAccount and aws:PrincipalAccount restrict "*" to accounts.
  const cases: [string, string, Record<'alice' | 'partner', string>][] = [
    ['"*" limited by kms:CallerAccount', policyOf(statement('Allow', '*', 'kms:Encrypt', { StringEquals: { 'kms:CallerAccount': ACCOUNT } })), { alice: 'ok', partner: 'AccessDeniedException' }],
    ['"*" limited by aws:PrincipalAccount', policyOf(statement('Allow', '*', 'kms:Encrypt', { StringEquals: { 'aws:PrincipalAccount': OTHER } })), { alice: 'AccessDeniedException', partner: 'ok' }],
    [
      'a Deny of other accounts by StringNotEquals kms:CallerAccount',
      policyOf(statement('Allow', '*', 'kms:Encrypt'), statement('Deny', '*', 'kms:*', { StringNotEquals: { 'kms:CallerAccount': ACCOUNT } })),
      { alice: 'ok', partner: 'AccessDeniedException' },
    ],
    ['ArnLike aws:PrincipalArn on the other account', policyOf(statement('Allow', '*', 'kms:Encrypt', { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${OTHER}:user/*` } })), { alice: 'AccessDeniedException', partner: 'ok' }],
  ];
  it.each(cases)('%s', async (_name, policy, expected) => {
    const key = await keyWith(policy);
    expect({ alice: await encryptAs(ALICE, key), partner: await encryptAs(PARTNER, key) }).toEqual(expected);
  });
});

describe('elements the local KMS does not implement are refused, not ignored', () => {
  const base = { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:Encrypt', Resource: '*' };
  const cases: [string, object][] = [
    ['NotPrincipal', { Effect: 'Deny', NotPrincipal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' }],
    ['NotAction', { Effect: 'Deny', Principal: '*', NotAction: 'kms:Encrypt', Resource: '*' }],
    ['NotResource', { Effect: 'Deny', Principal: '*', Action: 'kms:*', NotResource: 'arn:aws:kms:*:*:key/x' }],
    ['a service principal', { ...base, Principal: { Service: 'logs.amazonaws.com' } }],
    ['an AWS and a Service principal', { ...base, Principal: { AWS: ALICE.principal, Service: 'logs.amazonaws.com' } }],
    ['a partial wildcard principal', { ...base, Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/*` } }],
    ['a lower-case element name', { effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }],
  ];
  it.each(cases)('%s: MalformedPolicyDocumentException at PutKeyPolicy', async (_name, extra) => {
    const key = await keyWith(policyOf());
    expect(await errorName(kms.execute('PutKeyPolicy', { KeyId: key, Policy: policyOf(extra) }, ADMIN))).toBe('MalformedPolicyDocumentException');
  });
});
