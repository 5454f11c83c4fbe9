// Reading the header's CBOR (SPEC §3.1): a reader that checks deterministic encoding as it
// reads, used field by field by decodeHeader (format/header.ts), and on its own over any item by
// isDeterministicItem. Headers are written by cbor-write.ts. No CBOR library: the header's subset
// is five major types, and a generic decoder's values (Maps, arrays, a re-encoding to compare)
// cost more than the rest of a 1 KiB decrypt's own work.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Thrown by {@link CborReader} at the first byte that breaks SPEC §3.1; callers map it to rule 5. */
export class NotDeterministic extends Error {
  constructor() {
    super('not one item of deterministic CBOR');
  }
}

/**
 * A cursor over `bytes` that reads CBOR heads and string contents, refusing (with
 * {@link NotDeterministic}) anything that is not in the header's subset and deterministic
 * encoding: an argument not in its shortest form, reserved or indefinite lengths (additional
 * information 28-31), a string running past the end, text that is not valid UTF-8. Which major
 * types may appear where is the caller's business: {@link CborReader.head} reports the type.
 * Arguments of 8 bytes come back as Numbers (exact below 2^53; every length or count that large
 * is far beyond the bytes left); {@link CborReader.bigArgument} gives the exact value.
 */
export class CborReader {
  pos = 0;
  /** Major type of the last head read. */
  major = 0;
  /** Where the last head started. */
  start = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** Reads a head: sets {@link major} and {@link start}, returns the argument. */
  head(): number {
    const b = this.bytes;
    const n = b.length;
    let pos = this.pos;
    if (pos >= n) throw new NotDeterministic();
    this.start = pos;
    const initial = b[pos++] as number;
    this.major = initial >> 5;
    const info = initial & 0x1f;
    let value: number;
    if (info < 24) value = info;
    else if (info === 24) {
      if (pos + 1 > n) throw new NotDeterministic();
      value = b[pos] as number;
      pos += 1;
      if (value < 24) throw new NotDeterministic();
    } else if (info === 25) {
      if (pos + 2 > n) throw new NotDeterministic();
      value = ((b[pos] as number) << 8) | (b[pos + 1] as number);
      pos += 2;
      if (value < 0x100) throw new NotDeterministic();
    } else if (info === 26) {
      if (pos + 4 > n) throw new NotDeterministic();
      value = u32(b, pos);
      pos += 4;
      if (value < 0x10000) throw new NotDeterministic();
    } else if (info === 27) {
      if (pos + 8 > n) throw new NotDeterministic();
      const high = u32(b, pos);
      if (high === 0) throw new NotDeterministic(); // fits in 4 bytes: not the shortest form
      value = high * 0x100000000 + u32(b, pos + 4);
      pos += 8;
    } else {
      throw new NotDeterministic(); // reserved (28-30) or indefinite length (31)
    }
    this.pos = pos;
    return value;
  }

  /** Reads a head of major type `major`: its argument, or -1 when the head has another type. */
  expect(major: number): number {
    const value = this.head();
    return this.major === major ? value : -1;
  }

  /** The exact argument of the last head read (a bigint when it took 8 bytes). */
  bigArgument(value: number): number | bigint {
    const b = this.bytes;
    if (((b[this.start] as number) & 0x1f) !== 27) return value;
    return (BigInt(u32(b, this.start + 1)) << 32n) | BigInt(u32(b, this.start + 5));
  }

  /** Skips `length` bytes of string content (after a head of major type 2 or 3); returns where they start. */
  skip(length: number): number {
    const at = this.pos;
    if (length > this.bytes.length - at) throw new NotDeterministic();
    this.pos = at + length;
    return at;
  }

  /** The text of `length` bytes (after a head of major type 3), which must be valid UTF-8. */
  text(length: number): string {
    return textAt(this.bytes, this.skip(length), length);
  }

  /** Checks that `length` bytes of text content are valid UTF-8 without decoding them. */
  skipText(length: number): void {
    const at = this.skip(length);
    const b = this.bytes;
    let i = at;
    const end = at + length;
    while (i < end && (b[i] as number) < 0x80) i++;
    if (i < end) decodeUtf8(b, i, end);
  }
}

function u32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) >>> 0) + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number));
}

/** The text of `b[at, at + length)`, which must be valid UTF-8 (else {@link NotDeterministic}). */
export function textAt(b: Uint8Array, at: number, length: number): string {
  const end = at + length;
  // ASCII inline: a TextDecoder call costs about half a microsecond, a header's texts are short.
  if (length <= 64) {
    let s = '';
    for (let i = at; i < end; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return decodeUtf8(b, at, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decodeUtf8(b, at, end);
}

function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  try {
    return strictUtf8.decode(b.subarray(start, end));
  } catch {
    throw new NotDeterministic();
  }
}

/**
 * Bytewise lexicographic order of `b[aStart, aEnd)` and `b[bStart, bEnd)`, a shorter prefix
 * first: the order of map keys' encodings (RFC 8949 §4.2.1). Negative, zero or positive.
 */
export function compareRange(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/**
 * True when `body` is exactly one CBOR data item in the header's subset and deterministic
 * encoding (SPEC §3.1, rule 5): major types 0 (unsigned integer), 2 (bytes), 3 (text, valid
 * UTF-8), 4 (array) and 5 (map) only; every argument in its shortest form; definite lengths;
 * map keys in strictly increasing bytewise order of their encodings (so no key twice); nothing
 * after the item. Whatever the item holds: decodeHeader asks it only when a header fails a
 * field's check, so that rule 5 is reported first (SPEC §8.1) wherever the encoding breaks.
 * Iterative: nesting depth costs no stack.
 */
export function isDeterministicItem(body: Uint8Array): boolean {
  try {
    scanItem(new CborReader(body));
    return true;
  } catch (err) {
    if (err instanceof NotDeterministic) return false;
    throw err;
  }
}

/**
 * The open arrays and maps of {@link scanItem}, innermost last, as 32-bit words: an array is one
 * word, `left * 2` (items still to read); a map is four, its current key's start, the previous
 * key's start and end (-1 before the first), then `left * 2 + 1`. Counts and offsets are below
 * the body's length (a count must fit the bytes left), 1 MiB at most for a header. Nesting then
 * costs 4 bytes a level for arrays and 16 for maps (a map nested as the key of a map takes one
 * byte a level): at most 16 bytes a byte of input, outside the JavaScript heap. An object a level
 * cost about 80 bytes of heap, and most of the time of a scan of deep nesting (150-200 ms for a
 * 1 MiB header of nested arrays).
 */
class ScanStack {
  words = new Int32Array(64);
  top = 0;

  #room(n: number): Int32Array {
    if (this.top + n > this.words.length) {
      const grown = new Int32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    return this.words;
  }

  pushArray(count: number): void {
    this.#room(1)[this.top++] = count * 2;
  }

  pushMap(count: number): void {
    const w = this.#room(4);
    w[this.top] = 0;
    w[this.top + 1] = -1;
    w[this.top + 2] = -1;
    w[this.top + 3] = count * 2 + 1;
    this.top += 4;
  }
}

function scanItem(r: CborReader): void {
  const n = r.bytes.length;
  const stack = new ScanStack();
  for (;;) {
    // Start of an item: note where a map key begins (a map with an even count left is at a key).
    if (stack.top > 0) {
      const last = stack.words[stack.top - 1] as number;
      if ((last & 1) === 1 && (last >> 1) % 2 === 0) stack.words[stack.top - 4] = r.pos;
    }
    const value = r.head();
    const major = r.major;
    let completed = true;
    if (major === 0) {
      // unsigned integer: nothing follows its head
    } else if (major === 2) {
      r.skip(value);
    } else if (major === 3) {
      r.skipText(value);
    } else if (major === 4 || major === 5) {
      const count = major === 5 ? value * 2 : value;
      // Every item takes at least one byte.
      if (count > n - r.pos) throw new NotDeterministic();
      if (count > 0) {
        if (major === 5) stack.pushMap(count);
        else stack.pushArray(count);
        completed = false;
      }
    } else {
      throw new NotDeterministic(); // negative integers, tags, floating point and simple values are not in the header
    }
    // An item ended: it may end its parents too.
    while (completed) {
      if (stack.top === 0) {
        if (r.pos !== n) throw new NotDeterministic();
        return;
      }
      const w = stack.words;
      const at = stack.top - 1;
      const map = ((w[at] as number) & 1) === 1;
      const left = ((w[at] as number) >> 1) - 1;
      w[at] = left * 2 + (map ? 1 : 0);
      if (map && left % 2 === 1) {
        // A key just ended: it must sort strictly after the previous key of this map.
        const keyStart = w[at - 3] as number;
        const prevKeyStart = w[at - 2] as number;
        if (prevKeyStart >= 0 && compareRange(r.bytes, prevKeyStart, w[at - 1] as number, keyStart, r.pos) >= 0) throw new NotDeterministic();
        w[at - 2] = keyStart;
        w[at - 1] = r.pos;
      }
      if (left > 0) break;
      stack.top -= map ? 4 : 1;
    }
  }
}
