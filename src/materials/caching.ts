import { concat, constantTimeEqual, copyBytes, utf8, wipe } from '../crypto/bytes.js';
import type { MaybePromise } from '../crypto/aead.js';
import { sha512 } from '../crypto/sha512.js';
import { limitExceeded } from '../errors.js';
import { encodeContext } from '../format/context.js';
import type {
  DecryptionMaterials,
  DecryptionMaterialsRequest,
  EncryptionMaterials,
  EncryptionMaterialsRequest,
  MaterialsManager,
} from './materials.js';
import { normalizeRequest } from './materials.js';
import type { KeySource } from './resolve.js';
import { resolveMaterialsManager } from './resolve.js';
import { LruMap } from './lru.js';
import type { UnwrapRequestNow } from '../keyring/keyring.js';
import { acceptDataKey, isMessageKeyNow } from '../keyring/keyring.js';

/** Options of {@link CachingMaterialsManager}. Give exactly one of `keyring` or `materialsManager` (what a miss asks). */
export interface CachingMaterialsManagerOptions extends KeySource {
  /** Most entries held (encrypt and decrypt together); the least recently used goes first. */
  capacity: number;
  /**
   * Longest time an entry is used after it was made, in ms, on a monotonic clock (see `now`): a
   * system clock stepped back or forward neither extends nor cuts an entry's life.
   */
  maxAgeMs: number;
  /** Most messages encrypted under one cached data key (default and maximum 2^32). */
  maxMessagesEncrypted?: number;
  /**
   * Most plaintext bytes encrypted under one cached data key (default and maximum 2^53 - 1). With
   * 0, only empty messages share keys: every other message, and every stream of unknown length,
   * gets its own.
   */
  maxBytesEncrypted?: number;
  /**
   * Clock in ms that `maxAgeMs` is measured on (default `performance.now()`, monotonic: it never
   * goes back, whatever happens to the system clock); for tests. Give a monotonic one.
   */
  now?: () => number;
}

/** What the cache saw; for monitoring and tests. */
export interface CachingMaterialsManagerStats {
  /** Requests served from the cache. */
  readonly hits: number;
  /** Requests that asked the underlying manager (one per miss, however many callers waited on it). */
  readonly misses: number;
  /**
   * Encrypt requests that bypassed the cache (plaintext longer than `maxBytesEncrypted`, a
   * stream of unknown length when `maxBytesEncrypted` is 0, or a signed suite).
   */
  readonly bypassed: number;
  /** Entries currently held. */
  readonly size: number;
}

interface EncryptEntry {
  readonly materials: EncryptionMaterials;
  readonly created: number;
  messages: number;
  bytes: number;
  /** A stream ran into the byte limit: hand this key to no new message. */
  exhausted: boolean;
}

interface DecryptEntry {
  readonly materials: DecryptionMaterials;
  readonly created: number;
}

type Entry = EncryptEntry | DecryptEntry;

/** A decrypt miss in flight, shared by every request for the same entry. */
interface DecryptMiss {
  /** Settles (never rejects) when the underlying manager has answered. */
  settled: Promise<void>;
  /** The manager's clear() count when the miss started: it stores nothing after another. */
  readonly generation: number;
  failed: boolean;
  error: unknown;
  /** Copies of the keys the first request's commitment check was asked about. */
  readonly unwrapped: Uint8Array[];
  /** Requests still using `unwrapped` (the first one and its waiters). */
  users: number;
}

/** AWS's default and the most GCM messages we let one data key protect: far below the key's safe use. */
const MAX_MESSAGES = 2 ** 32;

/**
 * Reuses data keys within limits the caller sets, so a busy service does not call KMS for every
 * message. Sits in front of a keyring or another manager.
 *
 * - Encrypt: one data key (and its EDKs) per encryption context, reused until it is `maxAgeMs`
 *   old, has protected `maxMessagesEncrypted` messages or `maxBytesEncrypted` bytes. A message
 *   whose known length alone exceeds `maxBytesEncrypted` bypasses the cache. A stream of unknown
 *   length uses the cache (unless `maxBytesEncrypted` is 0: then it bypasses it) and counts its
 *   bytes frame by frame: a frame that would carry the data key past `maxBytesEncrypted` fails
 *   with ERR_LIMIT_EXCEEDED.
 * - Signed suite (suite 2): encrypt bypasses the cache (each message's context holds its own
 *   public key, which its EDKs are bound to), and the signing key is never cached; decrypt
 *   caches data keys as for any suite, and every message's signature is still verified.
 * - Decrypt: unwrapped keys cached by suite, encryption context and the exact EDKs, until `maxAgeMs`.
 * - Concurrent misses for the same entry make one call to the underlying manager; its failure
 *   goes to every waiter and is not cached. On decrypt, a failure that came after keys were
 *   unwrapped (the first request's commitment matched none) goes only to waiters none of those
 *   keys fits: each waiter runs its own commitment check on them, so a forged copy of a message
 *   cannot make concurrent decrypts of the real one fail.
 * - Entries that expire, run out or are evicted have their data key zeroed. Each message gets
 *   its own copy of the key, so zeroing never touches a message in flight.
 *
 * @example
 * ```ts
 * const cmm = new CachingMaterialsManager({
 *   keyring: new KmsKeyring({ generatorKeyId: arn, client }),
 *   capacity: 100,
 *   maxAgeMs: 5 * 60_000,
 *   maxMessagesEncrypted: 1_000,
 * });
 * const { ciphertext } = await encrypt(data, { materialsManager: cmm });
 * ```
 * @throws TypeError / RangeError for bad options; passes on what the underlying manager throws
 * (ERR_KEYRING, ERR_NO_MATCHING_KEY, ...); ERR_LIMIT_EXCEEDED from a stream of unknown length
 * that would exceed `maxBytesEncrypted`.
 */
export class CachingMaterialsManager implements MaterialsManager {
  readonly #backing: MaterialsManager;
  readonly #lru: LruMap<string, Entry>;
  readonly #pending = new Map<string, Promise<unknown>>();
  readonly #decryptPending = new Map<string, DecryptMiss>();
  readonly #maxAge: number;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #lastSweep: number;
  /** Counts clear() calls: a miss started before one stores nothing. */
  #generation = 0;
  #hits = 0;
  #misses = 0;
  #bypassed = 0;

  constructor(options: CachingMaterialsManagerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('CachingMaterialsManager expected an options object');
    this.#backing = resolveMaterialsManager(options);
    const { capacity, maxAgeMs } = options;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" expected a positive integer, got ${capacity}`);
    if (typeof maxAgeMs !== 'number' || !(maxAgeMs > 0) || !Number.isFinite(maxAgeMs)) throw new RangeError(`"maxAgeMs" expected a positive finite number, got ${maxAgeMs}`);
    const maxMessages = options.maxMessagesEncrypted ?? MAX_MESSAGES;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_MESSAGES) throw new RangeError(`"maxMessagesEncrypted" expected an integer from 1 to 2^32, got ${maxMessages}`);
    const maxBytes = options.maxBytesEncrypted ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`"maxBytesEncrypted" expected a non-negative safe integer, got ${maxBytes}`);
    this.#maxAge = maxAgeMs;
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
    // Not Date.now: a wall clock stepped back (NTP, an administrator) would extend every entry's life.
    this.#now = options.now ?? monotonicNow;
    this.#lastSweep = this.#now();
    this.#lru = new LruMap<string, Entry>(capacity, (entry) => wipe(entry.materials.dataKey));
  }

  /** Counters since construction. */
  get stats(): CachingMaterialsManagerStats {
    return { hits: this.#hits, misses: this.#misses, bypassed: this.#bypassed, size: this.#lru.size };
  }

  /**
   * Drops every entry, zeroing its data key (for shutdown, or after a key was revoked). Misses
   * in flight still answer the requests that made them (and those already waiting), but store
   * nothing, and requests made after clear() do not wait on them: every message started after
   * clear() returns gets a key fetched after it.
   */
  clear(): void {
    this.#generation++;
    this.#pending.clear();
    this.#decryptPending.clear();
    this.#lru.clear();
  }

  async getEncryptionMaterials(given: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const request = normalizeRequest(given);
    const length = request.plaintextLength;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError(`"plaintextLength" expected a non-negative integer, got ${length}`);
    // A signed suite's context holds the message's own public key (SPEC §11.1), which its EDKs
    // are bound to: no two messages share a context, so caching could only fill the cache with
    // keys never reused. Such a message gets its own key; the signing key is never cached.
    if (request.suite.signed || (length === undefined ? this.#maxBytes === 0 : length > this.#maxBytes)) {
      // (Or: this message alone would exhaust a cached key; or the cached key may protect no
      // byte at all, and a stream of unknown length would fail at its first one.)
      this.#bypassed++;
      return this.#backing.getEncryptionMaterials(request);
    }
    const key = `e${request.suite.id}:${latin1(encodeContext(request.encryptionContext))}`;
    this.#sweep();
    for (;;) {
      const entry = this.#lru.get(key) as EncryptEntry | undefined;
      if (entry) {
        if (this.#expired(entry)) {
          this.#lru.delete(key);
        } else if (this.#claim(entry, length)) {
          this.#hits++;
          return this.#handOut(entry, length);
        } else {
          // Used up: retire it (zeroed; messages in flight hold their own copies).
          this.#lru.delete(key);
        }
      }
      const pending = this.#pending.get(key);
      if (pending) {
        // Someone is already asking the underlying manager: wait, then look again.
        await pending;
        continue;
      }
      let mine: EncryptionMaterials | undefined;
      const generation = this.#generation;
      const miss = this.#backing.getEncryptionMaterials(request).then((materials) => {
        const fresh: EncryptEntry = { materials, created: this.#now(), messages: 0, bytes: 0, exhausted: false };
        // The caller that missed claims first, so waiters cannot starve it, and copies the key
        // now: by the time it resumes, another miss may have evicted (and zeroed) the entry.
        if (this.#claim(fresh, length)) mine = this.#handOut(fresh, length);
        // Fetched before a clear(): this caller keeps its copy, the cache keeps nothing.
        if (generation === this.#generation) this.#lru.set(key, fresh);
        else wipe(materials.dataKey);
        return fresh;
      });
      this.#misses++;
      this.#track(key, miss);
      await miss;
      if (mine) return mine;
    }
  }

  async getDecryptionMaterials(given: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    const request = normalizeRequest(given);
    const pendingKey = decryptKey(request);
    // Synchronous on Node: no extra turn before the cache is consulted.
    const key = typeof pendingKey === 'string' ? pendingKey : await pendingKey;
    this.#sweep();
    for (;;) {
      const entry = this.#lru.get(key) as DecryptEntry | undefined;
      if (entry) {
        if (!this.#expired(entry)) {
          this.#hits++;
          const dataKey = copyBytes(entry.materials.dataKey);
          // Same EDKs, but another message may commit to another key (SPEC §8.3): then the
          // backing manager tries the EDKs for this message, and nothing is cached. The copy
          // is zeroed when the check says no, and when it throws.
          if (!(await acceptDataKey(request, dataKey))) return this.#backing.getDecryptionMaterials(request);
          return { ...entry.materials, dataKey };
        }
        this.#lru.delete(key);
      }
      const pending = this.#decryptPending.get(key);
      if (pending) {
        const own = await this.#waitForMiss(key, pending, request);
        if (own) return own;
        continue;
      }
      return this.#decryptMiss(key, request);
    }
  }

  /**
   * Asks the underlying manager for the entry `key`, with this request (and its commitment
   * check). Every key the check is asked about is copied, so that requests waiting on this miss
   * can run their own checks on them if this request's check refused them all.
   */
  async #decryptMiss(key: string, request: DecryptionMaterialsRequest): Promise<DecryptionMaterials> {
    const miss: DecryptMiss = { settled: Promise.resolve(), generation: this.#generation, unwrapped: [], users: 1, failed: false, error: undefined };
    const check = request.isMessageKey;
    const checkNow = (request as UnwrapRequestNow)[isMessageKeyNow];
    const keep = (dataKey: Uint8Array): void => {
      if (dataKey instanceof Uint8Array && !miss.unwrapped.some((k) => constantTimeEqual(k, dataKey))) miss.unwrapped.push(copyBytes(dataKey));
    };
    const shared: DecryptionMaterialsRequest & UnwrapRequestNow = check
      ? {
          ...request,
          isMessageKey: async (dataKey) => {
            keep(dataKey);
            return check(dataKey);
          },
          [isMessageKeyNow]: checkNow && ((dataKey: Uint8Array) => {
            keep(dataKey);
            return checkNow(dataKey);
          }),
        }
      : request;
    let mine: DecryptionMaterials | undefined;
    miss.settled = this.#backing.getDecryptionMaterials(shared).then(
      (materials) => {
        // Copy before the entry is shared: it may be evicted and zeroed before we resume.
        mine = { ...materials, dataKey: copyBytes(materials.dataKey) };
        // Fetched before a clear(): answers this request (and its waiters), is not stored.
        if (miss.generation === this.#generation) this.#lru.set(key, { materials, created: this.#now() });
        else wipe(materials.dataKey);
      },
      (err: unknown) => {
        miss.failed = true;
        miss.error = err;
      },
    ).finally(() => {
      // Before any waiter resumes: a request arriving from now on makes its own miss.
      if (this.#decryptPending.get(key) === miss) this.#decryptPending.delete(key);
      // On success the waiters find the entry; the copies are no longer needed.
      if (!miss.failed) this.#wipeUnwrapped(miss);
    });
    this.#misses++;
    this.#decryptPending.set(key, miss);
    try {
      await miss.settled;
      if (miss.failed) throw miss.error;
      return mine as DecryptionMaterials;
    } finally {
      this.#leave(miss);
    }
  }

  /**
   * Waits for another request's miss on the same entry. On success, returns undefined (look in
   * the cache again, where this request's own check runs). On failure, that failure may be the
   * other request's alone (its message's commitment, e.g. a forged copy of this message): this
   * request's own check runs on the keys that call unwrapped, and only when none of them is
   * this message's key (the same keys its own call would unwrap) is the failure passed on.
   */
  async #waitForMiss(key: string, miss: DecryptMiss, request: DecryptionMaterialsRequest): Promise<DecryptionMaterials | undefined> {
    miss.users++;
    try {
      await miss.settled;
      if (!miss.failed) return undefined;
      for (const candidate of miss.unwrapped) {
        const dataKey = copyBytes(candidate);
        // Without a check, the underlying manager would have returned the first key it unwrapped.
        // The copy is zeroed when the check says no, and when it throws.
        if (await acceptDataKey(request, dataKey)) {
          this.#hits++;
          const materials: DecryptionMaterials = { suite: request.suite, encryptionContext: request.encryptionContext, dataKey: copyBytes(dataKey) };
          if (miss.generation === this.#generation && !this.#lru.get(key)) this.#lru.set(key, { materials, created: this.#now() });
          else wipe(materials.dataKey);
          return { suite: request.suite, encryptionContext: request.encryptionContext, dataKey };
        }
      }
      throw miss.error;
    } finally {
      this.#leave(miss);
    }
  }

  /** One user of a miss is done; the last one zeroes the keys it kept. */
  #leave(miss: DecryptMiss): void {
    if (--miss.users === 0) this.#wipeUnwrapped(miss);
  }

  #wipeUnwrapped(miss: DecryptMiss): void {
    for (const k of miss.unwrapped) wipe(k);
    miss.unwrapped.length = 0;
  }

  #track(key: string, miss: Promise<unknown>): void {
    this.#pending.set(key, miss);
    const done = (): void => {
      if (this.#pending.get(key) === miss) this.#pending.delete(key);
    };
    miss.then(done, done);
  }

  #expired(entry: Entry): boolean {
    return this.#now() - entry.created >= this.#maxAge;
  }

  /** Counts one more message (and its bytes, when known) against the entry's limits, if they allow. */
  #claim(entry: EncryptEntry, length: number | undefined): boolean {
    if (entry.exhausted || entry.messages + 1 > this.#maxMessages) return false;
    // Unknown length: claimable while the key has a byte left (maxBytes 0 bypasses the cache).
    if (length === undefined ? entry.bytes >= this.#maxBytes : entry.bytes + length > this.#maxBytes) return false;
    entry.messages++;
    entry.bytes += length ?? 0;
    return true;
  }

  #handOut(entry: EncryptEntry, length: number | undefined): EncryptionMaterials {
    const inner = entry.materials.onPlaintext;
    const max = this.#maxBytes;
    // A known length was counted by #claim; anything beyond it (a stream of unknown length, or
    // a source that grew after it was measured) is counted frame by frame as it comes.
    let declared = length ?? 0;
    const onPlaintext = (bytes: number): void => {
      const covered = Math.min(bytes, declared);
      declared -= covered;
      const extra = bytes - covered;
      if (extra > 0) {
        if (entry.bytes + extra > max) {
          entry.exhausted = true;
          throw limitExceeded('bytes encrypted under one cached data key', entry.bytes + extra, max);
        }
        entry.bytes += extra;
      }
      inner?.(bytes);
    };
    return { ...entry.materials, dataKey: copyBytes(entry.materials.dataKey), onPlaintext };
  }

  /** Drops expired entries now and then, so their keys are zeroed even if never asked for again. */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < Math.min(this.#maxAge, 1_000)) return;
    this.#lastSweep = now;
    this.#lru.prune((entry) => now - entry.created >= this.#maxAge);
  }
}

/** Milliseconds on a monotonic clock (Node and browsers); looked up on each call. */
function monotonicNow(): number {
  return performance.now();
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

/** SHA-512 over suite, context and every EDK, each length-prefixed: a bounded key for any header. */
function decryptKey(request: DecryptionMaterialsRequest): MaybePromise<string> {
  const parts: Uint8Array[] = [];
  const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const part = (bytes: Uint8Array): void => {
    parts.push(u32(bytes.length), bytes);
  };
  parts.push(u32(request.suite.id));
  part(encodeContext(request.encryptionContext));
  parts.push(u32(request.encryptedDataKeys.length));
  for (const edk of request.encryptedDataKeys) {
    part(utf8(edk.providerId));
    part(edk.providerInfo);
    part(edk.ciphertext);
  }
  const digest = sha512(concat(...parts));
  return digest instanceof Promise ? digest.then((d) => `d${latin1(d)}`) : `d${latin1(digest)}`;
}
