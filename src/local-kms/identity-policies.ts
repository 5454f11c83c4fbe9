/**
 * Identity (IAM) policies for local principals: the policies an IAM administrator attaches to a
 * user or role, which AWS evaluates together with the key policy (AWS KMS Developer Guide,
 * "Using IAM policies with AWS KMS", "Determining access"; IAM User Guide, "Policy evaluation
 * logic"). Stored in the `identity_policies` table, managed in process only (LocalKms
 * `putPrincipalPolicy`, ...; `sealbox kms policy ...`), never over the KMS endpoint, by the
 * account's root principal.
 *
 * How access.ts combines them, for a principal of the key's account:
 * - a principal with no identity policy is trusted as an IAM administrator of the account, as
 *   before identity policies existed (the local KMS had no IAM): a key policy statement naming
 *   the account covers it;
 * - once a principal has identity policies, it has exactly what AWS would give it: an explicit
 *   Deny in a key or identity policy refuses; otherwise a key policy statement naming the
 *   principal (or `*`) allows, and one naming only the account allows only when an identity
 *   policy allows too ("the key policy must allow the account for IAM policies to count");
 *   otherwise a grant may allow; otherwise AccessDeniedException. Key-less actions (CreateKey,
 *   ListKeys, ListAliases, GenerateRandom, ...) are decided by the identity policies alone,
 *   with Resource `*`.
 */
import { LocalKmsError } from './errors.js';
import { defineOperation } from './operation.js';
import type { Migration, OperationContext, OperationDefinition } from './operation.js';
import type { SqliteDatabase as Database } from './sqlite.js';
import { parseKeyPolicy, type KeyPolicy } from './policy.js';

/** The `identity_policies` table, owned by the `iam` module. */
export const identityPolicyMigrations: readonly Migration[] = [
  {
    module: 'iam',
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE identity_policies (
          principal TEXT NOT NULL,
          policy_name TEXT NOT NULL,
          document TEXT NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (principal, policy_name)
        );
      `),
  },
];

const parsed = new Map<string, KeyPolicy>();

/**
 * The parsed identity policies of a principal (none: an empty list).
 *
 * @throws LocalKmsError `MalformedPolicyDocumentException` for a stored document that no longer parses.
 * @example
 * ```ts
 * identityPoliciesOf(ctx.db, 'arn:aws:iam::111122223333:user/alice'); // KeyPolicy[]
 * ```
 */
export function identityPoliciesOf(db: Database, principal: string): KeyPolicy[] {
  const rows = db.prepare('SELECT document FROM identity_policies WHERE principal = ?').all(principal) as { document: string }[];
  return rows.map(({ document }) => {
    let policy = parsed.get(document);
    if (policy === undefined) {
      policy = parseKeyPolicy(document, { stored: true, identity: true });
      if (parsed.size >= 1024) parsed.clear();
      parsed.set(document, policy);
    }
    return policy;
  });
}

const PRINCIPAL = { type: 'string', required: true, min: 1, max: 2048, pattern: /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[^*?]+$/ } as const;
const POLICY_NAME = { type: 'string', required: true, min: 1, max: 128, pattern: /^[\w+=,.@-]+$/ } as const;

/** Only the account's root principal manages identity policies, of its own account's principals. */
function checkManager(ctx: OperationContext, principal: string): void {
  if (ctx.caller.principal !== `arn:aws:iam::${ctx.accountId}:root`) {
    throw new LocalKmsError('AccessDeniedException', 'Only the account root principal manages identity policies.');
  }
  if (principal.split(':')[4] !== ctx.accountId) throw new LocalKmsError('ValidationException', 'The principal must be in this account.');
  if (principal === `arn:aws:iam::${ctx.accountId}:root`) throw new LocalKmsError('ValidationException', 'The account root principal has no identity policies.');
}

interface PutInput { Principal: string; PolicyName: string; PolicyDocument: string }

const putPrincipalPolicy = defineOperation<PutInput>(
  'PutPrincipalPolicy',
  { Principal: PRINCIPAL, PolicyName: POLICY_NAME, PolicyDocument: { type: 'string', required: true, min: 1, max: 32_768, jsonDocument: true } },
  (ctx, input) => {
    checkManager(ctx, input.Principal);
    parseKeyPolicy(input.PolicyDocument, { identity: true });
    ctx.db
      .prepare('INSERT INTO identity_policies (principal, policy_name, document, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(principal, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at')
      .run(input.Principal, input.PolicyName, input.PolicyDocument, ctx.now.getTime());
    return {};
  },
);

const getPrincipalPolicy = defineOperation<{ Principal: string; PolicyName: string }>(
  'GetPrincipalPolicy',
  { Principal: PRINCIPAL, PolicyName: POLICY_NAME },
  (ctx, input) => {
    checkManager(ctx, input.Principal);
    const row = ctx.db.prepare('SELECT document FROM identity_policies WHERE principal = ? AND policy_name = ?').get(input.Principal, input.PolicyName) as { document: string } | undefined;
    if (!row) throw new LocalKmsError('NotFoundException', `${input.Principal} has no policy ${input.PolicyName}.`);
    return { Principal: input.Principal, PolicyName: input.PolicyName, PolicyDocument: row.document };
  },
);

const listPrincipalPolicies = defineOperation<{ Principal: string }>('ListPrincipalPolicies', { Principal: PRINCIPAL }, (ctx, input) => {
  checkManager(ctx, input.Principal);
  const rows = ctx.db.prepare('SELECT policy_name FROM identity_policies WHERE principal = ? ORDER BY policy_name').all(input.Principal) as { policy_name: string }[];
  return { PolicyNames: rows.map((r) => r.policy_name) };
});

const deletePrincipalPolicy = defineOperation<{ Principal: string; PolicyName: string }>(
  'DeletePrincipalPolicy',
  { Principal: PRINCIPAL, PolicyName: POLICY_NAME },
  (ctx, input) => {
    checkManager(ctx, input.Principal);
    const { changes } = ctx.db.prepare('DELETE FROM identity_policies WHERE principal = ? AND policy_name = ?').run(input.Principal, input.PolicyName);
    if (changes === 0) throw new LocalKmsError('NotFoundException', `${input.Principal} has no policy ${input.PolicyName}.`);
    return {};
  },
);

/**
 * The identity policy operations: run by LocalKms's `putPrincipalPolicy`, ... in process, audited
 * like every operation, and never served over the KMS endpoint (they are not AWS KMS operations).
 */
// Handlers are stored type-erased, as LocalKmsExtension.operations are.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const identityPolicyOperations: readonly OperationDefinition<any, any>[] = [putPrincipalPolicy, getPrincipalPolicy, listPrincipalPolicies, deletePrincipalPolicy];
