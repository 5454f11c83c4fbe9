/**
 * awsJson1.1 body conversion for KMS operations: JSON with base64 blobs and epoch-second
 * timestamps on the wire, `Uint8Array` and `Date` in process.
 *
 * Input is read against the operation's schema from `@aws-sdk/client-kms` (the same model the
 * SDK serializes with), so nested blobs and timestamps convert exactly where AWS has them and a
 * member of the wrong JSON type is a `SerializationException`, as AWS answers. Members the model
 * does not know are passed on unchanged for the local KMS to judge. Output needs no model: every
 * `Uint8Array` becomes base64 and every `Date` epoch seconds. Maps and structures are built on
 * null-prototype objects in both directions, so any key, `__proto__` included, stays a member.
 */
import * as kmsModel from '@aws-sdk/client-kms';
import { NormalizedSchema } from '@smithy/core/schema';
import { KmsProtocolError } from './errors.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface OperationModel {
  readonly input: NormalizedSchema;
  /** True when AWS sends no body at all on success (the output shape is `Unit`). */
  readonly emptyOutput: boolean;
}

const models = new Map<string, OperationModel | null>();

/** The SDK's model of an operation, or `undefined` when the SDK does not know it. */
export function operationModel(operation: string): OperationModel | undefined {
  let model = models.get(operation);
  if (model === undefined) {
    model = null;
    if (/^[A-Z][A-Za-z0-9]*$/.test(operation)) {
      const schema = (kmsModel as unknown as Record<string, unknown>)[`${operation}$`];
      // Operation schemas are `[9, namespace, name, traits, input, output]`.
      if (Array.isArray(schema) && schema[0] === 9) {
        const output = typeof schema[5] === 'function' ? (schema[5] as () => unknown)() : schema[5];
        model = { input: NormalizedSchema.of(schema[4]), emptyOutput: output === 'unit' };
      }
    }
    models.set(operation, model);
  }
  return model ?? undefined;
}

function serialization(path: string, expected: string): KmsProtocolError {
  return new KmsProtocolError('SerializationException', `Member ${path || 'input'} must be ${expected}.`);
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object for caller-chosen keys. A plain `{}` inherits `__proto__`'s setter: `out['__proto__'] = v`
 * would set the prototype (or do nothing) instead of adding the member, so an encryption-context
 * key named `__proto__` would vanish, and a structure member named so would lend its members to
 * the input by inheritance. `JSON.parse` itself creates an own `__proto__`; copies must too.
 */
function mapObject<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Member schemas per structure; `getMemberSchemas` builds a fresh object on every call. */
const memberCache = new WeakMap<NormalizedSchema, Record<string, NormalizedSchema>>();

function readValue(schema: NormalizedSchema, value: unknown, path: string): unknown {
  if (schema.isBlobSchema()) {
    if (typeof value !== 'string' || !BASE64_RE.test(value)) throw serialization(path, 'base64 text');
    const bytes = Buffer.from(value, 'base64');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (schema.isTimestampSchema()) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw serialization(path, 'epoch seconds');
    return new Date(value * 1000);
  }
  if (schema.isStringSchema()) {
    if (typeof value !== 'string') throw serialization(path, 'a string');
    return value;
  }
  if (schema.isBooleanSchema()) {
    if (typeof value !== 'boolean') throw serialization(path, 'a boolean');
    return value;
  }
  if (schema.isNumericSchema()) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw serialization(path, 'a number');
    return value;
  }
  if (schema.isListSchema()) {
    if (!Array.isArray(value)) throw serialization(path, 'a list');
    const item = schema.getValueSchema();
    return value.filter((v) => v !== null).map((v, i) => readValue(item, v, `${path}[${i}]`));
  }
  if (schema.isMapSchema()) {
    if (!isObject(value)) throw serialization(path, 'a map');
    const item = schema.getValueSchema();
    const out = mapObject<unknown>();
    for (const [k, v] of Object.entries(value)) {
      if (v !== null) out[k] = readValue(item, v, `${path}.${k}`);
    }
    return out;
  }
  if (schema.isStructSchema()) {
    if (!isObject(value)) throw serialization(path, 'a structure');
    let members = memberCache.get(schema);
    if (members === undefined) {
      members = schema.getMemberSchemas() as Record<string, NormalizedSchema>;
      memberCache.set(schema, members);
    }
    const out = mapObject<unknown>();
    for (const [k, v] of Object.entries(value)) {
      if (v === null) continue; // JSON null means absent in awsJson1.1
      const member = Object.hasOwn(members, k) ? members[k] : undefined;
      out[k] = member === undefined ? v : readValue(member, v, path ? `${path}.${k}` : k);
    }
    return out;
  }
  return value;
}

/**
 * Converts a parsed request body to the in-process input of `operation`.
 *
 * @throws KmsProtocolError `SerializationException` when the body is not a JSON object or a
 *   member has the wrong JSON type (for example a number where base64 text is expected).
 * @example
 * ```ts
 * decodeInput('Encrypt', { KeyId: 'alias/a', Plaintext: 'aGk=' }); // Plaintext: Uint8Array [104, 105]
 * ```
 */
export function decodeInput(operation: string, body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw serialization('', 'a JSON object');
  const model = operationModel(operation);
  if (model === undefined) return body;
  return readValue(model.input, body, '') as Record<string, unknown>;
}

function writeValue(value: unknown): Json | undefined {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map((v) => writeValue(v) ?? null);
  const out = mapObject<Json>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const w = writeValue(v);
    if (w !== undefined) out[k] = w;
  }
  return out;
}

/**
 * Serializes an operation's output as AWS does: base64 blobs, epoch-second timestamps, no
 * `undefined` members, and an empty body for operations whose output is `Unit`.
 *
 * @example
 * ```ts
 * encodeOutput('Encrypt', { CiphertextBlob: new Uint8Array([1]), KeyId: arn }); // '{"CiphertextBlob":"AQ==",...}'
 * encodeOutput('CreateAlias', undefined); // ''
 * ```
 */
export function encodeOutput(operation: string, output: unknown): string {
  if (operationModel(operation)?.emptyOutput === true || output === undefined) return '';
  return JSON.stringify(writeValue(output) ?? {});
}
