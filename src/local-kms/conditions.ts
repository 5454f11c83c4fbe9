/**
 * Key policy conditions: the condition keys the local KMS knows, their types, and the operators
 * (IAM User Guide, "IAM JSON policy elements: Condition operators"; AWS KMS Developer Guide,
 * "AWS global condition keys" and "AWS KMS condition keys").
 *
 * A condition key or operator the local KMS does not know is refused when a policy is put
 * (`MalformedPolicyDocumentException`). AWS KMS refuses an unknown operator too, but accepts an
 * unknown condition key and evaluates it as absent; the local KMS refuses it, so that no policy
 * reads stricter than it is enforced (a Deny on a misspelt key would never apply). So is an
 * operator of the wrong type for its key (`NumericLessThan` on `kms:KeySpec`), a value the
 * operator cannot read (`Bool` with `"yes"`), a multivalued key without `ForAnyValue:` or
 * `ForAllValues:`, and `ForAllValues:` on a single-valued key (true for a request without the key,
 * so an Allow would not require it; AWS refuses this for `kms:EncryptionContext:<key>`).
 *
 * Matching costs at most linear time in the caller-chosen values (wildcard.ts; ARNs split into
 * six parts once).
 */
import { compileWildcard, type WildcardMatcher } from './wildcard.js';

/** The value type of a condition key, which decides the operators it takes. */
export type ConditionKeyType = 'String' | 'Arn' | 'Numeric' | 'Date' | 'Bool';

/** What the local KMS knows about one condition key. */
export interface ConditionKeyInfo {
  readonly type: ConditionKeyType;
  /** A second type whose operators the key takes too (`aws:EpochTime`: date and numeric operators). */
  readonly alsoType?: ConditionKeyType;
  /** A multivalued key (a set: `aws:TagKeys`, `kms:ResourceAliases`, ...) needs ForAnyValue/ForAllValues. */
  readonly multivalued: boolean;
}

const S = (multivalued = false): ConditionKeyInfo => ({ type: 'String', multivalued });
const T = (type: ConditionKeyType): ConditionKeyInfo => ({ type, multivalued: false });

/** Condition keys by lower-case name (prefixed keys: see {@link conditionKeyInfo}). */
const KEYS: ReadonlyMap<string, ConditionKeyInfo> = new Map([
  ['aws:principalarn', T('Arn')],
  ['aws:principalaccount', S()],
  ['aws:tagkeys', S(true)],
  ['aws:currenttime', T('Date')],
  // "Works with date operators or numeric operators" (IAM User Guide, "AWS global condition context keys").
  ['aws:epochtime', { type: 'Date', alsoType: 'Numeric', multivalued: false }],
  ['kms:calleraccount', S()],
  ['kms:encryptioncontextkeys', S(true)],
  ['kms:resourcealiases', S(true)],
  ['kms:requestalias', S()],
  ['kms:keyspec', S()],
  ['kms:keyusage', S()],
  ['kms:keyorigin', S()],
  ['kms:encryptionalgorithm', S()],
  ['kms:signingalgorithm', S()],
  ['kms:macalgorithm', S()],
  ['kms:messagetype', S()],
  ['kms:datakeypairspec', S()],
  ['kms:grantoperations', S(true)],
  ['kms:granteeprincipal', S()],
  ['kms:retiringprincipal', S()],
  ['kms:grantisforawsresource', T('Bool')],
  ['kms:multiregion', T('Bool')],
  ['kms:multiregionkeytype', S()],
  ['kms:replicaregion', S()],
  ['kms:primaryregion', S()],
  ['kms:viaservice', S()],
  ['kms:rotationperiodindays', T('Numeric')],
  ['kms:schedulekeydeletionpendingwindowindays', T('Numeric')],
  ['kms:bypasspolicylockoutsafetycheck', T('Bool')],
  ['kms:expirationmodel', S()],
  ['kms:validto', T('Date')],
  ['kms:wrappingalgorithm', S()],
  ['kms:wrappingkeyspec', S()],
]);

/** Keys with a caller-chosen suffix: `kms:EncryptionContext:<key>`, `aws:ResourceTag/<key>`, `aws:RequestTag/<key>`. */
const PREFIXES = ['kms:encryptioncontext:', 'aws:resourcetag/', 'aws:requesttag/'] as const;

/** What a condition key is, or undefined when the local KMS does not know it. `lower` is the key in lower case. */
export function conditionKeyInfo(lower: string): ConditionKeyInfo | undefined {
  const known = KEYS.get(lower);
  if (known) return known;
  return PREFIXES.some((p) => lower.startsWith(p) && lower.length > p.length) ? S() : undefined;
}

/** Operator names -> their family and the key types they apply to. */
const FAMILIES = new Map<string, { readonly family: string; readonly types: readonly ConditionKeyType[] }>();
function family(name: string, types: readonly ConditionKeyType[], operators: readonly string[]): void {
  for (const operator of operators) FAMILIES.set(operator, { family: name, types });
}
const relations = (prefix: string): string[] => ['Equals', 'NotEquals', 'LessThan', 'LessThanEquals', 'GreaterThan', 'GreaterThanEquals'].map((r) => prefix + r);
family('String', ['String', 'Arn'], ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike']);
family('Numeric', ['Numeric'], relations('Numeric'));
family('Date', ['Date'], relations('Date'));
family('Arn', ['Arn'], ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike']);
family('Bool', ['Bool'], ['Bool']);
family('Null', ['String', 'Arn', 'Numeric', 'Date', 'Bool'], ['Null']);

/** A condition operator taken apart: `ForAllValues:StringLikeIfExists` -> all, StringLike, ifExists. */
export interface ParsedOperator {
  readonly set: 'any' | 'all' | undefined;
  /** The operator without set prefix and IfExists, e.g. `StringLike`. */
  readonly base: string;
  readonly family: string;
  readonly ifExists: boolean;
  /** True for the Not operators, which hold for values that match none of the policy's. */
  readonly negated: boolean;
}

/** Parses an operator name; undefined when the local KMS does not know it. */
export function parseOperator(raw: string): ParsedOperator | undefined {
  const set = raw.startsWith('ForAnyValue:') ? 'any' : raw.startsWith('ForAllValues:') ? 'all' : undefined;
  const rest = set === undefined ? raw : raw.slice(raw.indexOf(':') + 1);
  const ifExists = rest.endsWith('IfExists') && rest !== 'IfExists';
  const base = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  const info = FAMILIES.get(base);
  if (info === undefined) return undefined;
  // Null tests presence itself: IfExists and set prefixes mean nothing on it.
  if (base === 'Null' && (ifExists || set !== undefined)) return undefined;
  return { set, base, family: info.family, ifExists, negated: base.includes('Not') };
}

/** Whether `type` keys (or a key of this type and `alsoType`) take operators of `base`. */
export function operatorApplies(base: string, type: ConditionKeyType, alsoType?: ConditionKeyType): boolean {
  const types = FAMILIES.get(base)?.types;
  return types !== undefined && (types.includes(type) || (alsoType !== undefined && types.includes(alsoType)));
}

/**
 * A date as IAM reads it: ISO 8601 text or epoch seconds. NaN when neither. A date and time
 * without a zone is UTC (JavaScript would read it in the host's time zone, so the same policy
 * would allow or deny depending on where the server runs).
 */
export function parseDate(value: string): number {
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return Number.NaN;
  return Date.parse(/T[\d:.]+$/.test(value) ? `${value}Z` : value);
}

/** Checks one policy value for an operator family; returns an error message or undefined. */
export function checkValue(family: string, value: string): string | undefined {
  if (family === 'Numeric' && !/^-?\d+(\.\d+)?$/.test(value)) return `${value} is not a number`;
  if (family === 'Date' && Number.isNaN(parseDate(value))) return `${value} is not a date (ISO 8601 or epoch seconds)`;
  if ((family === 'Bool' || family === 'Null') && value !== 'true' && value !== 'false') return `${value} is not true or false`;
  return undefined;
}

/**
 * Compiled patterns of policy values, by pattern text. A condition's values are compared with
 * every value of a request (each key of a context of 1,000 pairs, for kms:EncryptionContextKeys),
 * and compiling a pattern cost more than matching it: 10 statements of 20 patterns took 260 ms a
 * request. Policies hold few distinct patterns; the cache is emptied when it is full.
 */
const patterns = new Map<string, WildcardMatcher>();
const MAX_CACHED_PATTERNS = 4096;

function wildcard(pattern: string): WildcardMatcher {
  let matcher = patterns.get(pattern);
  if (matcher === undefined) {
    matcher = compileWildcard(pattern);
    if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
    patterns.set(pattern, matcher);
  }
  return matcher;
}

/** The six parts of an ARN (the resource may hold more colons), or undefined. */
function arnParts(arn: string): string[] | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const colon = arn.indexOf(':', from);
    if (colon < 0) return undefined;
    parts.push(arn.slice(from, colon));
    from = colon + 1;
  }
  parts.push(arn.slice(from));
  return parts[0] === 'arn' ? parts : undefined;
}

/** ArnEquals / ArnLike: each of the six parts matched on its own, `*` and `?` within a part. */
function arnMatches(actual: string, pattern: string): boolean {
  const a = arnParts(actual);
  const p = arnParts(pattern);
  if (a === undefined || p === undefined) return false;
  return p.every((part, i) => wildcard(part).test(a[i]!));
}

/** Whether one request value matches one policy value under a (non-negated reading of the) operator. */
export function valueMatches(base: string, actual: string, expected: string): boolean {
  switch (base) {
    case 'StringEquals':
    case 'StringNotEquals':
      return actual === expected;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      // `actual` is caller-chosen, so no backtracking regex (wildcard.ts).
      return wildcard(expected).test(actual);
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return arnMatches(actual, expected);
    case 'Bool':
      return actual === expected;
    default:
      break;
  }
  if (base.startsWith('Numeric')) return compare(base.slice('Numeric'.length), Number(actual), Number(expected));
  if (base.startsWith('Date')) return compare(base.slice('Date'.length), parseDate(actual), parseDate(expected));
  return false;
}

function compare(relation: string, a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  switch (relation) {
    case 'Equals':
    case 'NotEquals':
      return a === b;
    case 'LessThan':
      return a < b;
    case 'LessThanEquals':
      return a <= b;
    case 'GreaterThan':
      return a > b;
    default:
      return a >= b; // GreaterThanEquals
  }
}
