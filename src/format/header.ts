import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import {
  COMMITMENT_BYTES,
  MAX_ENCRYPTED_DATA_KEYS,
  MAX_ENCRYPTION_CONTEXT_BYTES,
  MAX_ENCRYPTION_CONTEXT_PAIRS,
  MAX_FRAME_LENGTH,
  MAX_HEADER_BYTES,
  MESSAGE_ID_BYTES,
  MIN_FRAME_LENGTH,
  PREAMBLE_BYTES,
} from '../limits.js';
import { readU32, writeU32 } from '../crypto/bytes.js';
import { contextLength, edkListLength, headLength, writeBytes, writeContext, writeEdkList, writeHead } from './cbor-write.js';
import type { Suite } from '../crypto/suites.js';
import { suiteById } from '../crypto/suites.js';
import type { EncryptionContext } from '../keyring/keyring.js';
import type { EncryptedDataKey } from './edk.js';
import { checkEdkLengths } from './edk.js';
import type { ContextPair } from './context.js';
import { canonicalMap, contextObject, decodedContext, rememberEncodedContext } from './context.js';
import { CborReader, NotDeterministic, compareRange, isDeterministicItem, textAt } from './cbor.js';
import { SIGNING_KEY_CONTEXT_KEY, checkSigningKeyPresence } from './signature.js';

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

/**
 * Decodes and strictly validates a header: exactly `bytes` = preamble + body. The body must
 * be one item of deterministic CBOR (SPEC §3.1: one message, one encoding), every field must
 * have its type and be within `limits`.
 *
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED
 */
export function decodeHeader(bytes: Uint8Array, limits: HeaderLimits): MessageHeader {
  const total = readPreamble(bytes, limits.maxHeaderBytes);
  if (total === undefined || total !== bytes.length) throw formatInvalid('header length does not match its preamble');
  // A plain view (not a Buffer's): the fields copied out of it are Uint8Arrays.
  const body = new Uint8Array(bytes.buffer, bytes.byteOffset + PREAMBLE_BYTES, bytes.length - PREAMBLE_BYTES);
  try {
    return readBody(body, limits);
  } catch (err) {
    // SPEC §8.1: the encoding (rule 5) comes before every field's rules, wherever in the body
    // it breaks. The body is read once, its encoding checked as it goes; a header that fails a
    // field's check before the end is scanned whole, and reports rule 5 if its encoding breaks
    // anywhere.
    if (err instanceof NotDeterministic || !isDeterministicItem(body)) throw formatInvalid('header is not one item of deterministic CBOR');
    throw err;
  }
}

const CONTEXT_TYPES = 'encryption context must map non-empty text to text';

/**
 * {@link decodeHeader} of the body, in one pass that checks deterministic encoding (SPEC §3.1)
 * as it reads and each field as it meets it (§8.1 stage 5 order: within a field its declared
 * count or length before its items, and before anything is allocated for them). Throws
 * NotDeterministic at the first encoding fault it meets.
 */
function readBody(body: Uint8Array, limits: HeaderLimits): MessageHeader {
  const r = new CborReader(body);
  const items = r.expect(4);
  if (items <= 0) throw formatInvalid('header must be a CBOR array');
  const id = r.expect(0);
  if (id < 0) throw formatInvalid('suite must be an unsigned integer');
  // Any unsigned integer names a suite; one this release does not know is unsupported, and
  // nothing else of its header is examined (a later suite may lay it out differently).
  const suite = suiteById(r.bigArgument(id));
  // Suite 1: 6 items; suite 3: the same 6 and the header salt (SPEC §3).
  const saltLength = suite.headerSaltLength;
  const count = saltLength > 0 ? 7 : 6;
  if (items !== count) throw formatInvalid(`header must be a CBOR array of ${count} items`);
  if (r.expect(2) !== MESSAGE_ID_BYTES) throw formatInvalid('message id must be 32 bytes');
  const messageIdAt = r.skip(MESSAGE_ID_BYTES);

  // The encryption context (SPEC §4): a map of text to text, keys in canonical order. The
  // same bytes as in a header accepted before: the same context, nothing to decode or check.
  const contextStart = r.pos;
  // (Not for the empty context, 0xa0: {} at once either way.)
  const knownEnd = body[contextStart] === 0xa0 ? -1 : contextEnd(r);
  let encryptionContext = knownEnd < 0 ? undefined : decodedContext(body, contextStart, knownEnd);
  let pairs: ContextPair[] | undefined;
  let hasSigningKey: boolean;
  if (encryptionContext) {
    r.pos = knownEnd;
    hasSigningKey = Object.prototype.hasOwnProperty.call(encryptionContext, SIGNING_KEY_CONTEXT_KEY);
  } else {
    pairs = [];
    hasSigningKey = readContext(r, pairs);
  }
  const contextEndAt = r.pos;
  // Rule 38: the signing key pair belongs to signed suites, and only to them.
  checkSigningKeyPresence(suite, hasSigningKey);

  const edkCount = r.expect(4);
  if (edkCount <= 0) throw formatInvalid('at least one encrypted data key is required');
  const maxEdks = Math.min(limits.maxEncryptedDataKeys, MAX_ENCRYPTED_DATA_KEYS);
  if (edkCount > maxEdks) throw limitExceeded('encrypted data keys', edkCount, maxEdks);
  const encryptedDataKeys: EncryptedDataKey[] = [];
  for (let i = 0; i < edkCount; i++) {
    if (r.expect(4) !== 3) throw formatInvalid('an encrypted data key must be an array of 3 items');
    const idLength = r.expect(3);
    if (idLength < 0) throw formatInvalid(EDK_TYPES);
    const idAt = r.skip(idLength);
    const infoLength = r.expect(2);
    if (infoLength < 0) throw formatInvalid(EDK_TYPES);
    const infoAt = r.skip(infoLength);
    const ciphertextLength = r.expect(2);
    if (ciphertextLength < 0) throw formatInvalid(EDK_TYPES);
    const ciphertextAt = r.skip(ciphertextLength);
    // Lengths within bounds before the id is decoded and the bytes copied.
    checkEdkLengths(idLength, infoLength, ciphertextLength);
    encryptedDataKeys.push(
      Object.freeze({
        providerId: textAt(body, idAt, idLength),
        providerInfo: body.slice(infoAt, infoAt + infoLength),
        ciphertext: body.slice(ciphertextAt, ciphertextAt + ciphertextLength),
      }),
    );
  }
  const frameLength = r.expect(0);
  if (frameLength < MIN_FRAME_LENGTH || frameLength > MAX_FRAME_LENGTH) throw formatInvalid('frame length out of range');
  if (frameLength > limits.maxFrameLength) throw limitExceeded('frame length', frameLength, limits.maxFrameLength);
  if (r.expect(2) !== COMMITMENT_BYTES) throw formatInvalid('commitment must be 32 bytes');
  const commitmentAt = r.skip(COMMITMENT_BYTES);
  let saltAt = -1;
  if (saltLength > 0) {
    if (r.expect(2) !== saltLength) throw formatInvalid(`header salt must be ${saltLength} bytes`);
    saltAt = r.skip(saltLength);
  }
  // One item, nothing after it.
  if (r.pos !== body.length) throw new NotDeterministic();

  if (!encryptionContext) {
    encryptionContext = contextObject(pairs as ContextPair[]);
    // The context's bytes in the body are its canonical encoding, what keyrings bind wrapped
    // keys to (encodeContext): kept, so unwrapping encodes nothing, and the next header with
    // the same bytes decodes none of them.
    rememberEncodedContext(encryptionContext, body.subarray(contextStart, contextEndAt));
  }
  const messageId = body.slice(messageIdAt, messageIdAt + MESSAGE_ID_BYTES);
  const commitment = body.slice(commitmentAt, commitmentAt + COMMITMENT_BYTES);
  const edks = Object.freeze(encryptedDataKeys);
  return Object.freeze(
    saltAt < 0
      ? { version: FORMAT_VERSION, suite, messageId, encryptionContext, encryptedDataKeys: edks, frameLength, commitment }
      : { version: FORMAT_VERSION, suite, messageId, encryptionContext, encryptedDataKeys: edks, frameLength, commitment, headerSalt: body.slice(saltAt, saltAt + saltLength) },
  );
}

const EDK_TYPES = 'encrypted data key fields have the wrong types';

/**
 * Where the map of text to text of at most {@link MAX_ENCRYPTION_CONTEXT_PAIRS} pairs that
 * starts at `r.pos` ends, from its heads alone (texts skipped, not decoded or checked); -1 when
 * it is not one. Leaves `r.pos` where it was.
 */
function contextEnd(r: CborReader): number {
  const start = r.pos;
  try {
    const pairs = r.expect(5);
    if (pairs < 0 || pairs > MAX_ENCRYPTION_CONTEXT_PAIRS) return -1;
    for (let i = 2 * pairs; i > 0; i--) {
      const length = r.expect(3);
      if (length < 0) return -1;
      r.skip(length);
    }
    return r.pos;
  } catch {
    return -1;
  } finally {
    r.pos = start;
  }
}

/**
 * Reads the encryption context at `r.pos` into `pairs` (SPEC §8.1 stage 5: a map (rule 6), its
 * pair count (19), then each pair in order: text to text (6), a non-empty key (20), the running
 * total of bytes (21)), checking deterministic encoding as it goes. Returns whether it has the
 * signing key pair.
 */
function readContext(r: CborReader, pairs: ContextPair[]): boolean {
  const pairCount = r.expect(5);
  if (pairCount < 0) throw formatInvalid('encryption context must be a map');
  if (pairCount > MAX_ENCRYPTION_CONTEXT_PAIRS) throw limitExceeded('encryption context pairs', pairCount, MAX_ENCRYPTION_CONTEXT_PAIRS);
  let contextBytes = 0;
  let hasSigningKey = false;
  let previousKey = -1;
  let previousKeyEnd = -1;
  for (let i = 0; i < pairCount; i++) {
    const keyStart = r.pos;
    const keyLength = r.expect(3);
    if (keyLength < 0) throw formatInvalid(CONTEXT_TYPES);
    const key = r.text(keyLength);
    // Keys in strictly increasing order of their encodings (so none twice).
    if (previousKey >= 0 && compareRange(r.bytes, previousKey, previousKeyEnd, keyStart, r.pos) >= 0) throw new NotDeterministic();
    previousKey = keyStart;
    previousKeyEnd = r.pos;
    const valueLength = r.expect(3);
    if (valueLength < 0) throw formatInvalid(CONTEXT_TYPES);
    const value = r.text(valueLength);
    if (keyLength === 0) throw formatInvalid(CONTEXT_TYPES); // rule 20
    contextBytes += keyLength + valueLength;
    if (contextBytes > MAX_ENCRYPTION_CONTEXT_BYTES) throw limitExceeded('encryption context bytes', contextBytes, MAX_ENCRYPTION_CONTEXT_BYTES);
    if (key === SIGNING_KEY_CONTEXT_KEY) hasSigningKey = true;
    pairs.push({ key, value });
  }
  return hasSigningKey;
}

let bodyScratch = new Uint8Array(1024);

/** Where the context's encoding starts in a header body: after the array head, the suite and the message id. */
function contextOffset(header: MessageHeader): number {
  return 1 + headLength(header.suite.id) + headLength(header.messageId.length) + header.messageId.length;
}

/**
 * The header's canonical CBOR body (SPEC §3.1), its context given as the canonical map
 * ({@link canonicalMap}), written by hand into a reused array: a view of it, valid until the
 * next call. Encrypt writes headers with it; test/property/header.test.ts compares it with
 * cbor-x's deterministic encoding of the same items on arbitrary headers. By hand because
 * cbor-x, its fresh arrays and a `TextEncoder` call per text cost about 1.5 us a header. Every integer here is below 2^32.
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
