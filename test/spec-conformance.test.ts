import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decrypt,
  decryptRange,
  decryptStream,
  encrypt,
  MultiKeyring,
  RawAesKeyring,
  RawRsaKeyring,
  readHeader,
  SealboxError,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384,
  XWingKeyring,
} from '../src/index.js';
import type { DecryptOptions, Keyring } from '../src/index.js';
import { rewrap, rewrapStream } from '../src/rewrap/index.js';
import { createDecryptStream, createRewrapStream, decryptFile, rewrapFile } from '../src/node/index.js';
import { setHashThreadMinBytes } from '../src/node/files.js';
import { setSlotPlacement } from '../src/node/frame-pool.js';
import { fromHex } from '../src/crypto/bytes.js';
import { FINAL_FRAME_OVERHEAD, REGULAR_FRAME_OVERHEAD } from '../src/format/frame.js';
import { readPreamble } from '../src/format/header.js';
import { PREAMBLE_BYTES, TAG_BYTES } from '../src/limits.js';
import { RAW_NAMESPACE } from '../src/cli/keyrings.js';
import { loadVectorKeys, loadVectors } from './helpers/vectors.js';
import { readableOf, through } from './helpers/web-streams.js';
import { ensureBuilt } from './cli/build.js';
import { sealbox } from './cli/run.js';

// SPEC §8 conformance of every path that reads a message: one damaged message, one code,
// whichever path reads it. Each case (a frozen vector of test/vectors, or a message damaged
// here: cut at every structural boundary, bytes appended, a wrong key, a tag changed in the
// header or in the first, a middle or the final frame, a cut empty final frame, the same for a
// signed message) goes through every path below, and each path must report the case's code,
// except where `expected` says otherwise; every such difference is intended and documented in
// docs/SPEC.md §8.4 (range: what it reads) and §8.5 (header readers and rewrap). A path that
// fails must also have released nothing unauthenticated (SPEC §8.2, §11.3): a stream, at most the
// frames before the damage (for a signed message, never its last frame with plaintext before
// the signature verified); decryptFile, no output file. The last block runs messages of many
// reads through decryptFile's frame pool and hash thread.

type Outcome = string; // 'success', a SealboxError code, or 'RangeError' / 'TypeError'

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Keys offered: names of test/vectors keys, or 'cli' / 'cli-other' (the key files below). */
  readonly keys: readonly string[];
  readonly options: Omit<DecryptOptions, 'keyring'>;
  /** What a full decoder reports (SPEC §8.1). */
  readonly expect: Outcome;
  /** The rule that wins (SPEC §8.2); null for a valid message. */
  readonly rule: number | null;
  /** Suite 2. */
  readonly signed: boolean;
  /** The frozen vector's rangeExpect (SPEC §8.4). */
  readonly rangeExpect?: Outcome;
  /** The first structural fault of the body (rules 16, 17, 18: truncation, bytes after the end, a frame's type or length), whichever rule wins. */
  readonly structure?: Outcome;
  /** That fault is a regular frame's type byte: the body's length and its final frame are as they should be. */
  readonly shapeSound?: boolean;
  /** The winning frame damage (rules 14, 15) lies before the final frame. */
  readonly beforeFinal?: boolean;
  /** The CLI runs it too: the CLI's key, or a fault found before any key is used. */
  readonly cli?: boolean;
  /** For a message damaged here: its plaintext, and how much of it a failing stream may have released (the frames whole and untouched before the damage; for a signed message never its last frame with plaintext). */
  readonly plaintext?: Uint8Array;
  readonly releasable?: number;
}

const { namespace, keys, asymmetric } = loadVectorKeys();
const dir = mkdtempSync(join(tmpdir(), 'sealbox-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The CLI's raw key files: RawAesKeyring named as `--key file:` names it (src/cli/keyrings.ts).
const CLI_KEYS: Record<string, Uint8Array> = {
  cli: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
  'cli-other': Uint8Array.from({ length: 32 }, (_, i) => 200 - i),
  'cli-new': Uint8Array.from({ length: 32 }, (_, i) => 100 + i),
};
const cliKeyFile = (name: string): string => join(dir, `${name}.key`);
for (const [name, key] of Object.entries(CLI_KEYS)) writeFileSync(cliKeyFile(name), Buffer.from(key).toString('hex'));
const cliKeyring = (name: string): Keyring =>
  new RawAesKeyring({ namespace: RAW_NAMESPACE, name: createHash('sha256').update(CLI_KEYS[name]!).digest('hex').slice(0, 32), wrappingKey: CLI_KEYS[name]! });

const raw = (name: string): Keyring =>
  name in CLI_KEYS
    ? cliKeyring(name)
    : name === asymmetric.rsa.name
      ? new RawRsaKeyring({ namespace: asymmetric.namespace, name, hash: asymmetric.rsa.hash, privateKey: asymmetric.rsa.privateKey })
      : name === asymmetric.xwing.name
        ? new XWingKeyring({ privateKey: fromHex(asymmetric.xwing.privateKey) })
        : new RawAesKeyring({ namespace, name, wrappingKey: fromHex(keys[name]!) });
const keyringFor = (names: readonly string[]): Keyring =>
  names.length === 1 ? raw(names[0]!) : new MultiKeyring({ generator: raw(names[0]!), children: names.slice(1).map(raw) });
const optionsFor = (c: Case): DecryptOptions => ({ keyring: keyringFor(c.keys), ...c.options });

/** The code of what `run` threw, or 'success'. */
async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    await run();
    return 'success';
  } catch (err) {
    if (err instanceof SealboxError) return err.code;
    if (err instanceof RangeError || err instanceof TypeError) return err.name;
    throw err;
  }
}

/** What the last stream run released (emitted), failing or not. */
let released: Uint8Array[] = [];
/** The output file of the last decryptFile run. */
let lastOutput = '';

async function nodeDecrypt(c: Case, chunk: number): Promise<void> {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < c.bytes.length; i += chunk) pieces.push(c.bytes.slice(i, i + chunk));
  const decryptor = createDecryptStream(optionsFor(c));
  decryptor.header.catch(() => undefined);
  await pipeline(
    Readable.from(pieces),
    decryptor,
    new Writable({
      write: (bytes: Uint8Array, _e, cb) => {
        released.push(new Uint8Array(bytes));
        cb();
      },
    }),
  );
}

async function webDecrypt(c: Case, chunk: number): Promise<void> {
  const s = decryptStream(optionsFor(c));
  s.header.catch(() => undefined);
  const reader = readableOf(c.bytes, chunk).pipeThrough(s).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value);
}

function outputPath(): string {
  lastOutput = join(dir, `out-${fileCount++}`);
  return lastOutput;
}

async function nodeRewrap(c: Case): Promise<void> {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < c.bytes.length; i += 11) pieces.push(c.bytes.slice(i, i + 11));
  const rw = createRewrapStream({ ...optionsFor(c), to: cliKeyring('cli-new') });
  rw.header.catch(() => undefined);
  await pipeline(Readable.from(pieces), rw, new Writable({ write: (_c, _e, cb) => cb() }));
}

let fileCount = 0;
function fileOf(c: Case): string {
  const path = join(dir, `${fileCount++}-${c.name}.sbx`);
  writeFileSync(path, c.bytes);
  return path;
}

/** Every library path that reads a message, by name. */
const paths: Record<string, (c: Case) => Promise<unknown>> = {
  decrypt: (c) => decrypt(c.bytes, optionsFor(c)),
  'decryptStream (7-byte chunks)': (c) => webDecrypt(c, 7),
  'decryptStream (one chunk)': (c) => webDecrypt(c, Math.max(1, c.bytes.length)),
  'createDecryptStream (13-byte chunks)': (c) => nodeDecrypt(c, 13),
  'decryptFile (concurrency 1)': (c) => decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 1 }),
  'decryptFile (concurrency 2)': (c) => decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 2 }),
  'decryptFile (hash thread)': async (c) => {
    setHashThreadMinBytes(0);
    try {
      return await decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 1 });
    } finally {
      setHashThreadMinBytes(16 * 1024 * 1024);
    }
  },
  'decryptRange (whole)': (c) => decryptRange(c.bytes, { ...optionsFor(c), start: 0 }),
  'decryptRange (empty range)': (c) => decryptRange(c.bytes, { ...optionsFor(c), start: 0, end: 0 }),
  'decryptRange (whole, skipSignatureVerification)': (c) => decryptRange(c.bytes, { ...optionsFor(c), start: 0, skipSignatureVerification: c.options.signaturePolicy !== 'require-signed' }),
  'decryptRange (file, whole)': async (c) => {
    const fh = await open(fileOf(c), 'r');
    try {
      return await decryptRange(fh, { ...optionsFor(c), start: 0 });
    } finally {
      await fh.close();
    }
  },
  rewrap: (c) => rewrap(c.bytes, { ...optionsFor(c), to: cliKeyring('cli-new') }),
  'rewrap (verifyFrames)': (c) => rewrap(c.bytes, { ...optionsFor(c), to: cliKeyring('cli-new'), verifyFrames: true }),
  rewrapFile: (c) => rewrapFile(fileOf(c), join(dir, 'rewrapped'), { ...optionsFor(c), to: cliKeyring('cli-new') }),
  'rewrapFile (in place)': (c) => {
    const path = fileOf(c);
    return rewrapFile(path, path, { ...optionsFor(c), to: cliKeyring('cli-new') });
  },
  'rewrapFile (verifyFrames)': (c) => rewrapFile(fileOf(c), join(dir, 'rewrapped'), { ...optionsFor(c), to: cliKeyring('cli-new'), verifyFrames: true }),
  rewrapStream: (c) => {
    const s = rewrapStream({ ...optionsFor(c), to: cliKeyring('cli-new') });
    s.header.catch(() => undefined);
    return through(s, c.bytes, 5);
  },
  createRewrapStream: (c) => nodeRewrap(c),
  'readHeader (bytes)': (c) => readHeader(c.bytes, c.options),
  'readHeader (stream)': (c) => readHeader(readableOf(c.bytes, 3), c.options),
};

// SPEC §8.1 stages, by rule (§8.2).
/** Stages 1-5: the preamble and the header's own bytes; rule 29, the decoder's bounds. */
const HEADER_RULES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 38]);
/** Stage 6: the caller's expected context and signature policy. */
const CALLER_RULES = new Set([10, 44]);
/** Stage 7, first: a signed message's public key. */
const PUBLIC_KEY_RULES = new Set([39, 40]);
/** Stages 7 and 8: the keys and the header tag. */
const KEY_RULES = new Set([11, 12, 30, 13, 37]);
/** Stage 9: frame tags. */
const FRAME_TAG_RULES = new Set([14, 15]);
/** Stage 9: the body's structure. */
const STRUCTURE_RULES = new Set([16, 17, 18, 28]);
/** Stage 9: the signature of a signed message. */
const SIGNATURE_RULES = new Set([41, 42, 43]);

// --- the cases -------------------------------------------------------------------------------

const F = 64;

interface Built {
  readonly plaintext: Uint8Array;
  readonly bytes: Uint8Array;
  readonly bodyStart: number;
  readonly headerEnd: number;
  readonly frames: { start: number; end: number; final: boolean }[];
  readonly signatureStart: number;
}

async function build(length: number, signed: boolean): Promise<Built> {
  const plaintext = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
  const { ciphertext } = await encrypt(plaintext, {
    keyring: cliKeyring('cli'),
    frameLength: F,
    encryptionContext: { purpose: 'conformance' },
    ...(signed ? { suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } : {}),
  });
  const headerEnd = readPreamble(ciphertext)!;
  const bodyStart = headerEnd + TAG_BYTES;
  const frames: Built['frames'] = [];
  const regular = Math.floor(length / F);
  let pos = bodyStart;
  for (let i = 0; i < regular; i++, pos += F + REGULAR_FRAME_OVERHEAD) frames.push({ start: pos, end: pos + F + REGULAR_FRAME_OVERHEAD, final: false });
  frames.push({ start: pos, end: pos + (length % F) + FINAL_FRAME_OVERHEAD, final: true });
  return { plaintext, bytes: ciphertext, bodyStart, headerEnd, frames, signatureStart: frames.at(-1)!.end };
}

const flip = (bytes: Uint8Array, at: number): Uint8Array => {
  const out = bytes.slice();
  out[at]! ^= 0x01;
  return out;
};
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Damaged messages of the CLI's key: 3 regular frames and a final frame of 10 bytes; and 2 regular frames and an empty final frame. */
async function constructedCases(): Promise<Case[]> {
  const cases: Case[] = [];
  for (const signed of [false, true]) {
    const p = signed ? 'signed ' : '';
    const base = { keys: ['cli'], options: {}, signed, cli: true };
    for (const [label, length] of [['', 3 * F + 10], ['empty final frame, ', 2 * F]] as const) {
      const m = await build(length, signed);
      const { bytes, headerEnd, bodyStart, frames, signatureStart } = m;
      const first = cases.length;
      const last = frames.at(-1)!;
      cases.push({ ...base, name: `${p}${label}valid`, bytes, expect: 'success', rule: null });
      // Cut at every structural boundary, and one byte past it.
      const cuts = new Map<number, string>([
        [0, 'empty'],
        [2, 'inside the magic'],
        [3, 'after the magic'],
        [4, 'after the version'],
        [PREAMBLE_BYTES, 'after the preamble'],
        [PREAMBLE_BYTES + 1, 'inside the header body'],
        [headerEnd, 'after the header body'],
        [headerEnd + 1, 'inside the header tag'],
        [bodyStart, 'after the header tag'],
      ]);
      frames.forEach((f, i) => {
        const which = f.final ? 'final frame' : `frame ${i}`;
        if (f.start !== bodyStart) cuts.set(f.start, `before ${which}`);
        cuts.set(f.start + 1, `after the type byte of ${which}`);
        if (f.final) {
          cuts.set(f.start + 3, 'inside the final length');
          cuts.set(f.start + 5, 'after the final length');
        }
        cuts.set(f.end - 1, `one byte before the end of ${which}`);
      });
      if (signed) {
        cuts.set(signatureStart, 'before the signature');
        cuts.set(signatureStart + 1, 'inside the signature');
        cuts.set(bytes.length - 1, 'one byte before the end of the signature');
      }
      for (const [at, where] of cuts) {
        const stage9 = at >= bodyStart;
        const cut = { ...base, name: `${p}${label}cut ${where} (${at} bytes)`, bytes: bytes.slice(0, at), expect: 'ERR_TRUNCATED' };
        cases.push(stage9 ? { ...cut, rule: signed && at >= signatureStart ? 41 : 16, structure: 'ERR_TRUNCATED' } : { ...cut, rule: 4 });
      }
      // Bytes appended.
      const trailing: [string, Uint8Array][] = [
        ['a zero byte', Uint8Array.of(0)],
        ['a byte 0x01', Uint8Array.of(1)],
        [`${F - 10} bytes (the final frame's length plus them reaches F)`, new Uint8Array(F - 10)],
        [`${F + REGULAR_FRAME_OVERHEAD} bytes (a regular frame's size)`, new Uint8Array(F + REGULAR_FRAME_OVERHEAD).fill(7)],
        ['a copy of the final frame', bytes.slice(last.start, last.end)],
      ];
      if (signed) trailing.push(['a second signature', bytes.slice(signatureStart)]);
      for (const [what, extra] of trailing) cases.push({ ...base, name: `${p}${label}followed by ${what}`, bytes: cat(bytes, extra), expect: 'ERR_TRAILING_DATA', rule: 17, structure: 'ERR_TRAILING_DATA' });
      // Keys and tags.
      cases.push({ ...base, name: `${p}${label}wrong key`, keys: ['cli-other'], bytes, expect: 'ERR_NO_MATCHING_KEY', rule: 11 });
      cases.push({ ...base, name: `${p}${label}bad header tag`, bytes: flip(bytes, bodyStart - 1), expect: 'ERR_DECRYPTION_FAILED', rule: 13 });
      const tagOf = (i: number): number => frames[i]!.end - 1;
      cases.push({ ...base, name: `${p}${label}bad tag in the first frame`, bytes: flip(bytes, tagOf(0)), expect: 'ERR_DECRYPTION_FAILED', rule: 14, beforeFinal: true });
      cases.push({ ...base, name: `${p}${label}bad tag in a middle frame`, bytes: flip(bytes, tagOf(1)), expect: 'ERR_DECRYPTION_FAILED', rule: 14, beforeFinal: true });
      cases.push({ ...base, name: `${p}${label}bad tag in the final frame`, bytes: flip(bytes, tagOf(frames.length - 1)), expect: 'ERR_DECRYPTION_FAILED', rule: 14 });
      cases.push({ ...base, name: `${p}${label}bad type byte in a middle frame`, bytes: Uint8Array.from(bytes, (b, i) => (i === frames[1]!.start ? 7 : b)), expect: 'ERR_FORMAT_INVALID', rule: 18, structure: 'ERR_FORMAT_INVALID', shapeSound: true });
      cases.push({
        ...base,
        name: `${p}${label}bad tag in the first frame, then cut`,
        bytes: flip(bytes, tagOf(0)).slice(0, bytes.length - 1),
        expect: 'ERR_DECRYPTION_FAILED',
        rule: 14,
        beforeFinal: true,
        structure: 'ERR_TRUNCATED',
      });
      cases.push({ ...base, name: `${p}${label}bad tag in the final frame, then a byte`, bytes: cat(flip(bytes, last.end - 1), Uint8Array.of(0)), expect: 'ERR_DECRYPTION_FAILED', rule: 14, structure: 'ERR_TRAILING_DATA' });
      if (signed) {
        cases.push({ ...base, name: `${p}${label}signature changed`, bytes: flip(bytes, bytes.length - 1), expect: 'ERR_DECRYPTION_FAILED', rule: 43 });
        cases.push({ ...base, name: `${p}${label}signature changed, then a byte`, bytes: cat(flip(bytes, bytes.length - 1), Uint8Array.of(0)), expect: 'ERR_DECRYPTION_FAILED', rule: 43, structure: 'ERR_TRAILING_DATA' });
      }
      // What a failing stream may have released: the plaintext of the frames that are whole and
      // untouched before the first byte that differs (a wrong key: none); for a signed message
      // whose signature fails or is cut, never its last frame with plaintext (SPEC §11.3).
      const withheld = m.plaintext.length % F || F;
      for (let i = first; i < cases.length; i++) {
        const c = cases[i]!;
        let d = c.keys[0] === 'cli' ? c.bytes.findIndex((b, at) => at >= bytes.length || b !== bytes[at]) : 0;
        if (d < 0) d = c.bytes.length < bytes.length ? c.bytes.length : Infinity;
        const whole = frames.filter((f) => f.end <= d).length;
        // (Bytes after a whole signed message come after its signature verified: all of it.)
        const releasable = Math.min(whole * F, signed && d < bytes.length ? m.plaintext.length - withheld : m.plaintext.length);
        cases[i] = { ...c, plaintext: m.plaintext, releasable };
      }
    }
  }
  return cases;
}

/** Vectors whose winning rule is not structural but which also hold a structural fault: that fault (see test/vectors/README.md). */
const VECTOR_STRUCTURE: Record<string, Outcome> = {
  'order-keys-before-frames': 'ERR_TRUNCATED',
  'order-keys-before-frame-layout': 'ERR_TRUNCATED',
  'order-header-tag-before-frames': 'ERR_FORMAT_INVALID',
  'order-frame-tag-before-later-frame': 'ERR_FORMAT_INVALID',
  'order-final-frame-before-signature': 'ERR_TRUNCATED',
  'order-signature-before-trailing': 'ERR_TRAILING_DATA',
};
/** Vectors whose structural fault is a regular frame's type byte: the body's length and final frame are sound. */
const VECTOR_SHAPE_SOUND = new Set(['unknown-frame-type', 'order-header-tag-before-frames', 'order-frame-tag-before-later-frame']);
/**
 * Vectors whose frame damage (rules 14, 15) lies before the final frame, which the final frame
 * alone does not show. (Not frame-dropped: the final frame then has the wrong index; nor
 * regular-frame-marked-final: the frame marked final is the final frame.)
 */
const VECTOR_DAMAGE_BEFORE_FINAL = new Set(['frame-ciphertext-changed', 'frame-tag-changed', 'frames-reordered', 'frame-duplicated', 'order-frame-tag-before-later-frame']);

const vectorCases: Case[] = loadVectors().map((v) => {
  const bytes = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
  const structural = STRUCTURE_RULES.has(v.rule ?? 0) ? v.expect : VECTOR_STRUCTURE[v.name];
  return {
    name: `vector ${v.name}`,
    bytes,
    keys: v.keyring,
    options: v.decryptOptions ?? {},
    expect: v.expect,
    rule: v.rule,
    // The suite: the first item of the header array (a one-byte head, then the suite id).
    signed: bytes.length > 9 && bytes[8]! >> 5 === 4 && bytes[9] === 2,
    ...(v.rangeExpect ? { rangeExpect: v.rangeExpect } : {}),
    ...(structural ? { structure: structural, shapeSound: VECTOR_SHAPE_SOUND.has(v.name) } : {}),
    ...(VECTOR_DAMAGE_BEFORE_FINAL.has(v.name) ? { beforeFinal: true } : {}),
    cli: v.decryptOptions === undefined && HEADER_RULES.has(v.rule ?? 0),
  };
});

// --- what each path reports ------------------------------------------------------------------

/** Full decoders: SPEC §8.1 applies to them as written. */
const DECODERS = ['decrypt', 'decryptStream (7-byte chunks)', 'decryptStream (one chunk)', 'createDecryptStream (13-byte chunks)', 'decryptFile (concurrency 1)', 'decryptFile (concurrency 2)', 'decryptFile (hash thread)', 'sealbox decrypt', 'sealbox decrypt (stdin)'];

/**
 * What `path` must report for `c`. A full decoder reports `c.expect` (SPEC §8.1). The other
 * paths read less, or do not decrypt; each difference below is intended and stated in
 * docs/SPEC.md §8.4 (range) and §8.5 (header readers, rewrap).
 */
function expected(path: string, c: Case): Outcome {
  const rule = c.rule ?? 0;
  if (DECODERS.includes(path)) return c.expect;
  const headerLevel = HEADER_RULES.has(rule) || CALLER_RULES.has(rule);

  if (path.startsWith('readHeader') || path === 'sealbox inspect') {
    // §8.5: the header body only (stages 1, 3-5 and rules 39-40); no tag, no keys, no frames.
    if (rule === 4) {
      const end = readPreamble(c.bytes.subarray(0, Math.min(c.bytes.length, PREAMBLE_BYTES)));
      // The body is all there and only (part of) the header tag is missing: not read, so not missed.
      if (end !== undefined && c.bytes.length >= end) return end === PREAMBLE_BYTES ? 'ERR_FORMAT_INVALID' : 'success';
    }
    return HEADER_RULES.has(rule) || PUBLIC_KEY_RULES.has(rule) ? c.expect : 'success';
  }

  if (path.startsWith('decryptRange')) {
    const skip = path.includes('skipSignatureVerification') && c.options.signaturePolicy !== 'require-signed';
    // §8.4: a signed message is refused at stage 6 unless the signature is skipped on purpose.
    if (c.signed && !headerLevel && !skip) return c.rangeExpect ?? 'ERR_SIGNATURE_POLICY';
    // Skipped: the signature is not checked (rules 42, 43), though its 96 bytes must be there (41).
    if (c.signed && skip && (rule === 42 || rule === 43)) return c.structure ?? 'success';
    // §8.4: the final frame first. A body whose length puts no final frame where it should (a cut,
    // bytes after the end) is walked to name that fault, which then comes before damage in a
    // regular frame in front of it.
    if (c.structure && !c.shapeSound && c.beforeFinal) return c.structure;
    if (path === 'decryptRange (empty range)') {
      // Only the final frame is read: damage in a regular frame before it is not seen.
      if (c.beforeFinal && FRAME_TAG_RULES.has(rule)) return 'success';
      if (c.shapeSound && rule === 18) return 'success';
    }
    return c.expect;
  }

  // Rewrap (§8.5): it never opens a signed message, and checks no frame tag without verifyFrames.
  if (headerLevel) return c.expect;
  if (c.signed) return 'ERR_UNSUPPORTED_VERSION';
  const verify = path.includes('verifyFrames');
  const stream = path === 'rewrapStream' || path === 'createRewrapStream';
  const file = path.startsWith('rewrapFile') || path === 'sealbox rewrap';
  // One-shot and file rewrap walk the body's structure before any keyring is asked; a file only
  // as far as its length and its final frame show it (not a regular frame's type byte).
  const seen = c.structure !== undefined && !(file && c.shapeSound) ? c.structure : undefined;
  if (!stream && seen) return seen;
  if (KEY_RULES.has(rule) || verify) return c.expect;
  // Frame tags are not checked: what the structure shows (a stream walks it after the keys).
  if (FRAME_TAG_RULES.has(rule) || SIGNATURE_RULES.has(rule)) return stream ? (c.structure ?? 'success') : 'success';
  if (file && c.shapeSound && STRUCTURE_RULES.has(rule)) return 'success';
  return c.expect;
}

// --- the CLI ---------------------------------------------------------------------------------

/** Runs the built CLI once over many files (`--json`: a line a file); returns each file's code. */
function cliBatch(args: string[], files: Map<string, Case>): Map<Case, Outcome> {
  const run = sealbox(join(dir, 'home'), ['--json', ...args, ...files.keys()]);
  const got = new Map<Case, Outcome>();
  for (const line of run.stdout.toString().split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { file: string; ok: boolean; error?: string };
    got.set(files.get(r.file)!, r.ok ? 'success' : /\((\w+)\)$/.exec(r.error!)![1]!);
  }
  return got;
}

const cliOutcomes = new Map<string, Map<Case, Outcome>>();

function runCli(cases: Case[]): void {
  ensureBuilt();
  const eligible = cases.filter((c) => c.cli);
  const decrypting = new Map<Case, Outcome>();
  const rewrapping = new Map<Case, Outcome>();
  const inspecting = new Map<Case, Outcome>();
  for (const keyName of ['cli', 'cli-other']) {
    const group = eligible.filter((c) => (c.keys[0] === 'cli-other' ? 'cli-other' : 'cli') === keyName);
    const named = (tag: string): Map<string, Case> =>
      new Map(
        group.map((c, i) => {
          const path = join(dir, `${tag}-${keyName}-${i}.sbx`);
          writeFileSync(path, c.bytes);
          return [path, c];
        }),
      );
    const out = mkdtempSync(join(dir, 'cli-out-'));
    for (const [c, o] of cliBatch(['decrypt', '--output-dir', out, '--key', `file:${cliKeyFile(keyName)}`], named('d'))) decrypting.set(c, o);
    for (const [c, o] of cliBatch(['rewrap', '--key', `file:${cliKeyFile('cli-new')}`, '--unwrap-key', `file:${cliKeyFile(keyName)}`], named('r'))) rewrapping.set(c, o);
  }
  // inspect reads one file a run: the header cuts and one case of each other kind.
  const sample = eligible.filter((x) => !x.signed && !x.name.includes('empty final frame') && (x.rule === 4 || /valid|bad header tag|bad tag in the final frame$|followed by a zero byte|wrong key/.test(x.name)));
  for (const c of sample) {
    const path = join(dir, `i-${inspecting.size}.sbx`);
    writeFileSync(path, c.bytes);
    const run = sealbox(join(dir, 'home'), ['inspect', path]);
    inspecting.set(c, run.code === 0 ? 'success' : /\((\w+)\)\n?$/.exec(run.stderr)![1]!);
  }
  // From standard input (a Node stream behind the armor reader): a case of each kind, signed and not.
  const piped = new Map<Case, Outcome>();
  const kinds = /valid|cut after the header tag|cut after the final length|cut inside the signature|followed by a zero byte|followed by 54|bad tag in a middle frame|bad tag in the final frame$|signature changed$|wrong key/;
  for (const c of eligible.filter((x) => !x.name.startsWith('vector') && !x.name.includes('empty final frame') && kinds.test(x.name))) {
    const run = sealbox(join(dir, 'home'), ['decrypt', '--key', `file:${cliKeyFile(c.keys[0]!)}`], Buffer.from(c.bytes));
    piped.set(c, run.code === 0 ? 'success' : /\((\w+)\)\n?$/.exec(run.stderr)![1]!);
  }
  cliOutcomes.set('sealbox decrypt (stdin)', piped);
  cliOutcomes.set('sealbox decrypt', decrypting);
  cliOutcomes.set('sealbox rewrap', rewrapping);
  cliOutcomes.set('sealbox inspect', inspecting);
}

// --- the matrix ------------------------------------------------------------------------------

const constructed = await constructedCases();
const allCases = [...vectorCases, ...constructed];

describe('SPEC §8: every path that reads a message reports one code per damaged message', () => {
  it('the damaged messages cover every boundary, bytes after the end, keys and tags, signed and unsigned, an empty final frame', () => {
    expect(constructed.length).toBeGreaterThan(100);
    for (const rule of [4, 11, 13, 14, 16, 17, 18, 41, 43]) expect(constructed.some((c) => c.rule === rule), `rule ${rule}`).toBe(true);
  });

  it.each(allCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const failures: string[] = [];
    for (const [path, run] of Object.entries(paths)) {
      const want = expected(path, c);
      released = [];
      lastOutput = '';
      const got = await outcome(() => run(c));
      if (got !== want) failures.push(`${path}: ${got}, expected ${want}`);
      if (got === 'success') continue;
      // No path releases what it has not authenticated: a failing stream released at most the
      // frames before the damage, as they are; a failing decryptFile left no output file.
      const out = Buffer.concat(released);
      if (c.plaintext && (out.length > c.releasable! || !out.equals(c.plaintext.subarray(0, out.length)))) failures.push(`${path} released ${out.length} bytes (at most ${c.releasable} authentic ones allowed)`);
      if (lastOutput && existsSync(lastOutput)) failures.push(`${path} left ${lastOutput}`);
    }
    expect(failures).toEqual([]);
  });

  describe('the sealbox command', () => {
    beforeAll(() => runCli(allCases), 120_000);
    it.each(['sealbox decrypt', 'sealbox decrypt (stdin)', 'sealbox rewrap', 'sealbox inspect'])('%s', (command) => {
      const got = cliOutcomes.get(command)!;
      expect(got.size).toBeGreaterThan(command === 'sealbox decrypt' || command === 'sealbox rewrap' ? 100 : 10);
      const failures = [...got].filter(([c, o]) => o !== expected(command, c)).map(([c, o]) => `${c.name}: ${o}, expected ${expected(command, c)}`);
      expect(failures).toEqual([]);
    });
  });
});

// --- messages of several reads: decryptFile's frame pool and hash thread ----------------------

// decryptFile reads about 1 MiB at a time; with `concurrency` >= 2 each read (a slot) is opened on
// a worker thread while the next is read, and a signed file's hash thread hashes the reads. A
// fault must be reported in SPEC order across slots: a tag failure in one slot before a
// structural fault in a later one, and the reverse.
describe('SPEC §8 across decryptFile reads (frame pool, hash thread)', () => {
  const BIG_F = 64 * 1024;
  const FRAME = BIG_F + REGULAR_FRAME_OVERHEAD;
  const big: Case[] = [];
  beforeAll(async () => {
    for (const signed of [false, true]) {
      const p = signed ? 'signed ' : '';
      const plaintext = Uint8Array.from({ length: 56 * BIG_F + 1000 }, (_, i) => (i * 13) & 0xff);
      const { ciphertext: bytes } = await encrypt(plaintext, { keyring: cliKeyring('cli'), frameLength: BIG_F, ...(signed ? { suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } : {}) });
      const bodyStart = readPreamble(bytes)! + TAG_BYTES;
      const frameAt = (i: number): number => bodyStart + i * FRAME;
      const tagOf = (i: number): number => frameAt(i) + FRAME - 1;
      const typeAt = (b: Uint8Array, i: number): Uint8Array => Uint8Array.from(b, (x, at) => (at === frameAt(i) ? 9 : x));
      const finalEnd = frameAt(56) + 1000 + FINAL_FRAME_OVERHEAD;
      const withheld = signed ? 1000 : 0;
      const add = (name: string, b: Uint8Array, expect: Outcome, releasable: number): void => {
        big.push({ name: `${p}${name}`, bytes: b, keys: ['cli'], options: {}, expect, rule: null, signed, plaintext, releasable: releasable === Infinity ? plaintext.length : Math.min(releasable, plaintext.length - withheld) });
      };
      add('valid', bytes, 'success', plaintext.length);
      add('bad tag in frame 40 (third read)', flip(bytes, tagOf(40)), 'ERR_DECRYPTION_FAILED', 40 * BIG_F);
      add('bad tag in frame 5, then cut in frame 50', flip(bytes, tagOf(5)).slice(0, frameAt(50) + 100), 'ERR_DECRYPTION_FAILED', 5 * BIG_F);
      add('bad type byte in frame 20, then a bad tag in frame 40', typeAt(flip(bytes, tagOf(40)), 20), 'ERR_FORMAT_INVALID', 20 * BIG_F);
      add('bad tag in frame 20, then a bad type byte in frame 40', typeAt(flip(bytes, tagOf(20)), 40), 'ERR_DECRYPTION_FAILED', 20 * BIG_F);
      add('cut in frame 50', bytes.slice(0, frameAt(50) + 100), 'ERR_TRUNCATED', 50 * BIG_F);
      add('cut before the final frame', bytes.slice(0, frameAt(56)), 'ERR_TRUNCATED', 56 * BIG_F);
      add('bad tag in the final frame', flip(bytes, finalEnd - 1), 'ERR_DECRYPTION_FAILED', 56 * BIG_F);
      // After a whole message (its signature verified): all of it.
      add('followed by a byte', cat(bytes, Uint8Array.of(0)), 'ERR_TRAILING_DATA', Infinity);
      if (signed) {
        add('signature changed', flip(bytes, bytes.length - 1), 'ERR_DECRYPTION_FAILED', plaintext.length);
        add('cut in the signature', bytes.slice(0, bytes.length - 1), 'ERR_TRUNCATED', plaintext.length);
        add('signature changed, then a byte', cat(flip(bytes, bytes.length - 1), Uint8Array.of(0)), 'ERR_DECRYPTION_FAILED', plaintext.length);
      }
    }
  }, 60_000);
  afterAll(() => setSlotPlacement('auto'));

  const filePaths: Record<string, (c: Case) => Promise<unknown>> = {
    decrypt: paths.decrypt!,
    'decryptStream (64 KiB + 5 chunks)': (c) => webDecrypt(c, 64 * 1024 + 5),
    'createDecryptStream (1000-byte chunks)': (c) => nodeDecrypt(c, 1000),
    'decryptFile (concurrency 1)': paths['decryptFile (concurrency 1)']!,
    'decryptFile (hash thread)': paths['decryptFile (hash thread)']!,
    'decryptFile (concurrency 2, slots on workers)': (c) => {
      setSlotPlacement('workers');
      return decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 2 });
    },
    'decryptFile (concurrency 3, slots on workers)': (c) => {
      setSlotPlacement('workers');
      return decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 3 });
    },
    'decryptFile (concurrency 2, slots here)': (c) => {
      setSlotPlacement('here');
      return decryptFile(fileOf(c), outputPath(), { ...optionsFor(c), concurrency: 2 });
    },
  };

  it('every decryptFile form reports what decrypt does, and releases nothing it has not authenticated', async () => {
    expect(big.length).toBe(21);
    const failures: string[] = [];
    for (const c of big) {
      for (const [path, run] of Object.entries(filePaths)) {
        released = [];
        lastOutput = '';
        const got = await outcome(() => run(c));
        if (got !== c.expect) failures.push(`${c.name}: ${path}: ${got}, expected ${c.expect}`);
        if (got === 'success') continue;
        const out = Buffer.concat(released);
        if (out.length > c.releasable! || !out.equals(c.plaintext!.subarray(0, out.length))) failures.push(`${c.name}: ${path} released ${out.length} bytes (at most ${c.releasable} authentic ones allowed)`);
        if (lastOutput && existsSync(lastOutput)) failures.push(`${c.name}: ${path} left its output file`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
