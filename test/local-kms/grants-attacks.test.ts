/**
 * Grants probed by a grantee, a retiring principal and an unrelated principal, against the
 * documented AWS KMS grant semantics (AWS KMS Developer Guide, "Grants in AWS KMS", "Creating
 * grants", "Managing grants": "Retiring and revoking grants", "Using a grant token"; the API
 * Reference of CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and RevokeGrant).
 * test/local-kms/access.test.ts has the basic grant tests; this file adds what they miss.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/local-kms.js';
import type { Caller } from '../../src/local-kms/operation.js';
import { TestClock } from './helpers.js';

const ACCOUNT = '111122223333';
const who = (name: string): Caller => ({ principal: `arn:aws:iam::${ACCOUNT}:user/${name}`, accountId: ACCOUNT });
const ROOT: Caller = { principal: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
const ALICE = who('alice');
const BOB = who('bob');
const CAROL = who('carol');
const MALLORY: Caller = { principal: 'arn:aws:iam::444455556666:user/mallory', accountId: '444455556666' };

let kms: LocalKms;
let clock: TestClock;
let dir: string;
let KEY_ID: string;
let KEY_ARN: string;

function run(caller: Caller, operation: string, input: Record<string, unknown>): Promise<unknown> {
  return kms.execute(operation, input, caller);
}

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'none';
}

const policyDoc = (...Statement: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
const attach = (caller: Caller, ...statements: object[]) =>
  kms.putPrincipalPolicy({ Principal: caller.principal, PolicyName: 'p', PolicyDocument: policyDoc(...statements) });
const grantIds = async (): Promise<string[]> =>
  ((await run(ALICE, 'ListGrants', { KeyId: KEY_ID })) as { Grants: { GrantId: string }[] }).Grants.map((g) => g.GrantId);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-grants-'));
  clock = new TestClock();
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(9), accountId: ACCOUNT, clock: clock.now });
  const created = (await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string } };
  KEY_ID = created.KeyMetadata.KeyId;
  KEY_ARN = created.KeyMetadata.Arn;
  // Only alice administers the key.
  await run(ROOT, 'PutKeyPolicy', {
    KeyId: KEY_ID,
    Policy: policyDoc({ Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' }),
    BypassPolicyLockoutSafetyCheck: true,
  });
});

afterEach(() => {
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RetireGrant and identity policies', () => {
  // AWS KMS Developer Guide, "Retiring and revoking grants": "To deny permission to retire a
  // grant, you can use a Deny action with the kms:RetireGrant permission." Before, RetireGrant
  // never asked the caller's identity policies: a Deny did not stop the retiring principal.
  // https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html
  it('a Deny of kms:RetireGrant in an identity policy stops the retiring principal and the grantee', async () => {
    const grant = (await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: BOB.principal,
      RetiringPrincipal: CAROL.principal,
      Operations: ['Decrypt', 'RetireGrant'],
    })) as { GrantId: string; GrantToken: string };
    const deny = { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' };
    await attach(CAROL, { Effect: 'Allow', Action: 'kms:*', Resource: '*' }, deny);
    await attach(BOB, deny);
    for (const caller of [CAROL, BOB]) {
      expect(await errorName(run(caller, 'RetireGrant', { GrantToken: grant.GrantToken }))).toBe('AccessDeniedException');
      expect(await errorName(run(caller, 'RetireGrant', { KeyId: KEY_ARN, GrantId: grant.GrantId }))).toBe('AccessDeniedException');
      expect(await errorName(run(caller, 'RetireGrant', { GrantToken: grant.GrantToken, DryRun: true }))).toBe('AccessDeniedException');
    }
    expect(await grantIds()).toEqual([grant.GrantId]);
    // A Deny limited to another key does not apply; nor one whose condition does not hold.
    await attach(CAROL, { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: `arn:aws:kms:*:${ACCOUNT}:key/other` });
    await attach(BOB, { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'x' } } });
    expect(await errorName(run(BOB, 'RetireGrant', { GrantToken: grant.GrantToken, DryRun: true }))).toBe('DryRunOperationException');
    await run(CAROL, 'RetireGrant', { GrantToken: grant.GrantToken });
    expect(await grantIds()).toEqual([]);
  });

  // Same page: "The AWS account that owns the KMS key can use the kms:RetireGrant permission to
  // delegate permission to retire the grant to an IAM user in the account"; API Reference,
  // RetireGrant: "It can also be called by principals to whom permission for retiring a grant is
  // delegated." Before, only the grant's principals and the account's root could retire.
  it('an identity policy of the key\'s account that allows kms:RetireGrant on the key delegates retiring', async () => {
    const dave = who('dave');
    const grant = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, RetiringPrincipal: CAROL.principal, Operations: ['Decrypt'] })) as {
      GrantId: string;
      GrantToken: string;
    };
    // No identity policy, or one for another key only: not delegated.
    expect(await errorName(run(dave, 'RetireGrant', { GrantToken: grant.GrantToken }))).toBe('AccessDeniedException');
    await attach(dave, { Effect: 'Allow', Action: 'kms:RetireGrant', Resource: `arn:aws:kms:*:${ACCOUNT}:key/other` });
    expect(await errorName(run(dave, 'RetireGrant', { GrantToken: grant.GrantToken }))).toBe('AccessDeniedException');
    // Nor does the key policy delegate it ("not effective in a key policy"): alice has kms:* there.
    expect(await errorName(run(ALICE, 'RetireGrant', { GrantToken: grant.GrantToken }))).toBe('AccessDeniedException');
    expect(await grantIds()).toEqual([grant.GrantId]);
    await attach(dave, { Effect: 'Allow', Action: 'kms:RetireGrant', Resource: KEY_ARN });
    await run(dave, 'RetireGrant', { KeyId: KEY_ARN, GrantId: grant.GrantId });
    expect(await grantIds()).toEqual([]);
  });

  it("a Deny whose condition reads the key's tags holds when the grant is named by its token", async () => {
    await run(ALICE, 'TagResource', { KeyId: KEY_ID, Tags: [{ TagKey: 'team', TagValue: 'x' }] });
    const grant = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, RetiringPrincipal: CAROL.principal, Operations: ['Decrypt'] })) as {
      GrantToken: string;
    };
    await attach(CAROL, { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'x' } } });
    expect(await errorName(run(CAROL, 'RetireGrant', { GrantToken: grant.GrantToken }))).toBe('AccessDeniedException');
    expect((await grantIds()).length).toBe(1);
  });
});

describe('ListRetirableGrants', () => {
  // AWS KMS API Reference, ListRetirableGrants: "The authorized resource in ListRetirableGrants
  // calls is the retiring principal specified in the request." Before, identity policies were
  // matched against Resource "*": a Deny naming one retiring principal never applied.
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html
  it("an identity policy's Resource is the retiring principal asked about", async () => {
    const forAlice = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, RetiringPrincipal: ALICE.principal, Operations: ['Decrypt'] })) as {
      GrantId: string;
    };
    const forCarol = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, RetiringPrincipal: CAROL.principal, Operations: ['Decrypt'] })) as {
      GrantId: string;
    };
    await attach(BOB, { Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Action: 'kms:ListRetirableGrants', Resource: ALICE.principal });
    expect(await errorName(run(BOB, 'ListRetirableGrants', { RetiringPrincipal: ALICE.principal }))).toBe('AccessDeniedException');
    const carols = (await run(BOB, 'ListRetirableGrants', { RetiringPrincipal: CAROL.principal })) as { Grants: { GrantId: string }[] };
    expect(carols.Grants.map((g) => g.GrantId)).toEqual([forCarol.GrantId]);
    // An Allow for one principal's grants only.
    await attach(CAROL, { Effect: 'Allow', Action: 'kms:ListRetirableGrants', Resource: `arn:aws:iam::${ACCOUNT}:user/a*` });
    const alices = (await run(CAROL, 'ListRetirableGrants', { RetiringPrincipal: ALICE.principal })) as { Grants: { GrantId: string }[] };
    expect(alices.Grants.map((g) => g.GrantId)).toEqual([forAlice.GrantId]);
    expect(await errorName(run(CAROL, 'ListRetirableGrants', { RetiringPrincipal: CAROL.principal }))).toBe('AccessDeniedException');
  });
});

describe('CreateGrant through a grant', () => {
  // AWS KMS Developer Guide, "Creating grants", "Granting CreateGrant permission": a grantee that
  // got CreateGrant from a grant "can only create grants that allow some or all of the
  // operations in the parent grant", whose constraints are "at least as strict": it "can add
  // pairs to an EncryptionContextSubset constraint ... but it cannot remove them", and "can
  // change an EncryptionContextSubset constraint to an EncryptionContextEquals constraint, but
  // not the reverse". Before, only the parent's constraints exactly were accepted.
  // https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html
  const child = (constraints?: object, operations = ['Decrypt']) =>
    run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: CAROL.principal, Operations: operations, ...(constraints ? { Constraints: constraints } : {}) });

  it('a child grant may be stricter than its parent, never wider', async () => {
    await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: BOB.principal,
      Operations: ['GenerateDataKey', 'Decrypt', 'CreateGrant'],
      Constraints: { EncryptionContextSubset: { Department: 'IT' } },
    });
    await child({ EncryptionContextSubset: { Department: 'IT' } }, ['CreateGrant', 'Decrypt']);
    await child({ EncryptionContextSubset: { Department: 'IT', Purpose: 'Test' } });
    await child({ EncryptionContextEquals: { Department: 'IT' } });
    await child({ EncryptionContextEquals: { Department: 'IT', Purpose: 'Test' } });
    for (const [constraints, operations] of [
      [undefined, ['Decrypt']],
      [{ EncryptionContextSubset: {} }, ['Decrypt']],
      [{ EncryptionContextSubset: { Purpose: 'Test' } }, ['Decrypt']],
      [{ EncryptionContextSubset: { Department: 'HR' } }, ['Decrypt']],
      [{ EncryptionContextEquals: { Purpose: 'Test' } }, ['Decrypt']],
      [{ EncryptionContextSubset: { Department: 'IT' } }, ['Encrypt']],
      [{ EncryptionContextSubset: { Department: 'IT' } }, ['Decrypt', 'RetireGrant']],
    ] as const) {
      expect([constraints, operations, await errorName(child(constraints, [...operations]))]).toEqual([constraints, operations, 'AccessDeniedException']);
    }
    expect((await grantIds()).length).toBe(5);
  });

  it('under a parent with EncryptionContextEquals, only the same Equals', async () => {
    await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: BOB.principal,
      Operations: ['Decrypt', 'CreateGrant'],
      Constraints: { EncryptionContextEquals: { Department: 'IT', Team: 'a' } },
    });
    await child({ EncryptionContextEquals: { Team: 'a', Department: 'IT' } });
    for (const constraints of [
      { EncryptionContextSubset: { Department: 'IT', Team: 'a' } },
      { EncryptionContextEquals: { Department: 'IT' } },
      { EncryptionContextEquals: { Department: 'IT', Team: 'a', Purpose: 'Test' } },
      undefined,
    ]) {
      expect([constraints, await errorName(child(constraints))]).toEqual([constraints, 'AccessDeniedException']);
    }
  });
});

describe('constraints and operations without an encryption context', () => {
  // AWS KMS API Reference, CreateGrant, Constraints: "Grants with grant constraints can include
  // the DescribeKey and RetireGrant operations, but the constraint doesn't apply to these
  // operations." Before, a constrained grant naming DescribeKey was ValidationException.
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
  it('a constrained grant may include DescribeKey and RetireGrant, which its constraint does not limit', async () => {
    const grant = (await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: BOB.principal,
      Operations: ['Decrypt', 'DescribeKey', 'RetireGrant'],
      Constraints: { EncryptionContextSubset: { tenant: 'a' } },
    })) as { GrantId: string };
    expect(await run(BOB, 'DescribeKey', { KeyId: KEY_ID })).toMatchObject({ KeyMetadata: { KeyId: KEY_ID } });
    const { CiphertextBlob } = (await run(ALICE, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]) })) as { CiphertextBlob: Uint8Array };
    expect(await errorName(run(BOB, 'Decrypt', { CiphertextBlob }))).toBe('AccessDeniedException');
    // The grant allows nothing it does not name.
    expect(await errorName(run(BOB, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]), EncryptionContext: { tenant: 'a' } }))).toBe('AccessDeniedException');
    await run(BOB, 'RetireGrant', { KeyId: KEY_ARN, GrantId: grant.GrantId });
    expect(await errorName(run(BOB, 'DescribeKey', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
  });
});

describe('a grant is for one key', () => {
  // AWS KMS Developer Guide, "Grants in AWS KMS": "Each grant allows access to exactly one KMS key."
  // https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
  let other: { KeyId: string; Arn: string };
  beforeEach(async () => {
    other = ((await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string } }).KeyMetadata;
    // Only an administrator other than alice manages the other key.
    await run(ROOT, 'PutKeyPolicy', {
      KeyId: other.KeyId,
      Policy: policyDoc({ Effect: 'Allow', Principal: { AWS: who('admin2').principal }, Action: 'kms:*', Resource: '*' }),
      BypassPolicyLockoutSafetyCheck: true,
    });
  });

  it("neither a grant nor its token allows anything on another key; another key's administrator cannot revoke it", async () => {
    const grant = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, RetiringPrincipal: CAROL.principal, Operations: ['Encrypt', 'CreateGrant'] })) as {
      GrantId: string;
      GrantToken: string;
    };
    const plaintext = new Uint8Array([1]);
    await run(BOB, 'Encrypt', { KeyId: KEY_ID, Plaintext: plaintext, GrantTokens: [grant.GrantToken] });
    expect(await errorName(run(BOB, 'Encrypt', { KeyId: other.KeyId, Plaintext: plaintext, GrantTokens: [grant.GrantToken] }))).toBe('AccessDeniedException');
    expect(await errorName(run(BOB, 'CreateGrant', { KeyId: other.KeyId, GranteePrincipal: BOB.principal, Operations: ['Encrypt'] }))).toBe('AccessDeniedException');
    // The grant named with the wrong key is not found, whoever asks.
    expect(await errorName(run(who('admin2'), 'RevokeGrant', { KeyId: other.KeyId, GrantId: grant.GrantId }))).toBe('NotFoundException');
    expect(await errorName(run(CAROL, 'RetireGrant', { KeyId: other.Arn, GrantId: grant.GrantId }))).toBe('NotFoundException');
    expect(await errorName(run(who('admin2'), 'RevokeGrant', { KeyId: KEY_ID, GrantId: grant.GrantId }))).toBe('AccessDeniedException');
    expect(await grantIds()).toEqual([grant.GrantId]);
  });

  it('a grant names its key by key id or ARN, not by alias', async () => {
    await run(ALICE, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: KEY_ID });
    for (const KeyId of ['alias/app', KEY_ARN.replace(/key\/.*/, 'alias/app')]) {
      expect(await errorName(run(ALICE, 'CreateGrant', { KeyId, GranteePrincipal: BOB.principal, Operations: ['Encrypt'] }))).toBe('NotFoundException');
    }
    expect(await grantIds()).toEqual([]);
    // Once made, the grant covers calls that name the key by its alias.
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Encrypt'] });
    await run(BOB, 'Encrypt', { KeyId: 'alias/app', Plaintext: new Uint8Array([1]) });
  });
});

describe('grants and key states', () => {
  it('a disabled key keeps its grants, which work again once it is enabled; a deleted key takes them with it', async () => {
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Encrypt'] });
    const encrypt = () => run(BOB, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]) });
    await run(ALICE, 'DisableKey', { KeyId: KEY_ID });
    expect(await errorName(encrypt())).toBe('DisabledException');
    expect((await grantIds()).length).toBe(1);
    await run(ALICE, 'EnableKey', { KeyId: KEY_ID });
    await encrypt();
    await run(ALICE, 'ScheduleKeyDeletion', { KeyId: KEY_ID, PendingWindowInDays: 7 });
    expect(await errorName(encrypt())).toBe('KMSInvalidStateException');
    await run(ALICE, 'CancelKeyDeletion', { KeyId: KEY_ID });
    expect((await grantIds()).length).toBe(1);
    await run(ALICE, 'ScheduleKeyDeletion', { KeyId: KEY_ID, PendingWindowInDays: 7 });
    clock.advanceDays(8);
    expect(await errorName(encrypt())).toBe('NotFoundException');
    expect(kms.database.prepare('SELECT count(*) AS n FROM grants').get()).toEqual({ n: 0 });
  });
});

describe('CreateGrant Name', () => {
  // AWS KMS API Reference, CreateGrant, Name: "When this value is present, you can retry a
  // CreateGrant request with identical parameters; if the grant already exists, the original
  // GrantId is returned without creating a new grant."
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
  it('the same name with other parameters, or on another key, is another grant', async () => {
    const base = { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], Name: 'n' };
    const first = (await run(ALICE, 'CreateGrant', base)) as { GrantId: string };
    expect(((await run(ALICE, 'CreateGrant', base)) as { GrantId: string }).GrantId).toBe(first.GrantId);
    const variants = [
      { Operations: ['Decrypt', 'Encrypt'] },
      { GranteePrincipal: CAROL.principal },
      { RetiringPrincipal: CAROL.principal },
      { Constraints: { EncryptionContextSubset: { a: '1' } } },
      { Constraints: { EncryptionContextEquals: { a: '1' } } },
    ];
    const ids = new Set([first.GrantId]);
    for (const v of variants) ids.add(((await run(ALICE, 'CreateGrant', { ...base, ...v })) as { GrantId: string }).GrantId);
    expect(ids.size).toBe(variants.length + 1);
    expect((await grantIds()).length).toBe(variants.length + 1);
    const other = ((await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    expect(((await run(ROOT, 'CreateGrant', { ...base, KeyId: other })) as { GrantId: string }).GrantId).not.toBe(first.GrantId);
  });

  it('a repeat is authorized like a new grant: a principal may not get a token for a grant it could not make', async () => {
    const base = { KeyId: KEY_ID, GranteePrincipal: CAROL.principal, Operations: ['Decrypt'], Name: 'n' };
    await run(ALICE, 'CreateGrant', base);
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Encrypt', 'CreateGrant'] });
    expect(await errorName(run(BOB, 'CreateGrant', base))).toBe('AccessDeniedException');
    expect(await errorName(run(MALLORY, 'CreateGrant', { ...base, KeyId: KEY_ARN }))).toBe('AccessDeniedException');
  });
});

describe('ListGrants filters', () => {
  // AWS KMS API Reference, ListGrants: GrantId "returns only the grant with the specified grant
  // ID"; GranteePrincipal "returns only grants where the specified principal is the grantee".
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
  it('by grant id and by grantee, paged, on this key only', async () => {
    const make = async (grantee: Caller) =>
      ((await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: grantee.principal, Operations: ['Decrypt'] })) as { GrantId: string }).GrantId;
    const bobs = [await make(BOB), await make(CAROL), await make(BOB), await make(BOB)].filter((_, i) => i !== 1);
    const list = async (input: Record<string, unknown>): Promise<string[]> => {
      const seen: string[] = [];
      let marker: string | undefined;
      do {
        const page = (await run(ALICE, 'ListGrants', { KeyId: KEY_ID, Limit: 1, ...input, ...(marker ? { Marker: marker } : {}) })) as {
          Grants: { GrantId: string; GranteePrincipal: string }[];
          Truncated: boolean;
          NextMarker?: string;
        };
        seen.push(...page.Grants.map((g) => g.GrantId));
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker !== undefined);
      return seen;
    };
    expect(await list({ GranteePrincipal: BOB.principal })).toEqual(bobs);
    expect(await list({ GrantId: bobs[1] })).toEqual([bobs[1]]);
    expect(await list({ GrantId: bobs[1], GranteePrincipal: CAROL.principal })).toEqual([]);
    const other = ((await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    expect(((await run(ROOT, 'ListGrants', { KeyId: other, GrantId: bobs[0] })) as { Grants: unknown[] }).Grants).toEqual([]);
    // A grantee learns nothing through ListGrants: no grant gives it.
    expect(await errorName(run(BOB, 'ListGrants', { KeyId: KEY_ID, GranteePrincipal: BOB.principal }))).toBe('AccessDeniedException');
  });
});

describe('a principal of another account', () => {
  // AWS KMS API Reference, RetireGrant: "Cross-account use: Yes. You can retire a grant on a KMS
  // key in a different AWS account." ListGrants and RevokeGrant need a policy, which no grant gives.
  it('uses and retires its grant by the key ARN or token, and can do nothing else with grants', async () => {
    const grant = (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: MALLORY.principal, RetiringPrincipal: MALLORY.principal, Operations: ['Encrypt', 'DescribeKey'] })) as {
      GrantId: string;
      GrantToken: string;
    };
    await run(MALLORY, 'Encrypt', { KeyId: KEY_ARN, Plaintext: new Uint8Array([1]) });
    expect(await errorName(run(MALLORY, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]) }))).toBe('NotFoundException');
    expect(await errorName(run(MALLORY, 'ListGrants', { KeyId: KEY_ARN }))).toBe('AccessDeniedException');
    expect(await errorName(run(MALLORY, 'RevokeGrant', { KeyId: KEY_ARN, GrantId: grant.GrantId }))).toBe('AccessDeniedException');
    expect(await errorName(run(MALLORY, 'CreateGrant', { KeyId: KEY_ARN, GranteePrincipal: MALLORY.principal, Operations: ['Encrypt'] }))).toBe('AccessDeniedException');
    expect(await errorName(run(MALLORY, 'RetireGrant', { KeyId: KEY_ID, GrantId: grant.GrantId }))).toBe('NotFoundException');
    await run(MALLORY, 'RetireGrant', { GrantToken: grant.GrantToken });
    expect(await grantIds()).toEqual([]);
    expect(await errorName(run(MALLORY, 'DescribeKey', { KeyId: KEY_ARN }))).toBe('AccessDeniedException');
  });
});
