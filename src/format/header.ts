import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import {
  COMMITMENT_BYTES,
  MAX_ENCRYPTED_DATA_KEYS,
  MAX_ENCRYPTION_CONTEXT_PAIRS,
  MAX_FRAME_LENGTH,
  MAX_HEADER_BYTES,
  MESSAGE_ID_BYTES,
  MIN_FRAME_LENGTH,
  PREAMBLE_BYTES,
} from '../limits.js';
import { copyBytes, readU32, writeU32 } from '../crypto/bytes.js';
import { contextLength, edkListLength, headLength, writeBytes, writeContext, writeEdkList, writeHead } from './cbor-write.js';
import type { Suite } from '../crypto/suites.js';
import { suiteById } from '../crypto/suites.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import type { EncryptedDataKey } from './edk.js';
import { checkEncryptedDataKey, copyEncryptedDataKey } from './edk.js';
import { canonicalContext, canonicalMap, contextObject, rememberEncodedContext } from './context.js';
import { headerDecoder, isDeterministicItem } from './cbor.js';
import { checkSigningKeyPresence } from './signature.js';

/** "SBX": the first three bytes of every Sealbox message. */
export const MAGIC = Uint8Array.of(0x53, 0x42, 0x58);

/** The only format version this release writes and reads. */
export const FORMAT_VERSION = 1;

/** A parsed (or to-be-written) message header. Immutable once built. */
export interface MessageHeader {
  readonly version: number;
  readonly suite: Suite;
  readonly messageId: Uint8Array;
  readonly encryptionContext: EncryptionContext;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  readonly frameLength: number;
  readonly commitment: Uint8Array;
  /**
   * The header salt, `suite.headerSaltLength` random bytes, when the suite has one (suite 3:
   * 8 bytes, the last item of the header; SPEC §3): the header tag's nonce is made of it (§6).
   * Absent for suite 1.
   */
  readonly headerSalt?: Uint8Array;
}

/** Bounds a decoder applies (SPEC §7); each defaults to the library limit. */
export interface HeaderLimits {
  readonly maxHeaderBytes: number;
  readonly maxEncryptedDataKeys: number;
  readonly maxFrameLength: number;
}

/** The header's canonical CBOR body, as a view of a reused array (copy it to keep it). */
function encodeBody(header: MessageHeader): Uint8Array {
  return writeBody(header, canonicalMap(header.encryptionContext));
}

/**
 * Serializes a header: preamble (magic, version, body length) then the canonical CBOR body.
 * With `reserve`, the result has that many more (zero) bytes at its end, for the header tag.
 */
export function encodeHeader(header: MessageHeader, reserve = 0): Uint8Array {
  const body = encodeBody(header);
  if (body.length > MAX_HEADER_BYTES) throw limitExceeded('header bytes', body.length, MAX_HEADER_BYTES);
  const out = new Uint8Array(PREAMBLE_BYTES + body.length + reserve);
  out.set(MAGIC, 0);
  out[3] = header.version;
  writeU32(out, 4, body.length);
  out.set(body, PREAMBLE_BYTES);
  return out;
}

/**
 * The encoding of `next`, a header that differs from `previous` only in its suite (1 or 3, ids
 * with a one-byte head), its EDKs and its header salt (what rewrap changes), made from
 * `previousBytes`, the exact bytes `previous` was decoded from (so they are canonical: SPEC §3.1):
 * the message id, context, frame length and commitment are copied, not encoded again. Returns the
 * same bytes as {@link encodeHeader}`(next, reserve)` (tests compare them), at the cost of
 * encoding the EDK list alone.
 *
 * @throws RangeError when `next` changes anything else, or its salt does not fit its suite
 */
export function encodeRewrappedHeader(previousBytes: Uint8Array, previous: MessageHeader, next: MessageHeader, reserve = 0): Uint8Array {
  if (next.messageId !== previous.messageId && !equalBytes(next.messageId, previous.messageId)) throw new RangeError('a rewrapped header keeps its message id');
  if (next.frameLength !== previous.frameLength || next.encryptionContext !== previous.encryptionContext || !equalBytes(next.commitment, previous.commitment)) {
    throw new RangeError('a rewrapped header keeps its context, frame length and commitment');
  }
  for (const h of [previous, next]) {
    if (h.suite.id >= 24 || (h.headerSalt?.length ?? 0) !== h.suite.headerSaltLength) throw new RangeError(`suite ${h.suite.id} cannot be re-encoded in place`);
  }
  const body = previousBytes.subarray(PREAMBLE_BYTES);
  // previous = [head, suite, id, context, EDKs, frame length, commitment, salt?]: the EDK list
  // ends where the frame length, the commitment (2 + 32 bytes) and the salt item end it.
  const saltItem = (h: MessageHeader): number => (h.headerSalt ? headLength(h.headerSalt.length) + h.headerSalt.length : 0);
  const tail = headLength(previous.frameLength) + 2 + COMMITMENT_BYTES;
  const edksEnd = body.length - tail - saltItem(previous);
  const edksStart = edksEnd - edkListLength(previous.encryptedDataKeys);
  const edkBytes = edkListLength(next.encryptedDataKeys);
  const length = edksStart + edkBytes + tail + saltItem(next);
  if (length > MAX_HEADER_BYTES) throw limitExceeded('header bytes', length, MAX_HEADER_BYTES);
  const out = new Uint8Array(PREAMBLE_BYTES + length + reserve);
  out.set(MAGIC, 0);
  out[3] = next.version;
  writeU32(out, 4, length);
  let pos = PREAMBLE_BYTES;
  out[pos++] = 0x80 | (next.headerSalt ? 7 : 6);
  out[pos++] = next.suite.id;
  out.set(body.subarray(2, edksStart), pos);
  pos += edksStart - 2;
  pos = writeEdkList(out, pos, next.encryptedDataKeys);
  out.set(body.subarray(edksEnd, edksEnd + tail), pos);
  pos += tail;
  if (next.headerSalt) writeBytes(out, pos, next.headerSalt);
  return out;
}

/**
 * Reads the fixed preamble. Returns the total header length (preamble + body), or `undefined`
 * when fewer than {@link PREAMBLE_BYTES} bytes are available yet and they are a valid prefix.
 *
 * @throws SealboxError ERR_FORMAT_INVALID (bad magic), ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED
 */
export function readPreamble(bytes: Uint8Array, maxHeaderBytes: number = MAX_HEADER_BYTES): number | undefined {
  for (let i = 0; i < MAGIC.length && i < bytes.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw formatInvalid('bad magic bytes');
  }
  if (bytes.length < 4) return undefined;
  if (bytes[3] !== FORMAT_VERSION) throw new SealboxError('ERR_UNSUPPORTED_VERSION', `Unsupported format version ${bytes[3]}`);
  if (bytes.length < PREAMBLE_BYTES) return undefined;
  const bodyLength = readU32(bytes, 4);
  if (bodyLength > Math.min(maxHeaderBytes, MAX_HEADER_BYTES)) throw limitExceeded('header bytes', bodyLength, Math.min(maxHeaderBytes, MAX_HEADER_BYTES));
  return PREAMBLE_BYTES + bodyLength;
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
export function decodeHeader(bytes: Uint8Array, limits: HeaderLimits): MessageHeader {
  const total = readPreamble(bytes, limits.maxHeaderBytes);
  if (total === undefined || total !== bytes.length) throw formatInvalid('header length does not match its preamble');
  const body = bytes.subarray(PREAMBLE_BYTES);
  // SPEC §8.1, stage H: encoding (rule 5), then the suite (rules 6, 7), then each field in
  // array order, within a field its declared count before its items.
  if (!isDeterministicItem(body)) throw formatInvalid('header is not one item of deterministic CBOR');
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
  checkSigningKeyPresence(suite, entries);
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
  if (!equalBytes(encodeBody(header), body)) throw formatInvalid('header is not in canonical CBOR encoding');
  // The body being canonical, the context's bytes in it are its canonical encoding, what
  // keyrings bind wrapped keys to (encodeContext): kept, so unwrapping encodes nothing.
  const start = contextOffset(header);
  rememberEncodedContext(header.encryptionContext, body.subarray(start, start + contextLength(canonicalMap(header.encryptionContext))));
  return header;
}

let bodyScratch = new Uint8Array(1024);

/** Where the context's encoding starts in a header body: after the array head, the suite and the message id. */
function contextOffset(header: MessageHeader): number {
  return 1 + headLength(header.suite.id) + headLength(header.messageId.length) + header.messageId.length;
}

/**
 * The header's canonical CBOR body (SPEC §3.1), its context given as the canonical map
 * ({@link canonicalMap}), written by hand into a reused array: a view of it, valid until the
 * next call. Encrypt writes headers with it, and decode's canonical re-encoding check compares
 * with it; test/property/header.test.ts compares it with cbor-x's deterministic encoding of the
 * same items on arbitrary headers. By hand because cbor-x, its fresh arrays and a
 * `TextEncoder` call per text cost about 1.5 us of a 5 us decode. Every integer here is below 2^32.
 *
 * @internal exported for the property tests
 * @throws RangeError when the header salt does not fit the suite
 */
export function writeBody(header: MessageHeader, context: ReadonlyMap<string, string>): Uint8Array {
  const saltLength = header.suite.headerSaltLength;
  if ((header.headerSalt?.length ?? 0) !== saltLength) throw new RangeError(`suite ${header.suite.id} expected a header salt of ${saltLength} bytes`);
  const salt = saltLength > 0 ? header.headerSalt : undefined;
  // Lengths first (the text's UTF-8 length without encoding it), then one pass writing.
  const bytesItem = (n: number): number => headLength(n) + n;
  let length = contextOffset(header) + contextLength(context);
  length += edkListLength(header.encryptedDataKeys) + headLength(header.frameLength) + bytesItem(header.commitment.length);
  if (salt) length += bytesItem(salt.length);
  if (bodyScratch.length < length) bodyScratch = new Uint8Array(length);
  const out = bodyScratch;
  let pos = writeHead(out, 0, 4, salt ? 7 : 6);
  pos = writeHead(out, pos, 0, header.suite.id);
  pos = writeBytes(out, pos, header.messageId);
  pos = writeContext(out, pos, context);
  pos = writeEdkList(out, pos, header.encryptedDataKeys);
  pos = writeHead(out, pos, 0, header.frameLength);
  pos = writeBytes(out, pos, header.commitment);
  if (salt) pos = writeBytes(out, pos, salt);
  return out.subarray(0, pos);
}
