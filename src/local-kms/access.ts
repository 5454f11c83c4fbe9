/**
 * Access control of the local KMS: the key policy operations (PutKeyPolicy, GetKeyPolicy,
 * ListKeyPolicies), the grant operations (grants.ts), and the one authorize hook that combines
 * them as AWS does (IAM User Guide, "Policy evaluation logic"; KMS Developer Guide,
 * "Determining access"):
 *
 * 1. an explicit Deny in the key policy refuses;
 * 2. otherwise an Allow in the key policy, or a grant covering the caller, the operation and
 *    the encryption context, allows;
 * 3. otherwise AccessDeniedException.
 *
 * Key-less actions (CreateKey, ListKeys, ListAliases, GenerateRandom, ...) are IAM-only in AWS;
 * the local KMS has no IAM, so it allows them for principals of its own account and refuses
 * callers of any other account.
 *
 * Policy and grants share one hook because the local KMS requires every hook to allow, while
 * a grant must be able to allow what the policy merely does not mention.
 */
import { LocalKmsError } from './errors.js';
import { grantCovers } from './grant-rules.js';
import { checkGrantTokens, grantMigrations, grantOperations, grantsForKey } from './grants.js';
import { defineOperation, type AuthorizeRequest, type LocalKmsExtension, type OperationContext } from './operation.js';
import { cachedKeyPolicy, evaluateKeyPolicy, parseKeyPolicy } from './policy.js';

/** The only policy name AWS KMS keys have. */
const POLICY_NAME = 'default';

function denied(action: string): LocalKmsError {
  return new LocalKmsError('AccessDeniedException', `The caller is not authorized to perform ${action} on this resource.`);
}

/**
 * The authorize hook: key policy first (explicit Deny wins), then grants.
 *
 * @throws LocalKmsError `AccessDeniedException`, `InvalidGrantTokenException`,
 *   `MalformedPolicyDocumentException` (a stored policy that no longer parses denies).
 * @example
 * ```ts
 * LocalKms.open({ extensions: [accessControlExtension] });
 * ```
 */
export function authorizeAccess(request: AuthorizeRequest): void {
  const { caller, action, key, context } = request;
  if (request.grantTokens !== undefined) checkGrantTokens(context.db, request.grantTokens);
  if (key === undefined) {
    if (caller.accountId !== context.accountId) throw denied(action);
    return;
  }
  const policyRequest = {
    principal: caller.principal,
    accountId: caller.accountId,
    action,
    keyArn: key.arn,
    ...(request.encryptionContext ? { encryptionContext: request.encryptionContext } : {}),
  };
  const decision = evaluateKeyPolicy(cachedKeyPolicy(key.policy), policyRequest);
  if (decision === 'allow') return;
  if (decision === 'implicitDeny' && grantsForKey(context.db, key.storageId).some((g) => grantCovers(g, policyRequest))) return;
  throw denied(action);
}

function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== POLICY_NAME) throw new LocalKmsError('NotFoundException', 'The only key policy name is "default".');
}

interface PutKeyPolicyInput {
  KeyId: string;
  PolicyName?: string;
  Policy: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
}

const putKeyPolicy = defineOperation<PutKeyPolicyInput>(
  'PutKeyPolicy',
  {
    KeyId: { type: 'string', required: true, min: 1, max: 2048 },
    PolicyName: { type: 'string', min: 1, max: 128, pattern: /^[\w]+$/ },
    Policy: { type: 'string', required: true, min: 1, max: 32_768 },
    BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
  },
  (ctx: OperationContext, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:PutKeyPolicy' });
    checkPolicyName(input.PolicyName);
    const policy = parseKeyPolicy(input.Policy);
    // The lockout safety check (AWS): refuse a policy under which the caller could not change it again.
    if (input.BypassPolicyLockoutSafetyCheck !== true) {
      const after = evaluateKeyPolicy(policy, {
        principal: ctx.caller.principal,
        accountId: ctx.caller.accountId,
        action: 'kms:PutKeyPolicy',
        keyArn: key.arn,
      });
      if (after !== 'allow') {
        throw new LocalKmsError(
          'MalformedPolicyDocumentException',
          'The new key policy will not allow you to update the key policy in the future.',
        );
      }
    }
    ctx.db.prepare('UPDATE keys SET policy = ? WHERE key_id = ?').run(input.Policy, key.storageId);
    return undefined;
  },
);

const getKeyPolicy = defineOperation<{ KeyId: string; PolicyName?: string }>(
  'GetKeyPolicy',
  { KeyId: { type: 'string', required: true, min: 1, max: 2048 }, PolicyName: { type: 'string', min: 1, max: 128 } },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:GetKeyPolicy' });
    checkPolicyName(input.PolicyName);
    return { Policy: key.policy, PolicyName: POLICY_NAME };
  },
);

const listKeyPolicies = defineOperation<{ KeyId: string; Limit?: number; Marker?: string }>(
  'ListKeyPolicies',
  {
    KeyId: { type: 'string', required: true, min: 1, max: 2048 },
    Limit: { type: 'integer', min: 1, max: 1000 },
    Marker: { type: 'string', min: 1, max: 1024 },
  },
  (ctx, input) => {
    ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ListKeyPolicies' });
    return { PolicyNames: [POLICY_NAME], Truncated: false };
  },
);

/** The key policy operations. */
export const policyOperations = [putKeyPolicy, getKeyPolicy, listKeyPolicies] as const;

/**
 * Key policies and grants as one local KMS extension.
 *
 * @example
 * ```ts
 * const kms = await LocalKms.open({ dataDir, extensions: [accessControlExtension] });
 * ```
 */
export const accessControlExtension: LocalKmsExtension = {
  name: 'access',
  migrations: grantMigrations,
  operations: [...policyOperations, ...grantOperations],
  authorize: authorizeAccess,
};
