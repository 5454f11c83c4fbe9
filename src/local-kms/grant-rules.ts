/**
 * The pure rules of grants (AWS KMS Developer Guide, "Grants in AWS KMS"): which operations a
 * grant may name, which of them may carry encryption context constraints, how a constraint
 * matches a request, and whether a grant covers a request.
 */
import { LocalKmsError } from './errors.js';

/** Operations a grant can allow (the `GrantOperation` enum of the KMS API). */
export const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
] as const;

/** One grant operation name. */
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

/**
 * Operations that take an encryption context, and so may appear in a grant with constraints,
 * plus CreateGrant, RetireGrant and DescribeKey, which AWS also allows there: "Grants with grant
 * constraints can include the DescribeKey and RetireGrant operations, but the constraint doesn't
 * apply to these operations" (AWS KMS API Reference, CreateGrant, Constraints).
 */
const CONSTRAINABLE = new Set<string>([
  'DescribeKey',
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'CreateGrant',
  'RetireGrant',
]);

/** Grant operations every key supports, whatever its type. */
const ANY_KEY: readonly GrantOperation[] = ['CreateGrant', 'RetireGrant', 'DescribeKey'];

/**
 * Grant operations a key supports, by key usage and whether it is the symmetric encryption key
 * spec: the "Key type table" of the AWS KMS Developer Guide ("Key type reference").
 */
export function grantOperationsFor(key: { readonly keySpec: string; readonly keyUsage: string }): readonly GrantOperation[] {
  switch (key.keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return key.keySpec === 'SYMMETRIC_DEFAULT'
        ? [...ANY_KEY, 'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']
        : [...ANY_KEY, 'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'];
    case 'SIGN_VERIFY':
      return [...ANY_KEY, 'Sign', 'Verify', 'GetPublicKey'];
    case 'GENERATE_VERIFY_MAC':
      return [...ANY_KEY, 'GenerateMac', 'VerifyMac'];
    case 'KEY_AGREEMENT':
      return [...ANY_KEY, 'DeriveSharedSecret', 'GetPublicKey'];
    default:
      return ANY_KEY;
  }
}

/**
 * Refuses a grant that allows an operation its key does not support, or constrains the
 * encryption context of a key that takes none (AWS KMS API Reference,
 * CreateGrant: "if the grant allows an operation that the KMS key does not support, CreateGrant
 * fails with a ValidationException").
 *
 * @throws LocalKmsError `ValidationException`.
 * @example
 * ```ts
 * checkGrantOperationsForKey(['Sign'], { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' }); // throws
 * ```
 */
export function checkGrantOperationsForKey(
  operations: readonly string[],
  key: { readonly keySpec: string; readonly keyUsage: string },
  constraints?: GrantConstraints,
): void {
  const supported: readonly string[] = grantOperationsFor(key);
  const unsupported = operations.filter((op) => !supported.includes(op));
  if (unsupported.length > 0) {
    throw new LocalKmsError('ValidationException', `A ${key.keySpec} key with KeyUsage ${key.keyUsage} does not support ${unsupported.join(', ')}.`);
  }
  // Only symmetric encryption keys take an encryption context (CreateGrant, Constraints: "You
  // cannot use an encryption context grant constraint for cryptographic operations with
  // asymmetric KMS keys or HMAC KMS keys").
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' && constraints !== undefined && Object.keys(constraints).length > 0) {
    throw new LocalKmsError('ValidationException', `Grants for a ${key.keySpec} key cannot have encryption context constraints.`);
  }
}

/** Most pairs in one grant constraint's encryption context (AWS KMS Developer Guide, "Grant constraints"). */
export const MAX_CONSTRAINT_PAIRS = 8;

/** Most characters in one grant constraint's encryption context, keys and values together (same source). */
export const MAX_CONSTRAINT_CHARACTERS = 384;

/** Encryption context constraints of a grant; at most one of the two is normally given. */
export interface GrantConstraints {
  /** The request's context must be exactly this. */
  readonly EncryptionContextEquals?: Readonly<Record<string, string>>;
  /** The request's context must contain these pairs (and may have more). */
  readonly EncryptionContextSubset?: Readonly<Record<string, string>>;
}

/** What a grant holds that decides whether it covers a request. */
export interface GrantTerms {
  readonly granteePrincipal: string;
  readonly operations: readonly string[];
  readonly constraints: GrantConstraints | undefined;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')
  );
}

/**
 * Checks a CreateGrant's Operations and Constraints as AWS does.
 *
 * @throws LocalKmsError `ValidationException` for an empty, unknown or repeated operation, a
 *   malformed constraint, or a constraint on a grant naming an operation without a context.
 * @example
 * ```ts
 * validateGrantTerms(['Decrypt'], { EncryptionContextSubset: { tenant: 'a' } });
 * ```
 */
export function validateGrantTerms(operations: unknown, constraints: unknown): void {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new LocalKmsError('ValidationException', 'Operations must list at least one grant operation.');
  }
  const seen = new Set<string>();
  for (const op of operations) {
    if (typeof op !== 'string' || !(GRANT_OPERATIONS as readonly string[]).includes(op) || seen.has(op)) {
      throw new LocalKmsError('ValidationException', 'Operations must be distinct grant operation names.');
    }
    seen.add(op);
  }
  if (constraints === undefined) return;
  if (typeof constraints !== 'object' || constraints === null || Array.isArray(constraints)) {
    throw new LocalKmsError('ValidationException', 'Constraints must be an object.');
  }
  for (const [name, value] of Object.entries(constraints)) {
    if ((name !== 'EncryptionContextEquals' && name !== 'EncryptionContextSubset') || !isStringMap(value)) {
      throw new LocalKmsError('ValidationException', 'Constraints allows EncryptionContextEquals and EncryptionContextSubset maps of strings.');
    }
    const pairs = Object.entries(value);
    const characters = pairs.reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (pairs.length > MAX_CONSTRAINT_PAIRS || characters > MAX_CONSTRAINT_CHARACTERS) {
      throw new LocalKmsError(
        'ValidationException',
        `A grant constraint holds at most ${MAX_CONSTRAINT_PAIRS} pairs and ${MAX_CONSTRAINT_CHARACTERS} characters.`,
      );
    }
  }
  if (Object.keys(constraints).length > 0 && !operations.every((op: string) => CONSTRAINABLE.has(op))) {
    throw new LocalKmsError('ValidationException', 'Encryption context constraints need operations that take an encryption context.');
  }
}

/**
 * True when the request's context satisfies one constraint pair. In a grant constraint the key is
 * not case sensitive and the value is (AWS KMS API Reference, GrantConstraints): the pair holds
 * when the request has the key exactly with that value, or has it only in other letter cases,
 * each with that value. (Keys that differ only in case are ambiguous; as for a condition in an
 * Allow, every one of them must match.)
 */
function pairHolds(actual: Readonly<Record<string, string>>, key: string, value: string): boolean {
  if (Object.hasOwn(actual, key)) return actual[key] === value;
  const lower = key.toLowerCase();
  const variants = Object.keys(actual).filter((k) => k.toLowerCase() === lower);
  return variants.length > 0 && variants.every((k) => actual[k] === value);
}

/**
 * True when a request's encryption context satisfies a grant's constraints: constraint keys
 * match context keys ignoring case, values match exactly (AWS KMS API Reference,
 * GrantConstraints).
 *
 * @example
 * ```ts
 * constraintsAllow({ EncryptionContextSubset: { a: '1' } }, { a: '1', b: '2' }); // true
 * constraintsAllow({ EncryptionContextSubset: { Tenant: 'x' } }, { tenant: 'x' }); // true
 * constraintsAllow({ EncryptionContextSubset: { tenant: 'x' } }, { tenant: 'X' }); // false
 * constraintsAllow({ EncryptionContextEquals: { a: '1' } }, { a: '1', b: '2' }); // false
 * ```
 */
export function constraintsAllow(constraints: GrantConstraints | undefined, context: Readonly<Record<string, string>> | undefined): boolean {
  if (constraints === undefined) return true;
  const actual = context ?? {};
  const equals = constraints.EncryptionContextEquals;
  if (equals !== undefined) {
    const keys = Object.keys(equals);
    if (keys.length !== Object.keys(actual).length) return false;
    if (!keys.every((k) => pairHolds(actual, k, equals[k]!))) return false;
    // Nothing beyond the constraint: every request key is one of its keys (ignoring case).
    const lowered = new Set(keys.map((k) => k.toLowerCase()));
    if (!Object.keys(actual).every((k) => lowered.has(k.toLowerCase()))) return false;
  }
  const subset = constraints.EncryptionContextSubset;
  if (subset !== undefined) {
    if (!Object.keys(subset).every((k) => pairHolds(actual, k, subset[k]!))) return false;
  }
  return true;
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

/**
 * True when a grant with constraints `child` is at least as strict as one with `parent`: every
 * request `child` allows, `parent` allows too. A grantee that got CreateGrant from a grant may
 * only create grants whose "grant constraints ... must be at least as strict as those in the
 * parent grant": it "can add pairs to an EncryptionContextSubset constraint in the parent grant,
 * but it cannot remove them", and "can change an EncryptionContextSubset constraint to an
 * EncryptionContextEquals constraint, but not the reverse" (AWS KMS Developer Guide, "Creating
 * grants", "Granting CreateGrant permission"). Pairs compare exactly, key spelling included: the
 * child then tests each of the parent's pairs exactly as the parent does ({@link constraintsAllow}),
 * whatever case variants a request holds; a parent `EncryptionContextEquals` must be the child's
 * `EncryptionContextEquals` as it is.
 *
 * @example
 * ```ts
 * constraintsAtLeastAsStrict({ EncryptionContextSubset: { a: '1', b: '2' } }, { EncryptionContextSubset: { a: '1' } }); // true
 * constraintsAtLeastAsStrict({ EncryptionContextEquals: { a: '1' } }, { EncryptionContextSubset: { a: '1' } }); // true
 * constraintsAtLeastAsStrict({ EncryptionContextSubset: { a: '1' } }, { EncryptionContextEquals: { a: '1' } }); // false
 * constraintsAtLeastAsStrict(undefined, { EncryptionContextSubset: { a: '1' } }); // false
 * ```
 */
export function constraintsAtLeastAsStrict(child: GrantConstraints | undefined, parent: GrantConstraints | undefined): boolean {
  const childEquals = child?.EncryptionContextEquals;
  const childSubset = child?.EncryptionContextSubset;
  const parentEquals = parent?.EncryptionContextEquals;
  if (parentEquals !== undefined && (childEquals === undefined || !sameMap(childEquals, parentEquals))) return false;
  const parentSubset = parent?.EncryptionContextSubset;
  if (parentSubset === undefined) return true;
  const has = (map: Readonly<Record<string, string>> | undefined, k: string, v: string): boolean => map !== undefined && Object.hasOwn(map, k) && map[k] === v;
  return Object.entries(parentSubset).every(([k, v]) => has(childSubset, k, v) || has(childEquals, k, v));
}

/**
 * True when a grant lets `principal` perform `action` (`kms:Decrypt`) with `context`. A grantee
 * that is an account root (`arn:aws:iam::<account>:root`) covers every principal of the account.
 *
 * @example
 * ```ts
 * grantCovers(grant, { principal, accountId, action: 'kms:Decrypt', encryptionContext });
 * ```
 */
export function grantCovers(
  grant: GrantTerms,
  request: { principal: string; accountId: string; action: string; encryptionContext?: Readonly<Record<string, string>> },
): boolean {
  const operation = request.action.startsWith('kms:') ? request.action.slice(4) : request.action;
  const grantee = grant.granteePrincipal;
  const principalOk = grantee === request.principal || grantee === `arn:aws:iam::${request.accountId}:root`;
  // A grant's constraints do not apply to DescribeKey, which takes no encryption context (see CONSTRAINABLE).
  const contextOk = operation === 'DescribeKey' || constraintsAllow(grant.constraints, request.encryptionContext);
  return principalOk && grant.operations.includes(operation) && contextOk;
}
