import { utf8Into, utf8Length, writeU32 } from '../crypto/bytes.js';
import type { EncryptedDataKey } from './edk.js';

// The canonical CBOR of the header's items (SPEC §3.1), written by hand: shortest-form heads,
// definite lengths, maps in the order given (callers pass canonical maps). One writer for the
// header body (format/header.ts), a rewrapped header's EDK list, and the context encoding that
// keyrings bind (format/context.ts). test/property/header.test.ts and deterministic-cbor.test.ts
// compare it with cbor-x's deterministic encoding. Every argument here is below 2^32.

/** Bytes of a CBOR head (major type and argument) for argument `n`, in shortest form (RFC 8949 §4.2.1). */
export function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

/** Writes a CBOR head of major type `major` for argument `n` (< 2^32) at `pos`; returns the next position. */
export function writeHead(out: Uint8Array, pos: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[pos] = m | n;
    return pos + 1;
  }
  if (n < 0x100) {
    out[pos] = m | 24;
    out[pos + 1] = n;
    return pos + 2;
  }
  if (n < 0x10000) {
    out[pos] = m | 25;
    out[pos + 1] = n >> 8;
    out[pos + 2] = n & 0xff;
    return pos + 3;
  }
  out[pos] = m | 26;
  writeU32(out, pos + 1, n);
  return pos + 5;
}

/** Writes byte string `b` (major 2) at `pos`; returns the next position. */
export function writeBytes(out: Uint8Array, pos: number, b: Uint8Array): number {
  pos = writeHead(out, pos, 2, b.length);
  out.set(b, pos);
  return pos + b.length;
}

/** Writes text `t` (major 3, UTF-8) at `pos`; returns the next position. */
export function writeText(out: Uint8Array, pos: number, t: string): number {
  return utf8Into(t, out, writeHead(out, pos, 3, utf8Length(t)));
}

/** Bytes of the encoding of a context map (text to text). */
export function contextLength(context: ReadonlyMap<string, string>): number {
  let n = headLength(context.size);
  for (const [key, value] of context) {
    const k = utf8Length(key);
    const v = utf8Length(value);
    n += headLength(k) + k + headLength(v) + v;
  }
  return n;
}

/** Writes a context map (in the order given: pass the canonical map) at `pos`; returns the next position. */
export function writeContext(out: Uint8Array, pos: number, context: ReadonlyMap<string, string>): number {
  pos = writeHead(out, pos, 5, context.size);
  for (const [key, value] of context) pos = writeText(out, writeText(out, pos, key), value);
  return pos;
}

/** Bytes of the encoding of an EDK list (SPEC §3). */
export function edkListLength(edks: readonly EncryptedDataKey[]): number {
  let n = headLength(edks.length);
  for (const edk of edks) {
    const idLength = utf8Length(edk.providerId);
    n += 1 + headLength(idLength) + idLength + headLength(edk.providerInfo.length) + edk.providerInfo.length + headLength(edk.ciphertext.length) + edk.ciphertext.length;
  }
  return n;
}

/** Writes an EDK list (each EDK a 3-item array) at `pos`; returns the next position. */
export function writeEdkList(out: Uint8Array, pos: number, edks: readonly EncryptedDataKey[]): number {
  pos = writeHead(out, pos, 4, edks.length);
  for (const edk of edks) {
    out[pos] = 0x83;
    pos = writeText(out, pos + 1, edk.providerId);
    pos = writeBytes(out, pos, edk.providerInfo);
    pos = writeBytes(out, pos, edk.ciphertext);
  }
  return pos;
}
