// Only the decoder: headers are written by cbor-write.ts (browsers then load cbor-x's decode.js
// alone; on Node the subpath is the whole package).
import { Decoder } from 'cbor-x/decode';

/** Decoder: maps become `Map`s (never plain objects, so no prototype keys), no records. */
export const headerDecoder = new Decoder({ mapsAsObjects: false, useRecords: false, structuredClone: false });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Valid UTF-8? ASCII is checked inline: TextDecoder costs about half a microsecond a call. */
function isUtf8(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && (b[i] as number) < 0x80) i++;
  if (i === end) return true;
  try {
    strictUtf8.decode(b.subarray(i, end));
    return true;
  } catch {
    return false;
  }
}

/** Bytewise lexicographic order, a shorter prefix first (RFC 8949 §4.2.1). */
function compareRange(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** One open array or map while scanning: items still to read, and (maps) where the last key was. */
interface Level {
  left: number;
  readonly map: boolean;
  keyStart: number;
  prevKeyStart: number;
  prevKeyEnd: number;
}

/**
 * True when `body` is exactly one CBOR data item in the header's subset and deterministic
 * encoding (SPEC §3.1, rule 5): major types 0 (unsigned integer), 2 (bytes), 3 (text, valid
 * UTF-8), 4 (array) and 5 (map) only; every argument in its shortest form; definite lengths;
 * map keys in strictly increasing bytewise order of their encodings (so no key twice); nothing
 * after the item. Checked on the bytes, before any field is looked at, so that this rule comes
 * first whatever else the header breaks. Iterative: nesting depth costs no stack.
 */
export function isDeterministicItem(body: Uint8Array): boolean {
  const n = body.length;
  const stack: Level[] = [];
  let pos = 0;
  let items = 1; // the top level holds exactly one item
  for (;;) {
    // Start of an item: note where a map key begins.
    const top = stack[stack.length - 1];
    if (top?.map && top.left % 2 === 0) top.keyStart = pos;
    if (pos >= n) return false;
    const initial = body[pos++] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let value: number;
    if (info < 24) value = info;
    else if (info === 24) {
      if (pos + 1 > n) return false;
      value = body[pos] as number;
      pos += 1;
      if (value < 24) return false;
    } else if (info === 25) {
      if (pos + 2 > n) return false;
      value = ((body[pos] as number) << 8) | (body[pos + 1] as number);
      pos += 2;
      if (value < 0x100) return false;
    } else if (info === 26) {
      if (pos + 4 > n) return false;
      value = (((body[pos] as number) << 24) >>> 0) + (((body[pos + 1] as number) << 16) | ((body[pos + 2] as number) << 8) | (body[pos + 3] as number));
      pos += 4;
      if (value < 0x10000) return false;
    } else if (info === 27) {
      if (pos + 8 > n) return false;
      const high = (((body[pos] as number) << 24) >>> 0) + (((body[pos + 1] as number) << 16) | ((body[pos + 2] as number) << 8) | (body[pos + 3] as number));
      pos += 8;
      if (high === 0) return false; // fits in 4 bytes: not the shortest form
      // Any such length or count is far beyond the bytes left; an integer's value is not needed here.
      value = Number.MAX_SAFE_INTEGER;
    } else {
      return false; // reserved (28-30) or indefinite length (31)
    }
    let completed = true;
    if (major === 0) {
      // unsigned integer: nothing follows its head
    } else if (major === 2 || major === 3) {
      if (value > n - pos) return false;
      if (major === 3 && !isUtf8(body, pos, pos + value)) return false;
      pos += value;
    } else if (major === 4 || major === 5) {
      const count = major === 5 ? value * 2 : value;
      // Every item takes at least one byte.
      if (count > n - pos) return false;
      if (count > 0) {
        stack.push({ left: count, map: major === 5, keyStart: 0, prevKeyStart: -1, prevKeyEnd: -1 });
        completed = false;
      }
    } else {
      return false; // negative integers, tags, floating point and simple values are not in the header
    }
    // An item ended: it may end its parents too.
    while (completed) {
      const level = stack[stack.length - 1];
      if (!level) {
        items--;
        return items === 0 && pos === n;
      }
      level.left--;
      if (level.map && level.left % 2 === 1) {
        // A key just ended: it must sort strictly after the previous key of this map.
        if (level.prevKeyStart >= 0 && compareRange(body, level.prevKeyStart, level.prevKeyEnd, level.keyStart, pos) >= 0) return false;
        level.prevKeyStart = level.keyStart;
        level.prevKeyEnd = pos;
      }
      if (level.left > 0) break;
      stack.pop();
    }
  }
}
