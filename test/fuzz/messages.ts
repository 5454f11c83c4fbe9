/**
 * The message fuzzer: mutated valid messages and random bytes through every decrypt entry
 * point, each outcome checked by one oracle. Used by `npm run fuzz` (test/fuzz/main.ts), by the
 * short deterministic run in `npm test` and by the corpus replay (test/fuzz/*.test.ts).
 */
import { p384 } from '@noble/curves/nist.js';
import { sha384 } from '@noble/hashes/sha2.js';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createArmorStream, createDearmorStream } from '../../src/cli/armor.js';
import { decrypt } from '../../src/decrypt.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { SealboxError } from '../../src/errors.js';
import type { SealboxErrorCode } from '../../src/errors.js';
import { FINAL_FRAME_OVERHEAD } from '../../src/format/frame.js';
import { encodeHeader, readPreamble } from '../../src/format/header.js';
import { MultiKeyring } from '../../src/keyring/multi.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import type { MessageSigner } from '../../src/crypto/signature.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/crypto/suites.js';
import { DEFAULT_MAX_FRAME_LENGTH, MAX_HEADER_BYTES, TAG_BYTES } from '../../src/limits.js';
import { createDecryptStream } from '../../src/node/streams.js';
import { decryptRange } from '../../src/range/decrypt-range.js';
import { decryptStream } from '../../src/stream/decrypt-stream.js';
import { readHeader } from '../../src/stream/read-header.js';
import { rewrap } from '../../src/rewrap/rewrap.js';
import type { Mutated, SeedMessage } from './mutate.js';
import { armorBytes, mutateArmor, mutateMessage } from './mutate.js';
import { armorChunks, framerChunks, rewrapFileTarget } from './differential.js';
import { Rng } from './rng.js';

/** Every code a SealboxError may carry (a compile error here when the union grows). */
const CODES: Record<SealboxErrorCode, true> = {
  ERR_FORMAT_INVALID: true,
  ERR_UNSUPPORTED_VERSION: true,
  ERR_COMMITMENT_MISMATCH: true,
  ERR_DECRYPTION_FAILED: true,
  ERR_TRUNCATED: true,
  ERR_TRAILING_DATA: true,
  ERR_NO_MATCHING_KEY: true,
  ERR_LIMIT_EXCEEDED: true,
  ERR_ENCRYPTION_CONTEXT_MISMATCH: true,
  ERR_ENCRYPTION_CONTEXT_INVALID: true,
  ERR_KEYRING: true,
  ERR_SIGNATURE_POLICY: true,
  ERR_RANGE: true,
  ERR_STATE: true,
  ERR_WORKER: true,
};

/** True for a SealboxError whose code is one of the documented codes. */
export function isKnownSealboxError(err: unknown): err is SealboxError {
  return err instanceof SealboxError && Object.prototype.hasOwnProperty.call(CODES, err.code);
}

/** The keyring the fuzzer decrypts with: a raw AES key, always the same bytes, so corpus files stay meaningful. */
export function fuzzKeyring(): Keyring {
  return new RawAesKeyring({ namespace: 'fuzz', name: 'key-1', wrappingKey: new Uint8Array(32).fill(0x42) });
}

/** The keyring the rewrap target moves messages to. */
const REWRAP_TO = new RawAesKeyring({ namespace: 'fuzz', name: 'rewrapped', wrappingKey: new Uint8Array(32).fill(0x24) });

/** What a target returned for one input. */
export interface TargetResult {
  /** Decrypted bytes (for readHeader: none). */
  readonly plaintext?: Uint8Array;
  /** For decryptRange: the range asked and the whole plaintext's length reported. */
  readonly range?: { start: number; end: number; plaintextLength: number };
  /** For readHeader: the header's re-encoding must equal the input's header bytes. */
  readonly headerReencodes?: boolean;
  /**
   * The code with which the entry point refused, by design, a message like the seed (a signed
   * one: decryptRange without opting out of the signature, rewrap): an outcome even for the
   * unmutated seed, which is then not "rejected-valid".
   */
  readonly refused?: SealboxErrorCode;
}

/** One entry point under test. `rng` picks chunk sizes and ranges. */
export interface MessageTarget {
  readonly name: string;
  /** Relative share of the inputs (cheap targets get more). */
  readonly weight: number;
  /** Feeds armored text instead of a binary message. */
  readonly armored?: boolean;
  /** Inputs in the short run of `npm test` (test/fuzz/fuzz.test.ts), when not the default. */
  readonly ciInputs?: number;
  run(input: Uint8Array, rng: Rng, keyring: Keyring, hint: SeedMessage | undefined): Promise<TargetResult>;
}

function chunked(input: Uint8Array, rng: Rng): Uint8Array[] {
  // At most ~48 chunks: one-byte chunks of a 5 KB message would measure the stream machinery, not the parser.
  const size = Math.max(rng.pick([1, 7, 16, 100, 1000, 1 << 20]), Math.ceil(input.length / 48));
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += size) out.push(input.slice(i, i + size));
  return out;
}

async function drainNode(source: Readable, ...stages: NodeJS.ReadWriteStream[]): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await pipeline(source, ...(stages as [NodeJS.ReadWriteStream]), sink);
  return new Uint8Array(Buffer.concat(parts));
}

/** The entry points: one-shot, header reader, Web stream, Node stream, range, CLI armor reader. */
export const MESSAGE_TARGETS: readonly MessageTarget[] = [
  {
    name: 'decrypt',
    weight: 8,
    run: async (input, _rng, keyring) => ({ plaintext: (await decrypt(input, { keyring })).plaintext }),
  },
  {
    name: 'readHeader',
    weight: 6,
    run: async (input, rng) => {
      const header = rng.chance(0.1)
        ? await readHeader((async function* () { yield* chunked(input, rng); })())
        : await readHeader(input);
      const end = readPreamble(input) as number;
      const again = encodeHeader(header);
      return { headerReencodes: again.length === end && Buffer.compare(Buffer.from(again), Buffer.from(input.subarray(0, end))) === 0 };
    },
  },
  {
    name: 'decryptStream',
    weight: 1,
    run: async (input, rng, keyring) => {
      const parts = chunked(input, rng);
      const source = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      });
      const reader = source.pipeThrough(decryptStream({ keyring })).getReader();
      const out: Uint8Array[] = [];
      for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
      return { plaintext: new Uint8Array(Buffer.concat(out)) };
    },
  },
  {
    name: 'nodeDecryptStream',
    weight: 1,
    run: async (input, rng, keyring) => ({ plaintext: await drainNode(Readable.from(chunked(input, rng)), createDecryptStream({ keyring })) }),
  },
  {
    name: 'decryptRange',
    weight: 4,
    run: async (input, rng, keyring, hint) => {
      const total = hint ? hint.plaintext.length : rng.below(5000);
      const start = rng.below(total + 1);
      const end = rng.chance(0.2) ? undefined : rng.between(start, total);
      const source = rng.chance(0.3) ? { size: input.length, read: async (offset: number, length: number) => input.slice(offset, offset + length) } : input;
      // A signed message is refused unless the caller opts out of its signature (SPEC rule 44).
      const skipSignatureVerification = rng.chance(0.5);
      let r;
      try {
        r = await decryptRange(source, { keyring, start, ...(end === undefined ? {} : { end }), skipSignatureVerification });
      } catch (err) {
        if (!skipSignatureVerification && hint?.signed && err instanceof SealboxError && err.code === 'ERR_SIGNATURE_POLICY') return { refused: err.code };
        throw err;
      }
      return { plaintext: r.plaintext, range: { start, end: end ?? r.plaintextLength, plaintextLength: r.plaintextLength } };
    },
  },
  {
    // Rewrap reads the whole message and writes a new header; what it writes must decrypt to the
    // seed's plaintext under the new key, and nothing else may come out of a mutated input.
    name: 'rewrap',
    weight: 1,
    run: async (input, rng, keyring, hint) => {
      let ciphertext;
      try {
        ({ ciphertext } = await rewrap(input, { keyring, to: REWRAP_TO, verifyFrames: rng.chance(0.5) }));
      } catch (err) {
        // Signed messages cannot be rewrapped (the signature covers the header).
        if (hint?.signed && err instanceof SealboxError && err.code === 'ERR_UNSUPPORTED_VERSION') return { refused: err.code };
        throw err;
      }
      return { plaintext: (await decrypt(ciphertext, { keyring: REWRAP_TO })).plaintext };
    },
  },
  {
    name: 'armor',
    weight: 1,
    armored: true,
    run: async (input, rng, keyring) => ({ plaintext: await drainNode(Readable.from(chunked(input, rng)), createDearmorStream(), createDecryptStream({ keyring })) }),
  },
  {
    // test/fuzz/differential.ts: random chunkings against one-shot decrypt; what a failure
    // released is a prefix of the plaintext, and a signed message's last frame is never in it.
    name: 'framerChunks',
    weight: 1,
    ciInputs: 500,
    run: framerChunks,
  },
  {
    // test/fuzz/differential.ts: the armor reader over random chunkings against one chunk and a reference decoder.
    name: 'armorChunks',
    weight: 1,
    armored: true,
    ciInputs: 500,
    run: armorChunks,
  },
  {
    // test/fuzz/differential.ts: rewrapFile (the body's structure read from a file) against rewrap of the same bytes.
    name: 'rewrapFile',
    weight: 1,
    ciInputs: 300,
    run: rewrapFileTarget,
  },
];

/** Why an outcome broke the oracle. */
export interface Violation {
  readonly target: string;
  readonly mutation: string;
  readonly kind: 'exception' | 'forgery' | 'wrong-plaintext' | 'rejected-valid' | 'hang' | 'slow' | 'memory' | 'header-not-canonical';
  readonly detail: string;
  readonly input: Uint8Array;
}

/** Length of a suite 2 signature (r ‖ s), after the final frame. */
const SIGNATURE_BYTES = 96;

/**
 * A P-384 signer over a fixed key: @noble/curves signs with RFC 6979 nonces, so the signed
 * seeds are the same bytes in every run (as scripts/make-vectors.ts does for the vectors).
 */
function seededSigner(secretKey: Uint8Array): MessageSigner {
  const hash = sha384.create();
  return {
    publicKey: p384.getPublicKey(secretKey, true),
    update: (chunk) => void hash.update(chunk),
    sign: () => Promise.resolve(p384.sign(hash.digest(), secretKey, { prehash: false, lowS: true })),
  };
}

/** The seed messages: a fixed set (not derived from the run's seed), so corpus files keep their meaning. */
export async function makeSeeds(keyring: Keyring = fuzzKeyring()): Promise<SeedMessage[]> {
  const rng = new Rng(0x5eed);
  const random = (n: number): Uint8Array => rng.bytes(n);
  const mine = new RawAesKeyring({ namespace: 'fuzz', name: 'key-1', wrappingKey: new Uint8Array(32).fill(0x42), random });
  const other = new RawAesKeyring({ namespace: 'fuzz', name: 'key-other', wrappingKey: new Uint8Array(32).fill(0x17), random });
  const other2 = new RawAesKeyring({ namespace: 'elsewhere', name: 'k', wrappingKey: new Uint8Array(32).fill(0x99), random });
  // The last element: signed (suite 2), with a key drawn from the same generator. The signed
  // seeds come last, so that the unsigned ones keep their bytes.
  const specs: [string, number, number, Record<string, string>, Keyring, boolean?][] = [
    ['empty', 0, 65536, {}, mine],
    ['one-byte-frames', 5, 1, { a: 'b' }, mine],
    ['small-frames-two-edks', 100, 16, { tenant: 'acme', purpose: 'fuzz' }, new MultiKeyring({ generator: other, children: [mine] })],
    ['three-edks', 257, 64, {}, new MultiKeyring({ generator: other2, children: [other, mine] })],
    ['unicode-context', 1000, 333, { 'ü': 'ö', k: '', 'a\u{1F600}': 'x' }, mine],
    ['one-full-frame', 4096, 4096, {}, mine],
    ['many-pairs', 3000, 1024, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, `value-${i}`])), mine],
    ['default-frame', 700, 65536, { tenant: 'x' }, mine],
    ['signed-empty', 0, 65536, {}, mine, true],
    ['signed-small-frames', 300, 64, { tenant: 'acme' }, mine, true],
    ['signed-two-edks', 1000, 333, { purpose: 'fuzz' }, new MultiKeyring({ generator: other, children: [mine] }), true],
    // Plaintexts of whole frames (an empty final frame): a signed one's last regular frame is
    // what waits for the signature. Last, so that the seeds above keep their bytes.
    ['whole-frames', 256, 64, { tenant: 'acme' }, mine],
    ['signed-whole-frames', 256, 64, {}, mine, true],
    ['signed-one-whole-frame', 64, 64, { a: 'b' }, mine, true],
  ];
  const seeds: SeedMessage[] = [];
  for (const [name, n, F, encryptionContext, wrap, signed = false] of specs) {
    const plaintext = rng.bytes(n);
    const options = { keyring: wrap, frameLength: F, encryptionContext, ...(signed ? { suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } : {}) };
    const messageId = rng.bytes(32);
    const { ciphertext } = await encryptWithMessageId(plaintext, options, messageId, signed ? seededSigner(p384.utils.randomSecretKey(rng.bytes(72))) : undefined);
    const headerEnd = readPreamble(ciphertext) as number;
    const finalLength = n % F;
    const finalFrame = ciphertext.length - (signed ? SIGNATURE_BYTES : 0) - (finalLength + FINAL_FRAME_OVERHEAD);
    const armored = await drainNode(Readable.from([ciphertext]), createArmorStream());
    if (Buffer.compare(Buffer.from(armored), Buffer.from(armorBytes(ciphertext))) !== 0) throw new Error('armorBytes differs from createArmorStream');
    const check = await decrypt(ciphertext, { keyring });
    if (Buffer.compare(Buffer.from(check.plaintext), Buffer.from(plaintext)) !== 0) throw new Error(`seed ${name} does not decrypt`);
    seeds.push({ name, bytes: ciphertext, plaintext, headerEnd, finalFrame, frameLength: F, armored, signed });
  }
  return seeds;
}

/** The seed whose bytes (or armored bytes) `input` is, if any: then the right plaintext is required. */
export function unmutatedSeed(input: Uint8Array, seeds: readonly SeedMessage[], armored: boolean): SeedMessage | undefined {
  for (const s of seeds) {
    const b = armored ? s.armored : s.bytes;
    if (b.length === input.length && Buffer.compare(Buffer.from(b.buffer, b.byteOffset, b.length), Buffer.from(input.buffer, input.byteOffset, input.length)) === 0) return s;
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** Options of one checked input. */
export interface CheckOptions {
  /** Per-input time budget in ms: longer is a "hang". */
  readonly timeoutMs: number;
}

const TIMEOUT = Symbol('timeout');

/**
 * Runs one input through one target and applies the oracle:
 * - unmutated input (bytes equal a seed): the seed's plaintext (its slice for a range);
 * - anything else: a SealboxError with a documented code; a success is allowed only where the
 *   entry point does not read every byte (a range whose frames are untouched, an armor change
 *   that decodes to the same binary) and then must give the seed's plaintext exactly;
 *   readHeader may succeed on anything whose header re-encodes to the same bytes;
 * - no other exception, no settling later than the time budget.
 */
export async function checkInput(
  target: MessageTarget,
  input: Uint8Array,
  mutation: string,
  origin: SeedMessage | undefined,
  seeds: readonly SeedMessage[],
  rng: Rng,
  keyring: Keyring,
  options: CheckOptions,
): Promise<{ violation?: Violation; outcome: string }> {
  const exact = unmutatedSeed(input, seeds, target.armored === true);
  const violation = (kind: Violation['kind'], detail: string): { violation: Violation; outcome: string } => ({ violation: { target: target.name, mutation, kind, detail, input }, outcome: kind });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let result: TargetResult | typeof TIMEOUT;
  try {
    const run = target.run(input, rng, keyring, exact ?? origin);
    result = await Promise.race([
      run,
      new Promise<typeof TIMEOUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMEOUT), options.timeoutMs);
      }),
    ]);
    if (result === TIMEOUT) {
      run.catch(() => undefined);
      return violation('hang', `no outcome within ${options.timeoutMs} ms`);
    }
  } catch (err) {
    if (!isKnownSealboxError(err)) {
      const e = err as Error;
      return violation('exception', `${e?.name ?? typeof err}: ${e?.message ?? String(err)}${(e as { code?: unknown })?.code ? ` (code ${String((e as { code?: unknown }).code)})` : ''}`);
    }
    if (exact) return violation('rejected-valid', `the unmutated ${exact.name} failed with ${err.code}`);
    return { outcome: err.code };
  } finally {
    clearTimeout(timer);
  }
  if (result.refused) {
    if (exact && !exact.signed) return violation('rejected-valid', `the unmutated ${exact.name} was refused with ${result.refused}`);
    return { outcome: result.refused };
  }
  if (target.name === 'readHeader') {
    if (!result.headerReencodes) return violation('header-not-canonical', 'readHeader accepted a header that does not re-encode to its own bytes');
    return { outcome: 'header' };
  }
  const reference = exact ?? origin;
  const plaintext = result.plaintext ?? new Uint8Array(0);
  if (result.range) {
    const { start, end, plaintextLength } = result.range;
    if (!reference) return violation('forgery', 'decryptRange succeeded on random bytes');
    const right = plaintextLength === reference.plaintext.length && sameBytes(plaintext, reference.plaintext.subarray(start, end));
    if (!right) return violation(exact ? 'wrong-plaintext' : 'forgery', `decryptRange [${start}, ${end}) gave bytes that are not the plaintext's`);
    return { outcome: 'plaintext' };
  }
  if (!exact) {
    // Armor text may change without changing the message (line endings, trailing space): only the same plaintext is acceptable.
    if (target.armored && reference && sameBytes(plaintext, reference.plaintext)) return { outcome: 'plaintext' };
    return violation('forgery', `${target.name} succeeded on a mutated input (${plaintext.length} bytes out)`);
  }
  if (!sameBytes(plaintext, exact.plaintext)) return violation('wrong-plaintext', `${target.name} gave the wrong plaintext for ${exact.name}`);
  return { outcome: 'plaintext' };
}

/** Per-target counters of a run. */
export interface TargetStats {
  inputs: number;
  ms: number;
  slowestMs: number;
  outcomes: Record<string, number>;
}

/** Options of {@link runMessageFuzz}. */
export interface MessageFuzzOptions {
  readonly seed: number;
  /** Total inputs over all targets. */
  readonly iterations: number;
  /** Stop after this many seconds even if `iterations` is not reached. */
  readonly seconds?: number;
  /** Per-input time budget (ms). */
  readonly timeoutMs?: number;
  /** Targets to run (default all); tests inject broken ones here. */
  readonly targets?: readonly MessageTarget[];
  /** Growth of RSS over the start allowed before it counts as a violation (bytes). */
  readonly maxRssGrowth?: number;
  /** Count typed-array allocations per input (default true; see {@link AllocationMeter}). */
  readonly meterAllocations?: boolean;
  /** Stop at the first violation. */
  readonly stopOnViolation?: boolean;
  /** Told of every input before it runs (the watchdog keeps the last one). */
  readonly onInput?: (target: string, input: Uint8Array) => void;
  /** Told of progress about once a second. */
  readonly onProgress?: (done: number, elapsedMs: number) => void;
}

/** What {@link runMessageFuzz} found. */
export interface MessageFuzzReport {
  readonly inputs: number;
  readonly ms: number;
  readonly perTarget: Record<string, TargetStats>;
  /** Outcomes by the seed an input was made from (mutated or not). */
  readonly perSeed: Record<string, Record<string, number>>;
  readonly violations: Violation[];
  readonly maxRssGrowth: number;
  /** The most bytes one input made the code allocate with `new Uint8Array` (see {@link AllocationMeter}). */
  readonly maxAllocation: number;
}

/**
 * Bytes of typed arrays one input may make an entry point allocate, from the declared limits:
 * a header buffer at MAX_HEADER_BYTES (a stream reads it whole), frame buffers at the decrypt
 * default maximum frame length, and a small multiple of the input itself (outputs and copies).
 */
export function allocationBound(inputLength: number): number {
  return MAX_HEADER_BYTES + TAG_BYTES + 2 * (DEFAULT_MAX_FRAME_LENGTH + TAG_BYTES) + 8 * inputLength + 64 * 1024;
}

/** RSS is sampled every this many inputs. */
const SAMPLE_EVERY = 64;

/**
 * Counts the bytes of every `new Uint8Array(n)` (and `Uint8Array.of/from`) while installed: the
 * global constructor is replaced by a Proxy whose construct trap adds `n`, so an allocation
 * sized by an unchecked declared length is seen the moment it is asked for, before any garbage
 * collection could hide it. `instanceof Uint8Array` still holds (the Proxy has the same
 * prototype). Node-internal allocations (Buffer) are not counted; the RSS cap covers them.
 */
export class AllocationMeter {
  bytes = 0;
  largest = 0;

  install(): () => void {
    const original = globalThis.Uint8Array;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const meter = this;
    const proxy: Uint8ArrayConstructor = new Proxy(original, {
      construct(target, args: unknown[], newTarget) {
        const n = args[0];
        if (typeof n === 'number') {
          meter.bytes += n;
          if (n > meter.largest) meter.largest = n;
        } else if (n instanceof ArrayBuffer && args.length === 1) {
          // A view on an existing buffer allocates nothing.
        }
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
      },
    });
    globalThis.Uint8Array = proxy;
    return () => {
      globalThis.Uint8Array = original;
    };
  }
}

/**
 * The message fuzzer: each target gets its share of `iterations` (by weight), interleaved, each
 * input a mutation of a seed message (or random bytes), each outcome checked by {@link checkInput}.
 * Memory: no input may allocate more than {@link allocationBound} bytes of typed arrays, and RSS
 * must stay within `maxRssGrowth` of the start.
 */
export async function runMessageFuzz(options: MessageFuzzOptions): Promise<MessageFuzzReport> {
  const targets = options.targets ?? MESSAGE_TARGETS;
  const keyring = fuzzKeyring();
  const seeds = await makeSeeds(keyring);
  const rng = new Rng(options.seed);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxRssGrowth = options.maxRssGrowth ?? 512 * 1024 * 1024;
  const deadline = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;
  const perTarget: Record<string, TargetStats> = {};
  for (const t of targets) perTarget[t.name] = { inputs: 0, ms: 0, slowestMs: 0, outcomes: {} };
  const perSeed: Record<string, Record<string, number>> = Object.fromEntries(seeds.map((s) => [s.name, {}]));
  const violations: Violation[] = [];
  const schedule: MessageTarget[] = [];
  for (const t of targets) for (let i = 0; i < t.weight; i++) schedule.push(t);

  const started = performance.now();
  const startRss = process.memoryUsage.rss();
  let maxRss = 0;
  let maxAllocation = 0;
  let lastProgress = started;
  let done = 0;
  const recent: { target: string; mutation: string; input: Uint8Array }[] = [];
  const meter = new AllocationMeter();
  const uninstall = options.meterAllocations === false ? () => undefined : meter.install();
  try {
    while (done < options.iterations) {
      const target = schedule[done % schedule.length]!;
      const seed = rng.pick(seeds);
      const { mutation, bytes }: Mutated = rng.chance(1 / 64)
        ? { mutation: 'none', bytes: (target.armored ? seed.armored : seed.bytes).slice() }
        : target.armored
          ? mutateArmor(rng, seed, seeds)
          : mutateMessage(rng, seed, seeds);
      options.onInput?.(target.name, bytes);
      recent[done % SAMPLE_EVERY] = { target: target.name, mutation, input: bytes };
      const t0 = performance.now();
      meter.bytes = 0;
      const { violation: found, outcome } = await checkInput(target, bytes, mutation, seed, seeds, rng.fork(), keyring, { timeoutMs });
      const dt = performance.now() - t0;
      let v = found;
      if (meter.bytes > maxAllocation) maxAllocation = meter.bytes;
      if (!v && meter.bytes > allocationBound(bytes.length)) {
        v = { target: target.name, mutation, kind: 'memory', detail: `${meter.bytes} bytes of typed arrays allocated for a ${bytes.length}-byte input (bound ${allocationBound(bytes.length)})`, input: bytes };
      }
      const stats = perTarget[target.name]!;
      stats.inputs++;
      stats.ms += dt;
      if (dt > stats.slowestMs) stats.slowestMs = dt;
      const label = v ? v.kind : outcome;
      stats.outcomes[label] = (stats.outcomes[label] ?? 0) + 1;
      perSeed[seed.name]![label] = (perSeed[seed.name]![label] ?? 0) + 1;
      if (v) {
        violations.push(v);
        if (options.stopOnViolation) break;
      }
      done++;
      if (done % SAMPLE_EVERY === 0) {
        const grown = process.memoryUsage.rss() - startRss;
        maxRss = Math.max(maxRss, grown);
        if (grown > maxRssGrowth) {
          for (const r of recent) violations.push({ target: r.target, mutation: r.mutation, kind: 'memory', detail: `RSS grew by ${grown} B (limit ${maxRssGrowth}) within the last ${SAMPLE_EVERY} inputs`, input: r.input });
          if (options.stopOnViolation) break;
        }
        const now = performance.now();
        if (now > deadline) break;
        if (now - lastProgress > 1000) {
          lastProgress = now;
          options.onProgress?.(done, now - started);
        }
      }
    }
  } finally {
    uninstall();
  }
  return { inputs: done, ms: performance.now() - started, perTarget, perSeed, violations, maxRssGrowth: maxRss, maxAllocation };
}
