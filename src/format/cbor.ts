import { Decoder, Encoder } from 'cbor-x';

/**
 * cbor-x configured for RFC 8949 §4.2 deterministic encoding of the header's subset of CBOR
 * (unsigned integers, byte strings, text strings, arrays, maps): shortest lengths, no tags,
 * no records, maps written in the order given (callers insert keys canonically).
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

/** Decoder: maps become `Map`s (never plain objects, so no prototype keys), no records. */
export const headerDecoder = new Decoder({ mapsAsObjects: false, useRecords: false, structuredClone: false });
