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
import { errorName, freshKms, outcomeAs } from './helpers.js';

const ACCOUNT = '111122223333';
const who = (name: string): Caller => ({ principal: `arn:aws:iam::${ACCOUNT}:${name}`, accountId: ACCOUNT });
const ADMIN = who('user/admin');
const ROOT = who('root');
const ALICE = who('user/alice');
const BOB = who('user/bob');
const MALLORY = who('user/mallory');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

let kms: LocalKms;
let cleanup: () => void;
beforeEach(() => ({ kms, cleanup } = freshKms()));
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
