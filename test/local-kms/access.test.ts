/**
 * The access extension (key policy operations, grants, the authorize hook) driven through a
 * small stand-in for the LocalKms executor over a real SQLite database. The end-to-end tests
 * against LocalKms over HTTP are in test/kms-server/.
 */
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { accessControlExtension, authorizeAccess } from '../../src/local-kms/access.js';
import { defineOperation, type Caller, type OperationContext, type OperationDefinition } from '../../src/local-kms/operation.js';
import type { KeyRecord } from '../../src/local-kms/key-record.js';
import { LocalKmsError } from '../../src/local-kms/errors.js';
import { defaultKeyPolicy } from '../../src/local-kms/policy.js';

const ACCOUNT = '111122223333';
const ROOT: Caller = { principal: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
const ALICE: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT };
const BOB: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/bob`, accountId: ACCOUNT };
const MALLORY: Caller = { principal: 'arn:aws:iam::444455556666:user/mallory', accountId: '444455556666' };
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;

/** Stands in for a key operation: resolves and authorizes the key like the core's Encrypt does. */
const fakeCrypto = (name: string) =>
  defineOperation<{ KeyId: string; EncryptionContext?: Record<string, string>; GrantTokens?: string[] }>(name, {}, (ctx, input) => {
    ctx.resolveKey(input.KeyId, {
      allowAlias: true,
      action: `kms:${name}`,
      ...(input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {}),
      ...(input.GrantTokens ? { grantTokens: input.GrantTokens } : {}),
    });
    return { ok: true };
  });

let db: Database.Database;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ops = new Map<string, OperationDefinition<any, any>>();
for (const op of [...(accessControlExtension.operations ?? []), fakeCrypto('Encrypt'), fakeCrypto('Decrypt')]) ops.set(op.name, op);

function keyRecord(): KeyRecord {
  const row = db.prepare('SELECT * FROM keys WHERE key_id = ?').get(KEY_ID) as { policy: string; state: KeyRecord['state'] };
  return { keyId: KEY_ID, arn: KEY_ARN, policy: row.policy, state: row.state } as KeyRecord;
}

function run(caller: Caller, operation: string, input: Record<string, unknown>): unknown {
  const op = ops.get(operation)!;
  const context: OperationContext = {
    db,
    operation,
    now: new Date(),
    region: 'us-east-1',
    accountId: ACCOUNT,
    caller,
    keyArn: (id) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`,
    resolveKey: (keyId, options) => {
      if (keyId !== KEY_ID && keyId !== KEY_ARN) throw new LocalKmsError('NotFoundException', 'no key');
      const key = keyRecord();
      if (options.action !== undefined) {
        authorizeAccess({
          caller,
          operation,
          context,
          action: options.action,
          keyArn: key.arn,
          key,
          ...(options.encryptionContext ? { encryptionContext: options.encryptionContext } : {}),
          ...(options.grantTokens ? { grantTokens: options.grantTokens } : {}),
        });
      }
      return key;
    },
    authorize: (request) => authorizeAccess({ ...request, caller, operation, context }),
    auditKey: () => undefined,
  };
  return db.transaction(() => op.handler(context, input))();
}

function errorName(fn: () => unknown): string {
  try {
    fn();
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

beforeEach(() => {
  db = new Database(':memory:');
  db.exec('CREATE TABLE keys (key_id TEXT PRIMARY KEY, policy TEXT NOT NULL, state TEXT NOT NULL)');
  for (const m of accessControlExtension.migrations ?? []) m.up(db);
  db.prepare('INSERT INTO keys VALUES (?, ?, ?)').run(KEY_ID, defaultKeyPolicy(ACCOUNT), 'Enabled');
});

describe('key policy operations', () => {
  it('the default policy lets the account in and keeps other accounts out', () => {
    expect(run(ROOT, 'Encrypt', { KeyId: KEY_ID })).toEqual({ ok: true });
    expect(run(BOB, 'Encrypt', { KeyId: KEY_ID })).toEqual({ ok: true });
    expect(errorName(() => run(MALLORY, 'Encrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
  });

  it('PutKeyPolicy replaces the policy; GetKeyPolicy and ListKeyPolicies read it', () => {
    run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, PolicyName: 'default', Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
    expect(run(ALICE, 'GetKeyPolicy', { KeyId: KEY_ID })).toEqual({ Policy: ALICE_ONLY, PolicyName: 'default' });
    expect(run(ALICE, 'ListKeyPolicies', { KeyId: KEY_ID })).toEqual({ PolicyNames: ['default'], Truncated: false });
    expect(errorName(() => run(BOB, 'Encrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(errorName(() => run(BOB, 'GetKeyPolicy', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(errorName(() => run(ALICE, 'GetKeyPolicy', { KeyId: KEY_ID, PolicyName: 'other' }))).toBe('NotFoundException');
  });

  it('refuses a policy that would lock the caller out, unless bypassed', () => {
    expect(errorName(() => run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY }))).toBe('MalformedPolicyDocumentException');
    expect(run(ALICE, 'Encrypt', { KeyId: KEY_ID })).toEqual({ ok: true }); // unchanged: still the default policy
    run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
    expect(errorName(() => run(BOB, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: defaultKeyPolicy(ACCOUNT) }))).toBe('AccessDeniedException');
  });

  it('refuses a malformed policy', () => {
    expect(errorName(() => run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: '{"Statement":[{"Effect":"Allow"}]}' }))).toBe(
      'MalformedPolicyDocumentException',
    );
  });

  it('conditions on the encryption context apply to the request', () => {
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
    run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy });
    expect(run(BOB, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'acme' } })).toEqual({ ok: true });
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'other' } }))).toBe('AccessDeniedException');
    expect(errorName(() => run(BOB, 'Encrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'acme' } }))).toBe('AccessDeniedException');
  });
});

describe('grants', () => {
  beforeEach(() => {
    run(ROOT, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: ALICE_ONLY, BypassPolicyLockoutSafetyCheck: true });
  });

  const grantBob = (extra: Record<string, unknown> = {}) =>
    run(ALICE, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'], ...extra }) as {
      GrantId: string;
      GrantToken: string;
    };

  it('a grant allows its grantee its operations at once, and nothing more', () => {
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    const { GrantId, GrantToken } = grantBob();
    expect(GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(run(BOB, 'Decrypt', { KeyId: KEY_ID, GrantTokens: [GrantToken] })).toEqual({ ok: true });
    expect(run(BOB, 'Decrypt', { KeyId: KEY_ID })).toEqual({ ok: true });
    expect(errorName(() => run(BOB, 'Encrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(errorName(() => run(MALLORY, 'Decrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
  });

  it('a grant can reach another account', () => {
    run(ALICE, 'CreateGrant', { KeyId: KEY_ARN, GranteePrincipal: MALLORY.principal, Operations: ['Encrypt'] });
    expect(run(MALLORY, 'Encrypt', { KeyId: KEY_ARN })).toEqual({ ok: true });
  });

  it('constraints limit a grant to matching encryption contexts', () => {
    grantBob({ Constraints: { EncryptionContextSubset: { tenant: 'acme' } } });
    expect(run(BOB, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'acme', file: 'x' } })).toEqual({ ok: true });
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'evil' } }))).toBe('AccessDeniedException');
    run(ALICE, 'CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: MALLORY.principal,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextEquals: { tenant: 'acme' } },
    });
    expect(run(MALLORY, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'acme' } })).toEqual({ ok: true });
    expect(errorName(() => run(MALLORY, 'Decrypt', { KeyId: KEY_ID, EncryptionContext: { tenant: 'acme', x: 'y' } }))).toBe(
      'AccessDeniedException',
    );
  });

  it('an explicit Deny in the policy beats a grant', () => {
    grantBob();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ALICE.principal }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: BOB.principal }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    });
    run(ALICE, 'PutKeyPolicy', { KeyId: KEY_ID, Policy: policy });
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
  });

  it('a revoked grant allows nothing; its token is then inert', () => {
    const { GrantId, GrantToken } = grantBob();
    run(ALICE, 'RevokeGrant', { KeyId: KEY_ID, GrantId });
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, GrantTokens: [GrantToken] }))).toBe('AccessDeniedException');
    expect(errorName(() => run(ALICE, 'RevokeGrant', { KeyId: KEY_ID, GrantId }))).toBe('NotFoundException');
    expect(errorName(() => run(BOB, 'RevokeGrant', { KeyId: KEY_ID, GrantId }))).toBe('AccessDeniedException');
  });

  it('bad, forged and too many grant tokens are refused', () => {
    const { GrantToken } = grantBob();
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, GrantTokens: ['not-a-token'] }))).toBe('InvalidGrantTokenException');
    const forged = GrantToken.slice(0, -2) + (GrantToken.endsWith('AA') ? 'BA' : 'AA');
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, GrantTokens: [forged] }))).toBe('InvalidGrantTokenException');
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID, GrantTokens: Array(11).fill(GrantToken) }))).toBe('ValidationException');
  });

  it('RetireGrant: by token or id, by the retiring principal, the grantee with RetireGrant, or the account', () => {
    const carol: Caller = { principal: `arn:aws:iam::${ACCOUNT}:user/carol`, accountId: ACCOUNT };
    const a = grantBob({ RetiringPrincipal: carol.principal });
    expect(errorName(() => run(BOB, 'RetireGrant', { GrantToken: a.GrantToken }))).toBe('AccessDeniedException');
    run(carol, 'RetireGrant', { GrantToken: a.GrantToken });
    expect(errorName(() => run(BOB, 'Decrypt', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    const b = grantBob({ Operations: ['Decrypt', 'RetireGrant'] });
    run(BOB, 'RetireGrant', { KeyId: KEY_ARN, GrantId: b.GrantId });
    const c = grantBob();
    run(ROOT, 'RetireGrant', { KeyId: KEY_ARN, GrantId: c.GrantId });
    expect(errorName(() => run(ROOT, 'RetireGrant', { KeyId: KEY_ARN, GrantId: c.GrantId }))).toBe('NotFoundException');
    expect(errorName(() => run(ROOT, 'RetireGrant', {}))).toBe('ValidationException');
  });

  it('ListGrants pages through a key\'s grants; ListRetirableGrants finds by retiring principal', () => {
    const ids = Array.from({ length: 5 }, (_, i) => grantBob({ Name: `g${i}`, RetiringPrincipal: i % 2 ? ROOT.principal : ALICE.principal }).GrantId);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = run(ALICE, 'ListGrants', { KeyId: KEY_ID, Limit: 2, ...(marker ? { Marker: marker } : {}) }) as {
        Grants: { GrantId: string; KeyId: string; Operations: string[]; IssuingAccount: string }[];
        Truncated: boolean;
        NextMarker?: string;
      };
      seen.push(...page.Grants.map((g) => g.GrantId));
      expect(page.Grants.every((g) => g.KeyId === KEY_ARN && g.IssuingAccount === ROOT.principal)).toBe(true);
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    expect(seen).toEqual(ids);
    const retirable = run(ALICE, 'ListRetirableGrants', { RetiringPrincipal: ROOT.principal }) as { Grants: { GrantId: string }[] };
    expect(retirable.Grants.map((g) => g.GrantId)).toEqual([ids[1], ids[3]]);
    expect(errorName(() => run(BOB, 'ListGrants', { KeyId: KEY_ID }))).toBe('AccessDeniedException');
    expect(errorName(() => run(ALICE, 'ListGrants', { KeyId: KEY_ID, Marker: 'zz' }))).toBe('InvalidMarkerException');
  });

  it('CreateGrant is idempotent on Name and checks its terms', () => {
    const a = grantBob({ Name: 'same' });
    const b = grantBob({ Name: 'same' });
    expect(b.GrantId).toBe(a.GrantId);
    expect(errorName(() => grantBob({ Operations: ['Sign'], Constraints: { EncryptionContextSubset: { a: 'b' } } }))).toBe('ValidationException');
    expect(errorName(() => run(BOB, 'CreateGrant', { KeyId: KEY_ID, GranteePrincipal: BOB.principal, Operations: ['Decrypt'] }))).toBe(
      'AccessDeniedException',
    );
    expect(errorName(() => grantBob({ DryRun: true }))).toBe('DryRunOperationException');
  });

  it('CreateGrant on a key pending deletion is KMSInvalidStateException', () => {
    db.prepare("UPDATE keys SET state = 'PendingDeletion'").run();
    expect(errorName(() => grantBob())).toBe('KMSInvalidStateException');
  });

  it('key-less actions are for the local account only', () => {
    expect(errorName(() => run(MALLORY, 'ListRetirableGrants', { RetiringPrincipal: ROOT.principal }))).toBe('AccessDeniedException');
  });
});
