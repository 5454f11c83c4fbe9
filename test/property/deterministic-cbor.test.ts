import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isDeterministicItem } from '../../src/format/cbor.js';
import { headerDecoder, headerEncoder } from '../helpers/cbor-encoder.js';

// SPEC §3.1 / rule 5: isDeterministicItem accepts exactly the bytes that are one item of the
// header's CBOR subset (uint, bytes, text, array, map) in deterministic encoding.

type Item = number | bigint | Uint8Array | string | Item[] | Map<Item, Item>;

/** Deterministic encoding by construction: map entries sorted by their keys' encodings. */
function canonical(item: Item): Uint8Array {
  return headerEncoder.encode(sorted(item)) as Uint8Array;
}
function sorted(item: Item): Item {
  if (Array.isArray(item)) return item.map(sorted);
  if (item instanceof Map) {
    const entries = [...item.entries()].map(([k, v]) => [sorted(k), sorted(v), Buffer.from(headerEncoder.encode(sorted(k)) as Uint8Array)] as const);
    entries.sort((a, b) => Buffer.compare(a[2], b[2]));
    return new Map(entries.map(([k, v]) => [k, v]));
  }
  return item;
}

const scalar = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }), // cbor-x writes larger JS numbers as floats
  fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }),
  fc.uint8Array({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const item: fc.Arbitrary<Item> = fc.letrec<{ item: Item }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('item'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie('item')), { maxLength: 4 }).map((pairs) => new Map<Item, Item>(pairs)),
  ),
})).item;

describe('isDeterministicItem', () => {
  it('accepts every item of the subset in deterministic encoding', () => {
    fc.assert(
      fc.property(item, (i) => {
        expect(isDeterministicItem(canonical(i))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a changed encoding only when it is the deterministic encoding of what it decodes to', () => {
    fc.assert(
      fc.property(item, fc.nat(), fc.integer({ min: 1, max: 255 }), (i, at, xor) => {
        const bytes = canonical(i).slice();
        bytes[at % bytes.length]! ^= xor;
        if (!isDeterministicItem(bytes)) return;
        const decoded = headerDecoder.decode(bytes) as Item;
        expect(Buffer.from(canonical(decoded)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['empty', ''],
    ['two items', '0101'],
    ['non-shortest integer', '1801'],
    ['non-shortest 8-byte integer', '1b00000000ffffffff'],
    ['indefinite array', '9f01ff'],
    ['negative integer', '20'],
    ['tag', 'c101'],
    ['float', 'f93c00'],
    ['true', 'f5'],
    ['invalid UTF-8', '62c328'],
    ['map keys out of order', 'a2616201616101'],
    ['map key twice', 'a2616101616101'],
    ['byte string longer than the input', '45010203'],
    ['array count beyond the input', '9bffffffffffffffff'],
  ])('refuses %s', (_name, hex) => {
    expect(isDeterministicItem(Buffer.from(hex, 'hex'))).toBe(false);
  });

  it('takes no stack for deep nesting', () => {
    const deep = new Uint8Array(200_000).fill(0x81);
    deep[deep.length - 1] = 0x00;
    expect(isDeterministicItem(deep)).toBe(true);
  });
});
