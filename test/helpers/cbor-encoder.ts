import { Decoder, Encoder } from 'cbor-x';

/**
 * cbor-x configured for RFC 8949 §4.2 deterministic encoding of the header's subset of CBOR
 * (unsigned integers, byte strings, text strings, arrays, maps): shortest lengths, no tags, no
 * records, maps written in the order given. The reference the hand-written encoder
 * (src/format/cbor-write.ts) is compared with, and what tests build odd headers with.
 */
export const headerEncoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
  useFloat32: 0,
});

/**
 * cbor-x's decoder as src/format/cbor.ts configured it before decoding headers was written by
 * hand: maps as `Map`s, no records. What tests decode arbitrary CBOR with.
 */
export const headerDecoder = new Decoder({ mapsAsObjects: false, useRecords: false, structuredClone: false });
