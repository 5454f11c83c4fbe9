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
import { checkGrantTokens, grantMigrations, grantOperations, grantsForCaller } from './grants.js';
import { defineOperation, type AuthorizeRequest, type LocalKmsExtension, type OperationContext } from './operation.js';
import { KEY_POLICY_TEXT, cachedKeyPolicy, evaluateKeyPolicy, evaluatePolicyDetailed, parseKeyPolicy, valuesOfKey, type KeyPolicy, type PolicyRequest } from './policy.js';
import { identityPoliciesOf, identityPolicyMigrations } from './identity-policies.js';
import type { KeyRecord } from './key-record.js';
import { noMarker } from './paging.js';

/**
 * The operations that may use a KMS key of another account ("Cross-account use: Yes" in the AWS
 * KMS API Reference).
 */
export const CROSS_ACCOUNT_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateGrant',
  'Decrypt',
  'DescribeKey',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GetKeyRotationStatus',
  'GetPublicKey',
  'ListGrants',
  'ReEncrypt',
  'RetireGrant',
  'RevokeGrant',
  'Sign',
  'Verify',
  'VerifyMac',
]);

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
  // Only these operations reach a key of another account, whatever its key policy allows
  // ("Cross-account use: Yes" in each operation's API Reference page; the others say No, and a
  // permission given to another account for them has no effect). test/local-kms/members.test.ts
  // checks this list against the SDK's documentation of each operation.
  if (key !== undefined && caller.accountId !== context.accountId && !CROSS_ACCOUNT_OPERATIONS.has(request.operation)) throw denied(action);
  if (request.grantTokens !== undefined && !request.withoutGrants) checkGrantTokens(context, request.grantTokens);
  // Identity policies count for principals of this account only (another account's IAM is not here).
  const identity = caller.accountId === context.accountId ? identityPoliciesOf(context.db, caller.principal) : [];
  if (request.retireAllowedByGrant !== undefined && key !== undefined) {
    // RetireGrant: the grant decides who may retire it; "the kms:RetireGrant permission is not
    // effective in a key policy", but "to deny permission to retire a grant, you can use a Deny
    // action with the kms:RetireGrant permission" (AWS KMS Developer Guide, "Retiring and
    // revoking grants"). Before, identity policies were never asked: a Deny did not hold.
    const retireRequest = { principal: caller.principal, accountId: caller.accountId, action, keyArn: key.arn, lookup: conditionLookup(request, key) };
    const fromIdentity = identity.length > 0 ? identityDecision(identity, retireRequest) : 'implicitDeny';
    if (fromIdentity === 'deny') throw denied(action);
    if (request.retireAllowedByGrant) return;
    // "The AWS account that owns the KMS key can use the kms:RetireGrant permission to delegate
    // permission to retire the grant to an IAM user in the account" (same page): an identity
    // policy that allows it. (A principal with no identity policy is not given it: only the
    // grant's principals and the account's root retire by default.)
    if (caller.accountId === context.accountId && fromIdentity === 'allow') return;
    throw new LocalKmsError('AccessDeniedException', 'The caller may not retire this grant.');
  }
  if (key === undefined) {
    if (caller.accountId !== context.accountId) throw denied(action);
    if (identity.length === 0) return;
    // The resource is `*`, or what the operation names (ListRetirableGrants: the retiring principal).
    const keyless = { principal: caller.principal, accountId: caller.accountId, action, keyArn: request.keyArn ?? '*', lookup: conditionLookup(request, undefined) };
    if (identityDecision(identity, keyless) !== 'allow') throw denied(action);
    return;
  }
  const policyRequest = {
    principal: caller.principal,
    accountId: caller.accountId,
    action,
    keyArn: key.arn,
    ...(request.encryptionContext ? { encryptionContext: request.encryptionContext } : {}),
    lookup: conditionLookup(request, key),
  };
  const decision = evaluatePolicyDetailed(cachedKeyPolicy(key.policy), policyRequest);
  if (decision === 'deny') throw denied(action);
  if (identity.length === 0) {
    // No identity policies: the account's principals are trusted as IAM administrators.
    if (decision !== 'implicitDeny') return;
  } else {
    const fromIdentity = identityDecision(identity, policyRequest);
    if (fromIdentity === 'deny') throw denied(action);
    if (decision === 'allowDirect' || (decision === 'allowAccount' && fromIdentity === 'allow')) return;
  }
  if (!request.withoutGrants && grantsForCaller(context.db, key.storageId, caller).some((g) => grantCovers(g, policyRequest))) return;
  throw denied(action);
}

type Tags = readonly { TagKey: string; TagValue: string }[];

/** Algorithm parameters by action: which input member `kms:EncryptionAlgorithm` reads (SYMMETRIC_DEFAULT when omitted). */
const ENCRYPTION_ALGORITHM_MEMBER: Readonly<Record<string, string>> = {
  'kms:encrypt': 'EncryptionAlgorithm',
  'kms:decrypt': 'EncryptionAlgorithm',
  'kms:reencryptfrom': 'SourceEncryptionAlgorithm',
  'kms:reencryptto': 'DestinationEncryptionAlgorithm',
  'kms:generatedatakey': '',
  'kms:generatedatakeywithoutplaintext': '',
  'kms:generatedatakeypair': '',
  'kms:generatedatakeypairwithoutplaintext': '',
};

/**
 * The values of the condition keys (conditions.ts) for one authorization: the key's properties,
 * tags and aliases, the request's parameters, the time. Lazy: a tag or alias query runs only
 * when a statement tests such a key. Absent keys are undefined, as IAM has them.
 */
export function conditionLookup(request: Pick<AuthorizeRequest, 'action' | 'context' | 'input' | 'requestAlias' | 'keyToCreate'>, key: KeyRecord | undefined): (lowerKey: string) => readonly string[] | undefined {
  const { context: ctx } = request;
  const input = request.input ?? {};
  const action = request.action.toLowerCase();
  const str = (v: unknown): string[] | undefined => (typeof v === 'string' ? [v] : typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : undefined);
  const on = (...actions: string[]): boolean => actions.includes(action);
  let resourceTags: Record<string, string> | undefined;
  const tagsOf = (): Record<string, string> =>
    (resourceTags ??= Object.fromEntries(
      (ctx.db.prepare('SELECT tag_key, tag_value FROM tags WHERE key_id = ?').all(key?.storageId) as { tag_key: string; tag_value: string }[]).map((t) => [t.tag_key, t.tag_value]),
    ));
  // The key the properties below describe: the key acted on; for CreateKey (identity policies),
  // the key to be made: ReplicateKey's replica (keyToCreate), else the one CreateKey's input asks for.
  const described: Pick<KeyRecord, 'keySpec' | 'keyUsage' | 'origin' | 'multiRegion'> | undefined =
    key ?? (on('kms:createkey') ? (request.keyToCreate ?? requestedKey(input)) : undefined);
  const requestTags = Array.isArray(input.Tags) ? Object.fromEntries((input.Tags as Tags).map((t) => [t.TagKey, t.TagValue])) : undefined;
  return (lower) => {
    if (lower.startsWith('aws:resourcetag/')) return key && valuesOfKey(tagsOf(), lower.slice('aws:resourcetag/'.length));
    if (lower.startsWith('aws:requesttag/')) return requestTags && valuesOfKey(requestTags, lower.slice('aws:requesttag/'.length));
    switch (lower) {
      case 'aws:tagkeys':
        return requestTags ? Object.keys(requestTags) : on('kms:untagresource') ? (input.TagKeys as string[] | undefined) : undefined;
      case 'aws:currenttime':
        return [ctx.now.toISOString()];
      case 'aws:epochtime':
        return [String(Math.floor(ctx.now.getTime() / 1000))];
      case 'kms:resourcealiases':
        return key && (ctx.db.prepare('SELECT alias_name FROM aliases WHERE key_id = ? ORDER BY alias_name').all(key.storageId) as { alias_name: string }[]).map((a) => a.alias_name);
      case 'kms:requestalias':
        return str(request.requestAlias);
      case 'kms:keyspec':
        return described && [described.keySpec];
      case 'kms:keyusage':
        return described && [described.keyUsage];
      case 'kms:keyorigin':
        return described && [described.origin];
      case 'kms:multiregion':
        return described && [String(described.multiRegion !== undefined)];
      case 'kms:multiregionkeytype':
        return described && str(described.multiRegion);
      case 'kms:encryptionalgorithm': {
        const member = ENCRYPTION_ALGORITHM_MEMBER[action];
        if (member === undefined) return undefined;
        return [(member && (input[member] as string | undefined)) || 'SYMMETRIC_DEFAULT'];
      }
      case 'kms:signingalgorithm':
        return on('kms:sign', 'kms:verify') ? str(input.SigningAlgorithm) : undefined;
      case 'kms:messagetype':
        return on('kms:sign', 'kms:verify') ? [(input.MessageType as string | undefined) ?? 'RAW'] : undefined;
      case 'kms:macalgorithm':
        return on('kms:generatemac', 'kms:verifymac') ? str(input.MacAlgorithm) : undefined;
      case 'kms:datakeypairspec':
        return on('kms:generatedatakeypair', 'kms:generatedatakeypairwithoutplaintext') ? str(input.KeyPairSpec) : undefined;
      case 'kms:grantoperations':
        return on('kms:creategrant') ? (input.Operations as string[] | undefined) : undefined;
      case 'kms:granteeprincipal':
        return on('kms:creategrant') ? str(input.GranteePrincipal) : undefined;
      case 'kms:retiringprincipal':
        return on('kms:creategrant') ? str(input.RetiringPrincipal) : undefined;
      case 'kms:grantisforawsresource':
        // True only when an AWS service makes the call; the local KMS has none.
        return on('kms:creategrant', 'kms:listgrants', 'kms:revokegrant') ? ['false'] : undefined;
      case 'kms:replicaregion':
        return on('kms:replicatekey') ? str(input.ReplicaRegion) : undefined;
      case 'kms:primaryregion':
        return on('kms:updateprimaryregion') ? str(input.PrimaryRegion) : undefined;
      case 'kms:rotationperiodindays':
        return on('kms:enablekeyrotation') ? [String((input.RotationPeriodInDays as number | undefined) ?? 365)] : undefined;
      case 'kms:schedulekeydeletionpendingwindowindays':
        return on('kms:schedulekeydeletion') ? [String((input.PendingWindowInDays as number | undefined) ?? 30)] : undefined;
      case 'kms:bypasspolicylockoutsafetycheck':
        return on('kms:createkey', 'kms:putkeypolicy', 'kms:replicatekey') ? [String(input.BypassPolicyLockoutSafetyCheck === true)] : undefined;
      case 'kms:expirationmodel':
        return on('kms:importkeymaterial') ? [(input.ExpirationModel as string | undefined) ?? 'KEY_MATERIAL_EXPIRES'] : undefined;
      case 'kms:validto':
        return on('kms:importkeymaterial') && input.ValidTo instanceof Date ? [String(Math.floor(input.ValidTo.getTime() / 1000))] : undefined;
      case 'kms:wrappingalgorithm':
        return on('kms:getparametersforimport') ? str(input.WrappingAlgorithm) : undefined;
      case 'kms:wrappingkeyspec':
        return on('kms:getparametersforimport') ? str(input.WrappingKeySpec) : undefined;
      default:
        // kms:ViaService: no AWS service calls the local KMS, so it is never present.
        return undefined;
    }
  };
}

/** The key a CreateKey input asks for, with CreateKey's defaults. */
function requestedKey(input: Readonly<Record<string, unknown>>): Pick<KeyRecord, 'keySpec' | 'keyUsage' | 'origin' | 'multiRegion'> {
  return {
    keySpec: ((input.KeySpec ?? input.CustomerMasterKeySpec) as KeyRecord['keySpec'] | undefined) ?? 'SYMMETRIC_DEFAULT',
    keyUsage: (input.KeyUsage as KeyRecord['keyUsage'] | undefined) ?? 'ENCRYPT_DECRYPT',
    origin: (input.Origin as KeyRecord['origin'] | undefined) ?? 'AWS_KMS',
    multiRegion: input.MultiRegion === true ? 'PRIMARY' : undefined,
  };
}

/** Several identity policies as one: any explicit Deny refuses, else any Allow allows. */
function identityDecision(policies: readonly KeyPolicy[], request: PolicyRequest): 'allow' | 'deny' | 'implicitDeny' {
  let allowed = false;
  for (const policy of policies) {
    const decision = evaluateKeyPolicy(policy, request);
    if (decision === 'deny') return 'deny';
    if (decision === 'allow') allowed = true;
  }
  return allowed ? 'allow' : 'implicitDeny';
}

/**
 * The policy lockout safety check (AWS KMS API Reference, PutKeyPolicy / CreateKey / ReplicateKey,
 * BypassPolicyLockoutSafetyCheck): refuses a key policy under which the caller could not call
 * PutKeyPolicy on the key afterwards, so a key cannot be made unmanageable by mistake.
 *
 * @throws LocalKmsError `MalformedPolicyDocumentException`.
 * @example
 * ```ts
 * if (input.BypassPolicyLockoutSafetyCheck !== true) checkPolicyLockout(ctx, parseKeyPolicy(text), arn, undefined, input);
 * ```
 */
export function checkPolicyLockout(ctx: OperationContext, policy: KeyPolicy, keyArn: string, key: KeyRecord | undefined, input: Readonly<Record<string, unknown>>): void {
  const after = evaluateKeyPolicy(policy, {
    principal: ctx.caller.principal,
    accountId: ctx.caller.accountId,
    action: 'kms:PutKeyPolicy',
    keyArn,
    lookup: conditionLookup({ action: 'kms:PutKeyPolicy', context: ctx, input }, key),
  });
  if (after !== 'allow') {
    throw new LocalKmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
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
    Policy: { type: 'string', required: true, min: 1, max: 32_768, pattern: KEY_POLICY_TEXT, jsonDocument: true },
    BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
  },
  (ctx: OperationContext, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:PutKeyPolicy' });
    checkPolicyName(input.PolicyName);
    const policy = parseKeyPolicy(input.Policy);
    if (input.BypassPolicyLockoutSafetyCheck !== true) checkPolicyLockout(ctx, policy, key.arn, key, { ...input });
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
    // One policy a key, never truncated: no marker was issued.
    noMarker(input.Marker);
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
 * const kms = LocalKms.open({ dataDir, extensions: [accessControlExtension] });
 * ```
 */
export const accessControlExtension: LocalKmsExtension = {
  name: 'access',
  migrations: [...grantMigrations, ...identityPolicyMigrations],
  operations: [...policyOperations, ...grantOperations],
  authorize: authorizeAccess,
};
