/**
 * Key policies: parsing, validation and evaluation, as pure functions.
 *
 * The grammar is the part of the IAM policy language AWS KMS key policies use (AWS KMS
 * Developer Guide, "Key policies"; IAM User Guide, "Policy evaluation logic"):
 * `Version`, `Id`, `Statement` (one or a list) with `Sid`, `Effect` Allow/Deny, `Principal`
 * (`"*"` or `{ "AWS": ARN | account id | "*" | [...] }`), `Action` (`kms:` names, `*` and `?`
 * wildcards, case-insensitive), `Resource` (`"*"` or key ARN patterns) and `Condition` with the
 * operators and condition keys of conditions.ts (values from {@link PolicyRequest.lookup}).
 * Anything else (NotAction, NotPrincipal, other operators and keys, a name twice in one object)
 * is refused when the policy is stored, with `MalformedPolicyDocumentException`, rather than
 * silently ignored.
 *
 * Evaluation: an explicit Deny wins; otherwise an Allow allows; otherwise the request is
 * implicitly denied (grants may still allow it). A principal `arn:aws:iam::<account>:root`
 * (or a bare account id) stands for every principal of that account: AWS delegates such
 * access to the account's IAM policies, and the local KMS has no IAM, so the account's own
 * principals are trusted as an IAM administrator would be.
 */
import { LocalKmsError } from './errors.js';
import { compileWildcard, type WildcardMatcher } from './wildcard.js';
import { checkValue, conditionKeyInfo, operatorApplies, parseOperator, valueMatches } from './conditions.js';

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
  /**
   * The values of every other condition key (lower-case name -> values; undefined when the
   * request has no such key): tags, aliases, key properties, request parameters, time
   * (access.ts builds it). Called only for keys a statement tests.
   */
  readonly lookup?: (lowerKey: string) => readonly string[] | undefined;
}

/** The outcome: `implicitDeny` means no statement applied, so a grant may still allow. */
export type PolicyDecision = 'allow' | 'deny' | 'implicitDeny';


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


/**
 * The principal ARNs a policy may name (IAM User Guide, "AWS JSON policy elements: Principal"):
 * the account root, an IAM user or role (with its path), an assumed-role session or a federated
 * user session. Anything else names no principal that could ever make a request: a user group
 * ("You cannot identify a user group as a principal"), `:ROOT`, a name with a space. AWS refuses
 * such a policy (the principals in a key policy "must exist": API Reference, PutKeyPolicy,
 * Policy); accepted, a Deny naming one would silently never apply.
 */
const PRINCIPAL_ARN =
  /^arn:aws[a-z-]*:(?:iam::\d{12}:(?:root|(?:user|role)\/[\w+=,.@/-]+)|sts::\d{12}:(?:assumed-role\/[\w+=,.@/-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;

function parsePrincipal(value: unknown, stored: boolean): string[] {
  if (value === '*') return ['*'];
  if (!isObject(value) || Object.keys(value).some((k) => k !== 'AWS') || value.AWS === undefined) {
    throw malformed('Principal must be "*" or { "AWS": ... }.');
  }
  const list = stringList(value.AWS, 'Principal.AWS');
  for (const p of list) {
    if (p !== '*' && !/^\d{12}$/.test(p) && !/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[^*?]+$/.test(p)) {
      throw malformed('Principal.AWS entries must be "*", an account id, or an IAM ARN without wildcards.');
    }
    // A policy stored before this check keeps being read as it was (no key locked out).
    if (!stored && p !== '*' && !/^\d{12}$/.test(p) && !PRINCIPAL_ARN.test(p)) {
      throw malformed(`Principal.AWS ${JSON.stringify(p).slice(0, 120)} is not an account, IAM user, IAM role or role session ARN, so it could never match a caller.`);
    }
  }
  return list;
}

function parseConditions(value: unknown, stored: boolean): PolicyCondition[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw malformed('Condition must be an object.');
  const out: PolicyCondition[] = [];
  for (const [rawOperator, tests] of Object.entries(value)) {
    const operator = parseOperator(rawOperator);
    if (operator === undefined) throw malformed(`Condition operator ${rawOperator} is not supported.`);
    if (!isObject(tests)) throw malformed(`Condition ${rawOperator} must map keys to values.`);
    const seen = new Set<string>();
    for (const [key, values] of Object.entries(tests)) {
      const lower = key.toLowerCase();
      // Condition key names are not case-sensitive (IAM User Guide, "Condition"): two spellings
      // of one key in one operator are the same name twice (see duplicateMemberName), and read
      // as two tests they would have to hold together, so a Deny listing two values that way
      // would never apply.
      if (!stored && seen.has(lower)) throw malformed(`Condition ${rawOperator} names ${key} twice (condition keys are not case-sensitive): list its values in one entry.`);
      seen.add(lower);
      const info = conditionKeyInfo(lower);
      if (info === undefined) throw malformed(`Condition key ${key} is not supported.`);
      if (!operatorApplies(operator.base, info.type, info.alsoType)) throw malformed(`Condition operator ${rawOperator} does not apply to ${key} (a ${info.type} key).`);
      if (info.multivalued && operator.set === undefined && operator.base !== 'Null') {
        throw malformed(`${key} is multivalued: it needs a ForAnyValue: or ForAllValues: operator.`);
      }
      // AWS refuses this for kms:EncryptionContext:<key> (Developer Guide, conditions-kms), and it is
      // the same trap on every single-valued key: ForAllValues also holds for a request without the
      // key, so an Allow would not require it. A policy stored before this check keeps being
      // evaluated (as AWS evaluates old ones), so no key is locked out of PutKeyPolicy.
      if (!stored && !info.multivalued && operator.set === 'all') {
        throw malformed(
          lower.startsWith('kms:encryptioncontext:')
            ? 'OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.'
            : `OverlyPermissiveCondition: ForAllValues with the single-valued key ${key} also matches requests without it. Remove ForAllValues.`,
        );
      }
      const list = Array.isArray(values) ? stringList(values, key) : stringList([typeof values === 'boolean' || typeof values === 'number' ? String(values) : values], key);
      for (const v of list) {
        const problem = checkValue(operator.family, v);
        if (problem !== undefined) throw malformed(`Condition ${rawOperator} ${key}: ${problem}.`);
      }
      out.push({ operator: rawOperator, key, values: list });
    }
  }
  return out;
}

/** MalformedPolicyDocumentException when a statement's Resource or condition values hold a policy variable (`${...}`). */
function refuseVariables(statement: unknown): void {
  if (!isObject(statement)) return;
  const texts: unknown[] = [statement.Resource];
  if (isObject(statement.Condition)) for (const tests of Object.values(statement.Condition)) if (isObject(tests)) texts.push(...Object.values(tests));
  const found = texts.flat().find((t) => typeof t === 'string' && t.includes('${'));
  if (found !== undefined) throw malformed(`Policy variables are not supported by the local KMS (found in ${JSON.stringify(found).slice(0, 80)}): it cannot replace them as AWS does, and read as text they would never match.`);
}

function parseStatement(value: unknown, stored: boolean, identity: boolean): PolicyStatement {
  if (!isObject(value)) throw malformed('Each Statement must be an object.');
  for (const k of Object.keys(value)) {
    if (!['Sid', 'Effect', ...(identity ? [] : ['Principal']), 'Action', 'Resource', 'Condition'].includes(k)) {
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
    // Identity policies (IAM) have no Principal: they apply to the principal they are attached to.
    principals: identity ? ['*'] : parsePrincipal(value.Principal, stored),
    actions,
    resources,
    conditions: parseConditions(value.Condition, stored),
  };
}

/**
 * The first member name that appears twice in one object of a JSON text (names compared after
 * unescaping, so `"Effect"` and `"Eff\u0065ct"` are the same), or undefined. `text` must be
 * valid JSON (JSON.parse accepted it); one pass, no recursion.
 *
 * @example
 * ```ts
 * duplicateMemberName('{"Effect":"Deny","Effect":"Allow"}'); // 'Effect'
 * ```
 * @throws Never for valid JSON.
 */
function duplicateMemberName(text: string): string | undefined {
  // One frame per open object (its names so far, and whether a name comes next) or array.
  const stack: { names: Set<string> | undefined; nameNext: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.names !== undefined && top.nameNext) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(name)) return name;
        top.names.add(name);
        top.nameNext = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push({ names: new Set(), nameNext: true });
    } else if (c === '[') {
      stack.push({ names: undefined, nameNext: false });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.names !== undefined) top.nameNext = true;
    }
  }
  return undefined;
}

/**
 * The characters a key policy document may hold (AWS KMS API Reference, CreateKey, PutKeyPolicy
 * and ReplicateKey, Policy: "Pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"; Developer Guide,
 * "Key policy format"): printable ASCII and Latin-1, tab, line feed and carriage return. Other
 * characters can still be written as JSON escapes (`\u20ac`).
 */
export const KEY_POLICY_TEXT = /^[\t\n\r\u0020-\u00FF]+$/;

/**
 * Parses and validates a key policy document. `stored: true` reads a policy already in the
 * database: it skips the checks that only refuse new policies (`ForAllValues:` with
 * `kms:EncryptionContext:<key>`, refused as `OverlyPermissiveCondition`), so a key whose policy
 * predates them is still evaluated, and can be given a new policy. `identity: true` reads an
 * identity (IAM) policy: the same grammar without `Principal`.
 *
 * @throws LocalKmsError `MalformedPolicyDocumentException` for invalid JSON, a name that
 *   appears twice in one object, an unsupported element, operator or condition key, or an
 *   overly permissive condition;
 *   `ValidationException` when longer than 32768 characters.
 * @example
 * ```ts
 * const policy = parseKeyPolicy(defaultKeyPolicy('111122223333'));
 * evaluateKeyPolicy(policy, { principal, accountId, action: 'kms:Encrypt', keyArn }); // 'allow'
 * ```
 */
export function parseKeyPolicy(text: string, { stored = false, identity = false }: { stored?: boolean; identity?: boolean } = {}): KeyPolicy {
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
  // JSON.parse keeps only the last of members with the same name, so a second `Effect`,
  // `Statement` or Condition operator would silently drop the first (a Deny turned Allow, a
  // condition gone). AWS refuses duplicate elements in new policies (IAM User Guide,
  // "Troubleshoot IAM policies", "More than one effect, action, or resource element"); a stored
  // policy keeps being evaluated as it was.
  if (!stored) {
    const duplicate = duplicateMemberName(text);
    if (duplicate !== undefined) {
      throw malformed(`The name ${JSON.stringify(duplicate).slice(0, 80)} appears twice in one object of the policy: write each element, operator and condition key once (a list holds several values).`);
    }
  }
  for (const k of Object.keys(doc)) {
    if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(`Policy element ${k} is not supported.`);
  }
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
    throw malformed('Version must be 2012-10-17.');
  }
  const raw = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
  if (raw.length === 0) throw malformed('The policy needs at least one Statement.');
  // With Version 2012-10-17, AWS replaces policy variables (${aws:PrincipalArn}, ${*}, ...) in
  // Resource and condition values before comparing; they are not built here, and read as text
  // they would never match (a Deny built on one would never apply). Refused in new policies
  // (a stored one keeps being evaluated as it was). Under 2008-10-17 they are plain text in AWS too.
  if (!stored && doc.Version === '2012-10-17') for (const s of raw) refuseVariables(s);
  return { statements: raw.map((s) => parseStatement(s, stored, identity)) };
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

/**
 * How a statement's principals cover the caller: `direct` (`*` or the caller's own ARN), `account`
 * (the caller's account, by account id or root ARN: in AWS this delegates to the account's IAM
 * policies), or not at all.
 */
function principalMatch(principals: readonly string[], request: PolicyRequest): 'direct' | 'account' | undefined {
  let account = false;
  for (const p of principals) {
    if (p === '*' || p === request.principal) return 'direct';
    if (p === request.accountId || p === `arn:aws:iam::${request.accountId}:root`) account = true;
  }
  return account ? 'account' : undefined;
}

/** The value(s) of a condition key for a request; `undefined` when the key is absent. */
function conditionValues(key: string, request: PolicyRequest): readonly string[] | undefined {
  const lower = key.toLowerCase();
  if (lower === 'kms:calleraccount' || lower === 'aws:principalaccount') return [request.accountId];
  if (lower === 'aws:principalarn') return [request.principal];
  const context = request.encryptionContext;
  if (lower === 'kms:encryptioncontextkeys') return context ? Object.keys(context) : undefined;
  if (lower.startsWith('kms:encryptioncontext:')) {
    // The whole condition key is case-insensitive, the context key in it included (KMS Developer
    // Guide, "Case sensitivity of the encryption context condition"): kms:EncryptionContext:appname
    // tests a context key AppName. A context may hold several keys differing only in case; every
    // one of their values is a candidate (conditionHolds decides how they combine).
    if (context === undefined) return undefined;
    return valuesOfKey(context, lower.slice('kms:encryptioncontext:'.length));
  }
  return request.lookup?.(lower);
}

/**
 * The values of every member of `record` whose name equals `lowerName` ignoring case (condition
 * keys are case-insensitive, the tag or context key in them included); undefined when none.
 */
export function valuesOfKey(record: Readonly<Record<string, string>>, lowerName: string): string[] | undefined {
  const values = Object.keys(record)
    .filter((k) => k.toLowerCase() === lowerName)
    .map((k) => record[k]!);
  return values.length > 0 ? values : undefined;
}

/**
 * Whether a condition holds. A single-valued key with several candidate values (context or tag
 * keys differing only in case) is read against the statement: a Deny holds when any candidate
 * satisfies it, an Allow only when every candidate does, so case variants can neither dodge a
 * Deny nor borrow an Allow.
 */
function conditionHolds(condition: PolicyCondition, request: PolicyRequest, effect: 'Allow' | 'Deny'): boolean {
  const operator = parseOperator(condition.operator)!;
  const actual = conditionValues(condition.key, request);
  const absent = actual === undefined || actual.length === 0;
  if (operator.base === 'Null') return condition.values.some((v) => (v === 'true') === absent);
  if (absent) {
    // IAM: a missing key fails positive operators, passes negated ones, ...IfExists and
    // ForAllValues; ForAnyValue fails whatever its operator, negated ones included ("if the key
    // is empty or not present, the condition returns false": IAM User Guide, set operators).
    if (operator.set === 'any') return operator.ifExists;
    return operator.ifExists || operator.negated || operator.set === 'all';
  }
  const one = (value: string) => condition.values.some((expected) => valueMatches(operator.base, value, expected)) !== operator.negated;
  // A single-valued key has one value in AWS; several here are case variants of one context or
  // tag key, read by the rule above whatever the set operator (ForAnyValue: on such a key let a
  // variant borrow an Allow: {tenant: alice, TENANT: bob} passed "tenant is alice").
  const multivalued = conditionKeyInfo(condition.key.toLowerCase())?.multivalued ?? false;
  if (multivalued && operator.set === 'all') return actual.every(one);
  if (multivalued && operator.set === 'any') return actual.some(one);
  return effect === 'Deny' ? actual.some(one) : actual.every(one);
}

function statementApplies(statement: PolicyStatement, request: PolicyRequest): 'direct' | 'account' | undefined {
  const match = principalMatch(statement.principals, request);
  if (
    match !== undefined &&
    statement.actions.some((a) => a.test(request.action)) &&
    statement.resources.some((r) => r.test(request.keyArn)) &&
    statement.conditions.every((c) => conditionHolds(c, request, statement.effect))
  ) {
    return match;
  }
  return undefined;
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
  const decision = evaluatePolicyDetailed(policy, request);
  return decision === 'allowDirect' || decision === 'allowAccount' ? 'allow' : decision;
}

/**
 * {@link evaluateKeyPolicy}, saying how an Allow came about: `allowDirect` (a statement names
 * the caller or `*`) or only `allowAccount` (statements name the caller's account, which in
 * AWS delegates to its IAM policies: access.ts then asks the caller's identity policies).
 *
 * @example
 * ```ts
 * evaluatePolicyDetailed(parseKeyPolicy(defaultKeyPolicy(account)), request); // 'allowAccount'
 * ```
 * @throws Never.
 */
export function evaluatePolicyDetailed(policy: KeyPolicy, request: PolicyRequest): 'allowDirect' | 'allowAccount' | 'deny' | 'implicitDeny' {
  let allowed: 'allowDirect' | 'allowAccount' | undefined;
  for (const statement of policy.statements) {
    const match = statementApplies(statement, request);
    if (match === undefined) continue;
    if (statement.effect === 'Deny') return 'deny';
    if (match === 'direct') allowed = 'allowDirect';
    else allowed ??= 'allowAccount';
  }
  return allowed ?? 'implicitDeny';
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
