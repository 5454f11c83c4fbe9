import { LocalKmsError } from './errors.js';
import type { InputShape, MemberSpec } from './operation.js';

/**
 * `Recipient` (Nitro Enclaves attestation: the result encrypted to an enclave): there are no
 * enclaves locally, and ignoring the member would return in the clear what the caller asked to
 * be encrypted to one. docs/local-kms.md, "Differences from AWS KMS".
 */
export const RECIPIENT = { type: 'unsupported' } as const;

/** Grants to AWS service principals (CreateGrant, ListGrants, ListRetirableGrants): no AWS service runs locally. */
export const SERVICE_PRINCIPAL = { type: 'unsupportedParameter', reason: 'there are no AWS service principals locally' } as const;

function serialization(name: string, expected: string): LocalKmsError {
  return new LocalKmsError('SerializationException', `${name} must be ${expected}`);
}

function validation(message: string): LocalKmsError {
  return new LocalKmsError('ValidationException', message);
}

/** UTF-8 bytes of a string map's keys and values together. */
function mapBytes(map: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const [k, v] of Object.entries(map)) total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  return total;
}

/**
 * Refuses a string that is not well-formed UTF-16 (a lone surrogate, which JSON's `\ud800`
 * escapes can carry). SQLite stores such a string as U+FFFD, so what would be checked (a policy,
 * a context against a policy) would not be what is stored and read back.
 */
function requireWellFormed(name: string, value: string): void {
  if (!value.isWellFormed()) throw validation(`${name} must be well-formed Unicode (it holds a lone surrogate)`);
}

/**
 * Every string in a parsed JSON value or a structure, member names included, must be
 * well-formed. Iterative: a deeply nested document is left to its parser, not to the stack.
 */
function requireWellFormedDeep(name: string, value: unknown): void {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') requireWellFormed(name, next);
    else if (typeof next === 'object' && next !== null && !(next instanceof Uint8Array) && !(next instanceof Date)) {
      for (const [k, v] of Object.entries(next)) {
        requireWellFormed(name, k);
        pending.push(v);
      }
    }
  }
}

function checkMember(name: string, spec: MemberSpec, value: unknown): void {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw serialization(name, 'a string');
      requireWellFormed(name, value);
      if (spec.min !== undefined && value.length < spec.min) throw validation(`${name} must have length >= ${spec.min}`);
      if (spec.max !== undefined && value.length > spec.max) throw validation(`${name} must have length <= ${spec.max}`);
      if (spec.enum && !spec.enum.includes(value)) throw validation(`${name} must be one of ${spec.enum.join(', ')}`);
      if (spec.pattern && !spec.pattern.test(value)) throw validation(`${name} does not match its pattern`);
      if (spec.jsonDocument) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          return; // not JSON: the operation's own parser answers (MalformedPolicyDocumentException)
        }
        requireWellFormedDeep(name, parsed);
      }
      return;
    case 'blob':
      if (!(value instanceof Uint8Array)) throw serialization(name, 'bytes');
      if (spec.min !== undefined && value.length < spec.min) throw validation(`${name} must have length >= ${spec.min}`);
      if (spec.max !== undefined && value.length > spec.max) throw validation(`${name} must have length <= ${spec.max}`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(name, 'an integer');
      if (spec.min !== undefined && value < spec.min) throw validation(`${name} must be >= ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) throw validation(`${name} must be <= ${spec.max}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw serialization(name, 'a boolean');
      return;
    case 'timestamp':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw serialization(name, 'a timestamp');
      return;
    case 'stringList':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw serialization(name, 'a list of strings');
      for (const v of value as string[]) {
        requireWellFormed(name, v);
        if (spec.memberLength && (v.length < spec.memberLength.min || v.length > spec.memberLength.max)) {
          throw validation(`Each member of ${name} must have length ${spec.memberLength.min} to ${spec.memberLength.max}`);
        }
      }
      if (spec.min !== undefined && value.length < spec.min) throw validation(`${name} must have at least ${spec.min} members`);
      if (spec.max !== undefined && value.length > spec.max) throw validation(`${name} must have at most ${spec.max} members`);
      return;
    case 'stringMap':
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw serialization(name, 'a map of strings');
      }
      requireWellFormedDeep(name, value);
      if (spec.max !== undefined && mapBytes(value as Record<string, string>) > spec.max) {
        throw validation(`${name} must be at most ${spec.max} bytes (UTF-8, keys and values together)`);
      }
      return;
    case 'tagList':
      if (!Array.isArray(value) || !value.every((t) => t && typeof t === 'object' && typeof t.TagKey === 'string' && typeof t.TagValue === 'string')) {
        throw serialization(name, 'a list of { TagKey, TagValue }');
      }
      for (const t of value as { TagKey: string; TagValue: string }[]) {
        requireWellFormed(name, t.TagKey);
        requireWellFormed(name, t.TagValue);
      }
      return;
    case 'structure':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw serialization(name, 'a structure');
      requireWellFormedDeep(name, value);
      return;
    case 'unsupported':
      throw new LocalKmsError('SerializationException', `${name} is not supported by the local KMS`);
    case 'unsupportedParameter':
      return; // refused before every other member (validateInput)
  }
}

/**
 * Checks an operation's input as AWS does: wrong member types are SerializationException,
 * constraint violations ValidationException. Members the shape does not list are ignored (a
 * newer SDK may send members this version does not know), and `null` counts as absent; members
 * listed as `unsupported` are refused (SerializationException). Every string accepted (in lists,
 * maps, tags, structures and JSON policy documents too, keys included) must be well-formed
 * Unicode, else ValidationException: the store could not keep it as sent.
 */
export function validateInput(shape: InputShape, input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new LocalKmsError('SerializationException', 'The request must be a JSON object');
  // First: a feature that is not here is the answer, not a missing member it would replace
  // (CreateGrant with GranteeServicePrincipal has no GranteePrincipal).
  for (const [name, spec] of Object.entries(shape)) {
    const value = (input as Record<string, unknown>)[name];
    if (spec.type === 'unsupportedParameter' && value !== undefined && value !== null) {
      throw new LocalKmsError('UnsupportedOperationException', `${name} is not supported by the local KMS${spec.reason ? `: ${spec.reason}` : ''}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(shape)) {
    const value = (input as Record<string, unknown>)[name];
    if (value === undefined || value === null) {
      if (spec.required) throw validation(`${name} is required`);
      continue;
    }
    checkMember(name, spec, value);
    out[name] = value;
  }
  return out;
}
