import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHeader, encodeHeader, FORMAT_VERSION, writeBody } from '../../src/format/header.js';
import type { MessageHeader } from '../../src/format/header.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT } from '../../src/crypto/suites.js';
import { canonicalMap, encodeContext } from '../../src/format/context.js';
import { SealboxError } from '../../src/errors.js';
import { headerEncoder } from '../helpers/cbor-encoder.js';
import { utf8, utf8Into, utf8Length, writeU32 } from '../../src/crypto/bytes.js';

const limits = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const header = fc.record({
  messageId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  encryptionContext: fc.dictionary(text, fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 6 }),
  encryptedDataKeys: fc.array(
    // Fields on both sides of the 64 bytes up to which the encoder stages byte strings, and
    // enough EDKs to outgrow the staging array's first size.
    fc.record({ providerId: text, providerInfo: fc.uint8Array({ maxLength: 80 }), ciphertext: fc.uint8Array({ minLength: 1, maxLength: 100 }) }),
    { minLength: 1, maxLength: 12 },
  ),
  frameLength: fc.integer({ min: 1, max: 1 << 24 }),
  commitment: fc.uint8Array({ minLength: 32, maxLength: 32 }),
}).map((h): MessageHeader => ({ ...h, version: FORMAT_VERSION, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT }));

// encodeHeader writes the body by hand (writeBody) instead of through a CBOR encoder: the two
// must give the same bytes for every header, or decode (which accepts only deterministic CBOR)
// would refuse a header encodeHeader wrote. Lengths on both sides of
// each CBOR head size (23/24, 255/256), every suite, with and without a header salt, and
// arbitrary Unicode in the context and provider ids.
const anyHeader = fc.record({
  suite: fc.constantFrom(SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384),
  messageId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  encryptionContext: fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 300 }), { maxKeys: 30 }),
  encryptedDataKeys: fc.array(
    fc.record({ providerId: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), providerInfo: fc.uint8Array({ maxLength: 300 }), ciphertext: fc.uint8Array({ minLength: 1, maxLength: 600 }) }),
    { minLength: 1, maxLength: 30 },
  ),
  frameLength: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 65_000, max: 66_000 }), fc.integer({ min: 1, max: 1 << 24 })),
  commitment: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  headerSalt: fc.uint8Array({ minLength: 8, maxLength: 8 }),
}).map(({ headerSalt, ...h }): MessageHeader => ({ ...h, version: FORMAT_VERSION, ...(h.suite.headerSaltLength > 0 ? { headerSalt } : {}) }));

function decodes(bytes: Uint8Array): MessageHeader | SealboxError {
  try {
    return decodeHeader(bytes, limits);
  } catch (err) {
    if (err instanceof SealboxError) return err;
    throw err; // anything but a SealboxError is a bug
  }
}

describe('header encoding', () => {
  it('decode(encode(h)) gives h back, and encode is a fixed point', () => {
    fc.assert(
      fc.property(header, (h) => {
        const bytes = encodeHeader(h);
        const back = decodeHeader(bytes, limits);
        expect(back.messageId).toEqual(h.messageId);
        expect(back.encryptionContext).toEqual(h.encryptionContext);
        expect(back.frameLength).toBe(h.frameLength);
        expect(back.encryptedDataKeys.length).toBe(h.encryptedDataKeys.length);
        back.encryptedDataKeys.forEach((edk, i) => {
          expect(edk.providerId).toBe(h.encryptedDataKeys[i]!.providerId);
          expect(edk.providerInfo).toEqual(h.encryptedDataKeys[i]!.providerInfo);
          expect(edk.ciphertext).toEqual(h.encryptedDataKeys[i]!.ciphertext);
        });
        expect(back.commitment).toEqual(h.commitment);
        expect(encodeHeader(back)).toEqual(bytes);
        expect(encodeHeader(h)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('any mutated header either is rejected with a SealboxError or re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(header, anyHeader), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (h, edits) => {
        const bytes = encodeHeader(h).slice();
        for (const [pos, value] of edits) bytes[8 + (pos % (bytes.length - 8))] = value;
        const r = decodes(bytes);
        if (!(r instanceof SealboxError)) expect(encodeHeader(r)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary CBOR bodies are rejected or canonical', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.nat(),
        fc.string(),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(tie('v'), { maxLength: 7 }),
        fc.dictionary(fc.string(), tie('v'), { maxKeys: 3 }).map((o) => new Map(Object.entries(o))),
      ),
    })).v;
    fc.assert(
      fc.property(fc.array(value, { minLength: 6, maxLength: 6 }), (items) => {
        const body = headerEncoder.encode(items) as Uint8Array;
        const bytes = new Uint8Array(8 + body.length);
        bytes.set([0x53, 0x42, 0x58, 1]);
        writeU32(bytes, 4, body.length);
        bytes.set(body, 8);
        const r = decodes(bytes);
        if (!(r instanceof SealboxError)) expect(encodeHeader(r)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  // The reference: cbor-x's deterministic encoding of the header's items (SPEC §3), which
  // encodeHeader used before the body was written by hand.
  const cborBody = (h: MessageHeader): Uint8Array => {
    const items: unknown[] = [
      h.suite.id,
      h.messageId,
      canonicalMap(h.encryptionContext),
      h.encryptedDataKeys.map((edk) => [edk.providerId, edk.providerInfo, edk.ciphertext]),
      h.frameLength,
      h.commitment,
    ];
    if (h.suite.headerSaltLength > 0) items.push(h.headerSalt);
    return Uint8Array.from(headerEncoder.encode(items) as Uint8Array);
  };

  it('writeBody (encodeHeader) writes what cbor-x writes for the same items', () => {
    fc.assert(
      fc.property(fc.oneof(header, anyHeader), (h) => {
        expect(writeBody(h, canonicalMap(h.encryptionContext)).slice()).toEqual(cborBody(h));
        expect(encodeHeader(h).subarray(8)).toEqual(cborBody(h));
      }),
      { numRuns: 500 },
    );
  });

  it('encodeHeader refuses a header salt that does not fit the suite', () => {
    fc.assert(
      fc.property(anyHeader, (h) => {
        const wrong: MessageHeader = h.headerSalt ? { ...h, headerSalt: undefined } : { ...h, headerSalt: new Uint8Array(8) };
        expect(() => encodeHeader(wrong)).toThrow(RangeError);
      }),
      { numRuns: 50 },
    );
  });

  it('utf8Into writes what utf8 returns, utf8Length bytes of it, lone surrogates included', () => {
    const units = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 40 });
    fc.assert(
      fc.property(units, fc.nat({ max: 5 }), (codes, at) => {
        const t = String.fromCharCode(...codes);
        const out = new Uint8Array(at + utf8Length(t) + 3).fill(0xee);
        const end = utf8Into(t, out, at);
        expect(end).toBe(at + utf8Length(t));
        expect(out.subarray(at, end)).toEqual(utf8(t));
        expect(out.subarray(end)).toEqual(new Uint8Array(3).fill(0xee));
      }),
      { numRuns: 500 },
    );
  });

  it('a decoded header\'s context encodes (for keyrings) to the bytes a fresh encoding gives', () => {
    fc.assert(
      fc.property(anyHeader.filter((h) => !h.suite.signed), (h) => {
        const decoded = decodeHeader(encodeHeader(h), limits);
        // A plain copy is not a context decode made: encodeContext encodes it from scratch.
        expect(encodeContext(decoded.encryptionContext)).toEqual(encodeContext({ ...decoded.encryptionContext }));
        expect(encodeContext(decoded.encryptionContext)).toEqual(encodeContext({ ...h.encryptionContext }));
      }),
      { numRuns: 300 },
    );
  });
});
