/** Small byte helpers shared by every layer. No Node globals: runs in browsers too. */

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A copy of `bytes` in a new, plain Uint8Array. Not `bytes.slice()`: on a Node Buffer, `slice`
 * returns a view of the same memory, so wiping the "copy" would wipe the original (and the
 * reverse), and a view of a decoder's or SDK's input would stay tied to it.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** UTF-8 encode. Lone surrogates become U+FFFD; callers that care check {@link isWellFormed} first. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode: throws TypeError on malformed input. */
export function fromUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** True when `text` has no lone surrogates, so it round-trips through UTF-8 exactly. */
export function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is Node 20+ and every current browser.
  const f = (text as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  if (f) return f.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Number of UTF-8 bytes `text` encodes to (well-formed text). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * UTF-8 encodes `text` into `out[pos ..]`, which must have room for {@link utf8Length}`(text)`
 * bytes; returns the position after it. The same bytes as {@link utf8}, without a new array:
 * ASCII is copied inline, the rest goes through `TextEncoder.encodeInto`.
 */
export function utf8Into(text: string, out: Uint8Array, pos: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return pos + encoder.encodeInto(text.slice(i), out.subarray(pos)).written;
    out[pos++] = c;
  }
  return pos;
}

/** Concatenate byte arrays into one new array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Constant-time equality: the time taken depends only on the lengths, never on where the
 * inputs differ. Used for commitments and MACs.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Overwrite secret bytes with zeros (best effort: JS gives no guarantee about copies). */
export function wipe(bytes: Uint8Array | undefined): void {
  if (bytes) bytes.fill(0);
}

/** Write `value` as a big-endian u32 at `offset`. */
export function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 24) & 0xff;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

/** Read a big-endian u32 at `offset`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] as number) << 24) >>> 0) +
    ((bytes[offset + 1] as number) << 16) +
    ((bytes[offset + 2] as number) << 8) +
    (bytes[offset + 3] as number)
  );
}

/** Write a non-negative safe integer as a big-endian u64 at `offset`. */
export function writeU64(out: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / 0x100000000);
  writeU32(out, offset, hi >>> 0);
  writeU32(out, offset + 4, value >>> 0);
}

/** Hex encoding, for ids and test output (never for secrets in messages). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Hex decoding; throws TypeError on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('"hex" expected an even-length hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// The intrinsic getters of typed arrays and of ArrayBuffer: what a subclass (a Node Buffer, a
// caller's class) overrides, or a Proxy answers, is never asked.
const typedArrayGetter = (name: string): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, name)!.get as (this: unknown) => unknown;
const viewBuffer = typedArrayGetter('buffer');
const viewByteOffset = typedArrayGetter('byteOffset');
const viewByteLength = typedArrayGetter('byteLength');
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get as (this: unknown) => number;

/**
 * The number of bytes a typed array views, read by the intrinsic getter: what a subclass
 * overrides or a Proxy answers is never asked. Undefined for anything else (a Proxy included).
 */
export function ownByteLength(value: unknown): number | undefined {
  try {
    return viewByteLength.call(value) as number;
  } catch {
    return undefined;
  }
}

/** True for an ArrayBuffer of any realm; false for a SharedArrayBuffer (whose byteLength getter is another). */
function isArrayBuffer(buffer: unknown): boolean {
  try {
    arrayBufferByteLength.call(buffer);
    return true;
  } catch {
    return false;
  }
}

/**
 * `value`, checked as {@link assertBytes} checks it, as a plain Uint8Array of fixed length over
 * the same memory, found through the intrinsic getters: nothing a subclass (a Node Buffer, a
 * caller's class) overrides (`length`, `subarray`, `slice`, `buffer`) is used later, and the
 * view does not grow or shrink with a resizable buffer (shrunk below its end, or detached, it
 * throws TypeError when read). With `copyShared`, the bytes of a SharedArrayBuffer are copied
 * into a private array first: another thread may write them at any time, so what is checked
 * (a header tag, a frame's tag, a signature) and what is used would not be the same bytes.
 *
 * @throws TypeError unless a Uint8Array, or when its buffer is detached
 */
export function ownView(name: string, value: unknown, copyShared: boolean): Uint8Array {
  assertBytes(name, value);
  let buffer: ArrayBufferLike;
  let offset: number;
  let length: number;
  try {
    buffer = viewBuffer.call(value) as ArrayBufferLike;
    offset = viewByteOffset.call(value) as number;
    length = viewByteLength.call(value) as number;
  } catch {
    throw new TypeError(`"${name}" expected Uint8Array, got an object that only looks like one`);
  }
  const shared = !isArrayBuffer(buffer);
  let view: Uint8Array;
  try {
    view = new Uint8Array(buffer, offset, length);
  } catch {
    throw new TypeError(`"${name}" is a view of a detached ArrayBuffer`);
  }
  return shared && copyShared ? copyBytes(view) : view;
}

/** Throws TypeError unless `value` is a Uint8Array (any view, any offset), optionally of `length`. */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`"${name}" expected Uint8Array of length ${length}, got length=${value.length}`);
  }
}
