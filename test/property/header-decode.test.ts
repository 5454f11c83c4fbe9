import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHeader, encodeHeader } from '../../src/format/header.js';
import type { HeaderLimits, MessageHeader } from '../../src/format/header.js';
import { SIGNING_KEY_CONTEXT_KEY } from '../../src/format/signature.js';
import { encodeContext } from '../../src/format/context.js';
import { writeU32 } from '../../src/crypto/bytes.js';
import { SealboxError } from '../../src/errors.js';
import { isDeterministicItem } from '../../src/format/cbor.js';
import { headerEncoder } from '../helpers/cbor-encoder.js';
import { referenceDecodeHeader } from '../helpers/header-reference.js';

// decodeHeader reads the body in one pass, checking deterministic encoding (SPEC §3.1) as it
// goes. The reference (test/helpers/header-reference.ts) is the decoder it replaced: a scan of
// the bytes for rule 5, cbor-x's generic decode, the field checks, and a re-encoding compared
// with the body. On every input the two must agree: both accept with the same header, or both
// throw a SealboxError with the same code and the same message (SPEC §8.1: one input, one error).

type Outcome = { ok: MessageHeader } | { code: string; message: string };

function run(decode: (bytes: Uint8Array, limits: HeaderLimits) => MessageHeader, bytes: Uint8Array, limits: HeaderLimits): Outcome {
  try {
    return { ok: decode(bytes, limits) };
  } catch (err) {
    if (err instanceof SealboxError) return { code: err.code, message: err.message };
    throw err; // anything but a SealboxError is a bug in either
  }
}

/** A plain description of a decoded header, for toEqual across both decoders. */
function plain(h: MessageHeader): unknown {
  return {
    version: h.version,
    suite: h.suite.id,
    messageId: [...h.messageId],
    context: Object.entries(h.encryptionContext),
    edks: h.encryptedDataKeys.map((e) => [e.providerId, [...e.providerInfo], [...e.ciphertext]]),
    frameLength: h.frameLength,
    commitment: [...h.commitment],
    headerSalt: h.headerSalt ? [...h.headerSalt] : undefined,
    frozen: Object.isFrozen(h) && Object.isFrozen(h.encryptedDataKeys) && h.encryptedDataKeys.every((e) => Object.isFrozen(e)),
  };
}

function agree(bytes: Uint8Array, limits: HeaderLimits): Outcome {
  const mine = run(decodeHeader, bytes, limits);
  const reference = run(referenceDecodeHeader, bytes, limits);
  if ('ok' in mine && 'ok' in reference) {
    expect(plain(mine.ok)).toEqual(plain(reference.ok));
    // Fields are copies: nothing shares the input's memory, and they are plain Uint8Arrays.
    for (const b of [mine.ok.messageId, mine.ok.commitment, ...mine.ok.encryptedDataKeys.flatMap((e) => [e.providerInfo, e.ciphertext])]) {
      expect(b.buffer).not.toBe(bytes.buffer);
      expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
    }
    // The context bytes decode remembered for keyrings are the context's canonical encoding.
    expect(encodeContext(mine.ok.encryptionContext)).toEqual(encodeContext({ ...mine.ok.encryptionContext }));
  } else {
    expect(mine).toEqual(reference);
  }
  return mine;
}

function withPreamble(body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + body.length);
  bytes.set([0x53, 0x42, 0x58, 1]);
  writeU32(bytes, 4, body.length);
  bytes.set(body, 8);
  return bytes;
}

const encodeItem = (item: unknown): Uint8Array => Uint8Array.from(headerEncoder.encode(item) as Uint8Array);

/** A head of major type `major` for `n`, in shortest form. */
function headOf(major: number, n: number | bigint): Uint8Array {
  const h = encodeItem(n);
  h[0]! |= major << 5;
  return h;
}

/** Context pairs in canonical order (by the keys' encodings), each key once, as a deterministic encoder writes them. */
function canonicalPairs(pairs: [unknown, unknown][]): [unknown, unknown][] {
  const keyed = pairs.map(([k, v]) => [k, v, Buffer.from(encodeItem(k))] as const);
  keyed.sort((a, b) => Buffer.compare(a[2], b[2]));
  const seen = new Set<string>();
  return keyed.filter(([, , e]) => !seen.has(e.toString('hex')) && seen.add(e.toString('hex'))).map(([k, v]) => [k, v]);
}

/** A map written pair by pair in the order given, duplicates included. */
class RawMap {
  constructor(readonly pairs: [unknown, unknown][]) {}
}

/** The header array of `items`, each written by cbor-x except a {@link RawMap}. */
function encodeBody(items: unknown[]): Uint8Array {
  const parts = [headOf(4, items.length)];
  for (const item of items) {
    if (item instanceof RawMap) {
      parts.push(headOf(5, item.pairs.length));
      for (const [k, v] of item.pairs) parts.push(encodeItem(k), encodeItem(v));
    } else {
      parts.push(encodeItem(item));
    }
  }
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

const bytesOf = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const text = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) }, fc.string({ unit: 'binary', maxLength: 80 }), fc.constant(''));
const oddScalar = fc.oneof(fc.nat(), fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }), bytesOf(0, 40), text, fc.constant([]), fc.constant(new Map()));

/** The items of a header, mostly well-formed, sometimes with a field of the wrong shape or out of bounds. */
const headerItems = fc
  .record({
    suite: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(1, 2, 3) }, fc.nat({ max: 30 }), fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }), oddScalar),
    messageId: fc.oneof({ weight: 8, arbitrary: bytesOf(32, 32) }, bytesOf(0, 40), oddScalar),
    context: fc.oneof(
      { weight: 8, arbitrary: fc.array(fc.tuple(text, text), { maxLength: 8 }) },
      fc.array(fc.tuple(fc.oneof(text, oddScalar), fc.oneof(text, oddScalar)), { maxLength: 4 }),
      fc.array(fc.tuple(text, fc.string({ minLength: 6000, maxLength: 9000 })), { minLength: 7, maxLength: 10 }),
    ),
    signingKey: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, text),
    // How the pairs are written: in canonical order, or two of them swapped, or one twice.
    contextOrder: fc.oneof({ weight: 8, arbitrary: fc.constant('canonical' as const) }, fc.tuple(fc.constantFrom('swap' as const, 'twice' as const), fc.nat())),
    contextNotMap: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, oddScalar),
    edks: fc.oneof(
      { weight: 8, arbitrary: fc.array(fc.tuple(text, bytesOf(0, 60), bytesOf(0, 60)), { minLength: 1, maxLength: 5 }) },
      fc.array(fc.oneof(fc.tuple(text, bytesOf(0, 10), bytesOf(0, 10)), fc.array(oddScalar, { maxLength: 4 }), oddScalar), { maxLength: 4 }),
      fc.array(fc.tuple(fc.string({ minLength: 1000, maxLength: 1100 }), bytesOf(4090, 4100), bytesOf(8185, 8200)), { minLength: 1, maxLength: 2 }),
      fc.array(fc.constant(['p', new Uint8Array(0), new Uint8Array(1)]), { minLength: 250, maxLength: 260 }),
    ),
    frameLength: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 1 << 24 }) }, fc.constantFrom(0, (1 << 24) + 1, 2 ** 32 - 1), fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }), oddScalar),
    commitment: fc.oneof({ weight: 8, arbitrary: bytesOf(32, 32) }, bytesOf(0, 40), oddScalar),
    // 'fit': the suite's own (8 bytes in suite 3, none otherwise).
    salt: fc.oneof({ weight: 8, arbitrary: fc.constant('fit' as const) }, fc.constant(undefined), bytesOf(8, 8), bytesOf(0, 10), oddScalar),
    saltFit: bytesOf(8, 8),
    extra: fc.oneof({ weight: 8, arbitrary: fc.constant([]) }, fc.array(oddScalar, { minLength: 1, maxLength: 2 })),
  })
  .map((h) => {
    const pairs: [unknown, unknown][] = [...h.context];
    if (h.signingKey !== null) pairs.push([SIGNING_KEY_CONTEXT_KEY, h.signingKey]);
    const ordered = canonicalPairs(pairs);
    if (h.contextOrder !== 'canonical' && ordered.length > 0) {
      const at = h.contextOrder[1] % ordered.length;
      if (h.contextOrder[0] === 'twice') ordered.splice(at, 0, ordered[at]!);
      else if (at + 1 < ordered.length) ordered.splice(at, 2, ordered[at + 1]!, ordered[at]!);
    }
    const items: unknown[] = [h.suite, h.messageId, h.contextNotMap ?? new RawMap(ordered), h.edks, h.frameLength, h.commitment];
    const salt = h.salt === 'fit' ? (h.suite === 3 ? h.saltFit : undefined) : h.salt;
    if (salt !== undefined) items.push(salt);
    items.push(...h.extra);
    return items;
  });

/** Offsets of the CBOR heads of an item (as cbor-x writes it; an edited one as far as it makes sense), recursively. */
function heads(b: Uint8Array): number[] {
  const out: number[] = [0];
  let pos = 0;
  const item = (): void => {
    if (pos >= b.length || out.length > 10_000) return;
    if (pos > 0) out.push(pos);
    const initial = b[pos]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8;
    let arg = 0n;
    for (let i = 0; i < size; i++) arg = (arg << 8n) | BigInt(b[pos + 1 + i] ?? 0);
    if (size === 0) arg = BigInt(info);
    pos += 1 + size;
    const n = Math.min(Number(arg), b.length);
    if (major === 2 || major === 3) pos += n;
    else if (major === 4) for (let i = 0; i < n; i++) item();
    else if (major === 5) for (let i = 0; i < 2 * n; i++) item();
  };
  item();
  return out;
}

/** The same item with the head at `at` written one size longer: same value, not the shortest form. */
function widen(b: Uint8Array, at: number): Uint8Array {
  const initial = b[at]!;
  const major = initial & 0xe0;
  const info = initial & 0x1f;
  const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8;
  if (info > 27 || at + 1 + size > b.length || size === 8) return b;
  const wider = size === 0 ? 1 : size * 2;
  let arg = 0n;
  for (let i = 0; i < size; i++) arg = (arg << 8n) | BigInt(b[at + 1 + i]!);
  if (size === 0) arg = BigInt(info);
  const head = new Uint8Array(1 + wider);
  head[0] = major | (wider === 1 ? 24 : wider === 2 ? 25 : wider === 4 ? 26 : 27);
  for (let i = 0; i < wider; i++) head[wider - i] = Number((arg >> BigInt(8 * i)) & 0xffn);
  return Uint8Array.from([...b.subarray(0, at), ...head, ...b.subarray(at + 1 + size)]);
}

/** One edit of a body: what a forger, a buggy encoder or a damaged disk would make. */
const mutation = fc.oneof(
  { weight: 2, arbitrary: fc.constant((b: Uint8Array) => b) },
  fc.tuple(fc.nat(), fc.nat({ max: 7 })).map(([at, bit]) => (b: Uint8Array) => {
    const c = b.slice();
    if (c.length > 0) c[at % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, value]) => (b: Uint8Array) => {
    const c = b.slice();
    if (c.length > 0) c[at % c.length] = value;
    return c;
  }),
  fc.nat().map((at) => (b: Uint8Array) => b.subarray(0, at % (b.length + 1))),
  fc.integer({ min: 0, max: 255 }).map((extra) => (b: Uint8Array) => Uint8Array.from([...b, extra])),
  fc.nat().map((k) => (b: Uint8Array) => {
    const offsets = heads(b);
    return widen(b, offsets[k % offsets.length]!);
  }),
  // An indefinite-length header array, or a tag in front of some item.
  fc.constant((b: Uint8Array) => Uint8Array.from([(b[0]! & 0xe0) | 31, ...b.subarray(1), 0xff])),
  fc.nat().map((k) => (b: Uint8Array) => {
    const offsets = heads(b);
    const at = offsets[k % offsets.length]!;
    return Uint8Array.from([...b.subarray(0, at), 0xc1, ...b.subarray(at)]);
  }),
);

const limitsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 }) },
  fc.record({ maxHeaderBytes: fc.constant(1 << 20), maxEncryptedDataKeys: fc.integer({ min: 1, max: 4 }), maxFrameLength: fc.integer({ min: 1, max: 1 << 16 }) }),
);

describe('decodeHeader (one pass) and the decoder it replaced', () => {
  it('agree on valid and malformed headers and every mutation of them', () => {
    fc.assert(
      fc.property(headerItems, fc.array(mutation, { minLength: 1, maxLength: 3 }), limitsArb, (items, edits, limits) => {
        let body = encodeBody(items);
        agree(withPreamble(body), limits);
        for (const edit of edits) {
          body = edit(body);
          agree(withPreamble(body), limits);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('agree on headers written by encodeHeader, mutated', () => {
    const header = fc
      .record({
        suite: fc.constantFrom(1, 3),
        messageId: bytesOf(32, 32),
        context: fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), { maxKeys: 10 }),
        edks: fc.array(fc.record({ providerId: fc.string({ minLength: 1, maxLength: 20 }), providerInfo: bytesOf(0, 300), ciphertext: bytesOf(1, 300) }), { minLength: 1, maxLength: 4 }),
        frameLength: fc.integer({ min: 1, max: 1 << 24 }),
        commitment: bytesOf(32, 32),
        salt: bytesOf(8, 8),
      })
      .map((h) => {
        // Decoding a valid header gives a MessageHeader to encode (suite objects, frozen context).
        const items: unknown[] = [h.suite, h.messageId, new RawMap(canonicalPairs(Object.entries(h.context))), h.edks.map((e) => [e.providerId, e.providerInfo, e.ciphertext]), h.frameLength, h.commitment];
        if (h.suite === 3) items.push(h.salt);
        return decodeHeader(withPreamble(encodeBody(items)), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
      });
    fc.assert(
      fc.property(header, mutation, (h, edit) => {
        const bytes = encodeHeader(h);
        const outcome = agree(bytes, { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
        expect('ok' in outcome).toBe(true);
        agree(withPreamble(edit(bytes.subarray(8))), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
      }),
      { numRuns: 1000 },
    );
  });

  it('reports rule 5 before a later field\'s limit, whatever comes first in the bytes', () => {
    // 300 EDKs (rule 22), then a frame length in a non-shortest form: the encoding comes first.
    const items = [1, new Uint8Array(32), new Map(), Array.from({ length: 300 }, () => ['p', new Uint8Array(0), new Uint8Array(1)]), 100, new Uint8Array(32)];
    const body = encodeItem(items);
    expect(run(decodeHeader, withPreamble(body), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 })).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    const frameLengthAt = heads(body).at(-2)!;
    const bad = withPreamble(widen(body, frameLengthAt));
    expect(run(decodeHeader, bad, { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 })).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    agree(bad, { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
    // An unknown suite with a bad encoding after it: rule 5, not rule 7.
    const unknown = encodeItem([7, new Uint8Array(32)]);
    expect(run(decodeHeader, withPreamble(unknown), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 })).toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION' });
    expect(run(decodeHeader, withPreamble(Uint8Array.from([0x83, ...unknown.subarray(1), 0x18, 0x05])), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 })).toMatchObject({
      code: 'ERR_FORMAT_INVALID',
    });
  });

  it('a context seen in an accepted header is taken as is only for the very same bytes, and still checked against the suite', () => {
    const limits = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };
    const edks = [['p', new Uint8Array(0), new Uint8Array(1)]];
    const header = (suite: number, pairs: [unknown, unknown][], salt?: Uint8Array): Uint8Array =>
      withPreamble(encodeBody([suite, new Uint8Array(32), new RawMap(pairs), edks, 100, new Uint8Array(32), ...(salt ? [salt] : [])]));
    const signingKey = 'A'.repeat(68);
    const seen: [unknown, unknown][] = [['hdrdecode-tenant', 'acme'], [SIGNING_KEY_CONTEXT_KEY, signingKey]];
    // Accepted under the signed suite, so its bytes are remembered...
    expect(agree(header(2, seen), limits)).toHaveProperty('ok');
    // ...and the same bytes under an unsigned suite still break rule 38.
    expect(agree(header(1, seen), limits)).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    expect(agree(header(3, seen, new Uint8Array(8)), limits)).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    // A context that starts like the one seen but goes on (a third pair), or differs in one byte.
    expect(agree(header(2, [...seen, ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', '']]), limits)).toHaveProperty('ok');
    const changed = header(2, seen);
    changed[8 + 1 + 1 + 2 + 32 + 1 + 1 + 3]! ^= 1;
    const outcome = agree(changed, limits);
    expect('ok' in outcome && outcome.ok.encryptionContext['hdrdecode-tenant']).not.toBe('acme');
    // The same bytes where they are not the context (as the message id's place): refused as before.
    const misplaced = encodeBody([2, new RawMap(seen), new Uint8Array(32), edks, 100, new Uint8Array(32)]);
    expect(agree(withPreamble(misplaced), limits)).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
  });
  it('a context seen in an accepted header is not taken for other bytes of the same length and hash', () => {
    const limits = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };
    const header = (value: string): Uint8Array =>
      withPreamble(encodeBody([1, new Uint8Array(32), new RawMap([['k', value]]), [['p', new Uint8Array(0), new Uint8Array(1)]], 100, new Uint8Array(32)]));
    // {"k": "aaamdtrw"} and {"k": "aaasckxa"} encode to 12 bytes each with the same FNV-1a hash
    // (0x5f6dd357), the key the decoder's table of recent contexts is looked up by.
    const fnv1a = (b: Uint8Array): number => b.reduce((h, x) => Math.imul(h ^ x, 0x01000193), 0x811c9dc5) >>> 0;
    const a = header('aaamdtrw');
    const b = header('aaasckxa');
    expect(fnv1a(a.subarray(8 + 1 + 1 + 2 + 32, 8 + 1 + 1 + 2 + 32 + 12))).toBe(fnv1a(b.subarray(8 + 1 + 1 + 2 + 32, 8 + 1 + 1 + 2 + 32 + 12)));
    expect(agree(a, limits)).toMatchObject({ ok: { encryptionContext: { k: 'aaamdtrw' } } });
    expect(agree(b, limits)).toMatchObject({ ok: { encryptionContext: { k: 'aaasckxa' } } });
    expect(agree(a, limits)).toMatchObject({ ok: { encryptionContext: { k: 'aaamdtrw' } } });
  });

  it('refuses an EDK field of the wrong type even where the last byte of its head reads as a byte string', () => {
    const limits = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };
    const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
    // [suite 1, 32-byte message id, {}, EDKs..., frame length 100, 32-byte commitment], the EDK list written by hand.
    const body = (edks: number[]): Uint8Array =>
      Uint8Array.from([0x86, 0x01, 0x58, 0x20, ...new Uint8Array(32), 0xa0, ...edks, 0x18, 0x64, 0x58, 0x20, ...new Uint8Array(32)]);
    // Each is deterministic CBOR whose only fault is one EDK field of the wrong major type, with a
    // head whose last byte (0x58, 0x83) is also the head of another item. A decoder that read on
    // after the type check failed (a step back of one byte) would accept each of the first three
    // as another header: EDKs with an empty provider id, empty provider info, or empty ciphertext.
    const cases: Record<string, Uint8Array> = {
      // Provider id as bytes (0x58 0x58, 88 bytes): re-read, 0x58 0x58 is 88 bytes of provider info.
      'provider id as bytes': body([0x81, 0x83, 0x58, 0x58, ...ascii('X' + 'a'.repeat(87)), 0x40, 0x41, 0x01]),
      // Provider info as text of 88 bytes: re-read, 0x58 0x59 is an 89-byte ciphertext running into the real one.
      'provider info as text': body([0x81, 0x83, 0x61, 0x70, 0x78, 0x58, ...ascii('Y' + 'a'.repeat(87)), 0x41, 0x01]),
      // Ciphertext as text of 131 bytes (0x83): re-read, the text is a second EDK ['q', h'', 256 bytes].
      'ciphertext as text': body([
        0x82,
        0x83, 0x61, 0x70, 0x40, 0x78, 0x83, ...ascii('aq@Y\x01\x00' + 'a'.repeat(125)),
        0x83, 0x61, 0x70, 0x40, 0x58, 0x7d, ...ascii('b'.repeat(125)),
      ]),
      // The same faults with one-byte heads, for completeness.
      'provider id as an integer': body([0x81, 0x83, 0x05, 0x40, 0x41, 0x01]),
      'provider info as an array': body([0x81, 0x83, 0x61, 0x70, 0x80, 0x41, 0x01]),
      'ciphertext as a map': body([0x81, 0x83, 0x61, 0x70, 0x40, 0xa0]),
    };
    for (const [name, b] of Object.entries(cases)) {
      expect(isDeterministicItem(b), name).toBe(true);
      const outcome = agree(withPreamble(b), limits);
      expect(outcome, name).toEqual({ code: 'ERR_FORMAT_INVALID', message: 'Not a valid Sealbox message: encrypted data key fields have the wrong types' });
    }
  });

  it('takes exactly the bytes its preamble declares', () => {
    const limits = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };
    const valid = withPreamble(encodeBody([1, new Uint8Array(32), new RawMap([]), [['p', new Uint8Array(0), new Uint8Array(1)]], 100, new Uint8Array(32)]));
    expect(agree(valid, limits)).toHaveProperty('ok');
    // A whole, valid body, but the preamble declares one byte more (or less) than there is.
    for (const delta of [1, -1]) {
      const bytes = valid.slice();
      writeU32(bytes, 4, valid.length - 8 + delta);
      expect(run(decodeHeader, bytes, limits), `declared ${delta}`).toEqual({ code: 'ERR_FORMAT_INVALID', message: 'Not a valid Sealbox message: header length does not match its preamble' });
    }
  });
});
