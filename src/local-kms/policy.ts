/**
 * Key policies: parsing, validation and evaluation, as pure functions.
 *
 * The grammar is the part of the IAM policy language AWS KMS key policies use (AWS KMS
 * Developer Guide, "Key policies"; IAM User Guide, "Policy evaluation logic"):
 * `Version`, `Id`, `Statement` (one or a list) with `Sid`, `Effect` Allow/Deny, `Principal`
 * (`"*"` or `{ "AWS": ARN | account id | "*" | [...] }`), `Action` (`kms:` names, `*` and `?`
 * wildcards, case-insensitive), `Resource` (`"*"` or key ARN patterns) and `Condition` with the
 * string operators on `kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`,
 * `kms:CallerAccount` and `aws:PrincipalArn`. Anything else (NotAction, NotPrincipal, other
 * operators and keys) is refused when the policy is stored, with
 * `MalformedPolicyDocumentException`, rather than silently ignored.
 *
 * Evaluation: an explicit Deny wins; otherwise an Allow allows; otherwise the request is
 * implicitly denied (grants may still allow it). A principal `arn:aws:iam::<account>:root`
 * (or a bare account id) stands for every principal of that account: AWS delegates such
 * access to the account's IAM policies, and the local KMS has no IAM, so the account's own
 * principals are trusted as an IAM administrator would be.
 */
import { LocalKmsError } from './errors.js';
import { compileWildcard, type WildcardMatcher } from './wildcard.js';

/** The longest key policy AWS accepts, in characters. */
export const MAX_POLICY_LENGTH = 32_768;

/** One statement, normalized (single values become lists). */
export interface PolicyStatement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** `['*']` for anyone, else ARNs or account ids. */
  readonly principals: readonly string[];
  readonly actions: readonly WildcardMatcher[];
  readonly resources: readonly WildcardMatcher[];
  readonly conditions: readonly PolicyCondition[];
}

/** One `operator: { key: values }` test of a statement's Condition block. */
export interface PolicyCondition {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** A parsed key policy. */
export interface KeyPolicy {
  readonly statements: readonly PolicyStatement[];
}

/** What a policy is asked. */
export interface PolicyRequest {
  /** The caller's principal ARN. */
  readonly principal: string;
  readonly accountId: string;
  /** The IAM action, `kms:Encrypt`. */
  readonly action: string;
  /** The ARN of the key. */
  readonly keyArn: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
}

/** The outcome: `implicitDeny` means no statement applied, so a grant may still allow. */
export type PolicyDecision = 'allow' | 'deny' | 'implicitDeny';

const OPERATORS = new Set(['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike']);
const SINGLE_KEYS = new Set(['kms:calleraccount', 'aws:principalarn']);

function malformed(message: string): LocalKmsError {
  return new LocalKmsError('MalformedPolicyDocumentException', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, what: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v): v is string => typeof v === 'string' && v.length > 0)) {
    throw malformed(`${what} must be a non-empty string or list of strings.`);
  }
  return list;
}


function parsePrincipal(value: unknown): string[] {
  if (value === '*') return ['*'];
  if (!isObject(value) || Object.keys(value).some((k) => k !== 'AWS') || value.AWS === undefined) {
    throw malformed('Principal must be "*" or { "AWS": ... }.');
  }
  const list = stringList(value.AWS, 'Principal.AWS');
  for (const p of list) {
    if (p !== '*' && !/^\d{12}$/.test(p) && !/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[^*?]+$/.test(p)) {
      throw malformed('Principal.AWS entries must be "*", an account id, or an IAM ARN without wildcards.');
    }
  }
  return list;
}

function parseConditions(value: unknown, stored: boolean): PolicyCondition[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw malformed('Condition must be an object.');
  const out: PolicyCondition[] = [];
  for (const [rawOperator, tests] of Object.entries(value)) {
    const setPrefix = /^(ForAnyValue|ForAllValues):/.exec(rawOperator)?.[0] ?? '';
    const base = rawOperator.slice(setPrefix.length).replace(/IfExists$/, '');
    if (!OPERATORS.has(base)) throw malformed(`Condition operator ${rawOperator} is not supported.`);
    if (!isObject(tests)) throw malformed(`Condition ${rawOperator} must map keys to values.`);
    for (const [key, values] of Object.entries(tests)) {
      const lower = key.toLowerCase();
      const known =
        SINGLE_KEYS.has(lower) || lower === 'kms:encryptioncontextkeys' || (lower.startsWith('kms:encryptioncontext:') && key.length > 22);
      if (!known) throw malformed(`Condition key ${key} is not supported.`);
      if (lower === 'kms:encryptioncontextkeys' && setPrefix === '') {
        throw malformed('kms:EncryptionContextKeys needs a ForAnyValue: or ForAllValues: operator.');
      }
      // AWS refuses this too (Developer Guide, conditions-kms): on a single-valued key ForAllValues
      // also holds for a request with no such pair, so an Allow would not require the pair.
      // A policy stored before this check keeps being evaluated (as AWS evaluates old ones), so
      // no key is locked out of PutKeyPolicy.
      if (!stored && lower.startsWith('kms:encryptioncontext:') && setPrefix === 'ForAllValues:') {
        throw malformed(
          'OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.',
        );
      }
      out.push({ operator: rawOperator, key, values: Array.isArray(values) ? stringList(values, key) : stringList([values], key) });
    }
  }
  return out;
}

function parseStatement(value: unknown, stored: boolean): PolicyStatement {
  if (!isObject(value)) throw malformed('Each Statement must be an object.');
  for (const k of Object.keys(value)) {
    if (!['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'].includes(k)) {
      throw malformed(`Statement element ${k} is not supported.`);
    }
  }
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') throw malformed('Effect must be Allow or Deny.');
  if (value.Sid !== undefined && typeof value.Sid !== 'string') throw malformed('Sid must be a string.');
  const actions = stringList(value.Action, 'Action').map((a) => {
    if (a !== '*' && !/^kms:[A-Za-z*?]+$/i.test(a)) throw malformed('Action entries must be "*" or kms:<Name> patterns.');
    return compileWildcard(a, true);
  });
  const resources = stringList(value.Resource, 'Resource').map((r) => compileWildcard(r));
  return {
    sid: value.Sid,
    effect: value.Effect,
    principals: parsePrincipal(value.Principal),
    actions,
    resources,
    conditions: parseConditions(value.Condition, stored),
  };
}

/**
 * Parses and validates a key policy document. `stored: true` reads a policy already in the
 * database: it skips the checks that only refuse new policies (`ForAllValues:` with
 * `kms:EncryptionContext:<key>`, refused as `OverlyPermissiveCondition`), so a key whose policy
 * predates them is still evaluated, and can be given a new policy.
 *
 * @throws LocalKmsError `MalformedPolicyDocumentException` for invalid JSON, an unsupported
 *   element, operator or condition key, or an overly permissive condition;
 *   `ValidationException` when longer than 32768 characters.
 * @example
 * ```ts
 * const policy = parseKeyPolicy(defaultKeyPolicy('111122223333'));
 * evaluateKeyPolicy(policy, { principal, accountId, action: 'kms:Encrypt', keyArn }); // 'allow'
 * ```
 */
export function parseKeyPolicy(text: string, { stored = false }: { stored?: boolean } = {}): KeyPolicy {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_POLICY_LENGTH) {
    throw new LocalKmsError('ValidationException', `Policy must be 1 to ${MAX_POLICY_LENGTH} characters.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('The policy is not valid JSON.');
  }
  if (!isObject(doc)) throw malformed('The policy must be a JSON object.');
  for (const k of Object.keys(doc)) {
    if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(`Policy element ${k} is not supported.`);
  }
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
    throw malformed('Version must be 2012-10-17.');
  }
  const raw = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
  if (raw.length === 0) throw malformed('The policy needs at least one Statement.');
  return { statements: raw.map((s) => parseStatement(s, stored)) };
}

/**
 * The policy AWS KMS gives a key created without one: the account's root has `kms:*`.
 *
 * @example
 * ```ts
 * defaultKeyPolicy('111122223333'); // '{"Version":"2012-10-17","Id":"key-default-1",...}'
 * ```
 * @throws Never.
 */
export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}

function principalMatches(principals: readonly string[], request: PolicyRequest): boolean {
  for (const p of principals) {
    if (p === '*' || p === request.principal) return true;
    if (p === request.accountId || p === `arn:aws:iam::${request.accountId}:root`) return true;
  }
  return false;
}

/** The value(s) of a condition key for a request; `undefined` when the key is absent. */
function conditionValues(key: string, request: PolicyRequest): readonly string[] | undefined {
  const lower = key.toLowerCase();
  if (lower === 'kms:calleraccount') return [request.accountId];
  if (lower === 'aws:principalarn') return [request.principal];
  const context = request.encryptionContext;
  if (lower === 'kms:encryptioncontextkeys') return context ? Object.keys(context) : undefined;
  // The whole condition key is case-insensitive, the context key in it included (KMS Developer
  // Guide, "Case sensitivity of the encryption context condition"): kms:EncryptionContext:appname
  // tests a context key AppName. A context may hold several keys differing only in case; every
  // one of their values is a candidate (conditionHolds decides how they combine).
  if (context === undefined) return undefined;
  const contextKey = lower.slice('kms:encryptioncontext:'.length);
  const values = Object.keys(context)
    .filter((k) => k.toLowerCase() === contextKey)
    .map((k) => context[k]!);
  return values.length > 0 ? values : undefined;
}

function valueMatches(base: string, actual: string, expected: string): boolean {
  switch (base) {
    case 'StringEquals':
    case 'StringNotEquals':
      return actual === expected;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return actual.toLowerCase() === expected.toLowerCase();
    default:
      // StringLike / StringNotLike: `actual` is caller-chosen, so no backtracking regex (wildcard.ts).
      return compileWildcard(expected).test(actual);
  }
}

/**
 * Whether a condition holds. A single-valued key with several candidate values (context keys
 * differing only in case) is read against the statement: a Deny holds when any candidate
 * satisfies it, an Allow only when every candidate does, so case variants can neither dodge a
 * Deny nor borrow an Allow.
 */
function conditionHolds(condition: PolicyCondition, request: PolicyRequest, effect: 'Allow' | 'Deny'): boolean {
  const { operator } = condition;
  const setOp = operator.startsWith('ForAllValues:') ? 'all' : operator.startsWith('ForAnyValue:') ? 'any' : undefined;
  const ifExists = operator.endsWith('IfExists');
  const base = operator.replace(/^For(AnyValue|AllValues):/, '').replace(/IfExists$/, '');
  const negated = base.includes('Not');
  const actual = conditionValues(condition.key, request);
  if (actual === undefined || (setOp !== undefined && actual.length === 0)) {
    // IAM: a missing key fails positive operators, passes negated ones and ...IfExists and ForAllValues.
    return ifExists || negated || setOp === 'all';
  }
  const one = (value: string) => condition.values.some((expected) => valueMatches(base, value, expected)) !== negated;
  if (setOp === 'all') return actual.every(one);
  if (setOp === 'any') return actual.some(one);
  return effect === 'Deny' ? actual.some(one) : actual.every(one);
}

function statementApplies(statement: PolicyStatement, request: PolicyRequest): boolean {
  return (
    principalMatches(statement.principals, request) &&
    statement.actions.some((a) => a.test(request.action)) &&
    statement.resources.some((r) => r.test(request.keyArn)) &&
    statement.conditions.every((c) => conditionHolds(c, request, statement.effect))
  );
}

/**
 * Evaluates a key policy for one request. An explicit Deny wins over any Allow.
 *
 * @example
 * ```ts
 * evaluateKeyPolicy(parseKeyPolicy(text), { principal, accountId, action: 'kms:Decrypt', keyArn,
 *   encryptionContext: { tenant: 'a' } }); // 'allow' | 'deny' | 'implicitDeny'
 * ```
 * @throws Never: {@link parseKeyPolicy} has already refused anything it could not evaluate.
 */
export function evaluateKeyPolicy(policy: KeyPolicy, request: PolicyRequest): PolicyDecision {
  let allowed = false;
  for (const statement of policy.statements) {
    if (!statementApplies(statement, request)) continue;
    if (statement.effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicitDeny';
}

const parsedCache = new Map<string, KeyPolicy>();

/**
 * Parses a stored policy once and keeps the result (policies change rarely, requests often).
 *
 * @throws LocalKmsError `MalformedPolicyDocumentException` as {@link parseKeyPolicy}.
 * @example
 * ```ts
 * const policy = cachedKeyPolicy(key.policy);
 * ```
 */
export function cachedKeyPolicy(text: string): KeyPolicy {
  let policy = parsedCache.get(text);
  if (policy === undefined) {
    policy = parseKeyPolicy(text, { stored: true });
    if (parsedCache.size >= 1024) parsedCache.clear();
    parsedCache.set(text, policy);
  }
  return policy;
}
