/**
 * Differential targets of the message fuzzer (test/fuzz/messages.ts): the same input cut into
 * random chunks and read in one piece must give the same result, and what a decrypter
 * releases before it fails must be a prefix of the true plaintext. A target that sees a
 * difference throws a plain Error, which the oracle reports as a violation ("exception").
 *
 * - `framerChunks`: the decrypt framer (directly, or under the Node or the Web stream) fed a
 *   message cut at random points, most of them at or next to frame boundaries, the signature's
 *   start and the header's end, compared with one-shot `decrypt`. On a failure, the bytes
 *   released must be a prefix of the seed's plaintext, and for a signed seed must stop before
 *   the last frame that has plaintext (SPEC §11: the final frame, or the last regular frame
 *   when the plaintext is whole frames), unless the whole seed, signature included, came first
 *   and only the bytes after it failed (ERR_TRAILING_DATA).
 * - `armorChunks`: the CLI's armor reader fed armored text cut at random points (often next to
 *   line ends), compared with the same reader given the text in one chunk (same bytes, or the
 *   same error code) and with a reference decoder written from docs/cli.md (same bytes, or both
 *   refuse); what it produces, when it succeeds, is decrypted one-shot.
 * - `rewrapFile`: `rewrapFile` of the input written to a file (its body's structure read from
 *   the file: the O(1) guess, and on a failure the walk in 64 KiB blocks) against `rewrap` of
 *   the same bytes: the same error code, or both succeed and the file decrypts under the new key
 *   to what `rewrap`'s output does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ARMOR_BEGIN, ARMOR_END, createDearmorStream } from '../../src/cli/armor.js';
import { decrypt } from '../../src/decrypt.js';
import { SealboxError } from '../../src/errors.js';
import { FINAL_FRAME_OVERHEAD, FRAME_REGULAR, REGULAR_FRAME_OVERHEAD } from '../../src/format/frame.js';
import { readPreamble } from '../../src/format/header.js';
import { readHeader } from '../../src/stream/read-header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { planDecryption } from '../../src/message/prologue.js';
import type { DecryptPlan } from '../../src/message/prologue.js';
import type { DecryptFramer } from '../../src/stream/decrypt-framer.js';
import { createDecryptStream } from '../../src/node/streams.js';
import { rewrapFile } from '../../src/node/rewrap-file.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { rewrap } from '../../src/rewrap/rewrap.js';
import { createDecryptFramer, decryptStream } from '../../src/stream/decrypt-stream.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { makeSeeds } from './messages.js';
import type { SeedMessage } from './mutate.js';
import type { Rng } from './rng.js';

/** Offsets where a parser changes state in a seed's layout: header end, tag end, each frame, the final frame, the signature. */
function boundaries(seed: SeedMessage | undefined, length: number): number[] {
  if (!seed) return [];
  const out = [seed.headerEnd, seed.headerEnd + TAG_BYTES];
  for (let at = seed.headerEnd + TAG_BYTES; at < seed.finalFrame; at += seed.frameLength + REGULAR_FRAME_OVERHEAD) out.push(at, at + 1);
  const finalEnd = seed.finalFrame + FINAL_FRAME_OVERHEAD + (seed.plaintext.length % seed.frameLength);
  out.push(seed.finalFrame, seed.finalFrame + 1, seed.finalFrame + 5, finalEnd);
  if (seed.signed) out.push(finalEnd + 1, seed.bytes.length - 1);
  return out.filter((p) => p > 0 && p < length);
}

/** Cut points in `[1, length)`: up to 64 of them, half near `marks` (on them or one byte either side). */
export function cutPoints(rng: Rng, length: number, marks: readonly number[]): number[] {
  if (length < 2) return [];
  const n = rng.chance(0.1) ? 0 : rng.between(1, Math.min(64, length - 1));
  const points = new Set<number>();
  for (let i = 0; i < n; i++) {
    const p = marks.length > 0 && rng.chance(0.5) ? rng.pick(marks) + rng.between(-1, 1) : rng.between(1, length - 1);
    if (p > 0 && p < length) points.add(p);
  }
  return [...points].sort((a, b) => a - b);
}

/** `bytes` cut at `points` (each chunk its own copy: the decrypters may keep a chunk). */
export function cutAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) parts.push(bytes.slice(from, p));
    from = p;
  }
  return parts;
}

/** A difference the oracle reports (a plain Error is never a documented outcome). */
class DifferentialMismatch extends Error {
  override name = 'DifferentialMismatch';
}

function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length))));
}

function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  return prefix.length <= of.length && Buffer.compare(Buffer.from(prefix), Buffer.from(of.subarray(0, prefix.length))) === 0;
}

/**
 * The most plaintext a failing decrypt of (a mutation of) `seed` may have released: all of an
 * unsigned seed's, and for a signed seed everything before its last frame that has plaintext.
 */
export function releasableOnFailure(seed: SeedMessage): number {
  const n = seed.plaintext.length;
  if (!seed.signed || n === 0) return n;
  return n - (n % seed.frameLength || seed.frameLength);
}

let seedList: Promise<SeedMessage[]> | undefined;

/**
 * The seed whose frames can open in `input`: the one whose header and header tag it starts with
 * (a splice may put another seed's header first; a corpus replay names no seed), else `hint`.
 */
async function seedOf(input: Uint8Array, hint: SeedMessage | undefined): Promise<SeedMessage | undefined> {
  seedList ??= makeSeeds();
  return (await seedList).find((s) => isPrefix(s.bytes.subarray(0, s.headerEnd + TAG_BYTES), input)) ?? hint;
}

/** Runs `chunks` through one of the decrypters, recording each plaintext array as it is released. */
async function runDecrypter(way: number, chunks: readonly Uint8Array[], keyring: Keyring, released: Uint8Array[], makeFramer: FramerFactory): Promise<void> {
  if (way === 0) {
    // The framer itself: exactly what it emits, before any stream queues it.
    const framer = makeFramer(planDecryption({ keyring }));
    const emit = (b: Uint8Array): void => void released.push(b.slice());
    for (const c of chunks) {
      const r = framer.push(c, emit);
      if (r instanceof Promise) await r;
    }
    framer.finish();
    return;
  }
  if (way === 1) {
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        released.push(new Uint8Array(chunk));
        cb();
      },
    });
    await pipeline(Readable.from(chunks), createDecryptStream({ keyring }), sink);
    return;
  }
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
  const reader = source.pipeThrough(decryptStream({ keyring })).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value.slice());
}

const WAYS = ['framer', 'node stream', 'web stream'];

/** Makes the framer the `framer` way runs (tests give a broken one to see the oracle fail). */
export type FramerFactory = (plan: DecryptPlan) => DecryptFramer;

/**
 * The framer (or a stream over it) over random chunkings, against one-shot decrypt and the
 * seed's plaintext. `makeFramer` replaces the framer (then only the `framer` way runs).
 */
export function framerChunksWith(makeFramer?: FramerFactory): (input: Uint8Array, rng: Rng, keyring: Keyring, hint: SeedMessage | undefined) => Promise<{ plaintext: Uint8Array }> {
  return (input, rng, keyring, hint) => framerChunksRun(input, rng, keyring, hint, makeFramer);
}

/** {@link framerChunksWith} with the real framer and streams. */
export const framerChunks = framerChunksWith();

async function framerChunksRun(input: Uint8Array, rng: Rng, keyring: Keyring, hint: SeedMessage | undefined, makeFramer: FramerFactory | undefined): Promise<{ plaintext: Uint8Array }> {
  const points = cutPoints(rng, input.length, boundaries(hint, input.length));
  const chunks = cutAt(input, points);
  const way = makeFramer ? 0 : rng.below(3);
  const released: Uint8Array[] = [];
  let oneShot: Uint8Array | SealboxError;
  try {
    oneShot = (await decrypt(input, { keyring })).plaintext;
  } catch (err) {
    if (!(err instanceof SealboxError)) throw err;
    oneShot = err;
  }
  const where = `${WAYS[way]}, cut at [${points.join(',')}]`;
  try {
    await runDecrypter(way, chunks, keyring, released, makeFramer ?? ((plan) => createDecryptFramer(plan)));
  } catch (err) {
    const out = concatAll(released);
    hint = await seedOf(input, hint);
    const truth = hint?.plaintext ?? new Uint8Array(0);
    if (!isPrefix(out, truth)) throw new DifferentialMismatch(`${where}: ${out.length} bytes released before the error are not a prefix of the plaintext`);
    // All of it only when the whole signed seed came first, signature included, and the
    // failure is what follows it (ERR_TRAILING_DATA): then the signature has verified.
    const wholeSeedFirst = hint !== undefined && isPrefix(hint.bytes, input) && err instanceof SealboxError && err.code === 'ERR_TRAILING_DATA';
    if (hint && out.length > releasableOnFailure(hint) && !wholeSeedFirst) {
      throw new DifferentialMismatch(`${where}: a failing signed message released ${out.length} bytes, its last frame with plaintext included (at most ${releasableOnFailure(hint)})`);
    }
    if (!(oneShot instanceof SealboxError)) throw new DifferentialMismatch(`${where}: failed (${(err as Error)?.name}) where one-shot decrypt succeeded`);
    throw err;
  }
  const out = concatAll(released);
  if (oneShot instanceof SealboxError) throw new DifferentialMismatch(`${where}: succeeded where one-shot decrypt failed with ${oneShot.code}`);
  if (Buffer.compare(Buffer.from(out), Buffer.from(oneShot)) !== 0) throw new DifferentialMismatch(`${where}: a plaintext other than one-shot decrypt's`);
  return { plaintext: out };
}

/** Longest armor line (docs/cli.md), a CR before the LF counted. */
const MAX_LINE = 1024 * 1024;

/**
 * A reference armor decoder from docs/cli.md: binary (first byte not '-') passes through; armor
 * is the BEGIN line, lines of base64 with padding only at the very end, the END line, then only
 * white space; LF or CRLF; lines up to 1 MiB. Returns the bytes, or undefined if refused.
 */
export function referenceDearmor(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length === 0 || bytes[0] !== 0x2d) return bytes;
  const lines = Buffer.from(bytes).toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.some((l) => l.length > MAX_LINE)) return undefined;
  const text = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (text[0] !== ARMOR_BEGIN) return undefined;
  const end = text.indexOf(ARMOR_END, 1);
  if (end === -1) return undefined;
  if (text.slice(end + 1).some((l) => l.trim() !== '')) return undefined;
  const body = text.slice(1, end);
  // Padding only at the very end: no non-empty line after the one that has it.
  const padded = body.findIndex((l) => l.includes('='));
  if (padded !== -1 && body.slice(padded + 1).some((l) => l.length > 0)) return undefined;
  const joined = body.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(joined) || joined.length % 4 !== 0 || body.some((l) => /=[^=]/.test(l))) return undefined;
  return new Uint8Array(Buffer.from(joined, 'base64'));
}

async function dearmor(chunks: readonly Uint8Array[]): Promise<{ out: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(new Uint8Array(chunk));
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks), createDearmorStream(), sink);
    return { out: concatAll(parts) };
  } catch (error) {
    return { out: concatAll(parts), error };
  }
}

const codeOf = (e: unknown): string => (e instanceof SealboxError ? e.code : `${(e as Error)?.name}: ${(e as Error)?.message}`);

/** The armor reader over random chunkings, against one chunk and the reference; then decrypt. */
export async function armorChunks(input: Uint8Array, rng: Rng, keyring: Keyring): Promise<{ plaintext: Uint8Array }> {
  const lineEnds: number[] = [];
  for (let i = input.indexOf(0x0a); i !== -1 && lineEnds.length < 4096; i = input.indexOf(0x0a, i + 1)) lineEnds.push(i, i + 1);
  const points = cutPoints(rng, input.length, lineEnds);
  const [whole, cut] = [await dearmor(input.length > 0 ? [input.slice()] : []), await dearmor(cutAt(input, points))];
  const where = `cut at [${points.join(',')}]`;
  if ((whole.error === undefined) !== (cut.error === undefined) || (whole.error !== undefined && codeOf(whole.error) !== codeOf(cut.error))) {
    throw new DifferentialMismatch(`${where}: ${whole.error ? codeOf(whole.error) : 'ok'} in one chunk, ${cut.error ? codeOf(cut.error) : 'ok'} in ${points.length + 1}`);
  }
  if (!isPrefix(cut.out, whole.out) || (!whole.error && cut.out.length !== whole.out.length)) throw new DifferentialMismatch(`${where}: other bytes than in one chunk`);
  const reference = referenceDearmor(input);
  if ((reference === undefined) !== (whole.error !== undefined)) {
    throw new DifferentialMismatch(`the reference decoder ${reference ? 'accepts' : 'refuses'} what the reader ${whole.error ? `refuses (${codeOf(whole.error)})` : 'accepts'}`);
  }
  if (whole.error) throw whole.error;
  if (Buffer.compare(Buffer.from(reference!), Buffer.from(whole.out)) !== 0) throw new DifferentialMismatch('the reader and the reference decoder give other bytes');
  return { plaintext: (await decrypt(whole.out, { keyring })).plaintext };
}

/** The keyring the rewrapFile target moves messages to (as messages.ts's rewrap target). */
const REWRAP_TO = new RawAesKeyring({ namespace: 'fuzz', name: 'rewrapped', wrappingKey: new Uint8Array(32).fill(0x24) });

/**
 * The one documented difference between rewrapFile and rewrap (docs/rewrap.md, "What rewrap
 * checks"): a file's body is checked by its length and the final frame's prefix where the length
 * puts it (and the first frame's type byte); the other regular frames' type bytes are read only
 * when those disagree. True when one of those unread bytes is not a regular frame's (a final
 * frame earlier than the length says, with bytes after it; a changed byte): then rewrap refuses
 * with what its walk meets first, while rewrapFile goes on to the keyring, or succeeds and carries
 * the body over (decrypt then refuses it).
 */
async function unreadTypeByteChanged(input: Uint8Array): Promise<boolean> {
  let header;
  try {
    header = await readHeader(input);
  } catch {
    return false;
  }
  const bodyStart = (readPreamble(input) as number) + TAG_BYTES;
  const regular = header.frameLength + REGULAR_FRAME_OVERHEAD;
  const bodyLength = input.length - bodyStart;
  if (bodyLength < FINAL_FRAME_OVERHEAD) return false;
  const n = Math.floor((bodyLength - FINAL_FRAME_OVERHEAD) / regular);
  for (let i = 1; i < n; i++) if (input[bodyStart + i * regular] !== FRAME_REGULAR) return true;
  return false;
}

/** rewrapFile against rewrap: the same code, or the same plaintext under the new key. */
export async function rewrapFileTarget(input: Uint8Array, rng: Rng, keyring: Keyring, hint: SeedMessage | undefined): Promise<{ plaintext?: Uint8Array; refused?: 'ERR_UNSUPPORTED_VERSION' }> {
  const verifyFrames = rng.chance(0.5);
  const inPlace = rng.chance(0.5);
  let bytes: Uint8Array | SealboxError;
  try {
    bytes = (await rewrap(input, { keyring, to: REWRAP_TO, verifyFrames })).ciphertext;
  } catch (err) {
    if (!(err instanceof SealboxError)) throw err;
    bytes = err;
  }
  // A directory of its own, removed with whatever is in it (journals, locks) when the input is done.
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-fuzz-'));
  const src = join(dir, 'm');
  const dst = inPlace ? src : join(dir, 'm.out');
  writeFileSync(src, input);
  try {
    let written: Uint8Array;
    try {
      await rewrapFile(src, dst, { keyring, to: REWRAP_TO, verifyFrames, inPlace: rng.chance(0.5) ? 'header' : 'copy' });
      written = new Uint8Array(readFileSync(dst));
    } catch (err) {
      if (!(err instanceof SealboxError)) throw err;
      if (!(bytes instanceof SealboxError)) throw new DifferentialMismatch(`rewrapFile failed with ${err.code} where rewrap succeeded`);
      // The documented difference (see unreadTypeByteChanged): any coded error may come first.
      if (err.code !== bytes.code && !(await unreadTypeByteChanged(input))) {
        throw new DifferentialMismatch(`rewrapFile failed with ${err.code}, rewrap with ${bytes.code}`);
      }
      // A failed rewrap leaves the file as it was.
      if (Buffer.compare(readFileSync(src), Buffer.from(input)) !== 0) throw new DifferentialMismatch(`a failed rewrapFile (${err.code}) changed its file`);
      // Signed messages cannot be rewrapped (the signature covers the header).
      if (hint?.signed && err.code === 'ERR_UNSUPPORTED_VERSION') return { refused: err.code };
      throw err;
    }
    if (bytes instanceof SealboxError) {
      // The documented difference: the body is carried over as it is, and decrypt refuses it.
      if (!(await unreadTypeByteChanged(input))) throw new DifferentialMismatch(`rewrapFile succeeded where rewrap failed with ${bytes.code}`);
      await decrypt(written, { keyring: REWRAP_TO });
      throw new DifferentialMismatch(`rewrapFile wrote a message that decrypts where rewrap failed with ${bytes.code}`);
    }
    const plaintext = (await decrypt(written, { keyring: REWRAP_TO })).plaintext;
    if (Buffer.compare(Buffer.from(plaintext), Buffer.from((await decrypt(bytes, { keyring: REWRAP_TO })).plaintext)) !== 0) {
      throw new DifferentialMismatch('rewrapFile and rewrap wrote messages of other plaintexts');
    }
    return { plaintext };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
