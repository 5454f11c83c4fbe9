import { SealboxError, limitExceeded } from '../errors.js';
import { MAX_ENCRYPTION_CONTEXT_BYTES, MAX_ENCRYPTION_CONTEXT_PAIRS } from '../limits.js';
import { isWellFormed, utf8 } from '../crypto/bytes.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import { contextLength, writeContext } from './cbor-write.js';

/**
 * Keys starting with this prefix belong to Sealbox itself; `encrypt` refuses them with
 * `ERR_ENCRYPTION_CONTEXT_INVALID`.
 *
 * @example
 * ```ts
 * Object.keys(ctx).some((k) => k.startsWith(RESERVED_CONTEXT_PREFIX)); // must be false
 * ```
 */
export const RESERVED_CONTEXT_PREFIX = 'sealbox:';

/** One context pair. */
export interface ContextPair {
  readonly key: string;
  readonly value: string;
}

/** One context pair with its key's UTF-8 bytes, in canonical order. */
export interface ContextEntry extends ContextPair {
  readonly keyBytes: Uint8Array;
}

function invalid(what: string): SealboxError {
  return new SealboxError('ERR_ENCRYPTION_CONTEXT_INVALID', `Invalid encryption context: ${what}`);
}

/**
 * The pairs of a context-like value: a plain object (own enumerable string-keyed properties;
 * its prototype is `Object.prototype`, from any realm, or `null`) or a `Map`. Every option
 * that takes a context goes through here, so a `Map` means the same thing everywhere.
 *
 * @throws TypeError for anything else (arrays, class instances, primitives, `null`)
 */
function contextPairs(context: unknown, name: string): Iterable<[unknown, unknown]> {
  if (context instanceof Map) return context as Map<unknown, unknown>;
  if (typeof context === 'object' && context !== null) {
    const proto: unknown = Object.getPrototypeOf(context);
    // Object.prototype of this or another realm (its own prototype is null), or none at all.
    if (proto === null || Object.getPrototypeOf(proto) === null) return Object.entries(context);
  }
  throw new TypeError(`"${name}" expected a plain object or a Map of string keys to string values`);
}

/**
 * Checks a context-like value and returns its pairs in canonical order (SPEC §4): string keys
 * and values (TypeError otherwise), well-formed Unicode, non-empty keys, no reserved prefix
 * (unless `allowReserved`), within the size limits. The one normalizer behind every context
 * option (`encryptionContext`, `expectedEncryptionContext`, materials requests) and header
 * decoding.
 *
 * @param name the option's name, for the TypeError
 * @throws TypeError unless a plain object or Map of strings; SealboxError ERR_ENCRYPTION_CONTEXT_INVALID, ERR_LIMIT_EXCEEDED
 */
export function canonicalContext(context: unknown, allowReserved = false, name = 'encryptionContext'): ContextEntry[] {
  if (context === undefined) return [];
  const entries: ContextEntry[] = [];
  let total = 0;
  for (const [key, value] of contextPairs(context, name)) {
    if (typeof key !== 'string' || typeof value !== 'string') throw new TypeError(`"${name}" expected string keys and string values`);
    if (key.length === 0) throw invalid('keys must not be empty');
    if (!isWellFormed(key) || !isWellFormed(value)) throw invalid('keys and values must be well-formed Unicode');
    if (!allowReserved && key.startsWith(RESERVED_CONTEXT_PREFIX)) throw invalid(`the prefix "${RESERVED_CONTEXT_PREFIX}" is reserved`);
    const keyBytes = utf8(key);
    total += keyBytes.length + utf8(value).length;
    if (entries.length >= MAX_ENCRYPTION_CONTEXT_PAIRS) throw limitExceeded('encryption context pairs', entries.length + 1, MAX_ENCRYPTION_CONTEXT_PAIRS);
    if (total > MAX_ENCRYPTION_CONTEXT_BYTES) throw limitExceeded('encryption context bytes', total, MAX_ENCRYPTION_CONTEXT_BYTES);
    entries.push({ key, value, keyBytes });
  }
  entries.sort(compareEntries);
  return entries;
}

/**
 * A context-like value (plain object or Map) as Sealbox's own frozen context object, for
 * options and requests that may come from a caller (`expectedEncryptionContext`, a materials
 * request). A context Sealbox already checked is returned as is.
 *
 * @throws TypeError unless a plain object or Map of strings; SealboxError ERR_ENCRYPTION_CONTEXT_INVALID, ERR_LIMIT_EXCEEDED
 */
export function normalizeContext(context: unknown, name: string): EncryptionContext {
  if (typeof context === 'object' && context !== null && built.has(context)) return context as EncryptionContext;
  // Reserved keys allowed: messages may carry them, so expectations and requests may name them.
  return contextObject(canonicalContext(context, true, name));
}

/**
 * RFC 8949 §4.2.1 order for text keys: shorter encodings first, then bytewise. For text
 * strings this is (UTF-8 length, UTF-8 bytes).
 */
function compareEntries(a: ContextEntry, b: ContextEntry): number {
  if (a.keyBytes.length !== b.keyBytes.length) return a.keyBytes.length - b.keyBytes.length;
  for (let i = 0; i < a.keyBytes.length; i++) {
    const d = (a.keyBytes[i] as number) - (b.keyBytes[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * A frozen plain object from canonical entries (safe for keys like `__proto__`). Small contexts
 * are shared: the same pairs give the same frozen object (see {@link recentContexts}).
 */
export function contextObject(entries: readonly ContextPair[]): EncryptionContext {
  if (entries.length === 0) return EMPTY_CONTEXT;
  let id: string | undefined;
  if (entries.length <= RECENT_CONTEXT_PAIRS) {
    // Keys and values are well-formed strings: JSON of the pairs names them unambiguously.
    id = JSON.stringify(entries.map((e) => [e.key, e.value]));
    const recent = id.length <= RECENT_CONTEXT_CHARS ? recentContexts.get(id) : undefined;
    if (recent) return recent;
  }
  const context = buildContext(entries);
  if (id !== undefined && id.length <= RECENT_CONTEXT_CHARS) {
    if (recentContexts.size >= RECENT_CONTEXTS) recentContexts.delete(recentContexts.keys().next().value as string);
    recentContexts.set(id, context);
  }
  return context;
}

function buildContext(entries: readonly ContextPair[]): EncryptionContext {
  const pairs = entries.map((e): [string, string] => [e.key, e.value]);
  const context: EncryptionContext = Object.freeze(Object.fromEntries(pairs));
  canonicalMaps.set(context, new Map(pairs));
  built.add(context);
  return context;
}

/**
 * The contexts of recent messages, by their pairs, so that every message with the same small
 * context shares one frozen object, and with it one canonical map and one encoding (below).
 * Building a context costs ~2 us, most of it the weak maps that key those on the object and
 * the collector's work on them: a third of the non-crypto time of a 1 KiB decrypt. Contexts are
 * not secret (headers carry them in the clear); at most {@link RECENT_CONTEXTS} of at most
 * {@link RECENT_CONTEXT_CHARS} characters are kept, oldest out first.
 */
const recentContexts = new Map<string, EncryptionContext>();
const RECENT_CONTEXTS = 64;
const RECENT_CONTEXT_PAIRS = 16;
const RECENT_CONTEXT_CHARS = 1024;

// Contexts built by Sealbox are frozen, so what is derived from them cannot go stale: the
// header encoder and every keyring of one message share one canonical map and one encoding.
const canonicalMaps = new WeakMap<EncryptionContext, ReadonlyMap<string, string>>();
/** The contexts {@link contextObject} made: checked plain objects, which {@link normalizeContext} returns as they are. */
const built = new WeakSet<object>();
const encodedContexts = new WeakMap<EncryptionContext, Uint8Array>();
/** The context with no pairs, one object for every message that has none. */
const EMPTY_CONTEXT = buildContext([]);

/**
 * The context as a Map in canonical key order, ready for the CBOR encoder.
 *
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_INVALID, ERR_LIMIT_EXCEEDED for an invalid context
 */
export function canonicalMap(context: EncryptionContext): ReadonlyMap<string, string> {
  const cached = canonicalMaps.get(context);
  if (cached) return cached;
  const map = new Map(canonicalContext(context, true).map((e) => [e.key, e.value]));
  if (Object.isFrozen(context)) canonicalMaps.set(context, map);
  return map;
}

/**
 * Checks that every expected pair is present with the same value. `expected` is a context
 * normalized by {@link normalizeContext} (a caller's Map or plain object).
 *
 * @throws SealboxError ERR_ENCRYPTION_CONTEXT_MISMATCH naming the first missing or differing key.
 */
export function checkExpectedContext(actual: EncryptionContext, expected: EncryptionContext | undefined): void {
  if (expected === undefined) return;
  for (const [key, value] of Object.entries(expected)) {
    if (!Object.prototype.hasOwnProperty.call(actual, key)) {
      throw new SealboxError('ERR_ENCRYPTION_CONTEXT_MISMATCH', `Encryption context has no key "${key}"`);
    }
    if (actual[key] !== value) throw new SealboxError('ERR_ENCRYPTION_CONTEXT_MISMATCH', `Encryption context value for "${key}" differs`);
  }
}

/**
 * Records `encoded` (copied) as {@link encodeContext}`(context)` for a context
 * {@link contextObject} made (others are ignored), unless it has one already, and the context as
 * what those bytes decode to ({@link decodedContext}). For header decode, once the whole header
 * is accepted: in a header body that is canonical, the context's bytes are exactly its canonical
 * encoding (test/property/header.test.ts checks it).
 */
export function rememberEncodedContext(context: EncryptionContext, encoded: Uint8Array): void {
  if (!built.has(context)) return;
  let own = encodedContexts.get(context);
  if (!own) {
    own = encoded.slice();
    encodedContexts.set(context, own);
  }
  if (own.length > RECENT_CONTEXT_CHARS) return;
  const hash = hashRange(own, 0, own.length);
  if (decodedContexts.get(hash)?.context === context) return;
  if (decodedContexts.size >= RECENT_CONTEXTS) decodedContexts.delete(decodedContexts.keys().next().value as number);
  decodedContexts.set(hash, { encoding: own, context });
}

/**
 * The context a header accepted before had at `bytes[start, end)`, when those bytes are exactly
 * its encoding; else undefined. Everything decoding checks of a context (deterministic encoding,
 * text to text, non-empty keys, pair and byte counts: SPEC §3.1, §4, rules 5, 19-21) depends on
 * its bytes alone, so the same bytes in another header pass the same checks, and the context
 * need not be decoded again (~1 us of a 1 KiB decrypt with a three-pair context). Not secret:
 * headers carry contexts in the clear. At most {@link RECENT_CONTEXTS} encodings of at most
 * {@link RECENT_CONTEXT_CHARS} bytes are kept, oldest out first.
 */
export function decodedContext(bytes: Uint8Array, start: number, end: number): EncryptionContext | undefined {
  const entry = decodedContexts.get(hashRange(bytes, start, end));
  if (!entry || entry.encoding.length !== end - start) return undefined;
  const e = entry.encoding;
  for (let i = 0; i < e.length; i++) if (e[i] !== bytes[start + i]) return undefined;
  return entry.context;
}

const decodedContexts = new Map<number, { readonly encoding: Uint8Array; readonly context: EncryptionContext }>();

/** FNV-1a (32 bits) of `b[start, end)`: a lookup key, every hit compared byte for byte. */
function hashRange(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * The canonical CBOR encoding of a context (a deterministic map, SPEC §4): what keyrings bind
 * their wrapping to, so a wrapped key only opens under the same context.
 */
export function encodeContext(context: EncryptionContext): Uint8Array {
  const cached = encodedContexts.get(context);
  if (cached) return cached;
  // The header's own writer (cbor-write.ts), so a context in a header and the context keyrings
  // bind are the same bytes by construction.
  const map = canonicalMap(context);
  const encoded = new Uint8Array(contextLength(map));
  writeContext(encoded, 0, map);
  if (Object.isFrozen(context)) encodedContexts.set(context, encoded);
  return encoded;
}
