// The header decoder as it was before decodeHeader read the body in one pass (kept for
// test/property/header-decode.test.ts, which requires both to agree on every input): a
// deterministic-encoding scan of the bytes (rule 5), cbor-x's generic decode, each field's
// checks, and, belt and braces, a re-encoding compared with the body. Not used by src/.
import { SealboxError, formatInvalid, limitExceeded } from '../../src/errors.js';
import { COMMITMENT_BYTES, MAX_ENCRYPTED_DATA_KEYS, MAX_ENCRYPTION_CONTEXT_PAIRS, MAX_FRAME_LENGTH, MESSAGE_ID_BYTES, MIN_FRAME_LENGTH, PREAMBLE_BYTES } from '../../src/limits.js';
import { copyBytes } from '../../src/crypto/bytes.js';
import { suiteById } from '../../src/crypto/suites.js';
import type { EncryptedDataKey } from '../../src/format/edk.js';
import { checkEncryptedDataKey, copyEncryptedDataKey } from '../../src/format/edk.js';
import { canonicalContext, canonicalMap, contextObject } from '../../src/format/context.js';
import { SIGNING_KEY_CONTEXT_KEY } from '../../src/format/signature.js';
import type { HeaderLimits, MessageHeader } from '../../src/format/header.js';
import { FORMAT_VERSION, readPreamble, writeBody } from '../../src/format/header.js';
import { headerDecoder } from './cbor-encoder.js';

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
export function referenceIsDeterministicItem(body: Uint8Array): boolean {
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
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isBytes(v: unknown, length?: number): v is Uint8Array {
  return v instanceof Uint8Array && (length === undefined || v.length === length);
}

/**
 * Decodes and strictly validates a header: exactly `bytes` = preamble + body. The body must
 * be its own canonical encoding (one message, one encoding), every field must have its type
 * and be within `limits`.
 *
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED
 */
export function referenceDecodeHeader(bytes: Uint8Array, limits: HeaderLimits): MessageHeader {
  const total = readPreamble(bytes, limits.maxHeaderBytes);
  if (total === undefined || total !== bytes.length) throw formatInvalid('header length does not match its preamble');
  const body = bytes.subarray(PREAMBLE_BYTES);
  // SPEC §8.1, stage H: encoding (rule 5), then the suite (rules 6, 7), then each field in
  // array order, within a field its declared count before its items.
  if (!referenceIsDeterministicItem(body)) throw formatInvalid('header is not one item of deterministic CBOR');
  let item: unknown;
  try {
    item = headerDecoder.decode(body);
  } catch {
    throw formatInvalid('header is not well-formed CBOR');
  }
  if (!Array.isArray(item) || item.length === 0) throw formatInvalid('header must be a CBOR array');
  const suiteId: unknown = item[0];
  if (typeof suiteId !== 'number' && typeof suiteId !== 'bigint') throw formatInvalid('suite must be an unsigned integer');
  // Any unsigned integer names a suite; one this release does not know is unsupported, and
  // nothing else of its header is examined (a later suite may lay it out differently).
  const suite = suiteById(suiteId);
  // Suite 1: 6 items; suite 3: the same 6 and the header salt (SPEC §3).
  const salted = suite.headerSaltLength > 0;
  const count = salted ? 7 : 6;
  if (item.length !== count) throw formatInvalid(`header must be a CBOR array of ${count} items`);
  const [, messageId, context, edks, frameLength, commitment, headerSalt] = item as unknown[];
  if (!isBytes(messageId, MESSAGE_ID_BYTES)) throw formatInvalid('message id must be 32 bytes');
  if (!(context instanceof Map)) throw formatInvalid('encryption context must be a map');
  if (context.size > MAX_ENCRYPTION_CONTEXT_PAIRS) throw limitExceeded('encryption context pairs', context.size, MAX_ENCRYPTION_CONTEXT_PAIRS);
  let entries;
  try {
    entries = canonicalContext(context, true);
  } catch (err) {
    if (err instanceof SealboxError && err.code === 'ERR_LIMIT_EXCEEDED') throw err;
    throw formatInvalid('encryption context must map non-empty text to text');
  }
  // Rule 38: the signing key pair belongs to signed suites, and only to them.
  if (suite.signed !== entries.some((e) => e.key === SIGNING_KEY_CONTEXT_KEY)) throw formatInvalid(SIGNING_KEY_CONTEXT_KEY);
  if (!Array.isArray(edks) || edks.length === 0) throw formatInvalid('at least one encrypted data key is required');
  const maxEdks = Math.min(limits.maxEncryptedDataKeys, MAX_ENCRYPTED_DATA_KEYS);
  if (edks.length > maxEdks) throw limitExceeded('encrypted data keys', edks.length, maxEdks);
  const encryptedDataKeys: EncryptedDataKey[] = edks.map((e: unknown) => {
    if (!Array.isArray(e) || e.length !== 3) throw formatInvalid('an encrypted data key must be an array of 3 items');
    const [providerId, providerInfo, ciphertext] = e as unknown[];
    if (typeof providerId !== 'string' || !isBytes(providerInfo) || !isBytes(ciphertext)) throw formatInvalid('encrypted data key fields have the wrong types');
    const edk = copyEncryptedDataKey({ providerId, providerInfo, ciphertext });
    checkEncryptedDataKey(edk);
    return edk;
  });
  if (typeof frameLength !== 'number' || !Number.isInteger(frameLength) || frameLength < MIN_FRAME_LENGTH || frameLength > MAX_FRAME_LENGTH) {
    throw formatInvalid('frame length out of range');
  }
  if (frameLength > limits.maxFrameLength) throw limitExceeded('frame length', frameLength, limits.maxFrameLength);
  if (!isBytes(commitment, COMMITMENT_BYTES)) throw formatInvalid('commitment must be 32 bytes');
  if (salted && !isBytes(headerSalt, suite.headerSaltLength)) throw formatInvalid(`header salt must be ${suite.headerSaltLength} bytes`);
  const header: MessageHeader = Object.freeze({
    version: FORMAT_VERSION,
    suite,
    messageId: copyBytes(messageId),
    encryptionContext: contextObject(entries),
    encryptedDataKeys: Object.freeze(encryptedDataKeys),
    frameLength,
    commitment: copyBytes(commitment),
    ...(salted ? { headerSalt: copyBytes(headerSalt as Uint8Array) } : {}),
  });
  // Belt and braces: the checked bytes must also be what this encoder writes for the header.
  if (!equalBytes(writeBody(header, canonicalMap(header.encryptionContext)), body)) throw formatInvalid('header is not in canonical CBOR encoding');
  return header;
}

