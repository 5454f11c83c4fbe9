import { concat, writeU32 } from '../../src/crypto/bytes.js';
import { headerDecoder, headerEncoder } from '../helpers/cbor-encoder.js';
import { MAX_FRAME_LENGTH, MAX_HEADER_BYTES, PREAMBLE_BYTES } from '../../src/limits.js';
import type { Rng } from './rng.js';

/** A valid message the mutators start from, with the offsets of its parts. */
export interface SeedMessage {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly plaintext: Uint8Array;
  /** End of preamble + CBOR body (the header tag follows). */
  readonly headerEnd: number;
  /** Offset of the final frame's type byte. */
  readonly finalFrame: number;
  readonly frameLength: number;
  /** The message in ASCII armor (as `sealbox encrypt --armor` writes it). */
  readonly armored: Uint8Array;
  /** A signed message (suite 2): its last 96 bytes are the signature (SPEC §11). */
  readonly signed: boolean;
}

/** One mutation: its name (for the report) and the bytes it made. */
export interface Mutated {
  readonly mutation: string;
  readonly bytes: Uint8Array;
}

/** Lengths a hostile encoder would declare. */
const HUGE_U32 = [0xffffffff, 0x80000000, 0x7fffffff, MAX_HEADER_BYTES, MAX_HEADER_BYTES + 1, MAX_FRAME_LENGTH, MAX_FRAME_LENGTH + 1, 0x10000, 0];
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0xf6, 0xf7, 0xfb];

/** Writes a big-endian u32 where it fits (a mutated input may be shorter than the field's place). */
function putU32(out: Uint8Array, at: number, value: number): void {
  if (at >= 0 && at + 4 <= out.length) writeU32(out, at, value >>> 0);
}

/** A position in `bytes`, biased towards the header, where most parsing happens. */
function position(rng: Rng, length: number, seed: SeedMessage | undefined): number {
  if (length === 0) return 0;
  if (seed && rng.chance(0.5)) return rng.below(Math.min(length, seed.headerEnd + 16));
  return rng.below(length);
}

type Mutator = (rng: Rng, input: Uint8Array, seed: SeedMessage | undefined, seeds: readonly SeedMessage[]) => Uint8Array;

const flipBits: Mutator = (rng, input, seed) => {
  const out = input.slice();
  const n = rng.chance(0.7) ? 1 : rng.between(2, 8);
  for (let i = 0; i < n && out.length > 0; i++) out[position(rng, out.length, seed)]! ^= 1 << rng.below(8);
  return out;
};

const setByte: Mutator = (rng, input, seed) => {
  const out = input.slice();
  if (out.length > 0) out[position(rng, out.length, seed)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
  return out;
};

const insertBytes: Mutator = (rng, input, seed) => {
  const at = position(rng, input.length + 1, seed);
  const extra = rng.chance(0.5) ? rng.bytes(rng.between(1, 4)) : rng.bytes(rng.between(1, 64));
  return concat(input.subarray(0, at), extra, input.subarray(at));
};

const deleteBytes: Mutator = (rng, input, seed) => {
  if (input.length === 0) return input;
  const at = position(rng, input.length, seed);
  const n = rng.chance(0.5) ? 1 : rng.between(1, Math.max(1, input.length - at));
  return concat(input.subarray(0, at), input.subarray(at + n));
};

const duplicateRange: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const from = rng.below(input.length);
  const n = rng.between(1, Math.min(256, input.length - from));
  const at = rng.below(input.length + 1);
  return concat(input.subarray(0, at), input.subarray(from, from + n), input.subarray(at));
};

const truncate: Mutator = (rng, input) => input.slice(0, rng.below(input.length + 1));

const appendBytes: Mutator = (rng, input) => concat(input, rng.bytes(rng.between(1, 32)));

/** Two messages spliced: a prefix of one, a suffix of another (header of A, frames of B, ...). */
const splice: Mutator = (rng, input, _seed, seeds) => {
  const other = rng.pick(seeds);
  const cutA = rng.chance(0.3) && _seed ? _seed.headerEnd + 16 : rng.below(input.length + 1);
  const cutB = rng.chance(0.3) ? other.headerEnd + 16 : rng.below(other.bytes.length + 1);
  return concat(input.subarray(0, Math.min(cutA, input.length)), other.bytes.subarray(Math.min(cutB, other.bytes.length)));
};

/** Signed seeds: the signature of another signed message put in place (rule 43), or cut short (rule 41). */
const otherSignature: Mutator = (rng, input, seed, seeds) => {
  const signed = seeds.filter((s) => s.signed && s !== seed);
  if (!seed?.signed || signed.length === 0 || input.length < 96) return flipBits(rng, input, seed, seeds);
  if (rng.chance(0.3)) return input.slice(0, input.length - rng.between(1, 96));
  const other = rng.pick(signed).bytes;
  return concat(input.subarray(0, input.length - 96), other.subarray(other.length - 96));
};

/** A declared length set to a huge (or otherwise hostile) value: the header length, the final frame's length, or any u32. */
const hugeLength: Mutator = (rng, input, seed) => {
  const out = input.slice();
  const value = rng.chance(0.8) ? rng.pick(HUGE_U32) : rng.u32();
  const where = rng.below(3);
  if (where === 0 || !seed) putU32(out, 4, value);
  else if (where === 1) putU32(out, seed.finalFrame + 1, value);
  else putU32(out, rng.below(Math.max(1, out.length - 3)), value);
  return out;
};

/** A CBOR head inside the header made to declare a huge length (byte/text string, array, map). */
const hugeCborHead: Mutator = (rng, input, seed) => {
  if (!seed) return setByte(rng, input, seed, []);
  const heads: number[] = [];
  for (let i = PREAMBLE_BYTES; i < seed.headerEnd; i++) {
    const major = input[i]! >> 5;
    if (major >= 2 && major <= 5) heads.push(i);
  }
  if (heads.length === 0) return input;
  const at = rng.pick(heads);
  const major = input[at]! >> 5;
  const kind = rng.below(3);
  let head: Uint8Array;
  if (kind === 0) head = Uint8Array.of((major << 5) | 26, 0xff, 0xff, 0xff, 0xff);
  else if (kind === 1) head = Uint8Array.of((major << 5) | 27, 0, 0, 0, 1, 0, 0, 0, 0);
  else head = Uint8Array.of((major << 5) | 31); // indefinite length
  // Replace the one-byte head (or the head byte alone): the body after it no longer matches, as a hostile encoder would have it.
  const out = concat(input.subarray(0, at), head, input.subarray(at + 1));
  putU32(out, 4, seed.headerEnd - PREAMBLE_BYTES + head.length - 1);
  return out;
};

/** Values a field of the header could hold instead of the right one. */
function wrongValue(rng: Rng): unknown {
  switch (rng.below(12)) {
    case 0: return rng.pick([0, 1, 2, 255, 256, 0xffffffff, 2 ** 53, -1, -(2 ** 40)]);
    case 1: return rng.pick([0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0]);
    case 2: return rng.bytes(rng.pick([0, 1, 31, 32, 33, 64]));
    case 3: return 'x'.repeat(rng.pick([0, 1, 32, 5000]));
    case 4: return [];
    case 5: return new Map();
    case 6: return null;
    case 7: return true;
    case 8: return undefined;
    case 9: return new Map<unknown, unknown>([[1, 'a']]);
    case 10: return [rng.bytes(4), 'a', 1];
    default: return BigInt(2) ** BigInt(64) - BigInt(1);
  }
}

/** Decodes the header, changes one field (type, length, count, order), encodes it again and fixes the preamble. */
const cborField: Mutator = (rng, input, seed) => {
  if (!seed) return flipBits(rng, input, seed, []);
  let item: unknown[];
  try {
    item = headerDecoder.decode(input.subarray(PREAMBLE_BYTES, seed.headerEnd)) as unknown[];
  } catch {
    return flipBits(rng, input, seed, []);
  }
  if (!Array.isArray(item)) return input;
  const fields = item.slice();
  const op = rng.below(12);
  const i = rng.below(6);
  if (op <= 3) {
    fields[i] = wrongValue(rng);
  } else if (op === 4) {
    fields.push(wrongValue(rng));
  } else if (op === 5) {
    fields.splice(i, 1);
  } else if (op === 6 || op === 7) {
    // The context: add, drop, reorder (non-canonical), or give a non-text value.
    const ctx = fields[2] instanceof Map ? new Map(fields[2] as Map<unknown, unknown>) : new Map<unknown, unknown>();
    const entries = [...ctx.entries()];
    const how = rng.below(5);
    if (how === 0) ctx.set(`k${rng.below(100)}`, 'v');
    else if (how === 1 && entries.length > 0) ctx.delete(entries[0]![0]);
    else if (how === 2) fields[2] = new Map(entries.reverse().concat([['a', 'b'], ['zz', 'c']]));
    else if (how === 3) ctx.set(rng.pick(['__proto__', 'constructor', '', 'sealbox:x', '\ud800']), rng.pick(['v', 1, rng.bytes(2)]));
    else ctx.set('big', 'v'.repeat(rng.pick([1000, 70_000])));
    if (how !== 2) fields[2] = ctx;
  } else if (op === 8 || op === 9) {
    // The EDK list: empty, repeated past the limits, or one EDK with a wrong shape.
    const edks = Array.isArray(fields[3]) ? (fields[3] as unknown[]).slice() : [];
    const how = rng.below(4);
    if (how === 0) fields[3] = [];
    else if (how === 1) fields[3] = Array.from({ length: rng.pick([17, 256]) }, () => edks[0]);
    else if (how === 2 && Array.isArray(edks[0])) {
      const edk = (edks[0] as unknown[]).slice();
      edk[rng.below(3)] = wrongValue(rng);
      edks[0] = edk;
      fields[3] = edks;
    } else fields[3] = edks.concat([[wrongValue(rng), new Uint8Array(0), new Uint8Array(0)]]);
  } else if (op === 10) {
    fields[4] = rng.pick([0, -1, MAX_FRAME_LENGTH, MAX_FRAME_LENGTH + 1, 2 ** 32, 2 ** 53, seed.frameLength + 1, 1.5]);
  } else {
    fields[0] = rng.pick([0, 2, 255, 65536, -1]);
  }
  let body: Uint8Array;
  try {
    body = headerEncoder.encode(fields) as Uint8Array;
  } catch {
    return input;
  }
  const out = concat(input.subarray(0, PREAMBLE_BYTES), body, input.subarray(seed.headerEnd));
  putU32(out, 4, body.length);
  return out;
};

/** The header body replaced by hostile CBOR: deep nesting, tags, floats, indefinite lengths, simple values. */
const hostileCbor: Mutator = (rng, input, seed) => {
  const depth = rng.pick([10, 1000, 100_000]);
  let body: Uint8Array;
  switch (rng.below(6)) {
    case 0: body = concat(new Uint8Array(depth).fill(0x81), Uint8Array.of(0x00)); break; // [[[...0]]]
    case 1: body = concat(new Uint8Array(depth).fill(0x9f), new Uint8Array(depth).fill(0xff)); break; // indefinite arrays
    case 2: body = concat(Uint8Array.of(0x86), new Uint8Array(depth).fill(0xc6), Uint8Array.of(0x01)); break; // tag chains
    case 3: body = concat(Uint8Array.of(0x86, 0xfb), rng.bytes(8), rng.bytes(rng.between(0, 200))); break; // a float first
    case 4: body = concat(Uint8Array.of(0x86, 0xd8, rng.pick([0x40, 0x41, 0x44, 0x48, 0x4f, 0x51, 0x1c, 0x1d, 0x69])), input.subarray(PREAMBLE_BYTES + 1, seed ? seed.headerEnd : input.length)); break; // a typed-array / shared-ref tag on the suite
    default: body = concat(Uint8Array.of(0x86), new Uint8Array(rng.between(1, 6)).map(() => rng.pick([0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xe0, 0x5f, 0x7f, 0xbf]))); break;
  }
  const rest = seed ? input.subarray(seed.headerEnd) : new Uint8Array(0);
  const out = concat(input.subarray(0, PREAMBLE_BYTES), body, rest);
  putU32(out, 4, body.length);
  return out;
};

/** Binary mutators with their weights. */
const BINARY: [string, Mutator, number][] = [
  ['flip', flipBits, 6],
  ['set-byte', setByte, 3],
  ['insert', insertBytes, 2],
  ['delete', deleteBytes, 2],
  ['duplicate', duplicateRange, 1],
  ['truncate', truncate, 2],
  ['append', appendBytes, 1],
  ['splice', splice, 2],
  ['huge-length', hugeLength, 2],
  ['huge-cbor-head', hugeCborHead, 1],
  ['cbor-field', cborField, 3],
  ['hostile-cbor', hostileCbor, 1],
  ['other-signature', otherSignature, 1],
];
const BINARY_TOTAL = BINARY.reduce((n, [, , w]) => n + w, 0);

/**
 * Mutates a seed message (or, 1 input in 16, makes random bytes, half of them behind a valid
 * magic and version). Sometimes stacks two mutations.
 */
export function mutateMessage(rng: Rng, seed: SeedMessage, seeds: readonly SeedMessage[]): Mutated {
  if (rng.chance(1 / 16)) {
    const n = rng.pick([0, 1, 3, 7, 8, 9, 16, 64, 300]);
    const bytes = rng.bytes(n);
    if (rng.chance(0.5)) bytes.set(seed.bytes.subarray(0, Math.min(n, rng.pick([3, 4, 8]))));
    return { mutation: 'random', bytes };
  }
  let bytes = seed.bytes;
  const names: string[] = [];
  const rounds = rng.chance(0.8) ? 1 : 2;
  for (let r = 0; r < rounds; r++) {
    let w = rng.below(BINARY_TOTAL);
    let chosen = BINARY[0]!;
    for (const m of BINARY) {
      if (w < m[2]) {
        chosen = m;
        break;
      }
      w -= m[2];
    }
    bytes = chosen[1](rng, bytes, seed, seeds);
    names.push(chosen[0]);
  }
  return { mutation: names.join('+'), bytes };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const TEXT_NOISE = ['\n', '\r\n', '\r', ' ', '\t', '=', '==', '-', '\u00e9', '\u0000', '-----END SEALBOX MESSAGE-----\n', '-----BEGIN SEALBOX MESSAGE-----\n'];

/** Mutates the armored form: base64 characters, line breaks, marker lines; or armors a mutated binary message. */
export function mutateArmor(rng: Rng, seed: SeedMessage, seeds: readonly SeedMessage[]): Mutated {
  if (rng.chance(0.3)) {
    const inner = mutateMessage(rng, seed, seeds);
    return { mutation: `armor(${inner.mutation})`, bytes: armorBytes(inner.bytes) };
  }
  const text = Buffer.from(seed.armored).toString('latin1');
  const at = rng.below(text.length + 1);
  let out: string;
  switch (rng.below(8)) {
    case 0: out = text.slice(0, at) + rng.pick([...BASE64]) + text.slice(at + 1); break;
    case 1: out = text.slice(0, at) + rng.pick(TEXT_NOISE) + text.slice(at); break;
    case 2: out = text.slice(0, at) + text.slice(at + rng.between(1, 80)); break;
    case 3: out = text.replace(/\n/g, '\r\n'); break;
    case 4: out = text + rng.pick(['\n', '  \n', 'x', '\n\n\t', '-----END SEALBOX MESSAGE-----\n']); break;
    case 5: out = text.slice(0, at); break;
    case 6: {
      // The same base64 in lines of another width (1 to 200 characters, or one line; rarely one
      // line just over or at the 1 MiB bound, padded out with 'A's), LF or CRLF.
      const lines = text.split('\n');
      let base64 = lines.slice(1, lines.indexOf('-----END SEALBOX MESSAGE-----')).join('');
      const nl = rng.chance(0.3) ? '\r\n' : '\n';
      let width = rng.chance(0.2) ? base64.length : rng.between(1, 200);
      if (rng.chance(1 / 32)) {
        width = 1024 * 1024 + rng.between(-1, 4) - nl.length + 1;
        base64 = 'A'.repeat(Math.max(0, width - base64.length - (width % 4))) + base64;
      }
      const body: string[] = [];
      for (let i = 0; i < base64.length; i += Math.max(1, width)) body.push(base64.slice(i, i + Math.max(1, width)));
      out = ['-----BEGIN SEALBOX MESSAGE-----', ...body, '-----END SEALBOX MESSAGE-----', ''].join(nl);
      break;
    }
    default: {
      const lines = text.split('\n');
      const i = rng.below(lines.length);
      lines.splice(i, 0, lines[rng.below(lines.length)]!);
      out = lines.join('\n');
    }
  }
  return { mutation: 'armor-text', bytes: new Uint8Array(Buffer.from(out, 'latin1')) };
}

/** What `createArmorStream` writes for `bytes` (64 base64 characters a line between the markers). */
export function armorBytes(bytes: Uint8Array): Uint8Array {
  let text = '-----BEGIN SEALBOX MESSAGE-----\n';
  for (let i = 0; i < bytes.length; i += 48) text += `${Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(48, bytes.length - i)).toString('base64')}\n`;
  text += '-----END SEALBOX MESSAGE-----\n';
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
