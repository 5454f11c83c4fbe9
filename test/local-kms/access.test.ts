/**
 * Key policies, grants and the authorize hook, enforced by the real LocalKms for the caller
 * each call names (as the HTTP server passes the SigV4 principal). Over HTTP with
 * `@aws-sdk/client-kms`: test/kms-server/sdk.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/local-kms.js';
import type { Caller } from '../../src/local-kms/operation.js';
import { defaultKeyPolicy } from '../../src/local-kms/policy.js';

const ACCOUNT = '111122223333';
const ROOT: Caller = { principal: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
const ALICE: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT };
const BOB: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/bob`, accountId: ACCOUNT };
const MALLORY: Caller = { principal: 'arn:aws:iam::444455556666:user/mallory', accountId: '444455556666' };

let kms: LocalKms;
let dir: string;
let KEY_ID: string;
let KEY_ARN: string;

function run(caller: Caller, operation: string, input: Record<string, unknown>): Promise<unknown> {
  return kms.execute(operation, input, caller);
}

/** Encrypts as alice (allowed by every policy here) with `context`, then decrypts as `caller`. */
async function decryptAs(caller: Caller, context?: Record<string, string>, extra: Record<string, unknown> = {}): Promise<unknown> {
  const ctx = context ? { EncryptionContext: context } : {};
  const enc = (await run(ALICE, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]), ...ctx })) as { CiphertextBlob: Uint8Array };
  await run(caller, 'Decrypt', { CiphertextBlob: enc.CiphertextBlob, ...ctx, ...extra });
  return { ok: true };
}

async function encryptAs(caller: Caller, context?: Record<string, string>, extra: Record<string, unknown> = {}): Promise<unknown> {
  // By ARN: a caller of another account can name the key no other way.
  await run(caller, 'Encrypt', { KeyId: KEY_ARN, Plaintext: new Uint8Array([1]), ...(context ? { EncryptionContext: context } : {}), ...extra });
  return { ok: true };
}

async function errorName(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as Error).name;
  }
  return 'none';
}

/** Only alice administers the key; nobody else is in the policy. */
const ALICE_ONLY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'admin', Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' }],
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-access-'));
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(9), accountId: ACCOUNT });
  const created = (await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string } };
  KEY_ID = created.KeyMetadata.KeyId;
  KEY_ARN = created.KeyMetadata.Arn;
});

afterEach(() => {
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('key policy operations', () => {
  it('the default policy lets the account in and keeps other accounts out', async () => {
    expect(await encryptAs(ROOT)).toEqual({ ok: true });
    expect(await encryptAs(BOB)).toEqual({ ok: true });
    expect(await errorName(encryptAs(MALLORY))).toBe('AccessDeniedException');
  });

  it('PutKeyPolicy replaces the policy; GetKeyPolicy and ListKeyPolicies read it', async () => {
    await run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, PolicyName: 'default', Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
    expect(await run(ALICE, 'GetKeyPolicy', { KeyId: KEY_ID })).toEqual({ Policy: ALICE_ONLY, PolicyName: 'default' });
    expect(await run(ALICE, 'ListKeyPolicies', { KeyId: KEY_ID })).toEqual({ PolicyNames: ['default'], Truncated: false });
    expect(await errorName(encryptAs(BOB))).toBe('AccessDeniedException');
    expect(await errorName(run(BOB, 'GetKeyPolicy', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(await errorName(run(ALICE, 'GetKeyPolicy', { KeyId: KEY_ID, PolicyName: 'other' }))).toBe('NotFoundException');
  });

  it('refuses a policy that would lock the caller out, unless bypassed', async () => {
    expect(await errorName(run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY }))).toBe('MalformedPolicyDocumentException');
    expect(await encryptAs(ALICE)).toEqual({ ok: true }); // unchanged: still the default policy
    await run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
    expect(await errorName(run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: defaultKeyPolicy(ACCOUNT) }))).toBe('AccessDeniedException');
  });

  it('refuses ForAllValues with kms:EncryptionContext:<key> in PutKeyPolicy and CreateKey', async () => {
    const permissive = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ROOT.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: BOB.principal }, Action: 'kms:Decrypt', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:tenant': 'acme' } } },
      ],
    });
    expect(await errorName(run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: permissive }))).toBe('MalformedPolicyDocumentException');
    expect(await errorName(run(ROOT, 'CreateKey', { Policy: permissive }))).toBe('MalformedPolicyDocumentException');
  });

  it('refuses a malformed policy', async () => {
    expect(await errorName(run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: '{"Statement":[{"Effect":"Allow"}]}' }))).toBe(
      'MalformedPolicyDocumentException',
    );
  });

  it('conditions on the encryption context apply to the request', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: BOB.principal },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } },
        },
      ],
    });
    await run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy });
    expect(await decryptAs(BOB, { tenant: 'acme' })).toEqual({ ok: true });
    expect(await errorName(decryptAs(BOB, { tenant: 'other' }))).toBe('AccessDeniedException');
    expect(await errorName(encryptAs(BOB, { tenant: 'acme' }))).toBe('AccessDeniedException');
  });
});

describe('another account', () => {
  // AWS KMS API Reference: a key of another account is named by its ARN (a bare key id or alias
  // names one of the caller's own account), and only the operations marked "Cross-account use:
  // Yes" reach it, whatever the key policy gives that account. Before, a partner account allowed
  // kms:* could disable the key, replace its policy (locking the owner out) and delete it.
  const PARTNER: Caller = { principal: 'arn:aws:iam::444455556666:user/partner', accountId: '444455556666' };

  it('uses a key only by its ARN, only for cryptographic and grant operations, whatever the key policy gives it', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ROOT.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: '444455556666' }, Action: 'kms:*', Resource: '*' },
      ],
    });
    await run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy });
    await run(ROOT, 'CreateAlias', { AliasName: 'alias/shared', TargetKeyId: KEY_ID });
    expect(await errorName(run(PARTNER, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]) }))).toBe('NotFoundException');
    expect(await errorName(run(PARTNER, 'Encrypt', { KeyId: 'alias/shared', Plaintext: new Uint8Array([1]) }))).toBe('NotFoundException');
    const { CiphertextBlob } = (await run(PARTNER, 'Encrypt', { KeyId: KEY_ARN, Plaintext: new Uint8Array([1]) })) as { CiphertextBlob: Uint8Array };
    await run(PARTNER, 'Encrypt', { KeyId: KEY_ARN.replace(/key\/.*/, 'alias/shared'), Plaintext: new Uint8Array([1]) });
    // Decrypt needs no KeyId: the blob names the key.
    expect(await run(PARTNER, 'Decrypt', { CiphertextBlob })).toMatchObject({ Plaintext: new Uint8Array([1]) });
    await run(PARTNER, 'DescribeKey', { KeyId: KEY_ARN });
    await run(PARTNER, 'CreateGrant', { KeyId: KEY_ARN, GranteePrincipal: PARTNER.principal, Operations: ['Decrypt'] });
    for (const [operation, input] of [
      ['UpdateKeyDescription', { Description: 'owned' }],
      ['TagResource', { Tags: [{ TagKey: 'x', TagValue: 'y' }] }],
      ['DisableKey', {}],
      ['PutKeyPolicy', { Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: PARTNER.principal }, Action: 'kms:*', Resource: '*' }] }) }],
      ['ScheduleKeyDeletion', { PendingWindowInDays: 7 }],
      ['GetKeyPolicy', {}],
      ['ListResourceTags', {}],
    ] as const) {
      expect([operation, await errorName(run(PARTNER, operation, { KeyId: KEY_ARN, ...input }))]).toEqual([operation, 'AccessDeniedException']);
    }
    expect(await run(ROOT, 'DescribeKey', { KeyId: KEY_ID })).toMatchObject({ KeyMetadata: { KeyState: 'Enabled', Description: '' } });
  });
});

describe('grants', () => {
  beforeEach(async () => {
    await run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
  });

  const grantBob = async (extra: Record<string, unknown> = {}) =>
    (await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], ...extra })) as {
      GrantId: string;
      GrantToken: string;
    };

  it('a grant allows its grantee its operations at once, and nothing more', async () => {
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
    const { GrantId, GrantToken } = await grantBob();
    expect(GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(await decryptAs(BOB, undefined, { GrantTokens: [GrantToken] })).toEqual({ ok: true });
    expect(await decryptAs(BOB)).toEqual({ ok: true });
    expect(await errorName(encryptAs(BOB))).toBe('AccessDeniedException');
    expect(await errorName(decryptAs(MALLORY))).toBe('AccessDeniedException');
  });

  it('a grant can reach another account', async () => {
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ARN, GranteePrincipal: MALLORY.principal, Operations: ['Encrypt'] });
    expect(await encryptAs(MALLORY)).toEqual({ ok: true });
  });

  it("a grant to an account's root covers that account's principals only; other principals' grants cover nobody else", async () => {
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: MALLORY.principal, Operations: ['Decrypt'] });
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: ROOT.principal, Operations: ['Decrypt'] });
    expect(await decryptAs(BOB)).toEqual({ ok: true });
    expect(await decryptAs(MALLORY)).toEqual({ ok: true });
    const eve: Caller = { principal: 'arn:aws:iam::444455556666:user/eve', accountId: '444455556666' };
    expect(await errorName(decryptAs(eve))).toBe('AccessDeniedException');
  });

  it('constraints limit a grant to matching encryption contexts', async () => {
    await grantBob({ Constraints: { EncryptionContextSubset: { tenant: 'acme' } } });
    expect(await decryptAs(BOB, { tenant: 'acme', file: 'x' })).toEqual({ ok: true });
    expect(await errorName(decryptAs(BOB, { tenant: 'evil' }))).toBe('AccessDeniedException');
    await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: MALLORY.principal,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextEquals: { tenant: 'acme' } },
    });
    expect(await decryptAs(MALLORY, { tenant: 'acme' })).toEqual({ ok: true });
    expect(await errorName(decryptAs(MALLORY, { tenant: 'acme', x: 'y' }))).toBe(
      'AccessDeniedException',
    );
  });

  // AWS KMS API Reference, GrantConstraints: the key of each pair is not case sensitive, the
  // value is. A grant AWS honours for a context key spelled in another case was refused.
  it('a constraint key matches the context key in any letter case; the value must match exactly', async () => {
    await grantBob({ Constraints: { EncryptionContextSubset: { Tenant: 'acme' } } });
    expect(await decryptAs(BOB, { tenant: 'acme' })).toEqual({ ok: true });
    expect(await errorName(decryptAs(BOB, { tenant: 'ACME' }))).toBe('AccessDeniedException');
  });

  it('an explicit Deny in the policy beats a grant', async () => {
    await grantBob();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: BOB.principal }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    });
    await run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy });
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
  });

  it('a revoked grant allows nothing; its token is then inert', async () => {
    const { GrantId, GrantToken } = await grantBob();
    await run(ALICE, 'RevokeGrant', { KeyId: KEY_ID, GrantId });
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: [GrantToken] }))).toBe('AccessDeniedException');
    expect(await errorName(run(ALICE, 'RevokeGrant', { KeyId: KEY_ID, GrantId }))).toBe('NotFoundException');
    expect(await errorName(run(BOB, 'RevokeGrant', { KeyId: KEY_ID, GrantId }))).toBe('AccessDeniedException');
  });

  it('bad, forged and too many grant tokens are refused', async () => {
    const { GrantToken } = await grantBob();
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: ['not-a-token'] }))).toBe('InvalidGrantTokenException');
    const forged = GrantToken.slice(0, -2) + (GrantToken.endsWith('AA') ? 'BA' : 'AA');
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: [forged] }))).toBe('InvalidGrantTokenException');
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: Array(11).fill(GrantToken) }))).toBe('ValidationException');
  });

  it('RetireGrant: by token or id, by the retiring principal, the grantee with RetireGrant, or the account', async () => {
    const carol: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/carol`, accountId: ACCOUNT };
    const a = await grantBob({ RetiringPrincipal: carol.principal });
    expect(await errorName(run(BOB, 'RetireGrant', { GrantToken: a.GrantToken }))).toBe('AccessDeniedException');
    await run(carol, 'RetireGrant', { GrantToken: a.GrantToken });
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
    const b = await grantBob({ Operations: ['Decrypt', 'RetireGrant'] });
    await run(BOB, 'RetireGrant', { KeyId: KEY_ARN, GrantId: b.GrantId });
    const c = await grantBob();
    await run(ROOT, 'RetireGrant', { KeyId: KEY_ARN, GrantId: c.GrantId });
    expect(await errorName(run(ROOT, 'RetireGrant', { KeyId: KEY_ARN, GrantId: c.GrantId }))).toBe('NotFoundException');
    expect(await errorName(run(ROOT, 'RetireGrant', {}))).toBe('ValidationException');
  });

  it('ListGrants pages through a key\'s grants; ListRetirableGrants finds by retiring principal', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await grantBob({ Name: `g${i}`, RetiringPrincipal: i % 2 ? ROOT.principal : ALICE.principal })).GrantId);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = (await run(ALICE, 'ListGrants', { KeyId: KEY_ID, Limit: 2, ...(marker ? { Marker: marker } : {}) })) as {
        Grants: { GrantId: string; KeyId: string; Operations: string[]; IssuingAccount: string }[];
        Truncated: boolean;
        NextMarker?: string;
      };
      seen.push(...page.Grants.map((g) => g.GrantId));
      expect(page.Grants.every((g) => g.KeyId === KEY_ARN && g.IssuingAccount === ROOT.principal)).toBe(true);
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    expect(seen).toEqual(ids);
    const retirable = (await run(ALICE, 'ListRetirableGrants', { RetiringPrincipal: ROOT.principal })) as { Grants: { GrantId: string }[] };
    expect(retirable.Grants.map((g) => g.GrantId)).toEqual([ids[1], ids[3]]);
    expect(await errorName(run(BOB, 'ListGrants', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(await errorName(run(ALICE, 'ListGrants', { KeyId: KEY_ID, Marker: 'zz' }))).toBe('InvalidMarkerException');
  });

  it('CreateGrant is idempotent on Name and checks its terms', async () => {
    const a = await grantBob({ Name: 'same' });
    const b = await grantBob({ Name: 'same' });
    expect(b.GrantId).toBe(a.GrantId);
    expect(b.GrantToken).not.toBe(a.GrantToken);
    expect(await errorName(grantBob({ Operations: ['Sign'], Constraints: { EncryptionContextSubset: { a: 'b' } } }))).toBe('ValidationException');
    expect(await errorName(run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] }))).toBe(
      'AccessDeniedException',
    );
    expect(await errorName(grantBob({ DryRun: true }))).toBe('DryRunOperationException');
  });

  it('re-issuing a named grant keeps every token already handed out valid', async () => {
    const first = await grantBob({ Name: 'reissued' });
    const second = await grantBob({ Name: 'reissued' });
    const third = await grantBob({ Name: 'reissued' });
    for (const token of [first.GrantToken, second.GrantToken, third.GrantToken]) {
      expect(await decryptAs(BOB, undefined, { GrantTokens: [token] })).toEqual({ ok: true });
    }
    // A forged token for the same grant id is still refused.
    const forged = Buffer.concat([Buffer.from(first.GrantId, 'hex'), Buffer.alloc(32, 7)]).toString('base64url');
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: [forged] }))).toBe('InvalidGrantTokenException');
    // The first token still identifies the grant to RetireGrant; afterwards no token grants anything.
    await run(ROOT, 'RetireGrant', { GrantToken: first.GrantToken });
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: [second.GrantToken] }))).toBe('AccessDeniedException');
    expect(kms.database.prepare('SELECT count(*) AS n FROM grant_tokens').get()).toEqual({ n: 0 });
  });

  it('re-issuing stores nothing: any number of CreateGrant calls leave one row, and every token still works', async () => {
    const first = await grantBob({ Name: 'often' });
    const tokens = [first.GrantToken];
    for (let i = 0; i < 200; i++) tokens.push((await grantBob({ Name: 'often' })).GrantToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    // Before, each call added a row that every later check of a token of this grant compared.
    expect(kms.database.prepare('SELECT count(*) AS n FROM grant_tokens').get()).toEqual({ n: 0 });
    expect(kms.database.prepare('SELECT count(*) AS n FROM grants').get()).toEqual({ n: 1 });
    for (const token of [tokens[1]!, tokens[100]!, tokens[200]!]) expect(await decryptAs(BOB, undefined, { GrantTokens: [token] })).toEqual({ ok: true });
  });

  it('a reissued token cannot be forged, altered or moved to another grant', async () => {
    const a = await grantBob({ Name: 'a' });
    const reissued = (await grantBob({ Name: 'a' })).GrantToken;
    const b = await grantBob({ Name: 'b', Operations: ['Decrypt', 'Encrypt'] });
    const raw = Buffer.from(reissued, 'base64url');
    expect(raw.subarray(0, 32).toString('hex')).toBe(a.GrantId);
    const sealed = raw.subarray(32);
    const forgeries = {
      random: Buffer.concat([Buffer.from(a.GrantId, 'hex'), Buffer.alloc(sealed.length, 7)]),
      flipped: Buffer.concat([raw.subarray(0, raw.length - 1), Buffer.of(raw[raw.length - 1]! ^ 1)]),
      // The sealed part of grant a's token under grant b's id: b grants more than a.
      moved: Buffer.concat([Buffer.from(b.GrantId, 'hex'), sealed]),
      truncated: raw.subarray(0, raw.length - 3),
    };
    for (const [name, token] of Object.entries(forgeries)) {
      expect([name, await errorName(decryptAs(BOB, undefined, { GrantTokens: [token.toString('base64url')] }))]).toEqual([name, 'InvalidGrantTokenException']);
      expect([name, await errorName(run(BOB, 'RetireGrant', { GrantToken: token.toString('base64url') }))]).toEqual([name, 'InvalidGrantTokenException']);
    }
    // The genuine token still identifies its grant to RetireGrant.
    await run(ROOT, 'RetireGrant', { GrantToken: reissued });
    const ids = (kms.database.prepare('SELECT grant_id FROM grants').all() as { grant_id: string }[]).map((r) => r.grant_id);
    expect(ids).toEqual([b.GrantId]);
  });

  it('tokens reissued by earlier versions (grant_tokens rows) stay valid', async () => {
    const { GrantId } = await grantBob({ Name: 'old' });
    const secret = Buffer.alloc(32, 5);
    const { createHash } = await import('node:crypto');
    kms.database.prepare('INSERT INTO grant_tokens (grant_id, token_hash) VALUES (?, ?)').run(GrantId, createHash('sha256').update(secret).digest());
    const token = (s: Buffer): string => Buffer.concat([Buffer.from(GrantId, 'hex'), s]).toString('base64url');
    expect(await decryptAs(BOB, undefined, { GrantTokens: [token(secret)] })).toEqual({ ok: true });
    expect(await errorName(decryptAs(BOB, undefined, { GrantTokens: [token(Buffer.alloc(32, 6))] }))).toBe('InvalidGrantTokenException');
  });

  it('a key has at most 50,000 grants: the next CreateGrant is LimitExceededException, reissuing still works', async () => {
    const named = await grantBob({ Name: 'kept' });
    const { key_id: storageId } = kms.database.prepare('SELECT key_id FROM grants WHERE grant_id = ?').get(named.GrantId) as { key_id: string };
    // The other 49,998 straight into the table (CreateGrant one by one would take seconds).
    kms.database
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 49998)
         INSERT INTO grants (grant_id, key_id, key_arn, name, grantee_principal, retiring_principal, issuing_account, operations, constraints, token_hash, created_at)
         SELECT printf('%064x', i), ?, ?, NULL, ?, NULL, ?, '["Decrypt"]', NULL, randomblob(32), 0 FROM n`,
      )
      .run(storageId, KEY_ARN, BOB.principal, ACCOUNT);
    await grantBob(); // the 50,000th
    expect(await errorName(grantBob())).toBe('LimitExceededException');
    expect(await errorName(grantBob({ DryRun: true }))).toBe('LimitExceededException');
    expect((await grantBob({ Name: 'kept' })).GrantId).toBe(named.GrantId);
    // Another key is not affected; retiring a grant makes room again.
    const other = (await run(ROOT, 'CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    await run(ROOT, 'CreateGrant', { KeyId: other.KeyMetadata.KeyId, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] });
    await run(ALICE, 'RevokeGrant', { KeyId: KEY_ID, GrantId: named.GrantId });
    expect((await grantBob()).GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(await errorName(grantBob())).toBe('LimitExceededException');
  });

  it('a grantee with CreateGrant whose identity policy does not allow CreateGrant may still pass on only its grant', async () => {
    // The default key policy names the account: for a principal with identity policies, the
    // key policy alone does not allow; before, CreateGrant counted it as allowing and let the
    // grantee of a CreateGrant-only grant grant itself Decrypt.
    await run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: defaultKeyPolicy(ACCOUNT), BypassPolicyLockoutSafetyCheck: true });
    await kms.putPrincipalPolicy({
      Principal: BOB.principal,
      PolicyName: 'list-only',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }),
    });
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
    await run(ROOT, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['CreateGrant'] });
    expect(await errorName(run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt', 'Encrypt'] }))).toBe('AccessDeniedException');
    expect(await errorName(decryptAs(BOB))).toBe('AccessDeniedException');
    // What its grant gives it may pass on.
    await run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/carol`, Operations: ['CreateGrant'] });
    // With an identity policy that allows CreateGrant, the key policy and it together allow it.
    await kms.putPrincipalPolicy({
      Principal: BOB.principal,
      PolicyName: 'grants',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*' }] }),
    });
    await run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] });
    expect(await decryptAs(BOB)).toEqual({ ok: true });
  });

  it('a key policy that allows CreateGrant only for one grantee allows that grant (its conditions see the request)', async () => {
    const carol = `arn:aws:iam::${ACCOUNT}:user/carol`;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: BOB.principal }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:GranteePrincipal': carol } } },
      ],
    };
    await run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: JSON.stringify(policy), BypassPolicyLockoutSafetyCheck: true });
    await run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: carol, Operations: ['Decrypt'] });
    expect(await errorName(run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] }))).toBe('AccessDeniedException');
  });

  it('a grantee with CreateGrant may pass on only the operations of its grant', async () => {
    await grantBob({ Operations: ['Decrypt', 'Encrypt', 'CreateGrant'] });
    const carol = `arn:aws:iam::${ACCOUNT}:user/carol`;
    await run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: carol, Operations: ['Decrypt'] });
    expect(await errorName(run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: carol, Operations: ['ReEncryptFrom'] }))).toBe(
      'AccessDeniedException',
    );
  });

  it('CreateGrant on a key pending deletion is KMSInvalidStateException', async () => {
    await run(ALICE, 'ScheduleKeyDeletion', { KeyId: KEY_ID, PendingWindowInDays: 7 });
    expect(await errorName(grantBob())).toBe('KMSInvalidStateException');
  });

  it('key-less actions are for the local account only', async () => {
    expect(await errorName(run(MALLORY, 'ListRetirableGrants', { RetiringPrincipal: ROOT.principal }))).toBe('AccessDeniedException');
  });
});

describe('aliases, attacked by a principal with rights only on a key of their own', () => {
  /** A policy giving `who` every right on the key and nobody else any. */
  const onlyFor = (who: Caller) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: who.principal }, Action: 'kms:*', Resource: '*' }] });
  let bobKeyId: string;
  let bobKeyArn: string;

  beforeEach(async () => {
    // The victim: alice's key, named by alice's alias. The attacker: bob, with a key of his own.
    await run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: onlyFor(ALICE), BypassPolicyLockoutSafetyCheck: true });
    await run(ALICE, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: KEY_ID });
    const bobKey = (await run(ROOT, 'CreateKey', { Policy: onlyFor(BOB), BypassPolicyLockoutSafetyCheck: true })) as {
      KeyMetadata: { KeyId: string; Arn: string };
    };
    bobKeyId = bobKey.KeyMetadata.KeyId;
    bobKeyArn = bobKey.KeyMetadata.Arn;
  });

  const aliasTarget = async () => ((await run(ALICE, 'DescribeKey', { KeyId: 'alias/app' })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;

  it('UpdateAlias needs kms:UpdateAlias on the key the alias points to now, not only on the new target', async () => {
    expect(await errorName(run(BOB, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: bobKeyId }))).toBe('AccessDeniedException');
    expect(await aliasTarget()).toBe(KEY_ARN);
    const enc = (await run(ALICE, 'Encrypt', { KeyId: 'alias/app', Plaintext: new Uint8Array([1]) })) as { KeyId: string };
    expect(enc.KeyId).toBe(KEY_ARN);
    // The refusal is in the audit log under the attacker's name.
    expect(kms.readAudit().some((r) => r.operation === 'UpdateAlias' && r.caller === BOB.principal && r.error === 'AccessDeniedException')).toBe(true);
  });

  it('UpdateAlias needs kms:UpdateAlias on the new target too', async () => {
    expect(await errorName(run(ALICE, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: bobKeyId }))).toBe('AccessDeniedException');
    expect(await aliasTarget()).toBe(KEY_ARN);
  });

  it('a principal with kms:UpdateAlias on both keys may repoint the alias', async () => {
    const both = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: BOB.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:UpdateAlias', Resource: '*' },
      ],
    });
    await run(BOB, 'PutKeyPolicy', { KeyId: bobKeyId, Policy: both });
    await run(ALICE, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: bobKeyId });
    expect(await aliasTarget().catch(() => 'denied')).toBe('denied'); // alice may not DescribeKey bob's key
    expect(((await run(BOB, 'DescribeKey', { KeyId: 'alias/app' })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn).toBe(bobKeyArn);
  });

  it('CreateAlias and DeleteAlias need the permission on the key the alias is (or will be) for', async () => {
    expect(await errorName(run(BOB, 'CreateAlias', { AliasName: 'alias/bob-on-alice', TargetKeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(await errorName(run(BOB, 'DeleteAlias', { AliasName: 'alias/app' }))).toBe('AccessDeniedException');
    expect(await aliasTarget()).toBe(KEY_ARN);
    await run(BOB, 'CreateAlias', { AliasName: 'alias/bob', TargetKeyId: bobKeyId });
    expect(await errorName(run(ALICE, 'DeleteAlias', { AliasName: 'alias/bob' }))).toBe('AccessDeniedException');
  });
});

describe('every operation that takes an encryption context is authorized with it', () => {
  /** Alice may do anything, except anything at all where the context says tenant=blocked. */
  const DENY_BLOCKED = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'blocked' } } },
    ],
  });
  const BLOCKED = { tenant: 'blocked' };
  const OK = { tenant: 'ok' };
  let blockedBlob: Uint8Array;
  let okBlob: Uint8Array;

  beforeEach(async () => {
    // Ciphertexts under both contexts, made before the Deny is in place.
    blockedBlob = ((await run(ROOT, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]), EncryptionContext: BLOCKED })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    okBlob = ((await run(ROOT, 'Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]), EncryptionContext: OK })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    await run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: DENY_BLOCKED, BypassPolicyLockoutSafetyCheck: true });
  });

  const cases: [string, (context: Record<string, string>) => [string, Record<string, unknown>]][] = [
    ['Encrypt', (c) => ['Encrypt', { KeyId: KEY_ID, Plaintext: new Uint8Array([1]), EncryptionContext: c }]],
    ['Decrypt', (c) => ['Decrypt', { CiphertextBlob: c === BLOCKED ? blockedBlob : okBlob, EncryptionContext: c }]],
    ['Decrypt naming its KeyId', (c) => ['Decrypt', { KeyId: KEY_ID, CiphertextBlob: c === BLOCKED ? blockedBlob : okBlob, EncryptionContext: c }]],
    ['ReEncrypt, source side', (c) => ['ReEncrypt', { CiphertextBlob: c === BLOCKED ? blockedBlob : okBlob, SourceEncryptionContext: c, DestinationKeyId: KEY_ID, DestinationEncryptionContext: OK }]],
    ['ReEncrypt, destination side', (c) => ['ReEncrypt', { CiphertextBlob: okBlob, SourceEncryptionContext: OK, DestinationKeyId: KEY_ID, DestinationEncryptionContext: c }]],
    ['GenerateDataKey', (c) => ['GenerateDataKey', { KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: c }]],
    ['GenerateDataKeyWithoutPlaintext', (c) => ['GenerateDataKeyWithoutPlaintext', { KeyId: KEY_ID, NumberOfBytes: 16, EncryptionContext: c }]],
    ['GenerateDataKeyPair', (c) => ['GenerateDataKeyPair', { KeyId: KEY_ID, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: c }]],
    ['GenerateDataKeyPairWithoutPlaintext', (c) => ['GenerateDataKeyPairWithoutPlaintext', { KeyId: KEY_ID, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: c }]],
    ['CreateGrant (EncryptionContextSubset)', (c) => ['CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: c } }]],
    ['CreateGrant (EncryptionContextEquals)', (c) => ['CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: c } }]],
    [
      'CreateGrant (both constraints, the blocked one second)',
      (c) => ['CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: OK, EncryptionContextSubset: c } }],
    ],
  ];

  it.each(cases)('%s: a Deny on kms:EncryptionContext:tenant applies', async (_name, request) => {
    const [operation, input] = request(BLOCKED);
    expect(await errorName(run(ALICE, operation, input))).toBe('AccessDeniedException');
    const [again, allowed] = request(OK);
    await run(ALICE, again, allowed);
  });

  it('the Deny applies whatever the case of the context key (the condition key is case-insensitive in AWS)', async () => {
    for (const context of [{ Tenant: 'blocked' }, { TENANT: 'blocked', other: 'x' }, { tenant: 'ok', Tenant: 'blocked' }]) {
      expect(await errorName(run(ALICE, 'GenerateDataKey', { KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: context }))).toBe('AccessDeniedException');
    }
    await run(ALICE, 'GenerateDataKey', { KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: { Tenant: 'ok' } });
  });

  it('a grant constrained to a context allows GenerateDataKeyPair(+WithoutPlaintext) with that context only', async () => {
    await run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: BOB.principal,
      Operations: ['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'],
      Constraints: { EncryptionContextSubset: OK },
    });
    for (const operation of ['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']) {
      await run(BOB, operation, { KeyId: KEY_ID, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: { ...OK, file: 'x' } });
      expect(await errorName(run(BOB, operation, { KeyId: KEY_ID, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: { tenant: 'other' } }))).toBe(
        'AccessDeniedException',
      );
    }
  });

  it('an Allow conditioned on the context lets a grant with that constraint be created', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/admin` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'ok' } } },
      ],
    });
    await run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy, BypassPolicyLockoutSafetyCheck: true });
    await run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: OK } });
    expect(await errorName(run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] }))).toBe('AccessDeniedException');
  });
});
